"""Builds the dbt project on a small raw layer (tests/dbt/sample_warehouse.py) and checks the marts against
figures computed here, straight from the sample's ledger lines."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal

import duckdb
import pytest
import yaml

from assets.opportunities import run_opportunities
from assets.summaries.writer import write_client_summaries
from orchestration.dbt_assets import AFTER_PYTHON_ASSETS, build_gate_problems
from tests.dbt.dbt_runner import run_dbt
from tests.dbt.sample_warehouse import ALPHA, BETA, FEC_FILES, FecFile, build_sample_warehouse

OPENING_JOURNALS_IN_SAMPLE = {"AN", "ANO"}
PUBLISHED_MARTS = {
    "dim_clients",
    "fct_indicators_monthly",
    "ingest_files",
    "ingest_rejections",
    "rpt_fec_conformity",
    "fct_account_status",
    "fct_opportunities",
    "fct_rule_matches",
    "fct_client_sales",
    "client_summaries",
    "fct_deals",
    "fct_sales_pipeline",
    "fct_practice_daily",
    "rpt_practice_clients",
    # beyond contract §4: the status history, the practice KPIs and what the sources fail to match
    "fct_account_status_monthly",
    "fct_practice_kpis_daily",
    "fct_practice_kpis_by_period",
    "rpt_unmatched_records",
    "rpt_data_quality",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The pipeline's two dbt steps around the real rules engine and (template) summaries, as a run does them:
    (warehouse path, the results of both dbt steps, target directory)."""
    root = tmp_path_factory.mktemp("dbt")
    warehouse = root / "vigie.duckdb"
    build_sample_warehouse(warehouse)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("VIGIE_WAREHOUSE_DB", str(warehouse))
        env.setenv("DO_NOT_TRACK", "1")
        env.delenv("OPENAI_API_KEY", raising=False)
        first = run_dbt(["build", "--exclude", AFTER_PYTHON_ASSETS, "--vars", "{as_of_date: '2025-01-06'}"], root)
        if not first.success:
            return warehouse, [first], root / "target"
        with duckdb.connect(str(warehouse)) as con:
            run_opportunities(con, root / "missions.yml", date(2025, 1, 6), "fr")
            write_client_summaries(con, language="fr")
        second = run_dbt(["build", "--select", AFTER_PYTHON_ASSETS, "--vars", "{as_of_date: '2025-01-06'}"], root)
    return warehouse, [first, second], root / "target"


@pytest.fixture(scope="module")
def warehouse(built):
    path, results, _ = built
    assert all(r.success for r in results), [r.exception for r in results]
    # dbt-duckdb keeps its DuckDB instance open in this process: a connection with the same (default)
    # configuration shares it, where a read_only one would be refused
    con = duckdb.connect(str(path))
    yield con
    con.close()


