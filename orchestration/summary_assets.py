"""Client summaries as a Dagster asset, with the grounding check that shows any reply the facts do not support."""

import logging

import dagster as dg
import duckdb

from assets.summaries.writer import SUMMARIES_TABLE, write_client_summaries
from orchestration.ingest_assets import WAREHOUSE_POOL
from orchestration.opportunity_assets import HISTORY_KEY
from orchestration.resources import VigieResource

log = logging.getLogger("vigie.summaries")

SUMMARIES_KEY = dg.AssetKey(["summaries", "client_summaries"])


@dg.asset(
    key=SUMMARIES_KEY, group_name="summaries", kinds={"duckdb", "openai"}, pool=WAREHOUSE_POOL,
    deps=[dg.AssetKey(["intermediate", "int_summaries__client_facts"]), HISTORY_KEY],
    description="Five-card summary of each client: the facts from the marts, the wording by the LLM when "
                "OPENAI_API_KEY is set (cached by facts hash), else by a deterministic template.",
)
def client_summaries(context: dg.AssetExecutionContext, vigie: VigieResource) -> dg.MaterializeResult:
    with vigie.connect_warehouse() as con:
        report = write_client_summaries(con, language=vigie.settings().language, refresh=vigie.refresh_summaries)
    log.info("summaries: %s", report.summary())
    return dg.MaterializeResult(metadata={"dagster/row_count": report.clients, "summary": report.summary()})


@dg.asset_check(asset=SUMMARIES_KEY, name="summaries_grounded", pool=WAREHOUSE_POOL,
                description="Every number and date the LLM wrote is in the client's facts; a summary that is not "
                            "was replaced by the template and is listed here.")
def summaries_grounded(vigie: VigieResource) -> dg.AssetCheckResult:
    with duckdb.connect(str(vigie.vigie_home.warehouse_db), read_only=True) as con:
        failed = con.execute(f"select client_id, grounding_issues from {SUMMARIES_TABLE} "
                             "where grounding_status = 'failed' order by client_id").fetchall()
    return dg.AssetCheckResult(
        passed=not failed, severity=dg.AssetCheckSeverity.WARN,
        metadata={"failed_clients": len(failed),
                  "failures": dg.MetadataValue.md("\n".join(f"- {c}: {i}" for c, i in failed) or "none")})
