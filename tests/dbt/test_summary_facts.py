"""Builds client_summary_facts on the sample raw layer plus generated CRM notes, and checks it against the
definitions of domain.md §4: client accounts only, cards 1 to 3 as in fct_client_sales, card 4 the notes of the
last six months, newest first."""

from __future__ import annotations

import calendar
import json
import random
from datetime import date, timedelta

import duckdb
import pytest

from assets.summaries.facts import firm_person_names, load_client_facts
from tests.dbt.dbt_runner import build_models, fetch_dicts
from tests.dbt.sample_warehouse import ALPHA, BETA, COLLABORATORS, build_sample_warehouse
from tests.summaries.warehouse import FACTS_COLUMNS

# the end of August: six months earlier is 28 February, so the window starts on 1 March
AS_OF = date(2026, 8, 31)
ALPHA_COMPANY = "c1"  # Alpha SARL, a client
GAMMA_COMPANY = "c2"  # Gamma SAS, a prospect: no summary
DELTA_COMPANY = "c4"  # Delta SAS, a client added here, without notes
DELTA = "crm-c4"
KINDS = ("comment", "task", "call", "event")


def _months_before(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


WINDOW_FROM = _months_before(AS_OF, 6) + timedelta(days=1)


def _notes(rng: random.Random) -> list[dict]:
    """Notes around the window for Alpha, plus notes of a prospect and of an unknown company."""
    start = date(2025, 12, 1)
    days = [start + timedelta(days=rng.randrange(0, 300)) for _ in range(40)]
    # the window's edges, whatever the draw
    days += [WINDOW_FROM - timedelta(days=1), WINDOW_FROM, AS_OF, AS_OF + timedelta(days=1)]
    notes = [
        {"id": f"n{number:03d}", "company_id": ALPHA_COMPANY, "kind": rng.choice(KINDS), "day": day,
         "text": f"Note {number} du dossier"}
        for number, day in enumerate(days)
    ]
    notes.append({"id": "g1", "company_id": GAMMA_COMPANY, "kind": "call", "day": AS_OF, "text": "Prospect"})
    notes.append({"id": "x1", "company_id": "c99", "kind": "call", "day": AS_OF, "text": "Société inconnue"})
    return notes


def _insert_notes(path, notes: list[dict]) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute(
            "INSERT INTO raw.crm_companies (id, name, type, created, _file_sha256, _source_file, _line_number)"
            " VALUES (?, 'Delta SAS', 'client', '2023-01-01', 'sha-crm', 'crm/companies.csv', 99)",
            [DELTA_COMPANY],
        )
        con.executemany(
            "INSERT INTO raw.crm_interactions (id, company_id, kind, date, author_id, text, _file_sha256,"
            " _source_file, _line_number) VALUES (?, ?, ?, ?, 'u1', ?, 'sha-notes', 'crm/interactions.jsonl', ?)",
            [
                # a date-time with the Paris offset, as the CRM export writes them
                [n["id"], n["company_id"], n["kind"], f"{n['day'].isoformat()}T10:00:00+02:00", n["text"], line]
                for line, n in enumerate(notes, start=1)
            ],
        )
    finally:
        con.close()


@pytest.fixture(scope="module")
def notes() -> list[dict]:
    return _notes(random.Random(4))


@pytest.fixture(scope="module")
def built(tmp_path_factory, notes):
    root = tmp_path_factory.mktemp("summary_facts")
    warehouse = root / "vigie.duckdb"
    build_sample_warehouse(warehouse)
    _insert_notes(warehouse, notes)
    return warehouse, build_models(warehouse, root, ["client_summary_facts"], AS_OF.isoformat())


@pytest.fixture(scope="module")
def warehouse(built):
    path, result = built
    assert result.success, result.exception
    # dbt-duckdb keeps its DuckDB instance open in this process: a connection with the same (default)
    # configuration shares it, where a read_only one would be refused
    con = duckdb.connect(str(path))
    yield con
    con.close()


@pytest.fixture(scope="module")
def facts(warehouse) -> dict[str, dict]:
    rows = fetch_dicts(warehouse, "SELECT * FROM marts.client_summary_facts")
    return {row["client_id"]: row for row in rows}


def test_build_passes_the_model_tests(built):
    _, result = built
    assert result.success, result.exception
    results = [r for r in result.result.results if "client_summary_facts" in r.node.unique_id]
    kinds = {r.node.resource_type for r in results}
    assert {"model", "unit_test", "test"} <= {str(kind) for kind in kinds}
    assert {str(r.status) for r in results} <= {"pass", "success"}


def test_one_row_per_client_account_and_none_for_prospects(facts):
    # Alpha (CRM and ledger), Beta (ledger only) and Delta (CRM, no sales) are clients; Gamma is a prospect and
    # crm-c3 a group account
    assert set(facts) == {ALPHA, BETA, DELTA}
    assert facts[ALPHA]["client_name"] == "Alpha SARL"


def test_cards_one_to_three_are_the_client_sales_figures(warehouse, facts):
    sales = {row["client_id"]: row for row in fetch_dicts(warehouse, "SELECT * FROM marts.fct_client_sales")}
    shared = [
        "as_of_date", "purchases_basis", "first_purchase_date", "last_purchase_date", "total_purchases",
        "invoices_to_pay_count", "invoices_late_amount", "quotes_read_count", "open_opportunities_amount",
        "purchase_frequency", "average_basket", "avg_payment_days", "late_payments_count", "paid_invoices_count",
    ]
    for client_id, row in facts.items():
        assert {c: row[c] for c in shared} == {c: sales[client_id][c] for c in shared}, client_id
        for column in ("purchases_by_year", "open_opportunities", "top_products_by_revenue"):
            assert json.loads(row[column]) == json.loads(sales[client_id][column]), (client_id, column)
    assert facts[ALPHA]["as_of_date"] == AS_OF


def test_card_four_holds_the_last_six_months_newest_first(facts, notes):
    expected = sorted(
        (n for n in notes if n["company_id"] == ALPHA_COMPANY and WINDOW_FROM <= n["day"] <= AS_OF),
        key=lambda n: n["id"],
    )
    expected.sort(key=lambda n: n["day"], reverse=True)
    alpha = facts[ALPHA]
    assert alpha["interactions_from"] == date(2026, 3, 1)
    assert json.loads(alpha["recent_interactions"]) == [
        {"date": n["day"].isoformat(), "kind": n["kind"], "text": n["text"]} for n in expected
    ]
    assert alpha["recent_interactions_count"] == len(expected)
    assert 0 < len(expected) < len([n for n in notes if n["company_id"] == ALPHA_COMPANY])


def test_a_client_without_notes_has_an_empty_list(facts):
    for client_id in (BETA, DELTA):
        assert (facts[client_id]["recent_interactions_count"], json.loads(facts[client_id]["recent_interactions"])) \
            == (0, [])


def test_columns_are_typed_as_the_summaries_tests_build_them(warehouse):
    columns = warehouse.execute(
        "SELECT column_name, data_type FROM duckdb_columns()"
        " WHERE schema_name = 'marts' AND table_name = 'client_summary_facts' ORDER BY column_index"
    ).fetchall()
    # tests/summaries builds this table by hand: the same columns, the same types
    assert [(name, kind.replace(" ", "")) for name, kind in columns] == list(FACTS_COLUMNS.items())
    types = dict(columns)
    assert types["total_purchases"] == types["invoices_late_amount"] == "DECIMAL(18,2)"
    assert types["recent_interactions"] == types["purchases_by_year"] == types["open_opportunities"] == "JSON"


def test_the_summaries_read_the_built_facts(warehouse, notes):
    clients = {c.client_id: c for c in load_client_facts(warehouse)}
    assert set(clients) == {ALPHA, BETA, DELTA}
    alpha = clients[ALPHA]
    assert alpha.facts["client_name"] == "Alpha SARL"
    assert [n["date"] for n in alpha.notes] == sorted((n["date"] for n in alpha.notes), reverse=True)
    assert len(alpha.notes) == alpha.facts["recent_interactions"]["notes_count"] > 0
    # the redactor knows the firm's people from the staging views dbt built
    assert set(firm_person_names(warehouse)) == {name for _, name, *_ in COLLABORATORS}
