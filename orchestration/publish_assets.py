"""The published snapshot: one asset per BI table, produced together by one atomic publish step."""

import logging

import dagster as dg

from assets.home import VigieHome
from assets.lineage import lineage_events, write_lineage_events
from assets.publish import publish_marts, write_audit_manifest
from orchestration.dbt_assets import published_models
from orchestration.ingest_assets import WAREHOUSE_POOL
from orchestration.resources import VigieResource
from orchestration.versioning import catalogue_version, code_version

log = logging.getLogger("vigie.publish")

PUBLISHED_TABLES = published_models()


def published_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["published", table])


@dg.multi_asset(
    name="publish_marts",
    specs=[dg.AssetSpec(published_key(t), deps=[dg.AssetKey(["marts", t])], group_name="published",
                        kinds={"duckdb", "parquet"},
                        description=f"{t} in publish/marts.duckdb and publish/parquet/{t}.parquet, for BI tools.")
           for t in PUBLISHED_TABLES],
    pool=WAREHOUSE_POOL,
    description="Swap in the read-only snapshot for BI tools (DuckDB 1.4+ readable), write Parquet and the audit "
                "manifest.",
)
def publish(context: dg.AssetExecutionContext, vigie: VigieResource):
    home: VigieHome = vigie.vigie_home
    report = publish_marts(home, PUBLISHED_TABLES)
    manifest = write_audit_manifest(
        home, run_id=context.run.run_id, report=report, code_version=code_version(),
        catalogue_version=catalogue_version(home), settings={**vigie.settings().to_dict(),
                                                            "as_of_date": vigie.as_of_date().isoformat()})
    lineage = write_lineage_events(manifest.with_suffix(".lineage.jsonl"),
                                   lineage_events(context.run.run_id, _upstream_parents(context)))
    log.info("published %d tables to %s; audit manifest %s", len(PUBLISHED_TABLES), home.marts_db, manifest)
    for table in PUBLISHED_TABLES:
        yield dg.MaterializeResult(asset_key=published_key(table), metadata={
            "dagster/row_count": report.row_counts[table],
            "path": dg.MetadataValue.path(str(home.marts_db)),
            "parquet": dg.MetadataValue.path(str(report.parquet_files[table])),
            "audit_manifest": dg.MetadataValue.path(str(manifest)),
            "lineage_events": dg.MetadataValue.path(str(lineage)),
        })


def _upstream_parents(context: dg.AssetExecutionContext) -> dict[str, list[str]]:
    """Every asset upstream of the published tables, with its direct parents, as "layer/name" strings."""
    graph = context.job_def.asset_layer.asset_graph
    parents, pending = {}, [published_key(t) for t in PUBLISHED_TABLES]
    while pending:
        key = pending.pop()
        name = key.to_user_string()
        if name in parents:
            continue
        node_parents = sorted(graph.get(key).parent_keys, key=str) if graph.has(key) else []
        parents[name] = [p.to_user_string() for p in node_parents]
        pending.extend(node_parents)
    return parents
