"""The business marts of a generated firm, through the real `vigie run`, against figures recomputed here.

One module-scoped run on the sample-data generator's output. Every expected value is recomputed in this file
from the landing files alone (CRM CSV / JSON Lines, practice CSVs, time-tracking exports), with plain Python
readers and the definitions written in the marts' YAML and domain.md §4-§7; nothing is read from the
warehouse except the published marts under test. The generator's own objects are not used as the oracle.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from assets.generate import GenerationReport, generate_landing
from tests.e2e.conftest import run_vigie_in_process
from tests.e2e.test_generated_firm import CONTRACT_TABLES

CLIENTS, SEED = 20, 12  # another seed than test_generated_firm's: late and cancelled opportunities, 6 purchases

NOT_A_LEDGER = "notes-cabinet.txt"

# contract.md §4 tables the next step fills (opportunity rules and client summaries)
FILLED_BY_A_LATER_STEP = {"fct_opportunities", "client_summaries"}

# contract.md §2 statuses
BILLED_INVOICE = {"due", "payinprogress", "paid", "late"}
BILLED_CREDIT_NOTE = {"stored", "partialspend", "spent"}
ACCEPTED_QUOTE = {"accepted", "advanced", "partialinvoiced", "invoiced"}
OPPORTUNITY_STATUSES = {"open", "late", "won", "lost", "cancelled", "closed"}
STATUS_RANK = {"actif": 0, "prospect": 1, "delaisse": 2, "inactif": 3}  # best first (fct_account_status.yml)
INACTIVE_DROP_PCT = 50  # dbt var practice_inactive_drop_pct, default
PRACTICE_DAILY_DAYS = 120  # dbt var practice_daily_days, default
CENT, TENTH, TEN_THOUSANDTH = Decimal("0.01"), Decimal("0.1"), Decimal("0.0001")


# --- the run -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GeneratedFirm:
    home: Path
    report: GenerationReport
    exit_code: int

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def marts_db(self) -> Path:
        return self.home / "publish" / "marts.duckdb"

    @property
    def as_of(self) -> date:
        return self.report.as_of


@pytest.fixture(scope="module")
def firm(tmp_path_factory) -> GeneratedFirm:
    home = tmp_path_factory.mktemp("business_marts")
    report = generate_landing(home, clients=CLIENTS, seed=SEED)
    # A firm's export folder also holds stray files: this one is rejected, so ingest_rejections has a row to
    # publish like every other contract table, and no business mart reads it.
    (home / "landing" / "accounting" / NOT_A_LEDGER).write_text("Notes du cabinet, pas un FEC.\n", encoding="utf-8")
    code = run_vigie_in_process(home, "run", "--as-of", report.as_of.isoformat())
    return GeneratedFirm(home, report, code)


def published(firm: GeneratedFirm, sql: str, params=None) -> list[dict]:
    with duckdb.connect(str(firm.marts_db), read_only=True) as con:
        cursor = con.execute(sql, params or [])
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# --- landing readers ---------------------------------------------------------------------------------------

def read_records(path: Path) -> list[dict[str, str]]:
    """A CSV file or a JSON Lines file as text records ('' for an empty or null field)."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix == ".jsonl":
        return [{key: text_of(value) for key, value in json.loads(line).items()}
                for line in text.splitlines() if line.strip()]
    return list(csv.DictReader(io.StringIO(text, newline="")))


