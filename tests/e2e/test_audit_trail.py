"""The audit trail of a real `vigie demo` run.

`vigie explain`: the ledger lines it lists, read back from the landing files by an independent reader
(tests/fec_oracle.py), add up to the published figure to the cent, for figures and missions picked at random; an
unknown id is refused in one line. Lineage: the run's OpenLineage events in audit/ are valid, name every published
table with its columns, and reached the lineage server settings.yml names (a local HTTP server here)."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import pytest

from assets.settings import DEFAULT_SETTINGS_TEXT
from tests.e2e.conftest import query, run_vigie_in_process
from tests.fec_oracle import read_fec
from tests.test_lineage import start_lineage_server, validated

# additive figures of fct_indicators_monthly (ratios and rolling sums are made of these)
FIGURES = ("revenue", "purchases_consumed", "external_charges", "value_added", "payroll", "ebitda", "net_result",
           "cash_net", "receivables", "payables", "vat_collected", "vat_deductible", "gross_margin_goods", "taxes",
           "equity", "share_capital", "suspense_471_balance", "balance_sheet_total", "total_charges")


@pytest.fixture(scope="module")
def lineage_server():
    server, collector = start_lineage_server()
    yield server, collector
    server.shutdown()


@pytest.fixture(scope="module")
def demo(tmp_path_factory, lineage_server):
    home = tmp_path_factory.mktemp("audit") / "home"
    (home / "config").mkdir(parents=True)
    url = f"http://127.0.0.1:{lineage_server[0].server_port}"
    (home / "config" / "settings.yml").write_text(
        DEFAULT_SETTINGS_TEXT.replace("\nopenlineage_url:\n", f"\nopenlineage_url: {url}\n"), encoding="utf-8")
    with pytest.MonkeyPatch.context() as env:
        env.delenv("OPENAI_API_KEY", raising=False)
        code = run_vigie_in_process(home, "demo")
    assert code in (0, 2)
    return home


def vigie(home, capsys, command: str, *args: str) -> tuple[int, str, str]:
    """`vigie <command> --home <home> <args>` in this process: exit code, stdout, stderr."""
    capsys.readouterr()
    code = run_vigie_in_process(home, command, *args)
    out, err = capsys.readouterr()
    return code, out, err


def explain(home, capsys, *args: str) -> tuple[int, str, str]:
    return vigie(home, capsys, "explain", *args)


def lines_total(home, figure: dict) -> Decimal:
    """The figure recomputed from the landing file's physical lines that explain lists, account by account."""
    total = 0
    for source in figure["sources"]:
        _, data = read_fec(home / "landing" / source["file"])
        by_number = {index + 2: line for index, line in enumerate(data)}  # the header is line 1
        for account in figure["accounts"]:
            for first, last in account["line_ranges"]:
                for number in range(first, last + 1):
                    line = by_number[number]
                    assert account["account"].startswith(line.account), (number, account["account"], line.account)
                    amount = line.amount  # debit - credit, in cents
                    if account["measure"] == "flow" and account["rule"] == "debit_only":
                        amount = max(amount, 0)
                    elif account["measure"] == "flow" and account["rule"] == "credit_only":
                        amount = min(amount, 0)
                    total += account["factor"] * account["sign"] * amount
    return Decimal(total) / 100


def test_random_figures_are_the_sum_of_the_lines_explain_lists(demo, capsys):
    rows = query(demo / "publish" / "marts.duckdb",
                 "SELECT client_id, strftime(month, '%Y-%m') FROM fct_indicators_monthly ORDER BY ALL")
    picked = random.Random(7).sample(rows, 12)
    nonzero = 0
    for (client_id, month), indicator in zip(picked, random.Random(8).choices(FIGURES, k=len(picked)), strict=True):
        code, out, err = explain(demo, capsys, "--client", client_id, "--month", month, "--indicator", indicator,
                                 "--json")
        assert code == 0, err
        figure = json.loads(out)["figure"]
        assert lines_total(demo, figure) == Decimal(figure["value"]), (client_id, month, indicator)
        assert figure["value"] == figure["lines_total"]
        nonzero += Decimal(figure["value"]) != 0
        assert all(s["file"].startswith("accounting/") and len(s["sha256"]) == 64 for s in figure["sources"])
    assert nonzero >= 6  # the sample is not a run of empty figures


