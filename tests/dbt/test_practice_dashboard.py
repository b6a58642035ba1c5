"""Builds the practice dashboard marts (domain.md §6) on the small sample warehouse plus a practice export written
here, and checks them against a reference calculation made in this file from the same documents."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.dbt.dbt_runner import build_models, fetch_dicts
from tests.dbt.sample_warehouse import ALPHA, build_sample_warehouse

AS_OF = date(2025, 3, 31)
DROP_PCT = 50  # the project's default var('practice_inactive_drop_pct')
PRACTICE_MARTS = (
    "fct_practice_daily",
    "rpt_practice_clients",
    "fct_practice_kpis_daily",
    "fct_practice_kpis_by_period",
)
METHODS = ("app", "email", "upload")

# practice company id -> client_id: c1 is the sample's Alpha (SIREN from the CRM), p2 has a SIREN in its client
# file, p3 has none, zz is unknown to the CRM and to the client files
CLIENT_OF = {"c1": ALPHA, "p2": "222333444", "p3": "crm-p3", "zz": "crm-zz"}
EXTRA_CLIENT_FILES = (
    # company_id, siren, collaborator_id, bookkeeping_by, frequency, deactivated
    ("p2", "222 333 444", "u1", "client", "quarterly", "false"),
    ("p3", None, "u2", "firm", "yearly", "yes"),
)
# client_id -> (collaborator_id, office_id, bookkeeping_by, frequency, deactivated), as dim_clients gives them
FILTERS = {
    ALPHA: ("u1", "o1", "firm", "monthly", False),
    "222333444": ("u1", "o1", "client", "quarterly", False),
    "crm-p3": ("u2", "o2", "firm", "yearly", True),
    "crm-zz": (None, None, None, None, False),
}


@dataclass(frozen=True)
class Document:
    id: str
    company: str
    received: date
    method: str
    status: str
    processed: date | None = None
    auto: bool = False

    @property
    def client(self) -> str:
        return CLIENT_OF[self.company]


def _documents() -> list[Document]:
    documents = []
    # c1 sends one document a day for 90 days; the last 4 still wait, one processed after the reference date
    for offset in range(90):
        day = AS_OF - timedelta(days=offset)
        method = METHODS[offset % 3]
        if offset < 4:
            documents.append(Document(f"c1-{offset}", "c1", day, method, "to_review" if offset % 2 else "ready"))
        else:
            processed = day + timedelta(days=5 if offset == 4 else 2)
            documents.append(Document(f"c1-{offset}", "c1", day, method, "processed", processed, offset % 2 == 0))
    # p2 halves its sending: 20 documents in the previous 30 days, 10 in the last 30
    for k in range(20):
        day = date(2025, 2, 1) + timedelta(days=k // 2)
        documents.append(Document(f"p2-a{k}", "p2", day, "email", "processed", day + timedelta(days=1)))
    for k in range(10):
        day = date(2025, 3, 10) + timedelta(days=k)
        documents.append(Document(f"p2-b{k}", "p2", day, "fetch", "processed", day + timedelta(days=1), k < 3))
    # p3 (deactivated) went silent in January
    documents += [
        Document(f"p3-{k}", "p3", date(2025, 1, 15), "upload", "processed", date(2025, 1, 16)) for k in range(3)
    ]
    documents.append(Document("zz-1", "zz", date(2025, 3, 30), "app", "to_review"))
    return documents


DOCUMENTS = _documents()
STALE_LINE = Document("c1-10", "c1", AS_OF - timedelta(days=10), "app", "to_review")  # superseded by a later line
RULES = (
    # id, company, created, active
    ("r1", "c1", "2024-06-01", "true"),
    ("r2", "c1", "2025-03-01", "true"),
    ("r3", "c1", "2025-04-15", "true"),  # created after the reference date
    ("r4", "c1", "2024-06-01", "false"),
)


def _moment(day: date | None) -> str | None:
    return None if day is None else f"{day.isoformat()}T10:30:00+01:00"


def _add_practice_export(path: Path) -> None:
    con = duckdb.connect(str(path))
    try:
        con.executemany(
            "INSERT INTO raw.practice_client_files (company_id, siren, collaborator_id, bookkeeping_by, frequency,"
            " deactivated, _file_sha256, _source_file, _line_number)"
            " VALUES (?, ?, ?, ?, ?, ?, 'sha-files', 'practice/client_files.csv', ?)",
            [[*row, line] for line, row in enumerate(EXTRA_CLIENT_FILES, start=10)],
        )
        con.execute(
            "INSERT INTO raw.practice_collaborators (id, name, email, office_id, hourly_cost, active, _file_sha256,"
            " _source_file, _line_number) VALUES ('u2', 'Hugo Petit', 'hugo@cabinet.example', 'o2', '48.00', 'true',"
            " 'sha-collab', 'practice/collaborators.csv', 10)"
        )
        lines = [STALE_LINE, *DOCUMENTS]
        con.executemany(
            "INSERT INTO raw.practice_documents (id, company_id, received_at, method, kind, status, processed_at,"
            " auto_rule, _file_sha256, _source_file, _line_number)"
            " VALUES (?, ?, ?, ?, 'purchase', ?, ?, ?, 'sha-docs', 'practice/documents.csv', ?)",
            [
                [
                    d.id,
                    d.company,
                    _moment(d.received),
                    d.method,
                    d.status,
                    _moment(d.processed),
                    str(d.auto).lower(),
                    line,
                ]
                for line, d in enumerate(lines, start=2)
            ],
        )
        con.executemany(
            "INSERT INTO raw.practice_supplier_rules (id, company_id, supplier, created_at, active, _file_sha256,"
            " _source_file, _line_number)"
            " VALUES (?, ?, 'Fournisseur', ?, ?, 'sha-rules', 'practice/supplier_rules.csv', ?)",
            [[*row, line] for line, row in enumerate(RULES, start=2)],
        )
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("practice")
    warehouse = root / "vigie.duckdb"
    build_sample_warehouse(warehouse)
    _add_practice_export(warehouse)
    return warehouse, build_models(warehouse, root, PRACTICE_MARTS, AS_OF.isoformat())


@pytest.fixture(scope="module")
def warehouse(built):
    path, result = built
    assert result.success, result.exception
    con = duckdb.connect(str(path))  # shares dbt-duckdb's open instance (same configuration)
    yield con
    con.close()


# ---- reference calculation (domain.md §6), from DOCUMENTS ----


def _of(client: str) -> list[Document]:
    return [d for d in DOCUMENTS if d.client == client]


def _received_between(docs: list[Document], first: date, last: date) -> list[Document]:
    return [d for d in docs if first <= d.received <= last]


def _processed_between(docs: list[Document], first: date, last: date) -> list[Document]:
    return [d for d in docs if d.status == "processed" and first <= d.processed <= last]


def _expected_day(client: str, day: date) -> dict:
    docs = [d for d in _of(client) if d.received <= AS_OF]
    last_30 = len(_received_between(docs, day - timedelta(days=29), day))
    previous_30 = len(_received_between(docs, day - timedelta(days=59), day - timedelta(days=30)))
    if last_30 == 0:
        reason = "no_documents"
    elif previous_30 and (previous_30 - last_30) * 100 >= DROP_PCT * previous_30:
        reason = "sending_drop"
    else:
        reason = None
    received = [d for d in docs if d.received <= day]
    return {
        "documents_received": len(_received_between(docs, day, day)),
        "documents_processed": len(_processed_between(docs, day, day)),
        "documents_auto_processed": len([d for d in _processed_between(docs, day, day) if d.auto]),
        "documents_to_review": len([d for d in received if d.status == "to_review"]),
        "documents_ready": len([d for d in received if d.status == "ready"]),
        "documents_pending": len([d for d in received if d.status != "processed" or d.processed > day]),
        "documents_last_30d": last_30,
        "documents_previous_30d": previous_30,
        "is_inactive": reason is not None,
        "inactivity_reason": reason,
    }


def _expected_report(client: str) -> dict:
    docs = _of(client)
    last_30 = _received_between(docs, AS_OF - timedelta(days=29), AS_OF)
    processed = _processed_between(docs, AS_OF - timedelta(days=29), AS_OF)
    methods = Counter(d.method for d in last_30)
    ages = {(AS_OF - d.received).days for d in docs if 0 <= (AS_OF - d.received).days < 56}
    rules = [r for r in RULES if CLIENT_OF[r[1]] == client and r[3] == "true" and date.fromisoformat(r[2]) <= AS_OF]
    share = round(Decimal(len([d for d in processed if d.auto])) / len(processed), 4) if processed else None
    return {
        "documents_processed_last_30d": len(processed),
        "auto_processed_share": share,
        "main_sending_method": min(methods, key=lambda m: (-methods[m], m)) if methods else None,
        "received_by_method_last_30d": dict(methods),
        "weeks_with_documents_last_8w": len({age // 7 for age in ages}),
        "supplier_rules_count": len(rules),
    }


def _period_start(day: date, granularity: str) -> date:
    return day - timedelta(days=day.weekday()) if granularity == "week" else day.replace(day=1)


# ---- tests ----


def test_build_passes_with_the_practice_unit_tests(built):
    _, result = built
    assert result.success, result.exception
    unit_tests = {
        r.node.name for r in result.result.results if r.node.resource_type == "unit_test" and str(r.status) == "pass"
    }
    assert {
        "inactivity_rule_at_its_boundaries",
        "inactivity_threshold_is_configurable",
        # unit tests of a versioned (published) mart are named after the version they test
        "client_report_by_hand_v1",
        "weeks_and_months_across_both_boundaries_v1",
        "daily_window_methods_json_and_filter_columns_v1",
    } <= unit_tests


def test_daily_grid_has_every_client_every_day_from_the_first_document(warehouse):
    first_day = min(d.received for d in DOCUMENTS)
    days = (AS_OF - first_day).days + 1
    counts = dict(
        warehouse.execute(
            "SELECT client_id, count(DISTINCT day) FROM marts.fct_practice_daily"
            " WHERE day BETWEEN ? AND ? GROUP BY client_id",
            [first_day, AS_OF],
        ).fetchall()
    )
    assert counts == {client: days for client in CLIENT_OF.values()}
    assert warehouse.execute("SELECT count(*) FROM marts.fct_practice_daily").fetchone()[0] == days * len(CLIENT_OF)


def test_daily_flows_and_stocks_match_the_documents(warehouse):
    columns = list(_expected_day(ALPHA, AS_OF))
    for client in CLIENT_OF.values():
        for day in (date(2025, 1, 20), date(2025, 3, 1), date(2025, 3, 2), AS_OF - timedelta(days=4), AS_OF):
            row = fetch_dicts(
                warehouse,
                f"SELECT {', '.join(columns)} FROM marts.fct_practice_daily WHERE client_id = ? AND day = ?",
                [client, day],
            )
            assert row == [_expected_day(client, day)], f"{client} {day}"


def test_received_by_method_counts_the_day_documents(warehouse):
    for client in (ALPHA, "222333444"):
        rows = warehouse.execute(
            "SELECT day, received_by_method FROM marts.fct_practice_daily WHERE client_id = ?", [client]
        ).fetchall()
        for day, by_method in rows:
            expected = Counter(d.method for d in _of(client) if d.received == day)
            assert json.loads(by_method) == dict(expected), f"{client} {day}"


def test_client_report_matches_the_reference(warehouse):
    report = {row["client_id"]: row for row in fetch_dicts(warehouse, "SELECT * FROM marts.rpt_practice_clients")}
    assert set(report) == set(CLIENT_OF.values())
    for client, row in report.items():
        expected = _expected_day(client, AS_OF) | _expected_report(client)
        actual = {key: row[key] for key in expected if key in row}
        actual["received_by_method_last_30d"] = json.loads(row["received_by_method_last_30d"])
        expected = {key: expected[key] for key in actual}
        assert actual == expected, client
        assert (
            row["collaborator_id"],
            row["office_id"],
            row["bookkeeping_by"],
            row["bookkeeping_frequency"],
            row["is_deactivated"],
        ) == FILTERS[client]


def test_inactivity_cases_of_the_sample(warehouse):
    reasons = dict(warehouse.execute("SELECT client_id, inactivity_reason FROM marts.rpt_practice_clients").fetchall())
    # p2: 20 -> 10 documents, exactly the 50 % threshold; p3: silent since January
    assert reasons == {ALPHA: None, "222333444": "sending_drop", "crm-p3": "no_documents", "crm-zz": None}


def test_daily_kpis_add_up_the_clients_of_each_filter_combination(warehouse):
    for day in (date(2025, 3, 2), AS_OF):
        rows = fetch_dicts(warehouse, "SELECT * FROM marts.fct_practice_kpis_daily WHERE day = ?", [day])
        assert len(rows) == len(FILTERS)  # each sample client has its own filter combination
        for row in rows:
            key = (
                row["collaborator_id"],
                row["office_id"],
                row["bookkeeping_by"],
                row["bookkeeping_frequency"],
                row["is_deactivated"],
            )
            (client,) = [c for c, filters in FILTERS.items() if filters == key]
            expected = _expected_day(client, day)
            assert row["clients_count"] == 1
            assert row["inactive_clients_count"] == int(expected["is_inactive"])
            assert (row["documents_last_30d"], row["documents_pending"]) == (
                expected["documents_last_30d"],
                expected["documents_pending"],
            )


@pytest.mark.parametrize("granularity", ["week", "month"])
def test_period_kpis_bucket_the_documents(warehouse, granularity):
    first_day = min(d.received for d in DOCUMENTS)
    rows = fetch_dicts(
        warehouse,
        "SELECT * FROM marts.fct_practice_kpis_by_period WHERE granularity = ? AND collaborator_id = 'u1'"
        " AND bookkeeping_by = 'firm'",
        [granularity],
    )
    alpha = _of(ALPHA)
    expected = Counter(_period_start(d.received, granularity) for d in alpha)
    assert {row["period_start"]: row["documents_received"] for row in rows} == {
        start: expected.get(start, 0) for start in {_period_start(first_day, granularity), *expected}
    }
    for row in rows:
        end = row["period_end"]
        processed = _processed_between(alpha, row["period_start"], end)
        assert row["documents_processed"] == len(processed)
        assert row["documents_pending"] == _expected_day(ALPHA, end)["documents_pending"]
        methods = Counter(d.method for d in _received_between(alpha, row["period_start"], end))
        assert json.loads(row["received_by_method"]) == dict(methods)
    complete = {row["period_start"]: row["is_complete_period"] for row in rows}
    if granularity == "week":
        # the window opens on Wednesday 2025-01-01 and closes on Monday 2025-03-31
        assert complete[date(2024, 12, 30)] is False and complete[date(2025, 3, 31)] is False
        assert complete[date(2025, 1, 6)] is True
    else:
        assert complete == {date(2025, 1, 1): True, date(2025, 2, 1): True, date(2025, 3, 1): True}


def test_practice_marts_are_published_with_comments(warehouse):
    tables = dict(
        warehouse.execute(
            "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name IN ?",
            [list(PRACTICE_MARTS)],
        ).fetchall()
    )
    assert set(tables) == set(PRACTICE_MARTS) and all(tables.values())
    uncommented = warehouse.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'marts' AND table_name IN ?"
        " AND coalesce(comment, '') = ''",
        [list(PRACTICE_MARTS)],
    ).fetchall()
    assert uncommented == []