def text_of(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def first_per_id(records: list[dict[str, str]]) -> list[dict[str, str]]:
    """An id written twice keeps its first line (the CRM marts' rule)."""
    seen, kept = set(), []
    for record in records:
        if record["id"] not in seen:
            seen.add(record["id"])
            kept.append(record)
    return kept


def day_of(text: str) -> date | None:
    """ISO date or date-time with offset -> the date as written (contract §2), None when blank."""
    return date.fromisoformat(text.strip()[:10]) if text.strip() else None


def money(text: str) -> Decimal:
    return Decimal(text) if text.strip() else Decimal(0)


def status_of(record: dict[str, str]) -> str:
    return record["status"].strip().lower()


def normalised_name(text: str) -> str:
    """Lower case, no accents, punctuation and runs of spaces made one space (int_time__entries_matched.yml)."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", plain).split())


def siren_of(text: str) -> str | None:
    digits = re.sub(r"[ .]", "", text.strip())
    return digits if re.fullmatch(r"[0-9]{9}", digits) else None


def months_back(day: date, months: int) -> date:
    """day - interval N month, a missing day becoming the month's last day (2026-05-31 - 3 = 2026-02-28)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    first_of_next = date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    return date(year, month + 1, min(day.day, (first_of_next - timedelta(days=1)).day))


def years_back(day: date, years: int) -> date:
    return months_back(day, 12 * years)


def rounded(value: Decimal, step: Decimal) -> Decimal:
    """Half away from zero, as the marts round."""
    return value.quantize(step, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class TimeEntry:
    record_key: str  # file:physical line, as rpt_unmatched_records writes it
    source_format: str
    entry_date: date
    hours: Decimal
    user_name: str
    user_email: str
    client_name: str
    project_name: str
    project_code: str


def hours_of_clock(text: str) -> Decimal:
    hours, minutes, seconds = (int(part) for part in text.split(":"))
    return Decimal(hours * 3600 + minutes * 60 + seconds) / 3600


def time_entry(fmt: str, row: dict[str, str], record_key: str) -> TimeEntry:
    """One row of a Clockify, Toggl Track or Harvest detailed export."""
    if fmt == "harvest":
        return TimeEntry(record_key, fmt, date.fromisoformat(row["Date"]), Decimal(row["Hours"]),
                         f"{row['First Name']} {row['Last Name']}", "", row["Client"], row["Project"],
                         row["Project Code"])
    if fmt == "clockify":
        month, day, year = (int(part) for part in row["Start Date"].split("/"))
        return TimeEntry(record_key, fmt, date(year, month, day), hours_of_clock(row["Duration (h)"]),
                         row["User"], row["Email"], row["Client"], row["Project"], "")
    return TimeEntry(record_key, fmt, date.fromisoformat(row["Start date"]), hours_of_clock(row["Duration"]),
                     row["User"], row["Email"], row["Client"], row["Project"], "")


def read_time_entries(path: Path, relative: str) -> list[TimeEntry]:
    reader = csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline=""))
    header = next(reader)
    fmt = "harvest" if "Project Code" in header else "clockify" if "Duration (decimal)" in header else "toggl"
    entries = []
    for values in reader:
        # reader.line_num: the physical line the row ends on, the header being line 1
        entries.append(time_entry(fmt, dict(zip(header, values, strict=True)), f"{relative}:{reader.line_num}"))
    return entries


@dataclass
class Landing:
    """Every landing file the business marts read, as plain records."""
    as_of: date
    companies: list[dict[str, str]]
    opportunities: list[dict[str, str]]
    deals: list[dict[str, str]]
    estimates: list[dict[str, str]]
    invoices: list[dict[str, str]]
    credit_notes: list[dict[str, str]]
    purchases: list[dict[str, str]]
    client_files: list[dict[str, str]]
    collaborators: list[dict[str, str]]
    documents: list[dict[str, str]]
    supplier_rules: list[dict[str, str]]
    time_entries: list[TimeEntry]
    ledger_sirens: set[str]
    client_of_company: dict[str, str] = field(default_factory=dict)

    def client_of(self, company_id: str) -> str | None:
        return self.client_of_company.get(company_id.strip()) if company_id.strip() else None


def crm_records(landing: Path, name: str) -> list[dict[str, str]]:
    """Every CRM file of one object, CSV or JSON Lines, in file order."""
    paths = sorted(p for p in (landing / "crm").glob(f"{name}.*") if p.suffix in (".csv", ".jsonl"))
    return [record for path in paths for record in read_records(path)]


def company_client_ids(companies: list[dict[str, str]], client_files: list[dict[str, str]]) -> dict[str, str]:
    """client_id convention: the SIREN (from the CRM, else from the practice client file) else 'crm-' || id."""
    practice_siren = {f["company_id"]: siren_of(f["siren"]) for f in client_files if f["company_id"]}
    crm_siren = {c["id"]: siren_of(c["siren"]) for c in companies}
    return {company_id: crm_siren.get(company_id) or practice_siren.get(company_id) or f"crm-{company_id}"
            for company_id in crm_siren.keys() | practice_siren.keys()}


@pytest.fixture(scope="module")
def landing(firm) -> Landing:
    root = firm.landing
    practice = {name: read_records(root / "practice" / f"{name}.csv")
                for name in ("client_files", "collaborators", "documents", "supplier_rules")}
    companies = crm_records(root, "companies")
    result = Landing(
        as_of=firm.as_of,
        companies=companies,
        opportunities=first_per_id(crm_records(root, "opportunities")),
        deals=first_per_id(crm_records(root, "deals")),
        estimates=first_per_id(crm_records(root, "estimates")),
        invoices=first_per_id(crm_records(root, "invoices")),
        credit_notes=first_per_id(crm_records(root, "credit_notes")),
        purchases=crm_records(root, "purchases"),
        time_entries=[entry for path in sorted((root / "timetracking").glob("*.csv"))
                      for entry in read_time_entries(path, path.relative_to(root).as_posix())],
        ledger_sirens={m[1] for p in (root / "accounting").iterdir() if (m := re.match(r"(\d{9})FEC", p.name))},
        **practice,
    )
    result.client_of_company = company_client_ids(companies, result.client_files)
    return result