def test_each_component_of_every_month_adds_up(demo, capsys):
    """Revenue and cash of every month of one client: flows and balances, openings included."""
    client_id, = random.Random(3).choice(query(demo / "publish" / "marts.duckdb",
                                               "SELECT DISTINCT client_id FROM fct_indicators_monthly ORDER BY 1"))
    months = query(demo / "publish" / "marts.duckdb", "SELECT strftime(month, '%Y-%m') FROM fct_indicators_monthly"
                   " WHERE client_id = ? ORDER BY 1", [client_id])
    for (month,) in months[:: max(1, len(months) // 6)]:
        for indicator in ("revenue", "cash_net", "receivables"):
            code, out, err = explain(demo, capsys, "--client", client_id, "--month", month, "--indicator",
                                     indicator, "--json")
            assert code == 0, err
            figure = json.loads(out)["figure"]
            assert lines_total(demo, figure) == Decimal(figure["value"]), (month, indicator)


def test_a_mission_is_explained_down_to_the_lines_of_the_figures_that_fired_it(demo, capsys):
    rows = query(demo / "publish" / "marts.duckdb", "SELECT opportunity_id, rule_id, evidence FROM fct_opportunities"
                 " ORDER BY opportunity_id")
    with_figures = [r for r in rows if set(json.loads(r[2])["values"]) & set(FIGURES)]
    assert with_figures
    for opportunity_id, rule_id, _ in random.Random(5).sample(with_figures, min(5, len(with_figures))):
        code, out, err = explain(demo, capsys, opportunity_id, "--json")
        assert code == 0, err
        found = json.loads(out)
        assert found["rule_id"] == rule_id and found["rule"]["id"] == rule_id and "when" in found["rule"]
        assert found["run"]["run_id"] and found["catalogue_version"] and found["reference_date"]
        assert found["figures"]
        for figure in found["figures"]:
            assert lines_total(demo, figure) == Decimal(figure["value"]), (opportunity_id, figure["indicator"])
    code, out, err = explain(demo, capsys, with_figures[0][0])
    assert code == 0 and "Condition (config/missions.yml)" in out and "lignes" in out and "Run " in out


def test_an_unknown_id_or_figure_is_refused_in_one_line(demo, capsys):
    code, out, err = explain(demo, capsys, "opp_does_not_exist")
    assert (code, out) == (1, "") and err.count("\n") == 1 and "unknown opportunity id" in err
    code, out, err = explain(demo, capsys, "--client", "000000000", "--month", "2025-01", "--indicator", "revenue")
    assert code == 1 and err.count("\n") == 1
    code, out, err = explain(demo, capsys, "--client", "x", "--month", "2025-01", "--indicator", "turnover")
    assert code == 1 and "unknown indicator 'turnover'" in err
    code, out, err = explain(demo, capsys, "--client", "x", "--month", "2025-01", "--indicator", "dso_days")
    assert code == 1 and "not a sum of ledger lines; explain its parts: receivables" in err


def test_the_runs_lineage_is_valid_openlineage_and_reached_the_server(demo, lineage_server):
    _, collector = lineage_server
    (lineage_file,) = (demo / "audit").glob("run-*.lineage.jsonl")
    events = [json.loads(line) for line in lineage_file.read_text(encoding="utf-8").splitlines()]
    for event in events:
        validated(event)
    # the server got every event, in order (the client adds a facet of its own, tags, on the way)
    def identity(event):
        return event["eventType"], event["run"]["runId"], event["job"]["name"], event["eventTime"]
    assert [identity(body) for _, body in collector.received] == [identity(e) for e in events]
    run_id = json.loads(next((demo / "audit").glob("run-*[0-9a-f].json")).read_text(encoding="utf-8"))["run_id"]
    assert (events[0]["eventType"], events[0]["run"]["runId"]) == ("START", run_id)
    assert (events[-1]["eventType"], events[-1]["run"]["runId"]) == ("COMPLETE", run_id)
    completed = {e["job"]["name"]: e for e in events[1:-1] if e["eventType"] == "COMPLETE"}
    assert all(e["run"]["facets"]["parent"]["run"]["runId"] == run_id for e in completed.values())
    started = {e["job"]["name"] for e in events[1:-1] if e["eventType"] == "START"}
    assert started == set(completed)
    marts = demo / "publish" / "marts.duckdb"
    for (table,) in query(marts, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'"):
        output = completed[f"published.{table}"]["outputs"][0]
        columns = [name for (name,) in query(marts, "SELECT column_name FROM duckdb_columns()"
                                            " WHERE table_name = ? ORDER BY column_index", [table])]
        assert [f["name"] for f in output["facets"]["schema"]["fields"]] == columns, table
    # down to the landing folders: the raw ledger is built from landing/accounting
    assert [i["name"] for i in completed["raw.fec_lines"]["inputs"]] == ["accounting"]


def test_column_lineage_leads_from_a_published_figure_to_the_ledger_columns_it_sums(demo):
    """The auditor's walk a lineage server offers: from main.fct_indicators_monthly.revenue, each column's inputs,
    back to the raw ledger's columns (read from the dbt models' compiled SQL at run time)."""
    (lineage_file,) = (demo / "audit").glob("run-*.lineage.jsonl")
    fields_of = {}
    for line in lineage_file.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event["eventType"] == "COMPLETE":
            for output in event["outputs"]:
                fields_of[output["name"]] = output["facets"].get("columnLineage", {}).get("fields", {})
    reached, pending = set(), [("main.fct_indicators_monthly", "revenue")]
    while pending:
        dataset, column = pending.pop()
        if (dataset, column) not in reached:
            reached.add((dataset, column))
            pending += [(i["name"], i["field"]) for i in fields_of.get(dataset, {}).get(column, {}).get(
                "inputFields", [])]
    assert {("raw.fec_lines", "debit"), ("raw.fec_lines", "credit"), ("raw.fec_lines", "compte_num")} <= reached
    assert ("marts.fct_indicators_monthly", "revenue") in reached
    assert not any(dataset.startswith("raw.crm") for dataset, _ in reached)  # the CRM adds nothing to revenue
    # every column of every dbt model the run built is accounted for, traced or not
    for table, columns in query(demo / "warehouse" / "vigie.duckdb", "SELECT table_name, list(column_name) FROM"
                                " duckdb_columns() WHERE schema_name = 'marts' GROUP BY table_name"):
        assert set(fields_of[f"marts.{table}"]) == set(columns), table


def test_the_audit_manifest_names_the_dbt_project_the_writer_the_checks_and_each_ledgers_verdict(demo):
    import hashlib

    from assets.summaries.prompt import PROMPT_VERSION

    manifest = json.loads((demo / "publish" / "manifest.json").read_text(encoding="utf-8"))
    dbt_manifest = demo / "warehouse" / "dbt" / "target" / "manifest.json"
    assert manifest["dbt_manifest_sha256"] == hashlib.sha256(dbt_manifest.read_bytes()).hexdigest()
    assert manifest["summaries"] == {"prompt_version": PROMPT_VERSION, "model": None, "writer": "template"}
    # dbt tests and Great Expectations suites, as asset checks of this run
    # (the key, accepted_values and expression tests of the contracted marts are constraints on DuckDB: the table
    # would not exist if one failed; their relationships tests stay dbt tests)
    assert manifest["checks"]["marts/ingest_files"] == {"gx_ingest_files": "passed"}
    assert manifest["checks"]["marts/dim_clients"] == {
        "gx_dim_clients": "passed",
        "relationships_dim_clients_v1_parent_client_id__client_id__ref_dim_clients_": "passed"}
    assert len(manifest["checks"]) >= 40
    ledgers = [i for i in manifest["inputs"] if i["source"] == "accounting" and i["status"] == "loaded"]
    verdicts = dict(query(demo / "publish" / "marts.duckdb", "SELECT sha256, CASE WHEN count(*) FILTER (WHERE"
                          " status = 'error') > 0 THEN 'error' WHEN count(*) FILTER (WHERE status = 'warning') > 0"
                          " THEN 'warning' ELSE 'ok' END FROM rpt_fec_conformity GROUP BY sha256"))
    assert ledgers and {i["sha256"]: i["conformity_status"] for i in ledgers} == verdicts


def test_vigie_docs_shows_the_exposures_and_the_versions_of_the_contract(demo, capsys):
    code, out, err = vigie(demo, capsys, "docs")
    assert code == 0, err
    page = (demo / "docs" / "index.html").read_text(encoding="utf-8")
    assert "exposure.vigie.bi_snapshot" in page and "exposure.vigie.audit_trail" in page
    assert "model.vigie.fct_indicators_monthly.v1" in page and '"access": "public"' in page

