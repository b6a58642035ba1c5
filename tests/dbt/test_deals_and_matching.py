"""Builds fct_deals and rpt_unmatched_records on the small sample warehouse (tests/dbt/sample_warehouse.py) plus a
few deals, CRM documents and time entries written here, and checks them against figures computed here from
those rows (domain.md §5, issue 3 matching)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from tests.dbt.dbt_runner import build_models, fetch_dicts
from tests.dbt.sample_warehouse import ALPHA, BETA, COLLABORATORS, build_sample_warehouse

CENT = Decimal("0.01")

# A second collaborator, besides the sample's u1 Claire Martin (55.00 €/h, claire@cabinet.example).
ELODIE = ("u2", "Élodie Durand", "elodie@cabinet.example", "o1", "42.50", "true")
HOURLY_COST = {row[0]: Decimal(row[4]) for row in (*COLLABORATORS, ELODIE)}


@dataclass(frozen=True)
class Deal:
    id: str
    status: str
    name: str
    mission_code: str
    start: date
    end: date
    budget_labour: Decimal
    budget_purchases: Decimal
    budget_sales: Decimal


DEALS = (
    Deal(
        "d1",
        "in_progress",
        "Tenue comptable 2024",
        "TENUE",
        date(2024, 1, 1),
        date(2024, 12, 31),
        Decimal("2000.00"),
        Decimal("100.00"),
        Decimal("4000.00"),
    ),
    Deal(
        "d2",
        "done",
        "Diagnostic financier",
        "DIAG",
        date(2024, 3, 1),
        date(2024, 4, 30),
        Decimal("500.00"),
        Decimal("0.00"),
        Decimal("1200.00"),
    ),
)

# id, deal, date, status, total excl. tax
INVOICES = (
    ("i1", "d1", date(2024, 2, 29), "paid", Decimal("1000.00")),
    ("i2", "d1", date(2024, 3, 31), "cancelled", Decimal("999.00")),
    ("i3", "d2", date(2024, 4, 30), "paid", Decimal("1200.00")),
    ("i4", "d2", date(2024, 5, 15), "due", Decimal("300.00")),  # after d2's end
)
COUNTED_INVOICE_STATUSES = {"due", "payinprogress", "paid", "late"}
# id, invoice, date, status, total excl. tax
CREDIT_NOTES = (
    ("n1", "i1", date(2024, 3, 15), "stored", Decimal("150.00")),
    ("n2", "i2", date(2024, 4, 15), "stored", Decimal("999.00")),  # on a cancelled invoice: out with it
)
COUNTED_CREDIT_NOTE_STATUSES = {"stored", "partialspend", "spent"}
# id, deal, date, total excl. tax
PURCHASES = (
    ("p1", "d1", date(2024, 2, 10), Decimal("60.00")),
    ("p2", "d1", date(2024, 3, 10), Decimal("70.00")),
    ("p3", "d404", date(2024, 3, 10), Decimal("10.00")),  # an unknown deal
)


@dataclass(frozen=True)
class TimeEntry:
    tool: str
    user_name: str | None
    user_email: str | None
    client: str
    project: str
    project_code: str | None
    day: date
    hours: Decimal
    # what the matching must find, and how
    collaborator: str | None
    collaborator_method: str | None
    deal: str | None
    deal_method: str | None


TIME_ENTRIES = (
    TimeEntry(
        "toggl",
        "Claire Martin",
        "CLAIRE@cabinet.example",
        "Alpha SARL",
        "Tenue comptable 2024",
        None,
        date(2024, 1, 15),
        Decimal("3.5"),
        "u1",
        "email",
        "d1",
        "client_project_name",
    ),
    TimeEntry(
        "harvest",
        "Elodie  Durand",
        None,
        "alpha sarl",
        "Diagnostic",
        "d2",
        date(2024, 3, 5),
        Decimal("2.25"),
        "u2",
        "name",
        "d2",
        "project_code",
    ),
    TimeEntry(
        "harvest",
        "ÉLODIE DURAND",
        None,
        "Alpha SARL",
        "Conseil",
        "DIAG",
        date(2024, 5, 2),
        Decimal("1"),
        "u2",
        "name",
        "d2",
        "mission_code",
    ),  # after d2's end
    TimeEntry(
        "clockify",
        "Zoé Stagiaire",
        "stage@cabinet.example",
        "Alpha SARL",
        "Tenue comptable 2024",
        None,
        date(2024, 2, 1),
        Decimal("2"),
        None,
        None,
        "d1",
        "client_project_name",
    ),
    TimeEntry(
        "clockify",
        "Claire Martin",
        "claire@cabinet.example",
        "Cabinet (interne)",
        "Formation interne",
        None,
        date(2024, 2, 2),
        Decimal("1"),
        "u1",
        "email",
        None,
        None,
    ),
)


def _entry_key(line: int) -> str:
    return f"timetracking/export.csv:{line}"


def _insert_deals_and_time(path: Path) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute(
            "INSERT INTO raw.practice_collaborators (id, name, email, office_id, hourly_cost, active, _file_sha256,"
            " _source_file, _line_number) VALUES (?, ?, ?, ?, ?, ?, 'sha-collab', 'practice/collaborators.csv', ?)",
            [*ELODIE, len(COLLABORATORS) + 2],
        )
        con.executemany(
            "INSERT INTO raw.crm_deals (id, company_id, name, mission_code, status, start_date, end_date,"
            " budget_labour, budget_purchases, budget_sales, owner_id, _file_sha256, _source_file, _line_number)"
            " VALUES (?, 'c1', ?, ?, ?, ?, ?, ?, ?, ?, 'o1', 'sha-deals', 'crm/deals.csv', ?)",
            [
                [
                    d.id,
                    d.name,
                    d.mission_code,
                    d.status,
                    str(d.start),
                    str(d.end),
                    str(d.budget_labour),
                    str(d.budget_purchases),
                    str(d.budget_sales),
                    line,
                ]
                for line, d in enumerate(DEALS, start=2)
            ],
        )
        con.executemany(
            "INSERT INTO raw.crm_invoices (id, company_id, deal_id, date, status, total_excl_tax, _file_sha256,"
            " _source_file, _line_number) VALUES (?, 'c1', ?, ?, ?, ?, 'sha-inv', 'crm/invoices.csv', ?)",
            [
                [i, deal, str(day), status, str(total), line]
                for line, (i, deal, day, status, total) in enumerate(INVOICES, start=2)
            ],
        )
        con.executemany(
            "INSERT INTO raw.crm_credit_notes (id, company_id, invoice_id, date, status, total_excl_tax,"
            " _file_sha256, _source_file, _line_number)"
            " VALUES (?, 'c1', ?, ?, ?, ?, 'sha-cn', 'crm/credit_notes.csv', ?)",
            [
                [n, invoice, str(day), status, str(total), line]
                for line, (n, invoice, day, status, total) in enumerate(CREDIT_NOTES, start=2)
            ],
        )
        con.executemany(
            "INSERT INTO raw.crm_purchases (id, deal_id, supplier, date, total_excl_tax, _file_sha256, _source_file,"
            " _line_number) VALUES (?, ?, 'Sous-traitant', ?, ?, 'sha-pur', 'crm/purchases.csv', ?)",
            [[p, deal, str(day), str(total), line] for line, (p, deal, day, total) in enumerate(PURCHASES, start=2)],
        )
        con.executemany(
            "INSERT INTO raw.time_entries (source_format, user_name, user_email, client_name, project_name,"
            " project_code, entry_date, duration_hours, billable, _file_sha256, _source_file, _line_number)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, true, 'sha-time', 'timetracking/export.csv', ?)",
            [
                [e.tool, e.user_name, e.user_email, e.client, e.project, e.project_code, e.day, e.hours, line]
                for line, e in enumerate(TIME_ENTRIES, start=2)
            ],
        )
    finally:
        con.close()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("deals")
    path = root / "vigie.duckdb"
    build_sample_warehouse(path)
    _insert_deals_and_time(path)
    # dim_clients too: the relationships tests of both marts point at it
    result = build_models(path, root, ["fct_deals", "rpt_unmatched_records", "dim_clients"], "2025-01-06")
    assert result.success, result.exception
    # dbt-duckdb keeps its DuckDB instance open in this process: connect with the same (default) configuration
    con = duckdb.connect(str(path))
    yield con
    con.close()



# ---- reference calculation, from the rows above ----


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, ROUND_HALF_UP)


def _is_outside(deal: Deal, day: date) -> bool:
    return day < deal.start or day > deal.end


def _expected_deal(deal: Deal) -> dict:
    entries = [e for e in TIME_ENTRIES if e.deal == deal.id]
    labour_cost = _cents(sum((e.hours * HOURLY_COST[e.collaborator] for e in entries if e.collaborator), Decimal(0)))
    purchases = sum((total for _, d, _, total in PURCHASES if d == deal.id), Decimal(0))
    counted_invoices = {
        i: (day, total) for i, d, day, status, total in INVOICES if d == deal.id and status in COUNTED_INVOICE_STATUSES
    }
    credits = sum(
        (
            total
            for _, invoice, _, status, total in CREDIT_NOTES
            if invoice in counted_invoices and status in COUNTED_CREDIT_NOTE_STATUSES
        ),
        Decimal(0),
    )
    sales = sum((total for _, total in counted_invoices.values()), Decimal(0)) - credits
    costs, budget_costs = labour_cost + purchases, deal.budget_labour + deal.budget_purchases
    if deal.status == "done":
        progress, margin = Decimal(100), sales - costs
    else:
        progress = min(Decimal(100), _cents(costs * 100 / budget_costs))
        margin = max(deal.budget_sales, sales) - max(budget_costs, costs)
    dated = (
        [day for day, _ in counted_invoices.values()]
        + [e.day for e in entries]
        + [day for _, d, day, _ in PURCHASES if d == deal.id]
    )
    return {
        "actual_labour_hours": _cents(sum((e.hours for e in entries), Decimal(0))),
        "actual_labour_cost": labour_cost,
        "actual_purchases": purchases,
        "actual_sales": sales,
        "progress_pct": progress,
        "forecast_margin": margin,
        "alert_purchase_budget_exceeded": purchases > deal.budget_purchases,
        "alert_date_inconsistent": any(_is_outside(deal, day) for day in dated),
        "unpriced_time_entry_count": sum(1 for e in entries if e.collaborator is None),
    }


# ---- tests ----


def test_deals_match_the_reference_calculation(warehouse):
    rows = {row["deal_id"]: row for row in fetch_dicts(warehouse, "SELECT * FROM marts.fct_deals")}
    assert set(rows) == {d.id for d in DEALS}
    for deal in DEALS:
        expected = _expected_deal(deal)
        assert {key: rows[deal.id][key] for key in expected} == expected, deal.id
        assert rows[deal.id]["client_id"] == ALPHA  # c1, whose CRM SIREN is written '123 456 789'


def test_sample_deals_show_both_alerts(warehouse):
    alerts = dict(
        warehouse.execute(
            "SELECT deal_id, (alert_purchase_budget_exceeded, alert_date_inconsistent) FROM marts.fct_deals"
        ).fetchall()
    )
    # d1: purchases 60 + 70 = 130 over a budget of 100; d2: an invoice and a time entry dated after its end
    assert alerts == {"d1": (True, False), "d2": (False, True)}


def test_time_entries_match_collaborators_and_deals(warehouse):
    matched = {
        row["time_entry_key"]: row
        for row in fetch_dicts(warehouse, "SELECT * FROM intermediate.int_time__entries_matched")
    }
    for line, entry in enumerate(TIME_ENTRIES, start=2):
        row = matched[_entry_key(line)]
        assert (row["collaborator_id"], row["collaborator_match_method"]) == (
            entry.collaborator,
            entry.collaborator_method,
        ), line
        assert (row["deal_id"], row["deal_match_method"]) == (entry.deal, entry.deal_method), line


def test_what_does_not_match_is_published(warehouse):
    unmatched = {
        (row["entity"], row["record_key"], row["match_target"]): row
        for row in fetch_dicts(warehouse, "SELECT * FROM marts.rpt_unmatched_records")
    }
    expected_entries = {
        ("time_entry", _entry_key(line), target)
        for line, entry in enumerate(TIME_ENTRIES, start=2)
        for target, found in (("collaborator", entry.collaborator), ("deal", entry.deal))
        if found is None
    }
    known_deals = {d.id for d in DEALS}
    expected_purchases = {("purchase", p, "deal") for p, deal, _, _ in PURCHASES if deal not in known_deals}
    # BETA's ledger belongs to no CRM or practice company; ALPHA is CRM client c1 with its ledgers
    expected_ledgers = {("ledger", BETA, "company")}
    assert set(unmatched) == expected_entries | expected_purchases | expected_ledgers

    intern = unmatched[("time_entry", _entry_key(5), "collaborator")]
    assert (intern["source_file"], intern["line_number"]) == ("timetracking/export.csv", 5)
    assert "Zoé Stagiaire" in intern["reason"] and "Zoé Stagiaire" in intern["reason_en"]


def test_new_marts_are_commented_in_french(warehouse):
    uncommented = warehouse.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'marts'"
        " AND table_name IN ('fct_deals', 'rpt_unmatched_records') AND coalesce(comment, '') = ''"
    ).fetchall()
    assert uncommented == []
    types = dict(
        warehouse.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'marts'"
            " AND table_name = 'rpt_unmatched_records'"
        ).fetchall()
    )
    assert (types["details"], types["line_number"]) == ("JSON", "BIGINT")