# --- oracle: account statuses (fct_account_status.yml, domain.md §7) ---------------------------------------

@dataclass(frozen=True)
class AccountActivity:
    created: date | None
    deal_activity: date | None  # as_of while a deal runs, else the last worked deal's end
    opportunity_activity: date | None  # as_of while an opportunity is open, else the last closing date


def deal_period(deal: dict[str, str]) -> tuple[date | None, date | None] | None:
    """(worked from, worked until; None = still running), None for a deal never worked (planned, cancelled)."""
    status, start, end = status_of(deal), day_of(deal["start_date"]), day_of(deal["end_date"])
    if status in ("planned", "cancelled"):
        return None
    if status == "in_progress":
        return start, None
    if status == "done":
        return start, end or start
    return start, end


def opportunity_period(opportunity: dict[str, str]) -> tuple[date | None, date | None]:
    """(opened on, closed on; None = still open): open/late never closed, a closed one without date closes
    on its creation, an unknown status by its dates."""
    status, created, closed = (status_of(opportunity), day_of(opportunity["created"]),
                               day_of(opportunity["closed_date"]))
    if status in ("open", "late"):
        return created, None
    return created, (closed or created) if status in OPPORTUNITY_STATUSES else closed


def last_activity(periods: list[tuple[date | None, date | None]], as_of: date) -> date | None:
    existing = [until for since, until in periods if since is None or since <= as_of]
    if not existing:
        return None
    if any(until is None or until >= as_of for until in existing):
        return as_of
    return max(existing)


def own_status(activity: AccountActivity, as_of: date) -> str:
    three, six = months_back(as_of, 3), months_back(as_of, 6)
    deal, opportunity, created = activity.deal_activity, activity.opportunity_activity, activity.created
    if deal is not None and deal >= three:
        return "actif"
    if (opportunity is not None and opportunity >= three) or (created is not None and created >= three):
        return "prospect"
    known = [d for d in (deal, opportunity) if d is not None]
    if known and max(known) >= six:
        return "delaisse"
    if not known and created is not None and six <= created:
        return "delaisse"
    return "inactif"


def account_records(landing: Landing) -> dict[str, dict[str, str]]:
    """The CRM record kept per client: typed client first, then the smallest id (int_crm__accounts.yml)."""
    by_client: dict[str, list[dict[str, str]]] = defaultdict(list)
    for company in landing.companies:
        by_client[landing.client_of(company["id"])].append(company)
    return {client: min(records, key=lambda c: (c["type"] != "client", c["id"]))
            for client, records in by_client.items()}


def subsidiaries(parent_of: dict[str, str]) -> dict[str, set[str]]:
    """Every account's subsidiaries at any depth; a cycle does not loop, an account is not its own."""
    children: dict[str, set[str]] = defaultdict(set)
    for child, parent in parent_of.items():
        children[parent].add(child)
    result = {}
    for account in set(parent_of) | set(children):
        found, stack = set(), list(children[account])
        while stack:
            child = stack.pop()
            if child not in found:
                found.add(child)
                stack += children[child]
        result[account] = found - {account}
    return result


def expected_account_statuses(landing: Landing) -> dict[str, tuple[str, date | None, date | None]]:
    """client_id -> (status, last_deal_activity_date, last_opportunity_activity_date), groups included."""
    as_of, records = landing.as_of, account_records(landing)
    deals, opportunities = defaultdict(list), defaultdict(list)
    for deal in landing.deals:
        if (period := deal_period(deal)) is not None:
            deals[landing.client_of(deal["company_id"])].append(period)
    for opportunity in landing.opportunities:
        opportunities[landing.client_of(opportunity["company_id"])].append(opportunity_period(opportunity))
    clients = (set(records) | {siren_of(f["siren"]) or landing.client_of(f["company_id"])
                               for f in landing.client_files} | landing.ledger_sirens)
    activity = {client: AccountActivity(
        day_of(records[client]["created"]) if client in records else None,
        last_activity(deals[client], as_of), last_activity(opportunities[client], as_of)) for client in clients}
    parent_of = {client: parent for client, record in records.items()
                 if (parent := landing.client_of(record["parent_id"])) and parent != client}
    below = subsidiaries(parent_of)
    expected = {}
    for client in clients:
        perimeter = [activity[c] for c in {client} | below.get(client, set())]
        status = min((own_status(a, as_of) for a in perimeter), key=STATUS_RANK.get)
        expected[client] = (status, latest(a.deal_activity for a in perimeter),
                            latest(a.opportunity_activity for a in perimeter))
    return expected


