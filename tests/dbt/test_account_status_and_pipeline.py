"""Builds the account statuses (seed 004, domain.md §7) and the sales pipeline (domain.md §5) on the sample raw
layer plus a small CRM history placed around the 3- and 6-month boundaries, and checks every row against a
reference calculation written here from the definitions."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from tests.dbt.dbt_runner import build_models, fetch_dicts
from tests.dbt.sample_warehouse import ALPHA, BETA, build_sample_warehouse

AS_OF = date(2026, 10, 31)
HISTORY_MONTHS = 24
MODELS = ("fct_account_status", "fct_account_status_monthly", "fct_sales_pipeline")
STATUS_ORDER = ("actif", "prospect", "delaisse", "inactif")
OPEN_STATUSES = {"open", "late"}
KNOWN_OPPORTUNITY_STATUSES = OPEN_STATUSES | {"won", "lost", "cancelled", "closed"}
KNOWN_DEAL_STATUSES = {"planned", "in_progress", "done", "cancelled"}


@dataclass(frozen=True)
class Company:
    id: str
    name: str
    type: str
    parent_id: str | None
    created: date

    @property
    def client_id(self) -> str:
        return f"crm-{self.id}"


@dataclass(frozen=True)
class Opportunity:
    id: str
    company_id: str
    name: str
    amount: Decimal
    probability: Decimal
    status: str
    created: date
    due: date | None
    closed: date | None
    owner_id: str


@dataclass(frozen=True)
class Deal:
    id: str
    company_id: str
    name: str
    status: str
    start: date
    end: date | None
    owner_id: str


# Added to the sample's c1 (Alpha, client of group c3), c2 (Gamma, prospect) and c3 (Groupe Alpha), all three
# created 2022-05-04. Comments give the status expected at AS_OF (3 months back: 2026-07-31, 6 months: 2026-04-30).
COMPANIES = (
    Company("c4", "Delta Conseil", "client", None, date(2019, 1, 15)),  # deal ended exactly 3 months back: actif
    Company("c5", "Epsilon", "client", None, date(2019, 2, 1)),  # deal ended one day before: delaisse
    Company("c6", "Zeta", "client", None, date(2019, 3, 1)),  # opportunity lost exactly 6 months back: delaisse
    Company("c7", "Eta", "competitor", None, date(2019, 4, 1)),  # one day before: inactif
    Company("c8", "Theta", "prospect", None, date(2026, 8, 1)),  # created 3 months ago: prospect
    Company("c9", "Iota", "supplier", None, date(2026, 4, 30)),  # created exactly 6 months back, nothing: delaisse
    Company("c10", "Kappa", "client", "c3", date(2020, 1, 1)),  # deal in progress: actif, and so is group c3
)
SAMPLE_COMPANIES_CREATED = date(2022, 5, 4)
ALPHA_COMPANY, GAMMA_COMPANY, GROUP_COMPANY = "c1", "c2", "c3"

OPPORTUNITIES = (
    Opportunity("p1", "c6", "Audit", Decimal("1500.00"), Decimal("20"), "lost", date(2026, 3, 1), date(2026, 4, 15),
                date(2026, 4, 30), "u1"),
    Opportunity("p2", "c7", "Audit", Decimal("900.00"), Decimal("40"), "closed", date(2026, 2, 1), None,
                date(2026, 4, 29), "u2"),
    Opportunity("p3", "c1", "Diagnostic", Decimal("2200.00"), Decimal("20"), "on_hold", date(2025, 12, 9),
                date(2026, 1, 23), None, "u1"),
    Opportunity("p4", "c4", "Prévisionnel", Decimal("1800.00"), Decimal("60"), "open", date(2026, 9, 15),
                date(2026, 10, 20), None, "u1"),
    Opportunity("p5", "c8", "Reprise", Decimal("1200.50"), Decimal("35"), "won", date(2026, 8, 10), None,
                date(2026, 10, 5), "u2"),
    Opportunity("p6", "c10", "Paie", Decimal("700.00"), Decimal("50"), "cancelled", date(2026, 6, 1), None,
                date(2026, 9, 10), "u2"),
    Opportunity("p7", "c10", "Conseil", Decimal("333.33"), Decimal("33.33"), "late", date(2026, 7, 1),
                date(2026, 8, 1), None, "u1"),
    Opportunity("p8", "c4", "Bilan", Decimal("2000.00"), Decimal("70"), "lost", date(2026, 8, 1), None,
                date(2026, 10, 12), "u1"),
    Opportunity("p9", "c5", "Juridique", Decimal("450.00"), Decimal("80"), "won", date(2026, 5, 2), None,
                date(2026, 6, 20), "u2"),
)

DEALS = (
    Deal("a1", "c4", "Tenue 2026", "done", date(2026, 1, 1), date(2026, 7, 31), "u1"),
    Deal("a2", "c5", "Tenue 2026", "done", date(2026, 1, 1), date(2026, 7, 30), "u2"),
    Deal("a3", "c10", "Paie 2026", "in_progress", date(2026, 2, 1), date(2026, 6, 30), "u3"),  # runs late
    Deal("a4", "c2", "Mission 2027", "planned", date(2027, 1, 1), date(2027, 3, 31), "u2"),  # never counts
    Deal("a5", "c7", "Bilan", "cancelled", date(2026, 9, 1), date(2026, 9, 30), "u2"),  # never counts
)


def _insert_crm_history(path: Path) -> None:
    con = duckdb.connect(str(path))
    try:
        con.executemany(
            "INSERT INTO raw.crm_companies (id, name, type, parent_id, created, _file_sha256, _source_file,"
            " _line_number) VALUES (?, ?, ?, ?, ?, 'sha-crm', 'crm/companies.csv', ?)",
            [[c.id, c.name, c.type, c.parent_id, f"{c.created}T09:00:00+02:00", line]
             for line, c in enumerate(COMPANIES, start=10)],
        )
        con.executemany(
            "INSERT INTO raw.crm_opportunities (id, company_id, name, amount, probability, status, created,"
            " due_date, closed_date, owner_id, _file_sha256, _source_file, _line_number)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'sha-opp', 'crm/opportunities.csv', ?)",
            [[o.id, o.company_id, o.name, str(o.amount), str(o.probability), o.status,
              f"{o.created}T10:30:00+02:00", _iso(o.due), _iso(o.closed), o.owner_id, line]
             for line, o in enumerate(OPPORTUNITIES, start=2)],
        )
        con.executemany(
            "INSERT INTO raw.crm_deals (id, company_id, name, status, start_date, end_date, owner_id,"
            " _file_sha256, _source_file, _line_number) VALUES (?, ?, ?, ?, ?, ?, ?, 'sha-deals', 'crm/deals.csv', ?)",
            [[d.id, d.company_id, d.name, d.status, _iso(d.start), _iso(d.end), d.owner_id, line]
             for line, d in enumerate(DEALS, start=2)],
        )
    finally:
        con.close()


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("account_status")
    warehouse = root / "vigie.duckdb"
    build_sample_warehouse(warehouse)
    _insert_crm_history(warehouse)
    return warehouse, build_models(warehouse, root, MODELS, str(AS_OF))


@pytest.fixture(scope="module")
def warehouse(built):
    path, result = built
    assert result.success, result.exception
    con = duckdb.connect(str(path))
    yield con
    con.close()



# ---- reference calculation (domain.md §7, §5), written from the definitions ----


def _months_back(day: date, months: int) -> date:
    """The same day `months` earlier, or that month's last day when it is shorter (31 May - 3 months = 28 Feb)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _month_end(first_day: date) -> date:
    return first_day.replace(day=calendar.monthrange(first_day.year, first_day.month)[1])


