"""Client summaries as a Dagster asset, with the grounding check that shows any reply the facts do not support."""

import logging

import dagster as dg
from dagster_dbt import get_asset_key_for_source

from assets.summaries.writer import SUMMARIES_TABLE, write_client_summaries
from orchestration.dbt_assets import DbtSteps
from orchestration.opportunity_assets import opportunity_keys
from orchestration.resources import VigieResource
from orchestration.retries import retry_transient

log = logging.getLogger("vigie.summaries")


def build_client_summaries(dbt: DbtSteps) -> list:
    """The summaries asset and its grounding check."""
    key = get_asset_key_for_source([dbt.outputs], "summaries")
    facts_key = dbt.key_for("client_summary_facts")

    @dg.asset(
        key=key, group_name="summaries", kinds={"duckdb", "openai"},
        deps=[facts_key, opportunity_keys(dbt)["opportunity_history"]],
        description="Five-card summary of each client: the facts from the marts, the wording by the LLM when "
                    "OPENAI_API_KEY is set (cached by client and facts hash), else by a deterministic template. "
                    "Secrets (IBANs, NIR, cards, addresses, credentials, contacts, names) never leave the firm.",
    )
    @retry_transient
    def client_summaries(context: dg.AssetExecutionContext, vigie: VigieResource) -> dg.MaterializeResult:
        with vigie.connect_warehouse() as con:
            report = write_client_summaries(con, language=vigie.settings().language,
                                            refresh=vigie.refresh_summaries)
        log.info("summaries: %s", report.summary())
        return dg.MaterializeResult(metadata={"dagster/row_count": report.clients, "summary": report.summary()})

    @dg.asset_check(asset=key, name="summaries_grounded",
                    description="Every number and date the LLM wrote is in the client's facts (same kind, same sign), "
                                "with no URL and no formula-like card; a summary that is not was replaced by the "
                                "template and is listed here.")
    def summaries_grounded(vigie: VigieResource) -> dg.AssetCheckResult:
        with vigie.connect_warehouse(read_only=True) as con:
            failed = con.execute(f"select client_id, grounding_issues from {SUMMARIES_TABLE} "
                                 "where grounding_status = 'failed' order by client_id").fetchall()
        return dg.AssetCheckResult(
            passed=not failed, severity=dg.AssetCheckSeverity.WARN,
            metadata={"failed_clients": len(failed),
                      "failures": dg.MetadataValue.md("\n".join(f"- {c}: {i}" for c, i in failed) or "none")})

    return [client_summaries, summaries_grounded]