def latest(days) -> date | None:
    known = [d for d in days if d is not None]
    return max(known) if known else None


# --- oracle: client sales (fct_client_sales.yml, domain.md §4) ---------------------------------------------

@dataclass(frozen=True)
class SalesDocument:
    kind: str  # invoice, credit_note, estimate
    client_id: str
    status: str
    day: date | None
    amount: Decimal  # excluding tax
    due: date | None = None
    paid: date | None = None
    expiry: date | None = None


def sales_documents(landing: Landing) -> list[SalesDocument]:
    documents = []
    for kind, records in (("invoice", landing.invoices), ("credit_note", landing.credit_notes),
                          ("estimate", landing.estimates)):
        for r in records:
            client = landing.client_of(r["company_id"])
            if client is None:
                continue
            documents.append(SalesDocument(
                kind, client, status_of(r), day_of(r["date"]), money(r["total_excl_tax"]),
                day_of(r.get("due_date", "")), day_of(r.get("paid_date", "")), day_of(r.get("expiry_date", ""))))
    return documents


def exists_at(document: SalesDocument, as_of: date) -> bool:
    return document.day is None or document.day <= as_of


def is_billed(document: SalesDocument, as_of: date) -> bool:
    statuses = {"invoice": BILLED_INVOICE, "credit_note": BILLED_CREDIT_NOTE}.get(document.kind, set())
    return exists_at(document, as_of) and document.status in statuses


def payment_state(invoice: SalesDocument, as_of: date) -> str:
    if invoice.status == "paid" and (invoice.paid is None or invoice.paid <= as_of):
        return "paid"
    if invoice.status == "late" or (invoice.due is not None and invoice.due < as_of):
        return "late"
    return "to_pay"


def client_sales(documents: list[SalesDocument], open_opportunities: list[Decimal], as_of: date) -> dict:
    """One client's row of fct_client_sales, from its documents and open opportunity amounts."""
    billed = [d for d in documents if is_billed(d, as_of)]
    accepted = [d for d in documents if d.kind == "estimate" and exists_at(d, as_of) and d.status in ACCEPTED_QUOTE]
    basis = "invoices" if billed else "accepted_quotes" if accepted else "none"
    chosen = billed or accepted
    signed = [(d, -d.amount if d.kind == "credit_note" else d.amount) for d in chosen]
    purchases = [d for d in chosen if d.kind != "credit_note"]
    total = sum((amount for _, amount in signed), Decimal(0))
    window_start = years_back(as_of, 3)
    invoices = [(d, payment_state(d, as_of)) for d in billed if d.kind == "invoice"]
    paid = [d for d, state in invoices if state == "paid" and d.paid is not None]
    pending = [d for d in documents if d.kind == "estimate" and exists_at(d, as_of)
               and (d.expiry is None or d.expiry >= as_of)]
    recent_purchases = sum(1 for d in purchases if d.day is not None and window_start < d.day <= as_of)
    return {
        "purchases_basis": basis,
        "first_purchase_date": min((d.day for d in purchases), default=None),
        "last_purchase_date": max((d.day for d in purchases), default=None),
        "total_purchases": total,
        "purchases_by_year": {str(year): sum((a for d, a in signed if d.day and d.day.year == year), Decimal(0))
                              for year in range(as_of.year - 2, as_of.year + 1)},
        "purchase_frequency": rounded(Decimal(recent_purchases) / 3, CENT),
        "average_basket": rounded(total / len(purchases), CENT) if purchases else None,
        "invoices_to_pay_count": sum(1 for _, state in invoices if state == "to_pay"),
        "invoices_to_pay_amount": sum((d.amount for d, state in invoices if state == "to_pay"), Decimal(0)),
        "invoices_late_count": sum(1 for _, state in invoices if state == "late"),
        "invoices_late_amount": sum((d.amount for d, state in invoices if state == "late"), Decimal(0)),
        "quotes_sent_count": sum(1 for d in pending if d.status == "sent"),
        "quotes_read_count": sum(1 for d in pending if d.status == "read"),
        "avg_payment_days": rounded(Decimal(sum((d.paid - d.day).days for d in paid)) / len(paid), TENTH)
        if paid else None,
        "late_payments_count": sum(1 for d in paid if d.due is not None and d.paid > d.due),
        "open_opportunities_count": len(open_opportunities),
        "open_opportunities_amount": sum(open_opportunities, Decimal(0)),
    }


