"""Issue 4 end to end on the demo firm (40 clients, seed 42): `vigie run` through the real Dagster definitions,
dbt on a real DuckDB file, the rules engine and the summaries, the last run against an OpenAI-compatible server on
127.0.0.1 reached by the real openai client."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from assets.generate import generate_landing
from tests.e2e.conftest import query, run_vigie_in_process
from tests.summaries.conftest import FakeOpenAI, block, grounded, inventing

AS_OF = "2026-10-31"
# The starter rule each generated scenario is built to fire (assets/generate/firm.py SCENARIO_DESCRIPTIONS).
RULE_FOR_TAG = {
    "cash_falling_6m": "cash_forecast", "cash_below_one_month_charges": "cash_forecast",
    "cash_negative_months": "bank_financing", "vat_franchise_threshold": "vat_registration",
    "micro_ceiling": "micro_regime", "cac_thresholds": "statutory_auditor",
    "payroll_faster_than_revenue": "payroll_review", "dso_above_60": "credit_management",
    "customer_above_30pct": "credit_management", "ebitda_falling_3m": "ebitda_falling",
    "ebitda_negative": "financial_diagnosis", "net_result_negative": "financial_diagnosis",
    "equity_below_half_capital": "recapitalisation", "profit_above_42500": "dividend_study",
    "suspense_471": "monthly_reporting", "stale_ledger": "stale_ledger",
}


@pytest.fixture(scope="module")
def firm(tmp_path_factory):
    home = tmp_path_factory.mktemp("firm")
    report = generate_landing(home, clients=40, seed=42)
    with pytest.MonkeyPatch.context() as env:
        env.delenv("OPENAI_API_KEY", raising=False)
        code = run_vigie_in_process(home, "run", "--as-of", AS_OF)
    return home, report, code


def matches(home) -> dict[tuple[str, str], tuple]:
    rows = query(home / "publish" / "marts.duckdb",
                 "select client_id, rule_id, outcome, suppressed_by, evidence from fct_rule_matches")
    return {(c, r): (o, s, json.loads(e)) for c, r, o, s, e in rows}


def only_the_deliberate_status_is_flagged(home) -> bool:
    """The demo firm holds one undeclared opportunity status on purpose: exit code 2, and nothing else wrong."""
    marts = home / "publish" / "marts.duckdb"
    return (query(marts, "select count(*) from ingest_rejections") == [(0,)]
            and query(marts, "select distinct rule, value from rpt_data_quality") == [("undeclared_value", "on_hold")])


def test_every_starter_rule_fires_for_its_clients_and_none_for_healthy_controls(firm):
    home, report, code = firm
    assert code == 2 and only_the_deliberate_status_is_flagged(home)
    fired = matches(home)
    assert set(RULE_FOR_TAG.values()) | {"einvoicing_readiness"} == {rule for _, rule in fired}
    for siren, tags in report.scenarios.items():
        for tag in tags:
            if tag in RULE_FOR_TAG:
                assert (siren, RULE_FOR_TAG[tag]) in fired, f"{RULE_FOR_TAG[tag]} did not fire for {siren} ({tag})"
    healthy = [siren for siren, tags in report.scenarios.items() if "healthy" in tags]
    assert len(healthy) >= 5
    for siren in healthy:
        # the only rule left is e-invoicing, a one-off mission these controls have already bought
        assert {rule for client, rule in fired if client == siren} <= {"einvoicing_readiness"}
        assert fired[(siren, "einvoicing_readiness")][0] == "already_sold"
    open_rows = query(home / "publish" / "marts.duckdb",
                      "select client_id, rule_id, trigger_text, evidence from fct_opportunities where status = 'open'")
    assert not {c for c, *_ in open_rows} & set(healthy)
    proposed = {k for k, v in fired.items() if v[0] == "proposed"}
    assert {(c, r) for c, r, *_ in open_rows} == proposed
    assert all(json.loads(evidence)["source_lines"] and "{" not in text for *_, text, evidence in open_rows)


def test_summaries_are_published_for_every_client_by_the_template(firm):
    home, _, _ = firm
    marts = home / "publish" / "marts.duckdb"
    clients = {c for c, in query(marts, "select client_id from dim_clients where account_type = 'client'")}
    summaries = query(marts, "select client_id, generator, model, grounding_status from client_summaries")
    assert {c for c, *_ in summaries} == clients
    assert {(g, m, s) for _, g, m, s in summaries} == {("template", None, "passed")}


def test_switch_off_dismisses_and_llm_summaries_never_publish_an_invented_figure(firm, monkeypatch):
    home, report, _ = firm
    dso_client = next(s for s, tags in report.scenarios.items() if "dso_above_60" in tags)
    missions = home / "config" / "missions.yml"
    missions.write_text(missions.read_text(encoding="utf-8").replace(
        "  - id: credit_management\n", f"  - id: credit_management\n    disabled_for: {{clients: ['{dso_client}']}}\n"),
        encoding="utf-8")
    name = query(home / "publish" / "marts.duckdb", "select name from dim_clients where client_id = ?",
                 [dso_client])[0][0]
    fake = FakeOpenAI().start()
    fake.default = lambda body: inventing(body) if block(body, "facts")["client_name"] == name else grounded(body)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    monkeypatch.setenv("VIGIE_OPENAI_MODEL", "gpt-test")
    try:
        code = run_vigie_in_process(home, "run", "--as-of", AS_OF)
    finally:
        fake.stop()
    assert code == 2 and only_the_deliberate_status_is_flagged(home)
    marts = home / "publish" / "marts.duckdb"
    status = query(marts, "select status, status_reason from fct_opportunities where client_id = ? "
                          "and rule_id = 'credit_management'", [dso_client])
    assert status == [("dismissed", f"switched_off:client:{dso_client}")]

    summaries = {row[0]: row[1:] for row in query(
        marts, "select client_id, generator, model, grounding_status, sales_overview from client_summaries")}
    assert summaries[dso_client][:3] == ("template", None, "failed")
    assert "98 765,43" not in summaries[dso_client][3]
    others = {tuple(v[:3]) for c, v in summaries.items() if c != dso_client}
    assert others == {("llm", "gpt-test", "passed")}
    assert not any("98 765,43" in str(v) for v in summaries.values())

    with dg.DagsterInstance.from_config(str(home / ".dagster")) as instance:
        check = dg.AssetCheckKey(dg.AssetKey(["summaries", "client_summaries"]), "summaries_grounded")
        latest = instance.event_log_storage.get_latest_asset_check_execution_by_key([check])[check]
    assert latest.status.value == "FAILED"


def test_a_broken_catalogue_stops_the_run_naming_the_line(firm, capsys):
    home, _, _ = firm
    missions = home / "config" / "missions.yml"
    text = missions.read_text(encoding="utf-8")
    line = text.splitlines().index("        - trend: {indicator: cash_net, direction: falling, months: 6}") + 1
    missions.write_text(text.replace("trend: {indicator: cash_net,", "trend: {indicator: cash_nett,"),
                        encoding="utf-8")
    try:
        assert run_vigie_in_process(home, "run", "--as-of", AS_OF) == 1
    finally:
        missions.write_text(text, encoding="utf-8")
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"vigie: {missions}, line {line}: ") and "unknown indicator 'cash_nett'" in error
