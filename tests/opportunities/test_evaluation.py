"""The rules engine on a hand-built warehouse: what fires, what is hidden, and how opportunities live across runs.

Figures are chosen so each outcome is obvious: client A's cash falls 6 months running, B's is flat, C's ledger
stops five months before the reference date. The SQL never holds catalogue text: every value is a parameter.
"""

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from assets.opportunities import run_opportunities
from assets.opportunities.catalogue import load_catalogue
from assets.opportunities.compiler import compile_catalogue
from assets.opportunities.lifecycle import opportunity_id
from orchestration.dbt_project import DBT_PROJECT_DIR, seed_threshold_names

MISSIONS = """\
missions:
  - id: cash_falling
    kind: trigger
    title: {fr: Prévisionnel de trésorerie, en: Cash forecast}
    mission_code: TRESO
    price: {min: 900, max: 1800}
    when:
      trend: {indicator: cash_net, direction: falling, months: 6}
    trigger_text:
      fr: "Trésorerie de {cash_net} fin {month} ({cash_net_change_6m} sur 6 mois)."
      en: "Cash of {cash_net} at the end of {month} ({cash_net_change_6m} over 6 months)."
  - id: stale_ledger
    kind: attention_point
    title: Comptabilité non à jour
    when:
      compare: {left: {indicator: ledger_age_months}, op: ">", right: {threshold: ledger_stale_months}}
    trigger_text: "Dernier mois : {month} ({ledger_age_months})."
"""
REFERENCE = date(2026, 10, 31)


def months(last: date, count: int) -> list[date]:
    out, year, month = [], last.year, last.month
    for _ in range(count):
        out.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return sorted(out)


@pytest.fixture
def warehouse(tmp_path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "vigie.duckdb"))
    for schema in ("marts", "reference"):
        con.execute(f"create schema {schema}")
    seeds = DBT_PROJECT_DIR / "seeds"
    con.execute(f"create table reference.thresholds as select * from read_csv('{seeds / 'thresholds.csv'}', "
                "types={'value': 'decimal(18,2)', 'valid_from': 'date', 'valid_to': 'date'})")
    con.execute(f"create table reference.account_mapping as select * from read_csv('{seeds / 'account_mapping.csv'}', "
                "all_varchar=true)")
    con.execute("create table marts.fct_indicators_monthly (client_id varchar, month date, cash_net decimal(18,2), "
                "source_file varchar, source_line_count bigint)")
    rows = [("A", m, Decimal(10_000 - 1_000 * i), "accounting/A.txt", 10) for i, m in enumerate(months(
        date(2026, 10, 1), 8))]
    rows += [("B", m, Decimal(5_000), "accounting/B.txt", 7) for m in months(date(2026, 10, 1), 8)]
    rows += [("C", m, Decimal(4_000), "accounting/C.txt", 3) for m in months(date(2026, 5, 1), 3)]
    con.executemany("insert into marts.fct_indicators_monthly values (?, ?, ?, ?, ?)", rows)
    con.execute("create table marts.dim_clients (client_id varchar, siren varchar, name varchar, "
                "collaborator_id varchar, office_id varchar)")
    con.executemany("insert into marts.dim_clients values (?, ?, ?, ?, ?)",
                    [("A", "111", "Alpha", "u1", "o1"), ("B", "222", "Beta", "u2", "o1"),
                     ("C", "333", "Gamma", "u2", "o2")])
    con.execute("create table marts.fct_deals (deal_id varchar, client_id varchar, mission_code varchar, "
                "status varchar)")
    yield con
    con.close()


def catalogue_file(tmp_path: Path, text: str = MISSIONS) -> Path:
    path = tmp_path / "missions.yml"
    path.write_text(text, encoding="utf-8")
    return path


def opportunities(con) -> dict[tuple[str, str], dict]:
    cursor = con.execute("select * from opportunities.opportunity_history")
    names = [d[0] for d in cursor.description]
    return {(r[1], r[2]): dict(zip(names, r, strict=True)) for r in cursor.fetchall()}


def test_the_query_carries_every_catalogue_value_as_a_parameter(tmp_path):
    text = MISSIONS.replace("months: 6}", "months: 6, as: falling_months_marker}")
    catalogue = load_catalogue(catalogue_file(tmp_path, text), seed_threshold_names())
    query = compile_catalogue(catalogue, REFERENCE)
    assert "falling_months_marker" not in query.text and "ledger_stale_months" not in query.text
    assert "falling_months_marker" in query.params and "ledger_stale_months" in query.params