def expected_client_sales(landing: Landing) -> dict[str, dict]:
    as_of = landing.as_of
    documents: dict[str, list[SalesDocument]] = defaultdict(list)
    for document in sales_documents(landing):
        documents[document.client_id].append(document)
    open_amounts: dict[str, list[Decimal]] = defaultdict(list)
    for o in landing.opportunities:
        client, created = landing.client_of(o["company_id"]), day_of(o["created"])
        if client and status_of(o) in ("open", "late") and (created is None or created <= as_of):
            open_amounts[client].append(money(o["amount"]))
    client_accounts = {client for client, r in account_records(landing).items() if r["type"] == "client"}
    return {client: client_sales(documents[client], open_amounts[client], as_of)
            for client in client_accounts | set(documents) | set(open_amounts)}


# --- oracle: time entries matched to collaborators and deals (int_time__entries_matched.yml) ---------------

def unique_or_none(candidates: list):
    return candidates[0] if len(candidates) == 1 else None


def distance_in_days(deal: dict[str, str], day: date) -> int:
    start, end = day_of(deal["start_date"]), day_of(deal["end_date"])
    if start and day < start:
        return (start - day).days
    if end and day > end:
        return (day - end).days
    return 0


class TimeMatcher:
    """Collaborator by e-mail (any case), else by normalised name; deal by Harvest's project code (= deal id),
    else client = company name and project = deal name (the namesake nearest in time when there are two)."""

    def __init__(self, landing: Landing):
        self.by_email, self.by_name = defaultdict(list), defaultdict(list)
        for collaborator in landing.collaborators:
            self.by_email[collaborator["email"].strip().casefold()].append(collaborator)
            self.by_name[normalised_name(collaborator["name"])].append(collaborator)
        self.deal_ids = {deal["id"] for deal in landing.deals}
        company_names = {c["id"]: normalised_name(c["name"]) for c in landing.companies}
        self.by_client_and_name = defaultdict(list)
        for deal in landing.deals:
            key = (company_names.get(deal["company_id"]), normalised_name(deal["name"]))
            self.by_client_and_name[key].append(deal)

    def collaborator(self, entry: TimeEntry) -> dict[str, str] | None:
        email = entry.user_email.strip().casefold()
        if email and self.by_email[email]:
            return unique_or_none(self.by_email[email])
        return unique_or_none(self.by_name[normalised_name(entry.user_name)])

    def deal_id(self, entry: TimeEntry) -> str | None:
        if entry.project_code.strip() in self.deal_ids:
            return entry.project_code.strip()
        named = self.by_client_and_name[(normalised_name(entry.client_name), normalised_name(entry.project_name))]
        if not named:
            return None
        return min(named, key=lambda deal: distance_in_days(deal, entry.entry_date))["id"]


@dataclass(frozen=True)
class Match:
    entry: TimeEntry
    collaborator: dict[str, str] | None
    deal_id: str | None


@pytest.fixture(scope="module")
def matches(landing) -> list[Match]:
    matcher = TimeMatcher(landing)
    return [Match(entry, matcher.collaborator(entry), matcher.deal_id(entry)) for entry in landing.time_entries]


# --- oracle: deals (fct_deals.yml, domain.md §5) ---------------------------------------------------------

def expected_deals(landing: Landing, matches: list[Match]) -> dict[str, dict]:
    hours, cost = defaultdict(Decimal), defaultdict(Decimal)
    for match in matches:
        if match.deal_id is None:
            continue
        hours[match.deal_id] += match.entry.hours
        if match.collaborator is not None and match.collaborator["hourly_cost"].strip():
            cost[match.deal_id] += match.entry.hours * Decimal(match.collaborator["hourly_cost"])
    purchases = defaultdict(Decimal)
    for purchase in landing.purchases:
        purchases[purchase["deal_id"]] += money(purchase["total_excl_tax"])
    sales, invoice_deal = defaultdict(Decimal), {}
    for invoice in landing.invoices:
        if status_of(invoice) in BILLED_INVOICE:
            sales[invoice["deal_id"]] += money(invoice["total_excl_tax"])
            invoice_deal[invoice["id"]] = invoice["deal_id"]
    for note in landing.credit_notes:
        if status_of(note) in BILLED_CREDIT_NOTE and note["invoice_id"] in invoice_deal:
            sales[invoice_deal[note["invoice_id"]]] -= money(note["total_excl_tax"])
    return {deal["id"]: {
        "actual_labour_hours": rounded(hours[deal["id"]], CENT),
        "actual_labour_cost": rounded(cost[deal["id"]], CENT),
        "actual_purchases": purchases[deal["id"]],
        "actual_sales": sales[deal["id"]],
        "alert_purchase_budget_exceeded": purchases[deal["id"]] > money(deal["budget_purchases"]),
    } for deal in landing.deals}


# --- oracle: sales pipeline (fct_sales_pipeline.yml) -------------------------------------------------------