def _indicators(con, client_id: str) -> dict[date, dict]:
    cursor = con.execute(
        "SELECT * FROM marts.fct_indicators_monthly WHERE client_id = ? ORDER BY month", [client_id]
    )
    names = [d[0] for d in cursor.description]
    return {row[names.index("month")]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


# ---- reference calculation, straight from the sample lines (domain.md §2) ----


def _month(day: str) -> date:
    return date.fromisoformat(day).replace(day=1)


def _is_opening(journal: str) -> bool:
    return journal.upper() in OPENING_JOURNALS_IN_SAMPLE


def _covered_months(fec: FecFile) -> set[date]:
    months = sorted(_month(day) for journal, day, *_ in fec.lines if not _is_opening(journal))
    covered, current = set(), months[0]
    while current <= months[-1]:
        covered.add(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return covered


def _file_of_month(siren: str, month: date) -> FecFile:
    candidates = [f for f in FEC_FILES if f.siren == siren and month in _covered_months(f)]
    closing_after = [f for f in candidates if f.closing_date >= month]
    if closing_after:
        return min(closing_after, key=lambda f: f.closing_date)
    return max(candidates, key=lambda f: f.closing_date)


def _flow(fec: FecFile, month: date, prefixes: tuple[str, ...]) -> Decimal:
    """credit - debit of the month's non-opening lines on accounts under `prefixes`."""
    return sum(
        (
            Decimal(credit) - Decimal(debit)
            for journal, day, account, debit, credit in fec.lines
            if not _is_opening(journal) and _month(day) == month and account.startswith(prefixes)
        ),
        Decimal(0),
    )


def _account_balances(fec: FecFile, month: date) -> dict[str, Decimal]:
    """debit - credit per account at the end of `month`: the file's openings and its lines up to then."""
    balances: dict[str, Decimal] = {}
    for journal, day, account, debit, credit in fec.lines:
        if _is_opening(journal) or _month(day) <= month:
            balances[account] = balances.get(account, Decimal(0)) + Decimal(debit) - Decimal(credit)
    return balances


def _expected(siren: str, month: date) -> dict[str, Decimal]:
    fec = _file_of_month(siren, month)
    balances = _account_balances(fec, month)
    return {
        "revenue": _flow(fec, month, ("70",)),
        "payroll": -_flow(fec, month, ("641", "644", "645", "646", "647", "648", "649")),
        "cash_net": sum((b for a, b in balances.items() if a.startswith(("512", "519"))), Decimal(0)),
        "receivables": sum((b for a, b in balances.items() if a.startswith("411") and b > 0), Decimal(0)),
        "payables": sum((-b for a, b in balances.items() if a.startswith("401") and b < 0), Decimal(0)),
        "source_file": fec.path,
    }


# ---- tests ----


def test_build_succeeds_with_its_unit_tests(built):
    _, results, _ = built
    assert [r.success for r in results] == [True, True], [r.exception for r in results]
    unit_tests = [r for result in results for r in result.result.results if r.node.resource_type == "unit_test"]
    assert len(unit_tests) >= 5
    assert {str(r.status) for r in unit_tests} == {"pass"}


def test_schemas_are_named_exactly(warehouse):
    schemas = {
        row[0] for row in warehouse.execute("SELECT schema_name FROM information_schema.schemata").fetchall()
    }
    assert {"staging", "intermediate", "marts", "reference"} <= schemas
    assert not any(name.startswith("main_") for name in schemas)


def test_one_indicator_row_per_client_and_covered_month(warehouse):
    for siren in (ALPHA, BETA):
        expected = set().union(*(_covered_months(f) for f in FEC_FILES if f.siren == siren))
        assert set(_indicators(warehouse, siren)) == expected


def test_indicators_match_the_reference_calculation(warehouse):
    for siren in (ALPHA, BETA):
        for month, row in _indicators(warehouse, siren).items():
            expected = _expected(siren, month)
            actual = {key: row[key] for key in expected}
            assert actual == expected, f"{siren} {month}"


def test_month_held_by_two_files_takes_its_flows_from_one(warehouse):
    july = _indicators(warehouse, BETA)[date(2023, 7, 1)]
    # the old file's late July sale (500) is not added to the new file's (2000)
    assert july["revenue"] == Decimal("2000.00")
    assert july["source_file"].endswith("FEC20240630.txt")
    assert july["source_line_count"] == len(
        [line for line in FEC_FILES[3].lines if line[1].startswith("2023-07")]
    )


def test_balances_start_again_from_each_fiscal_year_openings(warehouse):
    january_2024 = _indicators(warehouse, ALPHA)[date(2024, 1, 1)]
    assert january_2024["cash_net"] == Decimal("5000.00")  # FY2024's 512 opening, not FY2023's closing + it
    assert january_2024["share_capital"] == Decimal("6000.00")


def test_rolling_revenue_spans_fiscal_years_and_gaps(warehouse):
    alpha = _indicators(warehouse, ALPHA)
    in_window = [m for m in alpha if date(2023, 2, 1) <= m <= date(2024, 1, 1)]
    assert alpha[date(2024, 1, 1)]["revenue_rolling_12m"] == sum(alpha[m]["revenue"] for m in in_window)
    assert alpha[date(2024, 1, 1)]["rolling_window_months"] == len(in_window)


def test_dim_clients_joins_crm_practice_and_ledgers(warehouse):
    cursor = warehouse.execute("SELECT * FROM marts.dim_clients ORDER BY client_id")
    names = [d[0] for d in cursor.description]
    clients = {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    assert set(clients) == {ALPHA, BETA, "crm-c2", "crm-c3"}
    alpha = clients[ALPHA]  # CRM writes its SIREN '123 456 789'
    assert (alpha["name"], alpha["crm_company_id"], alpha["account_type"]) == ("Alpha SARL", "c1", "client")
    assert (alpha["collaborator_id"], alpha["office_id"], alpha["bookkeeping_by"]) == ("u1", "o1", "firm")
    assert alpha["parent_client_id"] == "crm-c3" and clients["crm-c3"]["account_type"] == "group"
    assert (alpha["has_ledger"], alpha["first_ledger_month"]) == (True, date(2023, 1, 1))
    assert (clients[BETA]["account_type"], clients[BETA]["has_ledger"]) == ("client", True)
    assert (clients["crm-c2"]["account_type"], clients["crm-c2"]["has_ledger"]) == ("prospect", False)


def test_ingest_marts_keep_every_file_and_rejection(warehouse):
    files = warehouse.execute(
        "SELECT file_path, client_id, rows_read - rows_loaded - rows_quarantined FROM marts.ingest_files"
    ).fetchall()
    assert len(files) == len(FEC_FILES) + 2
    assert {gap for _, _, gap in files} == {0}
    assert dict((path, client) for path, client, _ in files)["accounting/broken.txt"] is None
    rejections = warehouse.execute(
        "SELECT file_path, line_number FROM marts.ingest_rejections ORDER BY 1"
    ).fetchall()
    assert rejections == [("accounting/broken.txt", None), ("crm/companies.csv", 5)]


def test_published_marts_are_tagged_typed_and_commented(built, warehouse):
    _, _, target = built
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    published = {node["name"] for node in manifest["nodes"].values() if "published" in node.get("tags", [])}
    assert published == PUBLISHED_MARTS
    uncommented = warehouse.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'marts'"
        " AND coalesce(comment, '') = ''"
    ).fetchall()
    assert uncommented == []
    types = dict(
        warehouse.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'marts'"
            " AND table_name = 'fct_opportunities'"
        ).fetchall()
    )
    assert (types["evidence"], types["price_min"]) == ("JSON", "DECIMAL(18,2)")


def test_the_bi_contract_is_stated_in_dbts_own_terms(built):
    """Published marts are public, versioned (version 1 keeps the table's name, so a breaking change can ship as
    version 2 beside it) and read by the bi_snapshot exposure, which lists exactly them; nothing else is public."""
    _, _, target = built
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    published = [n for n in models if "published" in n.get("tags", [])]
    assert {n["access"] for n in published} == {"public"}
    assert {n["access"] for n in models if n not in published} == {"protected"}
    assert {(n["version"], n["latest_version"]) for n in published} == {(1, 1)}
    assert all(n["alias"] == n["name"] for n in published)
    exposure = manifest["exposures"]["exposure.vigie.bi_snapshot"]
    assert {node.split(".")[2] for node in exposure["depends_on"]["nodes"]} == PUBLISHED_MARTS
    audit = manifest["exposures"]["exposure.vigie.audit_trail"]
    assert "model.vigie.rpt_fec_conformity.v1" in audit["depends_on"]["nodes"]


def test_parse_needs_no_database(tmp_path, monkeypatch):
    missing = tmp_path / "absent" / "vigie.duckdb"
    monkeypatch.setenv("VIGIE_WAREHOUSE_DB", str(missing))
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    result = run_dbt(["parse"], tmp_path)
    assert result.success, result.exception
    assert not missing.parent.exists()


def test_as_of_date_must_be_an_iso_date(built, tmp_path, monkeypatch):
    path, _, _ = built
    monkeypatch.setenv("VIGIE_WAREHOUSE_DB", str(path))
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    result = run_dbt(
        ["compile", "--select", "fct_account_status", "--vars", "{as_of_date: 'yesterday'}"], tmp_path
    )
    assert not result.success


def test_every_english_description_is_whole():
    """An unquoted description with a comma in a YAML flow mapping ({meta: {description_en: a, b}}) is cut at the
    comma, and the rest becomes a key without a value: the dbt docs then showed half a sentence."""
    from orchestration.dbt_project import DBT_PROJECT_DIR

    cut = []

    def walk(node, where: str) -> None:
        if isinstance(node, dict):
            if "description_en" in node:
                cut.extend(f"{where}: {key!r}" for key, value in node.items() if value is None)
            for key, value in node.items():
                walk(value, f"{where}/{node.get('name', key)}")
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    for path in sorted(DBT_PROJECT_DIR.rglob("*.yml")):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")), path.relative_to(DBT_PROJECT_DIR).as_posix())
    assert not cut, cut


def test_no_intermediate_model_reads_a_mart(built):
    """The layers read downward only: staging reads sources, intermediate reads staging and intermediate, marts read
    anything below. A model built from marts (the summaries' facts) is a mart itself, in an unpublished folder."""
    _, _, target = built
    nodes = json.loads((target / "manifest.json").read_text(encoding="utf-8"))["nodes"]
    layer = {uid: node["fqn"][1] for uid, node in nodes.items() if node["resource_type"] == "model"}
    upward = [(uid, parent) for uid, node in nodes.items() if layer.get(uid) in ("staging", "intermediate")
              for parent in node["depends_on"]["nodes"] if layer.get(parent) == "marts"]
    assert upward == []
    assert {layer[uid] for uid in layer if layer[uid] not in ("staging", "intermediate", "marts")} == set()
    facts = nodes["model.vigie.client_summary_facts"]
    assert "published" not in facts["tags"] and facts["access"] == "protected"


def test_the_build_gates_are_tables_that_read_no_other_gate(built):
    _, _, target = built
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    gates = [node["name"] for node in manifest["nodes"].values() if node["config"]["meta"].get("vigie_build_gate")]
    assert sorted(gates) == ["int_clients__keys", "int_fec__client_ledger_span"]
    assert build_gate_problems(manifest) == []


def test_what_a_document_status_means_is_read_from_the_seed_once():
    """'Invoices that count' was spelled in three models. The seed crm_document_statuses says what each status
    means, staging reads it once (is_counted, is_accepted, is_awaiting_answer), and no model above staging lists
    the statuses that only say that."""
    import csv

    from orchestration.dbt_project import DBT_PROJECT_DIR

    with (DBT_PROJECT_DIR / "seeds" / "crm_document_statuses.csv").open(encoding="utf-8") as seed:
        rows = list(csv.DictReader(seed))
    counted = {(r["document_type"], r["status"]) for r in rows if r["is_counted"] == "true"}
    assert counted == {("invoice", s) for s in ("due", "payinprogress", "paid", "late")} | {
        ("credit_note", s) for s in ("stored", "partialspend", "spent")}
    # the statuses that matter only through a flag (paid and late also decide a payment state, sent and read
    # split the pending quotes: those are read where they are used)
    statuses = {"payinprogress", "stored", "partialspend", "spent", "accepted", "advanced", "partialinvoiced",
                "invoiced"}
    assert statuses <= {r["status"] for r in rows}
    spelled = [(path.name, status) for path in (DBT_PROJECT_DIR / "models").rglob("*.sql")
               if "staging" not in path.parts for status in statuses if f"'{status}'" in path.read_text("utf-8")]
    assert spelled == []


def test_the_warehouse_enforces_the_contracted_marts_keys(built, warehouse):
    """The grain of each contracted mart is a primary key DuckDB enforces, and its key columns are NOT NULL: a
    second row for the same client is refused by the table itself, not only reported by a test."""
    _, _, target = built
    nodes = json.loads((target / "manifest.json").read_text(encoding="utf-8"))["nodes"].values()
    declared = {n["name"]: c["columns"] for n in nodes if n["resource_type"] == "model"
                for c in n.get("constraints", []) if c["type"] == "primary_key"}
    assert {"fct_indicators_monthly", "dim_clients", "fct_deals", "rpt_fec_conformity"} <= set(declared)
    enforced = dict(warehouse.execute(
        "SELECT table_name, constraint_column_names FROM duckdb_constraints()"
        " WHERE schema_name = 'marts' AND constraint_type = 'PRIMARY KEY'").fetchall())
    assert {table: list(columns) for table, columns in enforced.items()} == declared
    client = warehouse.execute("SELECT client_id FROM marts.dim_clients LIMIT 1").fetchone()[0]
    with pytest.raises(duckdb.ConstraintException):
        warehouse.execute("INSERT INTO marts.dim_clients SELECT * FROM marts.dim_clients WHERE client_id = ?", [client])
    # and a check: a month is its first day
    with pytest.raises(duckdb.ConstraintException):
        warehouse.execute("UPDATE marts.fct_indicators_monthly SET month = month + 1 WHERE (client_id, month) ="
                          " (SELECT (client_id, month) FROM marts.fct_indicators_monthly LIMIT 1)")


def _quoted_literals(expression: str) -> set[str]:
    """The string literals of a CHECK expression as DuckDB keeps it, e.g. `(status IN ('a', 'b'))`."""
    return {literal.replace("''", "'") for literal in re.findall(r"'((?:[^']|'')*)'", expression)}


def _bare(expression: str) -> str:
    """An SQL expression without what DuckDB adds when it keeps a CHECK: parentheses, quotes, spacing and case."""
    return re.sub(r'[\s()"]', "", expression).lower()


def test_a_data_test_left_out_on_duckdb_is_a_constraint_the_warehouse_enforces(built, warehouse, tmp_path):
    """The not_null, key, accepted_values and expression_is_true tests of the contracted marts say what their
    constraints say. DuckDB enforces those constraints when it builds the table, so those tests are off on DuckDB
    (133 of the 347 tests, about 0.03 s of dbt's work each); on Spark, whose Parquet tables enforce nothing, they run.
    Each one left out must match a NOT NULL, PRIMARY KEY or CHECK (the same values, or the same expression with NULL
    failing it as it fails the test) the warehouse holds, and Spark must keep every one of them."""
    _, _, target = built
    disabled = [node for nodes in json.loads((target / "manifest.json").read_text(encoding="utf-8"))[
        "disabled"].values() for node in nodes if node["resource_type"] == "test"]
    assert len(disabled) >= 133
    not_null = set(warehouse.execute(
        "SELECT table_name, unnest(constraint_column_names) FROM duckdb_constraints()"
        " WHERE schema_name = 'marts' AND constraint_type = 'NOT NULL'").fetchall())
    keys = {(table, tuple(sorted(columns))) for table, columns in warehouse.execute(
        "SELECT table_name, constraint_column_names FROM duckdb_constraints()"
        " WHERE schema_name = 'marts' AND constraint_type = 'PRIMARY KEY'").fetchall()}
    checks = {}  # (table, first column) -> the literals of each of its checks
    expressions = set()  # (table, the check's expression, bare)
    for table, columns, expression in warehouse.execute(
            "SELECT table_name, constraint_column_names, expression FROM duckdb_constraints()"
            " WHERE schema_name = 'marts' AND constraint_type = 'CHECK'").fetchall():
        checks.setdefault((table, columns[0]), []).append(_quoted_literals(expression))
        expressions.add((table, _bare(expression)))
    for test in disabled:
        table = test["attached_node"].split(".")[2]
        kind, arguments = test["test_metadata"]["name"], test["test_metadata"]["kwargs"]
        if kind == "not_null":
            assert (table, test["column_name"]) in not_null, test["unique_id"]
        elif kind == "unique":
            assert (table, (test["column_name"],)) in keys, test["unique_id"]
        elif kind == "accepted_values":
            assert set(arguments["values"]) in checks.get((table, test["column_name"]), []), test["unique_id"]
        elif kind == "expression_is_true":  # the test fails a row whose expression is NULL: so must the check
            assert (table, _bare(f"coalesce(({arguments['expression']}), false)")) in expressions, test["unique_id"]
        else:
            assert kind == "unique_combination_of_columns", test["unique_id"]
            assert (table, tuple(sorted(arguments["combination_of_columns"]))) in keys, test["unique_id"]
    spark = run_dbt(["parse", "--target", "spark"], tmp_path)
    assert spark.success, spark.exception
    spark_tests = {uid for uid, node in json.loads((tmp_path / "target" / "manifest.json").read_text(
        encoding="utf-8"))["nodes"].items() if node["resource_type"] == "test"}
    assert {test["unique_id"] for test in disabled} <= spark_tests