def _reference_dates() -> list[date]:
    previous = [_month_end(_months_back(AS_OF.replace(day=1), n)) for n in range(1, HISTORY_MONTHS)]
    return sorted(previous) + [AS_OF]


def _all_companies() -> dict[str, tuple[str, date | None, str | None]]:
    """client_id -> (name, created, parent client_id) for every company of the warehouse."""
    companies = {
        ALPHA: ("Alpha SARL", SAMPLE_COMPANIES_CREATED, "crm-c3"),
        "crm-c2": ("Gamma SAS", SAMPLE_COMPANIES_CREATED, None),
        "crm-c3": ("Groupe Alpha", SAMPLE_COMPANIES_CREATED, None),
        BETA: (None, None, None),  # known only from its ledger: no CRM record
    }
    for c in COMPANIES:
        companies[c.client_id] = (c.name, c.created, None if c.parent_id is None else _client_of(c.parent_id))
    return companies


def _client_of(company_id: str) -> str:
    return ALPHA if company_id == ALPHA_COMPANY else f"crm-{company_id}"


def _activity_periods(client_id: str) -> list[tuple[str, date, date | None]]:
    """(kind, start, end or None while running) of the deals and opportunities that count for a company."""
    periods = []
    for d in DEALS:
        if _client_of(d.company_id) == client_id and d.status not in {"planned", "cancelled"}:
            periods.append(("deal", d.start, None if d.status == "in_progress" else d.end))
    for o in OPPORTUNITIES:
        if _client_of(o.company_id) == client_id:
            periods.append(("opportunity", o.created, None if o.status in OPEN_STATUSES else o.closed))
    return periods