def expected_pipeline(landing: Landing) -> dict[str | None, dict]:
    """Per owner: the reference month's open count, open and weighted amounts (seen on the reference date),
    and the won / lost counts summed over every month up to the reference date."""
    as_of = landing.as_of
    owners: dict[str | None, dict] = {}

    def owner(record: dict[str, str]) -> dict:
        key = record["owner_id"].strip() or None
        return owners.setdefault(key, {"open_count": 0, "open_amount": Decimal(0), "weighted": Decimal(0),
                                       "won_count": 0, "lost_count": 0})

    for deal in landing.deals:
        owner(deal)
    for o in landing.opportunities:
        figures, status = owner(o), status_of(o)
        if status not in OPPORTUNITY_STATUSES:
            continue  # outside the contract: in no pipeline figure
        created, closed = opportunity_period(o)
        if (created is None or created <= as_of) and (closed is None or closed > as_of):
            figures["open_count"] += 1
            figures["open_amount"] += money(o["amount"])
            figures["weighted"] += money(o["amount"]) * money(o["probability"]) / 100
        if status in ("won", "lost") and closed is not None and closed <= as_of:
            figures[f"{status}_count"] += 1
    for figures in owners.values():
        figures["weighted_amount"] = rounded(figures.pop("weighted"), CENT)
    return owners


# --- oracle: practice (rpt_practice_clients.yml, fct_practice_daily.yml, domain.md §6) ---------------------

@dataclass(frozen=True)
class PracticeDocument:
    client_id: str
    received: date
    processed_day: date | None  # processed documents only
    is_auto: bool


def practice_documents(landing: Landing) -> list[PracticeDocument]:
    latest_line = {d["id"]: d for d in landing.documents}  # a document listed twice keeps its last line
    result = []
    for d in latest_line.values():
        received, processed = day_of(d["received_at"]), day_of(d["processed_at"])
        is_processed = status_of(d) == "processed"
        processed_day = max(processed or received, received) if is_processed else None
        client = landing.client_of(d["company_id"]) or f"crm-{d['company_id']}"
        result.append(PracticeDocument(client, received, processed_day,
                                       is_processed and d["auto_rule"].strip().lower() == "true"))
    return result


def practice_client_ids(landing: Landing, documents: list[PracticeDocument]) -> set[str]:
    files = {siren_of(f["siren"]) or landing.client_of(f["company_id"]) for f in landing.client_files}
    return files | {d.client_id for d in documents}


def in_window(day: date | None, end: date, days: int = 30) -> bool:
    """day in (end - days, end]."""
    return day is not None and end - timedelta(days=days) < day <= end


def expected_practice_clients(landing: Landing) -> dict[str, dict]:
    as_of, documents = landing.as_of, practice_documents(landing)
    office_of = {c["id"]: c["office_id"] for c in landing.collaborators}
    files = {siren_of(f["siren"]) or landing.client_of(f["company_id"]): f for f in landing.client_files}
    rules = defaultdict(int)
    for rule in landing.supplier_rules:
        created = day_of(rule["created_at"])
        if rule["active"].strip().lower() == "true" and (created is None or created <= as_of):
            rules[landing.client_of(rule["company_id"]) or f"crm-{rule['company_id']}"] += 1
    expected = {}
    for client in practice_client_ids(landing, documents):
        mine = [d for d in documents if d.client_id == client]
        last = sum(1 for d in mine if in_window(d.received, as_of))
        previous = sum(1 for d in mine if in_window(d.received, as_of - timedelta(days=30)))
        processed = [d for d in mine if in_window(d.processed_day, as_of)]
        client_file = files.get(client, {})
        expected[client] = {
            "documents_last_30d": last,
            "documents_previous_30d": previous,
            "is_inactive": last == 0 or (previous > 0 and (previous - last) * 100 >= INACTIVE_DROP_PCT * previous),
            "supplier_rules_count": rules[client],
            "auto_processed_share": rounded(Decimal(sum(d.is_auto for d in processed)) / len(processed),
                                            TEN_THOUSANDTH) if processed else None,
            "collaborator_id": client_file.get("collaborator_id") or None,
            "office_id": office_of.get(client_file.get("collaborator_id")),
            "bookkeeping_by": client_file.get("bookkeeping_by") or None,
            "is_deactivated": client_file.get("deactivated", "").strip().lower() == "true",
        }
    return expected


# --- tests -------------------------------------------------------------------------------------------------

def test_the_run_completes_with_only_the_stray_file_rejected(firm):
    # exit code 2: the run completed and an input was rejected (contract §3)
    assert firm.exit_code == 2
    rows = published(firm, "SELECT file_path, line_number FROM ingest_rejections")
    assert rows == [{"file_path": f"accounting/{NOT_A_LEDGER}", "line_number": None}]


