"""The sample-data generator: determinism, balanced ledgers, the scenarios it claims, consistent sources.

The FEC files are read back with the deliberately small parser of tests/fec_oracle.py (tab or pipe, UTF-8 with
or without BOM or ISO-8859-15, Debit/Credit or Montant/Sens): it knows only what the generator writes, and shares
no code with it, so the indicator checks below are an independent reading of the ledgers.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from assets.generate import SCENARIO_DESCRIPTIONS, generate_landing
from tests.fec_oracle import FEC_NAME, FecLine, cents, decode, read_fec

VAT_FRANCHISE_SERVICES = 37_500_00
MICRO_CEILING_GOODS = 203_100_00
EURO = 100  # cents


# --- indicators recomputed from the ledger (domain.md §2) ---------------------------------------------------

@dataclass
class Month:
    revenue: int = 0
    payroll: int = 0
    charges: int = 0
    ebitda: int = 0
    sales_incl_tax: int = 0
    sales_by_customer: dict = field(default_factory=lambda: defaultdict(int))
    cash: int = 0
    receivables: int = 0
    capital: int = 0
    equity: int = 0
    result_to_date: int = 0
    suspense: int = 0
    total_assets: int = 0


@dataclass
class ClientBooks:
    months: dict[str, Month]  # "AAAAMM" -> month
    last_day: date
    has_vat_lines: bool
    revenue_accounts: set[str]

    def last(self, count: int) -> list[Month]:
        return [self.months[key] for key in sorted(self.months)[-count:]]


def starts(account: str, *prefixes: str) -> bool:
    return account.startswith(prefixes)


def total_assets(balances: dict[str, int]) -> int:
    """Balance-sheet total: debit balances of classes 2-5, net of depreciation (28)."""
    gross = sum(v for a, v in balances.items() if a[0] in "2345" and not a.startswith("28") and v > 0)
    return gross + sum(v for a, v in balances.items() if a.startswith("28"))


def month_of(lines: list[FecLine], balances: dict[str, int], month: str) -> Month:
    m = Month()
    for line in lines:
        account, amount = line.account, line.amount
        if starts(account, "70"):
            m.revenue -= amount
        if starts(account, "641", "644", "645", "646", "647", "648"):
            m.payroll += amount
        if account[0] == "6":
            m.charges += amount
        if starts(account, "60", "61", "62", "63", "64"):
            m.ebitda -= amount
        if starts(account, "70", "71", "72", "74"):
            m.ebitda -= amount
        if starts(account, "411") and line.journal == "VT":
            m.sales_incl_tax += amount
            m.sales_by_customer[line.aux] += amount
    m.cash = sum(v for a, v in balances.items() if starts(a, "512"))
    m.receivables = sum(v for a, v in balances.items() if starts(a, "411"))
    m.capital = -balances.get("101300", 0)
    m.result_to_date = -sum(v for a, v in balances.items() if a[0] in "67")
    m.equity = (
        -sum(
            v for a, v in balances.items() if starts(a, "10", "11", "12", "13", "14") and not starts(a, "109")
        )
        + m.result_to_date
    )
    m.suspense = -sum(v for a, v in balances.items() if starts(a, "471"))
    m.total_assets = total_assets(balances)
    return m


def client_books(paths: list[Path]) -> ClientBooks:
    """Monthly indicators from the newest file of each fiscal year; balances restart with each file's AN."""
    months: dict[str, Month] = {}
    has_vat, revenue_accounts, last_day = False, set(), "00000000"
    for path in sorted(paths):
        _, lines = read_fec(path)
        balances: dict[str, int] = defaultdict(int)
        by_month: dict[str, list[FecLine]] = defaultdict(list)
        for line in lines:
            if line.journal == "AN":
                balances[line.account] += line.amount
            else:
                by_month[line.day[:6]].append(line)
            has_vat |= line.account.startswith("4457")
            if line.account.startswith("70"):
                revenue_accounts.add(line.account[:3])
            last_day = max(last_day, line.day)
        for month in sorted(by_month):
            for line in by_month[month]:
                balances[line.account] += line.amount
            months[month] = month_of(by_month[month], balances, month)
    return ClientBooks(months, datetime.strptime(last_day, "%Y%m%d").date(), has_vat, revenue_accounts)


def dso_days(books: ClientBooks) -> float:
    year = books.last(12)
    return books.last(1)[0].receivables * 360 / sum(m.sales_incl_tax for m in year)