def _own_status(client_id: str, created: date | None, at: date) -> str:
    recent, lapsing = _months_back(at, 3), _months_back(at, 6)
    last = {"deal": None, "opportunity": None}
    for kind, start, end in _activity_periods(client_id):
        if start > at:
            continue  # not begun yet at that date
        activity = at if end is None or end > at else end
        last[kind] = activity if last[kind] is None else max(last[kind], activity)
    if last["deal"] is not None and last["deal"] >= recent:
        return "actif"
    if (last["opportunity"] is not None and last["opportunity"] >= recent) or (created and created >= recent):
        return "prospect"
    latest = max((d for d in last.values() if d is not None), default=None)
    if latest is not None and latest >= lapsing:
        return "delaisse"
    if latest is None and created is not None and created >= lapsing:
        return "delaisse"
    return "inactif"


def _expected_statuses(at: date) -> dict[str, str]:
    """Status of every company existing at `at` (always at AS_OF): the best of its own and its subsidiaries'."""
    companies = _all_companies()
    own = {
        client_id: _own_status(client_id, created, at)
        for client_id, (_, created, _) in companies.items()
        if created is None or created <= at or at == AS_OF
    }
    best = dict(own)
    for client_id, (_, _, parent) in companies.items():
        while parent is not None and client_id in own:
            if parent in best and STATUS_ORDER.index(own[client_id]) < STATUS_ORDER.index(best[parent]):
                best[parent] = own[client_id]
            parent = companies[parent][2]
    return best


def _month_starts(first: date, last: date) -> list[date]:
    months, current = [], first
    while current <= last:
        months.append(current)
        current = _months_back(current, -1)
    return months


def _expected_pipeline() -> dict[tuple[str, date], dict]:
    first = min(o.created for o in OPPORTUNITIES).replace(day=1)
    owners = {o.owner_id for o in OPPORTUNITIES} | {d.owner_id for d in DEALS}
    expected = {}
    for month in _month_starts(first, AS_OF.replace(day=1)):
        end = min(_month_end(month), AS_OF)
        for owner in owners:
            mine = [o for o in OPPORTUNITIES if o.owner_id == owner and o.status in KNOWN_OPPORTUNITY_STATUSES]
            open_ = [o for o in mine if o.created <= end and (o.status in OPEN_STATUSES or o.closed > end)]
            closed = [o for o in mine if o.status not in OPEN_STATUSES and o.closed.replace(day=1) == month]
            won = sum(1 for o in closed if o.status == "won")
            lost = sum(1 for o in closed if o.status == "lost")
            weighted = sum((o.amount * o.probability / 100 for o in open_), Decimal(0))
            expected[(owner, month)] = {
                "open_count": len(open_),
                "open_amount": sum((o.amount for o in open_), Decimal(0)).quantize(Decimal("0.01")),
                "weighted_amount": weighted.quantize(Decimal("0.01"), ROUND_HALF_UP),
                "won_count": won,
                "lost_count": lost,
                "win_rate": (Decimal(won) / (won + lost)).quantize(Decimal("0.0001"), ROUND_HALF_UP)
                if won + lost else None,
                "deals_in_progress_count": sum(
                    1 for d in DEALS if d.owner_id == owner and d.status not in {"planned", "cancelled"}
                    and d.start <= end and (d.status == "in_progress" or d.end > end)
                ),
            }
    return expected


# ---- tests ----


def test_build_succeeds_with_its_unit_tests(built):
    _, result = built
    assert result.success, result.exception
    unit_tests = {r.node.name for r in result.result.results if r.node.resource_type == "unit_test"}
    # a unit test of a versioned (published) mart is named after the version it tests
    assert {"status_boundaries_at_exactly_3_and_6_months", "group_takes_the_best_status_of_its_subsidiaries",
            "unknown_status_is_counted_by_its_dates_and_flagged",
            "weighted_amount_and_win_rate_by_hand_v1"} <= unit_tests