def test_the_generated_firm_holds_every_case_the_comparisons_rely_on(landing, matches):
    # Without these cases the comparisons below would pass without checking the rule they name.
    statuses = expected_account_statuses(landing)
    assert {status for status, *_ in statuses.values()} == set(STATUS_RANK)
    records = account_records(landing)
    groups = [c for c, r in records.items() if r["type"] == "group"]
    deal_clients = {landing.client_of(d["company_id"]) for d in landing.deals}
    assert any(statuses[g][0] == "actif" and g not in deal_clients for g in groups), "active through a subsidiary"
    sales = expected_client_sales(landing).values()
    assert sum(1 for s in sales if s["invoices_late_count"]) >= 3
    assert sum(1 for s in sales if s["invoices_to_pay_count"]) >= 3
    assert sum(1 for s in sales if s["quotes_sent_count"]) and sum(1 for s in sales if s["quotes_read_count"])
    assert sum(1 for s in sales if s["late_payments_count"]) >= 5
    counted_notes = [n for n in landing.credit_notes if status_of(n) in BILLED_CREDIT_NOTE]
    uncounted_notes = [n for n in landing.credit_notes if status_of(n) not in BILLED_CREDIT_NOTE]
    assert counted_notes and uncounted_notes
    assert any(status_of(i) not in BILLED_INVOICE for i in landing.invoices), "draft or cancelled invoices"
    assert any(status_of(e) in ACCEPTED_QUOTE for e in landing.estimates)
    assert any(m.collaborator is None and m.deal_id for m in matches), "unpriced hours on a deal"
    assert any(m.deal_id is None for m in matches)
    assert any(m.entry.source_format == "harvest" and m.deal_id for m in matches)
    assert any(d["alert_purchase_budget_exceeded"] for d in expected_deals(landing, matches).values())
    practice = expected_practice_clients(landing).values()
    assert {p["is_inactive"] for p in practice} == {True, False}
    assert any(p["auto_processed_share"] for p in practice)


def test_account_status_of_every_company(firm, landing):
    expected = expected_account_statuses(landing)
    rows = published(firm, "SELECT client_id, as_of_date, status, last_deal_activity_date,"
                           " last_opportunity_activity_date FROM fct_account_status")
    assert sorted(r["client_id"] for r in rows) == sorted(expected)
    assert {r["as_of_date"] for r in rows} == {firm.as_of}
    wrong = [(r["client_id"], expected[r["client_id"]],
              (r["status"], r["last_deal_activity_date"], r["last_opportunity_activity_date"]))
             for r in rows
             if (r["status"], r["last_deal_activity_date"], r["last_opportunity_activity_date"])
             != expected[r["client_id"]]]
    assert not wrong, f"(client, expected, published): {wrong}"


def test_client_sales_of_every_client(firm, landing):
    expected = expected_client_sales(landing)
    columns = list(next(iter(expected.values())))
    rows = published(firm, f"SELECT client_id, {', '.join(columns)} FROM fct_client_sales")
    assert sorted(r["client_id"] for r in rows) == sorted(expected)
    wrong = []
    for row in rows:
        row["purchases_by_year"] = json.loads(row["purchases_by_year"], parse_float=Decimal, parse_int=Decimal)
        for column in columns:
            if row[column] != expected[row["client_id"]][column]:
                wrong.append((row["client_id"], column, expected[row["client_id"]][column], row[column]))
    assert not wrong, f"(client, column, expected, published): {wrong}"


def test_client_sales_count_credit_notes_and_leave_out_cancelled_and_draft_documents(firm, landing):
    # The same rule as above, on the clients where it shows: a client with a counted credit note and an
    # uncounted (draft or cancelled) one; the total is its billed invoices minus its counted credit notes only.
    as_of = landing.as_of
    by_client = defaultdict(list)
    for document in sales_documents(landing):
        by_client[document.client_id].append(document)
    chosen = [client for client, docs in by_client.items()
              if any(d.kind == "credit_note" and is_billed(d, as_of) for d in docs)
              and any(d.kind == "credit_note" and not is_billed(d, as_of) for d in docs)]
    assert chosen
    totals = {r["client_id"]: r["total_purchases"] for r in published(
        firm, "SELECT client_id, total_purchases FROM fct_client_sales")}
    for client in chosen:
        docs = by_client[client]
        invoiced = sum(d.amount for d in docs if d.kind == "invoice" and d.status in BILLED_INVOICE)
        credited = sum(d.amount for d in docs if d.kind == "credit_note" and d.status in BILLED_CREDIT_NOTE)
        assert credited > 0 and totals[client] == invoiced - credited, client