def top_customer_share(books: ClientBooks) -> float:
    totals: dict[str, int] = defaultdict(int)
    for month in books.last(12):
        for customer, amount in month.sales_by_customer.items():
            totals[customer] += amount
    return max(totals.values()) / sum(totals.values())


def falling(values: list[int]) -> bool:
    return all(later < earlier for earlier, later in zip(values, values[1:], strict=False))


def payroll_outgrows_revenue(books: ClientBooks, months: int) -> bool:
    window = books.last(months + 1)
    return all(
        before.payroll > 0 and now.payroll / before.payroll > now.revenue / before.revenue
        for before, now in zip(window, window[1:], strict=False)
    )


# Each scenario tag, as a property computed from the ledger on the latest month (domain.md §3 thresholds).
PROPERTIES = {
    "cash_falling_6m": lambda b, as_of: falling([m.cash for m in b.last(7)]),
    "cash_below_one_month_charges": lambda b, as_of: b.last(1)[0].cash < b.last(1)[0].charges,
    "cash_negative_months": lambda b, as_of: all(m.cash < 0 for m in b.last(6)),
    "vat_franchise_threshold": lambda b, as_of: (
        not b.has_vat_lines
        and "706" in b.revenue_accounts
        and 0.9 * VAT_FRANCHISE_SERVICES <= sum(m.revenue for m in b.last(12)) <= VAT_FRANCHISE_SERVICES
    ),
    "micro_ceiling": lambda b, as_of: (
        "707" in b.revenue_accounts
        and 0.9 * MICRO_CEILING_GOODS <= sum(m.revenue for m in b.last(12)) <= MICRO_CEILING_GOODS
    ),
    "cac_thresholds": lambda b, as_of: (
        sum(
            [
                sum(m.revenue for m in b.last(12)) > 10_000_000 * EURO,
                sum(m.payroll for m in b.last(12)) / (45_000 * EURO) > 50,
                b.last(1)[0].total_assets > 5_000_000 * EURO,
            ]
        )
        >= 2
    ),
    "payroll_faster_than_revenue": lambda b, as_of: payroll_outgrows_revenue(b, 6),
    "dso_above_60": lambda b, as_of: dso_days(b) > 60,
    "customer_above_30pct": lambda b, as_of: top_customer_share(b) > 0.30,
    "ebitda_falling_3m": lambda b, as_of: falling([m.ebitda for m in b.last(4)]),
    "ebitda_negative": lambda b, as_of: all(m.ebitda < 0 for m in b.last(3)),
    "net_result_negative": lambda b, as_of: b.last(1)[0].result_to_date < 0,
    "equity_below_half_capital": lambda b, as_of: b.last(1)[0].equity < b.last(1)[0].capital / 2,
    "profit_above_42500": lambda b, as_of: (
        sum(m.revenue for m in b.last(12)) < 10_000_000 * EURO
        and sum(m.revenue - m.charges for m in b.last(12)) > 42_500 * EURO
    ),
    "suspense_471": lambda b, as_of: b.last(1)[0].suspense > 20_000 * EURO,
    "stale_ledger": lambda b, as_of: b.last_day < as_of - timedelta(days=92),
}


# --- fixtures -----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    return out, generate_landing(out)


@pytest.fixture(scope="module")
def landing(generated) -> Path:
    return generated[0] / "landing"


@pytest.fixture(scope="module")
def report(generated):
    return generated[1]


@pytest.fixture(scope="module")
def books(landing) -> dict[str, ClientBooks]:
    newest: dict[str, list[Path]] = defaultdict(list)
    for path in (landing / "accounting").iterdir():
        match = FEC_NAME.match(path.name)
        if match and not match["older"]:
            newest[match["siren"]].append(path)
    return {siren: client_books(paths) for siren, paths in newest.items()}


