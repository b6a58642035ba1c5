"""The rules engine as Dagster assets: the firm's catalogue evaluated on the marts, between the two dbt steps."""

import logging

import dagster as dg
from dagster_dbt import get_asset_keys_by_output_name_for_source

from assets.opportunities import CatalogueError, run_opportunities
from orchestration.dbt_assets import DbtSteps
from orchestration.keys import CATALOGUE_KEY
from orchestration.resources import VigieResource
from orchestration.retries import retry_transient
from orchestration.versioning import catalogue_version

log = logging.getLogger("vigie.opportunities")

RULE_INPUT_NODES = ("fct_indicators_monthly", "dim_clients", "fct_deals", "thresholds", "account_mapping")

catalogue_spec = dg.AssetSpec(
    CATALOGUE_KEY, group_name="config", kinds={"yaml"}, metadata={"path": "config/missions.yml"},
    description="The firm's mission catalogue: rules, titles, trigger sentences, prices, switches (created with "
                "the starter catalogue on first run).")


def opportunity_keys(dbt: DbtSteps) -> dict[str, dg.AssetKey]:
    """The engine's tables, keyed as the dbt source that reads them says (meta.dagster.asset_key)."""
    keys = get_asset_keys_by_output_name_for_source([dbt.outputs], "opportunities").values()
    return {key.path[-1]: key for key in keys}


def build_evaluate_missions(dbt: DbtSteps) -> dg.AssetsDefinition:
    keys = opportunity_keys(dbt)
    history_key, matches_key = keys["opportunity_history"], keys["rule_matches"]
    inputs = [CATALOGUE_KEY, *(dbt.key_for(node) for node in RULE_INPUT_NODES)]

    @dg.multi_asset(
        name="evaluate_missions",
        specs=[
            dg.AssetSpec(history_key, deps=inputs, group_name="opportunities", kinds={"duckdb"},
                         description="Opportunities across runs (open, resolved, dismissed), one per client and "
                                     "mission."),
            dg.AssetSpec(matches_key, deps=inputs, group_name="opportunities", kinds={"duckdb"},
                         description="Rules fired at this run, proposed or not (switched off, already sold)."),
        ],
        description="Evaluate config/missions.yml on each client's latest ledger month (one parameterised query).",
    )
    @retry_transient
    def evaluate_missions(context: dg.AssetExecutionContext, vigie: VigieResource):
        home = vigie.vigie_home
        version = catalogue_version(home)
        with vigie.connect_warehouse() as con:
            try:
                report = run_opportunities(con, home.missions_file, vigie.as_of_date(), vigie.settings().language,
                                           version)
            except CatalogueError as error:
                raise dg.Failure(description=str(error), allow_retries=False) from None
            rows = {key: con.execute(f"select count(*) from {'.'.join(key.path)}").fetchone()[0]
                    for key in (history_key, matches_key)}
        log.info("opportunities: %s", report.summary())
        for key in (history_key, matches_key):
            yield dg.MaterializeResult(asset_key=key, metadata={
                "dagster/row_count": rows[key], "summary": report.summary(),
                "catalogue_version": version or ""})

    return evaluate_missions
