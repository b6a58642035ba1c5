"""Time-tracking exports (landing/timetracking): each office tracks time with its own tool.

Headers and formats are those of the tools' detailed exports (checked against public samples, see the
report): Clockify detailed report (UTF-8 with BOM, MM/DD/YYYY dates, 12-hour times, "Duration (h)" as
HH:MM:SS), Toggl Track detailed export (YYYY-MM-DD, HH:MM:SS, "Amount (EUR)"), Harvest detailed time report
(decimal hours, "Project Code", first and last names, no e-mail).

Projects are named after CRM deals (Client = company name, Project = deal name); Harvest's Project Code is the
deal id. Users are the practice export's collaborators. A few rows match nothing on purpose: an intern who is
not a collaborator, internal projects without a deal, and a project name with a typo. Downstream must report
them, not drop them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from assets.generate.crm_writer import Deal
from assets.generate.firm import FIRM_EMAIL_DOMAIN, FIRM_NAME, Collaborator, Firm

BILLING_RATE = 95
TASKS = {
    "TENUE": (("Saisie", "Saisie des pièces de {month}"), ("Rapprochement bancaire", "Rapprochement {month}"),
              ("Lettrage", "Lettrage clients et fournisseurs")),
    "REVISION": (("Révision", "Revue des comptes du trimestre"), ("Révision", "Contrôle TVA")),
    "BILAN": (("Révision", "Révision des comptes annuels"), ("Liasse fiscale", "Préparation de la liasse"),
              ("Annexe", "Rédaction de l'annexe")),
    "PAIE": (("Bulletins", "Bulletins de {month}"), ("DSN", "DSN mensuelle de {month}")),
}
ADVISORY_TASKS = (("Analyse", "Analyse des comptes"), ("Rédaction", "Rédaction du rapport"),
                  ("Rendez-vous client", "Rendez-vous avec le gérant"))
MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
             "novembre", "décembre")
INTERN = Collaborator(id=0, first_name="Zoé", last_name="Stagiaire", email=f"stage.ete@{FIRM_EMAIL_DOMAIN}",
                      office_id=1, hourly_cost_cents=1_500, active=True)

CLOCKIFY_HEADER = [
    "Project", "Client", "Description", "Task", "User", "Group", "Email", "Tags", "Billable", "Start Date",
    "Start Time", "End Date", "End Time", "Duration (h)", "Duration (decimal)", "Billable Rate (EUR)",
    "Billable Amount (EUR)",
]
TOGGL_HEADER = [
    "User", "Email", "Client", "Project", "Task", "Description", "Billable", "Start date", "Start time",
    "End date", "End time", "Duration", "Tags", "Amount (EUR)",
]
HARVEST_HEADER = [
    "Date", "Client", "Project", "Project Code", "Task", "Notes", "Hours", "Hours Rounded", "Billable?",
    "Invoiced?", "Approved?", "First Name", "Last Name", "Roles", "Employee?", "Billable Rate",
    "Billable Amount", "Cost Rate", "Cost Amount", "Currency", "External Reference URL",
]


@dataclass(frozen=True)
class TimeEntry:
    user: Collaborator
    client: str
    project: str
    project_code: str
    task: str
    description: str
    day: date
    start_minutes: int  # minutes after midnight
    minutes: int
    billable: bool
    tag: str


def _work_days(start: date, end: date) -> list[date]:
    days = [start + timedelta(days=k) for k in range((end - start).days + 1)]
    return [d for d in days if d.weekday() < 5]


def _deal_entries(deal: Deal, firm: Firm, rng: np.random.Generator) -> list[TimeEntry]:
    """The time booked on one deal: about its planned hours when done, the elapsed share when in progress.
    Mostly its owner's time, some colleagues', and early on some of a collaborator who has since left."""
    last = min(deal.end, firm.as_of)
    days = _work_days(deal.start, last)
    if deal.status == "planned" or not days:
        return []
    elapsed = (last - deal.start).days / max(1, (deal.end - deal.start).days)
    factors = {"done": rng.uniform(0.8, 1.3), "cancelled": 0.15}
    factor = factors.get(deal.status, elapsed * rng.uniform(0.8, 1.2))
    quarters = int(deal.planned_hours * factor * 4)
    staff = {c.id: c for c in firm.collaborators}
    active = [c for c in firm.collaborators if c.active]
    departed = [c for c in firm.collaborators if not c.active]
    tasks = TASKS.get(deal.mission_code, ADVISORY_TASKS)
    entries = []
    while quarters > 0:
        length = min(quarters, int(rng.integers(2, 17)))
        quarters -= length
        day = days[int(rng.integers(len(days)))]
        user, draw = staff.get(deal.owner_id, active[0]), rng.random()
        if draw < 0.25:
            user = active[int(rng.integers(len(active)))]
        elif draw < 0.35 and departed and day < firm.as_of - timedelta(days=600):
            user = departed[0]
        task, description = tasks[int(rng.integers(len(tasks)))]
        entries.append(TimeEntry(
            user, deal.company_name, deal.name, str(deal.id), task,
            description.format(month=MONTHS_FR[day.month - 1]), day,
            start_minutes=8 * 60 + 30 + 15 * int(rng.integers(0, 28)), minutes=15 * length, billable=True,
            tag=deal.mission_code))
    return entries


def _unmatched_entries(firm: Firm, deals: list[Deal]) -> list[TimeEntry]:
    """Rows that match no collaborator (an intern) or no deal (internal projects, a misspelt project name):
    downstream must report them, not drop them."""
    active = [c for c in firm.collaborators if c.active]
    recent = _work_days(firm.as_of - timedelta(days=90), firm.as_of)
    current = [d for d in deals if d.status == "in_progress"] or deals
    entries = []
    for k in range(6):
        deal = current[k * 7 % len(current)]
        entries.append(TimeEntry(INTERN, deal.company_name, deal.name, str(deal.id), "Saisie",
                                 "Saisie des notes de frais", recent[k * 11 % len(recent)],
                                 start_minutes=9 * 60, minutes=120, billable=True, tag=deal.mission_code))
    for k in range(len(firm.offices) * 3):
        project = ("Formation interne", "Administratif cabinet", "Tenue compta")[k % 3]
        client = f"{FIRM_NAME} (interne)" if k % 3 < 2 else current[k % len(current)].company_name
        entries.append(TimeEntry(active[k % len(active)], client, project, "", "Divers", "Temps non affecté",
                                 recent[(k * 5 + 3) % len(recent)], start_minutes=14 * 60,
                                 minutes=60 + 30 * (k % 3), billable=k % 3 == 2, tag=""))
    return entries


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def _twelve_hour(minutes: int) -> str:
    hour, minute = divmod(minutes, 60)
    return f"{(hour - 1) % 12 + 1}:{minute:02d} {'AM' if hour < 12 else 'PM'}"


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.2f}"


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _billable_cents(entry: TimeEntry) -> int:
    return entry.minutes * BILLING_RATE * 100 // 60 if entry.billable else 0


def _clockify_row(entry: TimeEntry, firm: Firm) -> list[str]:
    office = next(o.name for o in firm.offices if o.id == entry.user.office_id)
    day = f"{entry.day:%m/%d/%Y}"
    return [entry.project, entry.client, entry.description, entry.task, entry.user.name, office,
            entry.user.email, entry.tag, "Yes" if entry.billable else "No", day,
            _twelve_hour(entry.start_minutes), day, _twelve_hour(entry.start_minutes + entry.minutes),
            _clock(entry.minutes), _hours(entry.minutes), f"{BILLING_RATE if entry.billable else 0:.2f}",
            _money(_billable_cents(entry))]


def _toggl_row(entry: TimeEntry, firm: Firm) -> list[str]:
    day = entry.day.isoformat()
    return [entry.user.name, entry.user.email, entry.client, entry.project, entry.task, entry.description,
            "Yes" if entry.billable else "No", day, _clock(entry.start_minutes), day,
            _clock(entry.start_minutes + entry.minutes), _clock(entry.minutes), entry.tag,
            _money(_billable_cents(entry)) if entry.billable else ""]


def _harvest_row(entry: TimeEntry, firm: Firm) -> list[str]:
    rounded_minutes = -(-entry.minutes // 15) * 15
    invoiced = entry.billable and entry.day < firm.as_of - timedelta(days=45)
    return [entry.day.isoformat(), entry.client, entry.project, entry.project_code, entry.task,
            entry.description, f"{entry.minutes / 60:g}", f"{rounded_minutes / 60:g}",
            "Yes" if entry.billable else "No", "Yes" if invoiced else "No", "Yes", entry.user.first_name,
            entry.user.last_name, "Collaborateur comptable", "Yes",
            f"{BILLING_RATE if entry.billable else 0:.2f}", _money(_billable_cents(entry)),
            _money(entry.user.hourly_cost_cents), _money(entry.minutes * entry.user.hourly_cost_cents // 60),
            "Euro - EUR", ""]


# tool -> (header, row writer, encoding, line ending, file name pattern)
TOOLS = {
    "clockify": (CLOCKIFY_HEADER, _clockify_row, "utf-8-sig", "\r\n",
                 "Clockify_Time_Report_Detailed_{first:%m_%d_%Y}-{last:%m_%d_%Y}.csv"),
    "toggl": (TOGGL_HEADER, _toggl_row, "utf-8", "\n",
              "Toggl_time_entries_{first:%Y-%m-%d}_to_{last:%Y-%m-%d}.csv"),
    "harvest": (HARVEST_HEADER, _harvest_row, "utf-8", "\n",
                "harvest_time_report_from{first:%Y-%m-%d}to{last:%Y-%m-%d}.csv"),
}


def build_time_entries(firm: Firm, deals: list[Deal]) -> list[TimeEntry]:
    entries = []
    for deal in deals:
        entries += _deal_entries(deal, firm, np.random.default_rng([firm.seed, 5, deal.id]))
    entries += _unmatched_entries(firm, deals)
    return entries


def write_time_entries(firm: Firm, entries: list[TimeEntry], directory: Path) -> list[Path]:
    """One export per tool: each office's collaborators (and the intern, office 1) use the office's tool."""
    directory.mkdir(parents=True, exist_ok=True)
    tool_of_office = {office.id: office.time_tool for office in firm.offices}
    written = []
    for tool, (header, row, encoding, newline, pattern) in TOOLS.items():
        mine = sorted(
            (e for e in entries if tool_of_office[e.user.office_id] == tool),
            key=lambda e: (e.day, e.start_minutes, e.user.id, e.project),
        )
        if not mine:
            continue
        path = directory / pattern.format(first=mine[0].day, last=mine[-1].day)
        with path.open("w", encoding=encoding, newline="") as handle:
            writer = csv.writer(handle, lineterminator=newline)
            writer.writerow(header)
            writer.writerows(row(entry, firm) for entry in mine)
        written.append(path)
    return written