def read_csv_file(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


def file_digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --- determinism, report, layout ----------------------------------------------------------------------------

def test_same_arguments_give_byte_identical_files(landing, tmp_path):
    generate_landing(tmp_path / "again")
    assert file_digests(tmp_path / "again" / "landing") == file_digests(landing)


def test_another_seed_gives_other_ledgers(landing, tmp_path):
    generate_landing(tmp_path / "other", clients=20, seed=7)
    first = {p.name for p in (landing / "accounting").iterdir()}
    other = {p.name for p in (tmp_path / "other" / "landing" / "accounting").iterdir()}
    assert not first & other  # new SIRENs


def test_report_counts_what_was_written(landing, report):
    files = [p for p in landing.rglob("*") if p.is_file()]
    fec = list((landing / "accounting").iterdir())
    assert report.files == len(files)
    assert report.fec_files == len(fec)
    assert report.fec_lines == sum(len(read_fec(p)[1]) for p in fec)
    assert report.bytes_written == sum(p.stat().st_size for p in files)
    assert report.clients == 40 and len(report.scenarios) == 40
    assert report.as_of == date(2026, 10, 31)
    assert {p.name for p in landing.iterdir()} == {"accounting", "crm", "timetracking", "practice"}


def test_refuses_a_landing_that_already_holds_files(landing):
    with pytest.raises(FileExistsError):
        generate_landing(landing.parent)


def test_lines_per_client_sets_the_ledger_size(tmp_path):
    generate_landing(tmp_path, clients=2, lines_per_client=6_000)
    per_client: dict[str, int] = defaultdict(int)
    for path in (tmp_path / "landing" / "accounting").iterdir():
        per_client[path.name[:9]] += len(read_fec(path)[1])
    assert len(per_client) == 2
    assert all(5_000 <= count <= 7_000 for count in per_client.values()), per_client


def test_every_scenario_tag_is_described_and_used(report):
    used = {tag for tags in report.scenarios.values() for tag in tags}
    assert used == set(SCENARIO_DESCRIPTIONS)
    assert sum(tags == ["healthy"] for tags in report.scenarios.values()) >= 5


# --- FEC files ----------------------------------------------------------------------------------------------

def luhn(number: str) -> bool:
    digits = [int(c) for c in reversed(number)]
    return (
        sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits)) % 10 == 0
    )


def test_fec_file_names(landing, report):
    names = [p.name for p in (landing / "accounting").iterdir()]
    matches = [FEC_NAME.match(name) for name in names]
    assert all(matches), [n for n, m in zip(names, matches, strict=True) if not m]
    assert {m["siren"] for m in matches} == set(report.scenarios)
    assert all(luhn(m["siren"]) for m in matches)
    for m in matches:
        closing = datetime.strptime(m["closing"], "%Y%m%d").date()
        assert (closing + timedelta(days=1)).day == 1  # a month end
    per_client = defaultdict(set)
    for m in matches:
        if not m["older"]:
            per_client[m["siren"]].add(m["closing"])
    assert all(len(closings) == 3 for closings in per_client.values())


def test_an_older_export_is_superseded_by_a_newer_one_with_more_months(landing):
    older = [p for p in (landing / "accounting").iterdir() if "_export-" in p.name]
    assert older
    for path in older:
        newer = path.with_name(path.name.split("_export-")[0] + ".txt")
        old_lines, new_lines = read_fec(path)[1], read_fec(newer)[1]
        assert max(line.day for line in old_lines)[:6] < max(line.day for line in new_lines)[:6]
        assert len(old_lines) < len(new_lines)
        assert path.stat().st_mtime < newer.stat().st_mtime


def test_every_fec_entry_balances(landing):
    for path in (landing / "accounting").iterdir():
        _, lines = read_fec(path)
        entries: dict[tuple[str, str], int] = defaultdict(int)
        for line in lines:
            entries[(line.journal, line.number)] += line.amount
        unbalanced = {key: total for key, total in entries.items() if total}
        assert not unbalanced, (path.name, list(unbalanced.items())[:3])
        assert len(entries) > 50


def test_fec_files_use_every_legal_variant(landing):
    raws = {p.name: p.read_bytes() for p in (landing / "accounting").iterdir()}
    headers = {name: read_fec(landing / "accounting" / name)[0] for name in raws}
    first_lines = {name: raw.split(b"\n", 1)[0] for name, raw in raws.items()}
    assert any(b"\t" in line for line in first_lines.values())
    assert any(b"|" in line for line in first_lines.values())
    assert any(raw.startswith(b"\xef\xbb\xbf") for raw in raws.values())
    assert any(b"\r\n" in raw for raw in raws.values())
    latin = [raw for raw in raws.values() if not raw.startswith(b"\xef\xbb\xbf") and _not_utf8(raw)]
    assert latin and all("€" in raw.decode("iso-8859-15") for raw in latin)
    assert any(b"\xa4" in raw for raw in latin)  # the euro sign, which Latin-1 would read as ¤
    assert any(h[11:13] == ["Montant", "Sens"] for h in headers.values())
    sens = {
        line.split("|" if "|" in line else "\t")[12]
        for name, raw in raws.items()
        if headers[name][12] == "Sens"
        for line in decode(raw).splitlines()[1:]
    }
    assert {"D", "C", "+1", "-1"} <= sens
    assert {len(h) for h in headers.values()} == {18, 21, 22}
    assert any(h[-4:] == ["DateRglt", "ModeRglt", "NatOp", "IdClient"] for h in headers.values())