def test_every_company_gets_the_status_of_the_definitions(warehouse):
    actual = dict(warehouse.execute("SELECT client_id, status FROM marts.fct_account_status").fetchall())
    clients = {row[0] for row in warehouse.execute("SELECT client_id FROM marts.dim_clients").fetchall()}
    assert set(actual) == clients
    assert actual == _expected_statuses(AS_OF)


def test_boundaries_land_on_the_documented_side(warehouse):
    status = dict(warehouse.execute("SELECT client_id, status FROM marts.fct_account_status").fetchall())
    # 2026-10-31 - 3 months = 2026-07-31 (still recent), - 6 months = 2026-04-30 (still 3 to 6 months)
    assert (status["crm-c4"], status["crm-c5"]) == ("actif", "delaisse")
    assert (status["crm-c6"], status["crm-c7"], status["crm-c9"]) == ("delaisse", "inactif", "delaisse")


def test_reasons_name_the_fact_and_its_date(warehouse):
    rows = {r["client_id"]: r for r in fetch_dicts(warehouse, "SELECT * FROM marts.fct_account_status")}
    lost = next(o for o in OPPORTUNITIES if o.id == "p1")
    assert f"« {lost.name} »" in rows["crm-c6"]["status_reason"]
    assert lost.closed.isoformat() in rows["crm-c6"]["status_reason"]
    assert lost.closed.isoformat() in rows["crm-c6"]["status_reason_en"]
    assert rows[BETA]["status_reason"] == "sans affaire ni opportunité, date de création inconnue"


def test_group_takes_its_subsidiary_status_and_names_it(warehouse):
    rows = {r["client_id"]: r for r in fetch_dicts(warehouse, "SELECT * FROM marts.fct_account_status")}
    group = rows["crm-c3"]
    assert (group["status"], group["own_status"], group["account_category"]) == ("actif", "inactif", "groupe")
    assert group["status_source_client_id"] == "crm-c10"
    assert group["status_reason"].startswith("filiale « Kappa » : ")
    assert (rows["crm-c10"]["parent_client_id"], rows[ALPHA]["parent_client_id"]) == ("crm-c3", "crm-c3")


def test_unknown_opportunity_status_is_counted_and_flagged(warehouse):
    alpha = fetch_dicts(warehouse, f"SELECT * FROM marts.fct_account_status WHERE client_id = '{ALPHA}'")[0]
    assert (alpha["status"], alpha["has_unknown_status"], alpha["has_open_opportunity"]) == ("prospect", True, True)
    assert "on_hold" in alpha["status_reason"]


def test_account_categories_follow_seed_004(warehouse):
    category = dict(warehouse.execute("SELECT client_id, account_category FROM marts.fct_account_status").fetchall())
    assert (category["crm-c2"], category["crm-c7"], category["crm-c9"]) == ("client", "concurrent", "partenaire")


def test_monthly_history_matches_the_definitions_at_each_month_end(warehouse):
    rows = fetch_dicts(warehouse, "SELECT client_id, reference_date, status, previous_status, status_changed"
                            " FROM marts.fct_account_status_monthly ORDER BY client_id, reference_date")
    actual = {(r["client_id"], r["reference_date"]): r["status"] for r in rows}
    expected = {
        (client_id, at): status for at in _reference_dates() for client_id, status in _expected_statuses(at).items()
    }
    assert actual == expected
    for previous, row in zip(rows, rows[1:], strict=False):
        if previous["client_id"] == row["client_id"]:
            assert row["previous_status"] == previous["status"]
            assert row["status_changed"] == (previous["status"] != row["status"])


def test_monthly_history_ends_on_the_current_status(warehouse):
    current = set(warehouse.execute("SELECT client_id, status FROM marts.fct_account_status").fetchall())
    last = set(warehouse.execute(
        "SELECT client_id, status FROM marts.fct_account_status_monthly WHERE reference_date = ?", [AS_OF]
    ).fetchall())
    assert last == current


def test_pipeline_matches_the_reference_calculation(warehouse):
    rows = fetch_dicts(warehouse, "SELECT * FROM marts.fct_sales_pipeline")
    expected = _expected_pipeline()
    assert {(r["owner_id"], r["month"]) for r in rows} == set(expected)
    for row in rows:
        actual = {key: row[key] for key in expected[(row["owner_id"], row["month"])]}
        assert actual == expected[(row["owner_id"], row["month"])], (row["owner_id"], row["month"])
