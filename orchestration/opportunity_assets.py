"""The rules engine as Dagster assets: the firm's catalogue evaluated on the marts, between the two dbt steps."""

import logging

import dagster as dg

from assets.opportunities import CatalogueError, run_opportunities
from orchestration.ingest_assets import WAREHOUSE_POOL
from orchestration.resources import VigieResource
from orchestration.versioning import catalogue_version

log = logging.getLogger("vigie.opportunities")

CATALOGUE_KEY = dg.AssetKey(["config", "missions"])
HISTORY_KEY = dg.AssetKey(["opportunities", "opportunity_history"])
MATCHES_KEY = dg.AssetKey(["opportunities", "rule_matches"])
RULE_INPUTS = [dg.AssetKey(["marts", m]) for m in ("fct_indicators_monthly", "dim_clients", "fct_deals")] + [
    dg.AssetKey(["seeds", s]) for s in ("thresholds", "account_mapping")]

catalogue_spec = dg.AssetSpec(
    CATALOGUE_KEY, group_name="config", kinds={"yaml"}, metadata={"path": "config/missions.yml"},
    description="The firm's mission catalogue: rules, titles, trigger sentences, prices, switches (created with "
                "the starter catalogue on first run).")


@dg.multi_asset(
    name="evaluate_missions",
    specs=[
        dg.AssetSpec(HISTORY_KEY, deps=[CATALOGUE_KEY, *RULE_INPUTS], group_name="opportunities", kinds={"duckdb"},
                     description="Opportunities across runs (open, resolved, dismissed), one per client and mission."),
        dg.AssetSpec(MATCHES_KEY, deps=[CATALOGUE_KEY, *RULE_INPUTS], group_name="opportunities", kinds={"duckdb"},
                     description="Rules fired at this run, proposed or not (switched off, already sold)."),
    ],
    pool=WAREHOUSE_POOL,
    description="Evaluate config/missions.yml on each client's latest ledger month (one parameterised query).",
)
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
                for key in (HISTORY_KEY, MATCHES_KEY)}
    log.info("opportunities: %s", report.summary())
    for key in (HISTORY_KEY, MATCHES_KEY):
        yield dg.MaterializeResult(asset_key=key, metadata={
            "dagster/row_count": rows[key], "summary": report.summary(),
            "catalogue_version": version or ""})