def _not_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def test_opening_entries_carry_the_previous_year(landing):
    """Year N+1's à-nouveaux hold year N's closing balances (classes 1-5) and its result on 120/129."""
    files = sorted(p for p in (landing / "accounting").iterdir() if "_export-" not in p.name)
    by_client = defaultdict(list)
    for path in files:
        by_client[path.name[:9]].append(path)
    for paths in by_client.values():
        for previous, current in zip(paths, paths[1:], strict=False):
            closing: dict[str, int] = defaultdict(int)
            for line in read_fec(previous)[1]:
                closing[line.account] += line.amount
            opening: dict[str, int] = defaultdict(int)
            for line in read_fec(current)[1]:
                if line.journal == "AN":
                    opening[line.account] += line.amount
            result = sum(v for a, v in closing.items() if a[0] in "67")
            assert opening["120000"] + opening["129000"] == result
            carried = {a: v for a, v in closing.items() if a[0] in "2345" and v}
            assert {a: v for a, v in opening.items() if a[0] in "2345" and v} == carried
            assert opening["101300"] == closing["101300"] != 0


# --- scenarios ----------------------------------------------------------------------------------------------

def test_each_scenario_client_has_the_property_it_claims(books, report):
    for siren, tags in report.scenarios.items():
        for tag in tags:
            if tag != "healthy":
                assert PROPERTIES[tag](books[siren], report.as_of), (siren, tag)


def test_healthy_controls_fire_no_rule(books, report):
    controls = [siren for siren, tags in report.scenarios.items() if tags == ["healthy"]]
    for siren in controls:
        client = books[siren]
        fired = [tag for tag, holds in PROPERTIES.items() if holds(client, report.as_of)]
        assert not fired, (siren, fired)
        year = client.last(12)
        assert all(m.cash > 2 * m.charges for m in year)
        assert year[-1].cash > year[0].cash
        assert all(m.ebitda > 0 for m in year)
        assert 30 <= dso_days(client) <= 50
        assert 10_000 * EURO <= sum(m.revenue - m.charges for m in year) <= 40_000 * EURO


def test_scenario_properties_are_not_true_everywhere(books, report):
    """Each property holds for its scenario client but not for most clients: the predicates discriminate."""
    for tag, holds in PROPERTIES.items():
        holders = [siren for siren, b in books.items() if holds(b, report.as_of)]
        assert len(holders) <= len(books) // 3, (tag, len(holders))