def test_deals_labour_purchases_sales_and_budget_alert(firm, landing, matches):
    expected = expected_deals(landing, matches)
    columns = list(next(iter(expected.values())))
    rows = published(firm, f"SELECT deal_id, {', '.join(columns)} FROM fct_deals")
    assert sorted(r["deal_id"] for r in rows) == sorted(expected)
    wrong = [(r["deal_id"], column, expected[r["deal_id"]][column], r[column])
             for r in rows for column in columns if r[column] != expected[r["deal_id"]][column]]
    assert not wrong, f"(deal, column, expected, published): {wrong[:20]}"


def test_every_time_entry_the_matcher_cannot_match_is_reported_and_only_those(firm, matches):
    expected = set()
    for match in matches:
        if match.collaborator is None:
            expected.add((match.entry.record_key, "collaborator"))
        if match.deal_id is None:
            expected.add((match.entry.record_key, "deal"))
    rows = published(firm, "SELECT record_key, match_target, source FROM rpt_unmatched_records"
                           " WHERE entity = 'time_entry'")
    assert {r["source"] for r in rows} == {"timetracking"}
    assert sorted((r["record_key"], r["match_target"]) for r in rows) == sorted(expected)
    assert {target for _, target in expected} == {"collaborator", "deal"}


def test_sales_pipeline_per_owner(firm, landing):
    expected = expected_pipeline(landing)
    current_month = firm.as_of.replace(day=1)
    current = {r["owner_id"]: r for r in published(
        firm, "SELECT owner_id, open_count, open_amount, weighted_amount FROM fct_sales_pipeline"
              " WHERE month = ?", [current_month])}
    totals = {r["owner_id"]: r for r in published(
        firm, "SELECT owner_id, sum(won_count) AS won_count, sum(lost_count) AS lost_count,"
              " max(month) AS last_month FROM fct_sales_pipeline GROUP BY owner_id")}
    assert sorted(current, key=str) == sorted(totals, key=str) == sorted(expected, key=str)
    for owner, figures in expected.items():
        assert totals[owner]["last_month"] == current_month, owner
        published_figures = {**current[owner], **totals[owner]}
        assert {k: published_figures[k] for k in figures} == figures, owner
    assert sum(f["open_count"] for f in expected.values()) > 0
    assert sum(f["won_count"] for f in expected.values()) and sum(f["lost_count"] for f in expected.values())


def test_practice_client_report_of_every_client(firm, landing):
    expected = expected_practice_clients(landing)
    columns = list(next(iter(expected.values())))
    rows = published(firm, f"SELECT client_id, {', '.join(columns)} FROM rpt_practice_clients")
    assert sorted(r["client_id"] for r in rows) == sorted(expected)
    wrong = [(r["client_id"], column, expected[r["client_id"]][column], r[column])
             for r in rows for column in columns if r[column] != expected[r["client_id"]][column]]
    assert not wrong, f"(client, column, expected, published): {wrong}"


def test_practice_daily_receipts_add_up_to_the_documents_received_in_the_window(firm, landing):
    as_of, documents = landing.as_of, practice_documents(landing)
    first_day = max(as_of - timedelta(days=PRACTICE_DAILY_DAYS - 1), min(d.received for d in documents))
    days = [first_day + timedelta(days=k) for k in range((as_of - first_day).days + 1)]
    clients = practice_client_ids(landing, documents)
    rows = published(firm, "SELECT client_id, day, documents_received FROM fct_practice_daily")
    assert sorted((r["client_id"], r["day"]) for r in rows) == sorted((c, d) for c in clients for d in days)
    received = defaultdict(int)
    for row in rows:
        received[row["client_id"]] += row["documents_received"]
    expected = {client: sum(1 for d in documents if d.client_id == client and first_day <= d.received <= as_of)
                for client in clients}
    assert received == expected
    assert sum(expected.values()) > 0


@pytest.mark.parametrize("table", sorted(set(CONTRACT_TABLES) - FILLED_BY_A_LATER_STEP))
def test_contract_table_is_published_non_empty_in_duckdb_and_parquet(firm, table):
    minimum = CONTRACT_TABLES[table]
    columns = [r["column_name"] for r in published(
        firm, "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ?"
              " ORDER BY column_index", [table])]
    assert set(minimum) <= set(columns), sorted(set(minimum) - set(columns))
    rows = published(firm, f'SELECT count(*) AS n FROM "{table}"')[0]["n"]
    with duckdb.connect() as con:
        parquet = con.read_parquet(str(firm.home / "publish" / "parquet" / f"{table}.parquet"))
        parquet_columns, parquet_rows = parquet.columns, len(parquet)
    assert set(minimum) <= set(parquet_columns), sorted(set(minimum) - set(parquet_columns))
    assert rows > 0
    assert parquet_rows == rows
