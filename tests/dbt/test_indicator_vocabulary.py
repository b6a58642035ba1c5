"""The indicator list has one owner, the YAML of marts.fct_indicators_monthly: the rules vocabulary is read from it,
and the components its indicators are built from are those of the account_mapping seed, which
int_fec__file_indicators_monthly pivots into one column each (var ledger_components, which the SQL reads when it
is compiled)."""

from __future__ import annotations

import csv

import yaml

from assets.opportunities.vocabulary import INDICATORS, INDICATORS_YAML, load_indicators
from orchestration.dbt_project import DBT_PROJECT_DIR


def seed_components() -> set[str]:
    with (DBT_PROJECT_DIR / "seeds" / "account_mapping.csv").open(encoding="utf-8") as seed:
        return {row["component"] for row in csv.DictReader(seed)}


def mart_columns() -> list[str]:
    (model,) = yaml.safe_load(INDICATORS_YAML.read_text(encoding="utf-8"))["models"]
    return [column["name"] for column in model["columns"]]


def test_the_pivot_has_one_column_per_component_of_the_seed():
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    pivoted = project["vars"]["ledger_components"]
    assert len(pivoted) == len(set(pivoted)) and set(pivoted) == seed_components()


def test_every_indicator_is_a_column_of_the_mart_built_from_the_seeds_components():
    columns, components = mart_columns(), seed_components()
    assert {"revenue", "ebitda", "dso_days", "top_customer_share_12m", "ledger_age_months"} <= set(INDICATORS)
    for name, indicator in INDICATORS.items():
        assert (name in columns) == indicator.per_month, name  # the per-client ones are computed by the engine
        assert set(indicator.components) <= components, name
        assert set(indicator.minus) <= set(indicator.components), name
        assert indicator.unit in ("eur", "days", "share", "count", "months"), name
    # what is not an indicator is bookkeeping: keys, counts of lines, the window's size, where the month comes from
    assert set(columns) - set(INDICATORS) == {"client_id", "month", "source_line_count", "rolling_window_months",
                                              "fiscal_year_closing_date", "top_customer_account", "source_file"}


def test_an_indicator_added_to_the_marts_yaml_joins_the_vocabulary(tmp_path):
    document = yaml.safe_load(INDICATORS_YAML.read_text(encoding="utf-8"))
    document["models"][0]["columns"].append({
        "name": "interest_paid", "data_type": "decimal(18,2)", "description": "Charges d'intérêts du mois (661).",
        "config": {"meta": {"indicator": {"unit": "eur", "components": ["net_result"]}}}})
    path = tmp_path / "fct_indicators_monthly.yml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    indicators = load_indicators(path)
    assert indicators["interest_paid"].unit == "eur" and indicators["interest_paid"].per_month
    assert indicators["interest_paid"].sum_of_lines and list(indicators)[-1] == "ledger_age_months"