# --- CRM ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def crm(landing) -> dict[str, list[dict]]:
    tables = {p.stem: read_csv_file(p) for p in (landing / "crm").glob("*.csv")}
    tables["interactions"] = [
        json.loads(line)
        for line in (landing / "crm" / "interactions.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    return tables


def test_crm_ids_are_referentially_consistent(crm, report):
    companies = {row["id"]: row for row in crm["companies"]}
    opportunities = {row["id"] for row in crm["opportunities"]}
    deals = {row["id"] for row in crm["deals"]}
    invoices = {row["id"] for row in crm["invoices"]}
    for table in ("opportunities", "deals", "estimates", "invoices", "credit_notes", "interactions"):
        assert all(str(row["company_id"]) in companies for row in crm[table]), table
    assert all(row["opportunity_id"] in opportunities for row in crm["deals"] if row["opportunity_id"])
    for table in ("estimates", "invoices"):
        assert all(row["deal_id"] in deals for row in crm[table] if row["deal_id"]), table
    assert all(row["deal_id"] in deals for row in crm["purchases"])
    assert all(row["invoice_id"] in invoices for row in crm["credit_notes"])
    documents = {
        "estimate": {r["id"] for r in crm["estimates"]},
        "invoice": invoices,
        "credit_note": {r["id"] for r in crm["credit_notes"]},
    }
    assert all(row["document_id"] in documents[row["document_type"]] for row in crm["document_lines"])
    parents = {row["parent_id"] for row in crm["companies"] if row["parent_id"]}
    assert parents and all(companies[p]["type"] == "group" for p in parents)
    children = [row for row in crm["companies"] if row["parent_id"]]
    assert 2 <= len(children) <= 3
    assert set(report.scenarios) <= {row["siren"] for row in crm["companies"]}


def test_invoice_totals_match_their_lines(crm):
    lines: dict[str, int] = defaultdict(int)
    for row in crm["document_lines"]:
        if row["document_type"] == "invoice":
            lines[row["id"] if "id" in row else row["document_id"]] += cents(
                row["total_excl_tax"].replace(".", ",")
            )
    for invoice in crm["invoices"]:
        excl = cents(invoice["total_excl_tax"].replace(".", ","))
        assert lines[invoice["id"]] == excl
        assert cents(invoice["total_incl_tax"].replace(".", ",")) == excl + excl // 5


def account_status(company: dict, crm: dict, as_of: date) -> str:
    """domain.md §7, first match wins."""

    def day(text: str) -> date:
        return date.fromisoformat(text[:10])

    three, six = as_of - timedelta(days=91), as_of - timedelta(days=183)
    deals = [d for d in crm["deals"] if d["company_id"] == company["id"]]
    opportunities = [o for o in crm["opportunities"] if o["company_id"] == company["id"]]
    if any(
        d["status"] == "in_progress" or (d["status"] == "done" and day(d["end_date"]) >= three) for d in deals
    ):
        return "actif"
    created = day(company["created"])
    open_or_recent = [o for o in opportunities if not o["closed_date"] or day(o["closed_date"]) >= three]
    if open_or_recent or created >= three:
        return "prospect"
    ends = [day(d["end_date"]) for d in deals] + [day(o["closed_date"]) for o in opportunities]
    if any(six <= end < three for end in ends) or (not ends and six <= created < three):
        return "delaisse"
    return "inactif"


def test_every_account_status_occurs(crm, report):
    statuses = {row["id"]: account_status(row, crm, report.as_of) for row in crm["companies"]}
    assert set(statuses.values()) == {"actif", "prospect", "delaisse", "inactif"}
    stale = next(siren for siren, tags in report.scenarios.items() if tags == ["stale_ledger"])
    assert statuses[next(r["id"] for r in crm["companies"] if r["siren"] == stale)] == "delaisse"
    types = {row["type"] for row in crm["companies"]}
    assert types == {"client", "prospect", "supplier", "competitor", "group", "internal", "partner"}


def test_crm_statuses_dates_and_amounts_follow_the_contract(crm):
    expected = {
        "deals": {"planned", "in_progress", "done", "cancelled"},
        "estimates": {"draft", "sent", "read", "accepted", "refused", "expired", "invoiced", "cancelled"},
        "invoices": {"draft", "due", "payinprogress", "paid", "late", "cancelled"},
    }
    for table, statuses in expected.items():
        assert statuses <= {row["status"] for row in crm[table]}, table
    unknown = {row["status"] for row in crm["opportunities"]} - {
        "open", "won", "lost", "cancelled", "closed", "late",
    }
    assert unknown == {"on_hold"}
    paid = [row for row in crm["invoices"] if row["status"] == "paid"]
    assert any(row["paid_date"] > row["due_date"] for row in paid)
    assert all(re.fullmatch(r"-?\d+\.\d{2}", row["total_excl_tax"]) for row in crm["invoices"])
    assert all(
        re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}", row["created"])
        for row in crm["companies"]
    )
    assert {"website", "is_archived"} <= set(crm["companies"][0])  # fields outside the contract


def test_interactions_hold_french_notes_personal_data_and_one_injection(crm):
    texts = [row["text"] for row in crm["interactions"]]
    assert {row["kind"] for row in crm["interactions"]} == {"comment", "task", "call", "event"}
    assert sum("ignore previous instructions" in t.lower() for t in texts) == 1
    assert any(re.search(r"[\w.]+@[\w.-]+\.\w+", t) for t in texts)
    assert any(re.search(r"\b0\d( \d\d){4}\b|\+33", t) for t in texts)


# --- time tracking and practice -----------------------------------------------------------------------------

CLOCKIFY = [
    "Project", "Client", "Description", "Task", "User", "Group", "Email", "Tags", "Billable", "Start Date",
    "Start Time", "End Date", "End Time", "Duration (h)", "Duration (decimal)", "Billable Rate (EUR)",
    "Billable Amount (EUR)",
]
TOGGL = [
    "User", "Email", "Client", "Project", "Task", "Description", "Billable", "Start date", "Start time",
    "End date", "End time", "Duration", "Tags", "Amount (EUR)",
]
HARVEST = [
    "Date", "Client", "Project", "Project Code", "Task", "Notes", "Hours", "Hours Rounded", "Billable?",
    "Invoiced?", "Approved?", "First Name", "Last Name", "Roles", "Employee?", "Billable Rate",
    "Billable Amount", "Cost Rate", "Cost Amount", "Currency", "External Reference URL",
]


@pytest.fixture(scope="module")
def time_exports(landing) -> dict[str, tuple[bytes, list[dict]]]:
    exports = {}
    for path in (landing / "timetracking").iterdir():
        tool = path.name.split("_")[0].lower()
        exports[tool] = (path.read_bytes(), read_csv_file(path))
    return exports


def test_time_tracking_exports_have_the_tools_headers(time_exports):
    assert set(time_exports) == {"clockify", "toggl", "harvest"}
    for tool, header in (("clockify", CLOCKIFY), ("toggl", TOGGL), ("harvest", HARVEST)):
        raw, rows = time_exports[tool]
        assert list(rows[0]) == header, tool
    assert time_exports["clockify"][0].startswith(b"\xef\xbb\xbf")
    assert all(re.fullmatch(r"\d\d/\d\d/\d{4}", r["Start Date"]) for r in time_exports["clockify"][1])
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d", r["Duration (h)"]) for r in time_exports["clockify"][1])
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", r["Start date"]) for r in time_exports["toggl"][1])


def test_time_entries_point_at_collaborators_and_deals_with_a_few_strays(time_exports, crm, landing):
    collaborators = read_csv_file(landing / "practice" / "collaborators.csv")
    emails = {c["email"] for c in collaborators}
    names = {c["name"] for c in collaborators}
    deals = {(d["company_id"], d["name"]) for d in crm["deals"]}
    company_ids = {c["name"]: c["id"] for c in crm["companies"]}
    users = [r["Email"] for tool in ("clockify", "toggl") for r in time_exports[tool][1]]
    users += [f"{r['First Name']} {r['Last Name']}" for r in time_exports["harvest"][1]]
    unknown_users = [u for u in users if u not in emails and u not in names]
    assert 0 < len(unknown_users) < len(users) // 50
    projects = [(r["Client"], r["Project"]) for tool in time_exports for r in time_exports[tool][1]]
    unmatched = [p for p in projects if (company_ids.get(p[0]), p[1]) not in deals]
    assert 0 < len(unmatched) < len(projects) // 50
    deal_names = {d["id"]: d["name"] for d in crm["deals"]}
    coded = [r for r in time_exports["harvest"][1] if r["Project Code"]]
    assert coded and all(deal_names[r["Project Code"]] == r["Project"] for r in coded)


def test_practice_files_link_to_the_ledgers_and_show_inactive_clients(landing, report):
    practice = {p.stem: read_csv_file(p) for p in (landing / "practice").glob("*.csv")}
    files = practice["client_files"]
    assert {f["siren"] for f in files} == set(report.scenarios)
    collaborators = {c["id"] for c in practice["collaborators"]}
    assert all(f["collaborator_id"] in collaborators for f in files)
    assert {c["office_id"] for c in practice["collaborators"]} == {o["id"] for o in practice["offices"]}
    assert {f["bookkeeping_by"] for f in files} == {"firm", "client"}
    assert {f["frequency"] for f in files} == {"monthly", "quarterly", "yearly"}
    documents = practice["documents"]
    assert {d["method"] for d in documents} == {"app", "email", "upload", "fetch", "whatsapp"}
    assert {d["status"] for d in documents} == {"to_review", "ready", "processed"}
    assert all(d["processed_at"] > d["received_at"] for d in documents if d["processed_at"])
    as_of = report.as_of
    recent, previous = defaultdict(int), defaultdict(int)
    for d in documents:
        age = (as_of - date.fromisoformat(d["received_at"][:10])).days
        if age < 30:
            recent[d["company_id"]] += 1
        elif age < 60:
            previous[d["company_id"]] += 1
    assert any(recent[c] <= previous[c] / 2 for c in previous if previous[c] >= 10)
    assert sum(recent[c] > previous[c] / 2 for c in previous) > len(previous) // 2