def test_rules_fire_on_the_latest_month_with_sentence_and_evidence(warehouse, tmp_path):
    report = run_opportunities(warehouse, catalogue_file(tmp_path), REFERENCE, "fr")
    found = opportunities(warehouse)
    assert set(found) == {("A", "cash_falling"), ("C", "stale_ledger")}
    assert report.proposed == 2 and report.by_status == {"open": 2}
    cash = found[("A", "cash_falling")]
    assert cash["trigger_text"] == "Trésorerie de 3\u00a0000 € fin octobre 2026 (-6\u00a0000 € sur 6 mois)."
    assert cash["opportunity_id"] == opportunity_id("A", "cash_falling")
    assert (cash["price_min"], cash["price_max"], cash["status"]) == (Decimal("900.00"), Decimal("1800.00"), "open")
    evidence = json.loads(cash["evidence"])
    assert evidence["evaluated_month"] == "2026-10-01" and len(evidence["months"]) == 7
    assert evidence["series"]["cash_net"]["2026-04-01"] == 9000 and evidence["values"]["cash_net"] == 3000
    assert evidence["source_lines"] == [{"file": "accounting/A.txt", "months": evidence["months"],
                                         "line_count": 70, "account_prefixes": evidence["source_lines"][0][
                                             "account_prefixes"]}]
    assert "512" in evidence["source_lines"][0]["account_prefixes"]
    stale = found[("C", "stale_ledger")]
    assert stale["trigger_text"] == "Dernier mois : mai 2026 (5 mois)." and stale["kind"] == "attention_point"


def test_a_sold_mission_is_not_proposed_again(warehouse, tmp_path):
    warehouse.execute("insert into marts.fct_deals values ('d9', 'A', 'TRESO', 'in_progress')")
    report = run_opportunities(warehouse, catalogue_file(tmp_path), REFERENCE, "fr")
    assert ("A", "cash_falling") not in opportunities(warehouse)
    assert report.already_sold == 1
    outcome = warehouse.execute("select outcome, suppressed_by from opportunities.rule_matches "
                                "where client_id = 'A'").fetchall()
    assert outcome == [("already_sold", "deal:d9")]


def test_opportunities_open_resolve_and_stay_dismissed_across_runs(warehouse, tmp_path):
    path = catalogue_file(tmp_path)
    run_opportunities(warehouse, path, REFERENCE, "fr")
    first_id = opportunities(warehouse)[("A", "cash_falling")]["opportunity_id"]

    # the cash stops falling: resolved, detection dates kept
    warehouse.execute("update marts.fct_indicators_monthly set cash_net = 9999 where client_id = 'A' "
                      "and month = '2026-10-01'")
    run_opportunities(warehouse, path, date(2026, 11, 30), "fr")
    resolved = opportunities(warehouse)[("A", "cash_falling")]
    assert (resolved["status"], resolved["status_reason"]) == ("resolved", "condition_cleared")
    assert (resolved["first_detected_on"], resolved["last_detected_on"]) == (REFERENCE, REFERENCE)

    # falling again: reopened under the same id
    warehouse.execute("update marts.fct_indicators_monthly set cash_net = 3000 where client_id = 'A' "
                      "and month = '2026-10-01'")
    run_opportunities(warehouse, path, date(2026, 12, 31), "fr")
    reopened = opportunities(warehouse)[("A", "cash_falling")]
    assert (reopened["status"], reopened["opportunity_id"]) == ("open", first_id)
    assert (reopened["first_detected_on"], reopened["last_detected_on"]) == (REFERENCE, date(2026, 12, 31))

    # switched off for the collaborator's portfolio: dismissed, and it stays so while the cash keeps falling
    path.write_text(MISSIONS.replace("    mission_code: TRESO\n",
                                     "    mission_code: TRESO\n    disabled_for: {collaborators: [u1]}\n"))
    for day in (date(2027, 1, 31), date(2027, 2, 28)):
        report = run_opportunities(warehouse, path, day, "fr")
        dismissed = opportunities(warehouse)[("A", "cash_falling")]
        assert (dismissed["status"], dismissed["status_reason"]) == ("dismissed", "switched_off:collaborator:u1")
        assert dismissed["status_changed_on"] == date(2027, 1, 31) and report.switched_off == 1


@pytest.mark.parametrize(("scope", "switch"), [
    ("    disabled: true\n", "firm"), ("    disabled_for: {clients: ['111']}\n", "client:111"),
    ("    disabled_for: {offices: [o1]}\n", "office:o1")])
def test_each_switch_hides_a_mission(warehouse, tmp_path, scope, switch):
    path = catalogue_file(tmp_path, MISSIONS.replace("    mission_code: TRESO\n", "    mission_code: TRESO\n" + scope))
    run_opportunities(warehouse, path, REFERENCE, "en")
    assert ("A", "cash_falling") not in opportunities(warehouse)
    assert warehouse.execute("select suppressed_by from opportunities.rule_matches where rule_id = 'cash_falling'"
                             ).fetchall() == [(switch,)]
