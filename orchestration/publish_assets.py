"""The published snapshot: one asset per BI table, produced together by one atomic publish step."""

import hashlib
import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import dagster as dg
from dagster_dbt import DbtProject

from assets.column_lineage import warehouse_schemas
from assets.home import VigieHome
from assets.lineage import RunLineage, StepTimes, lineage_events, send_lineage_events, warehouse_relation
from assets.publish import publish_run
from assets.summaries.llm import SummarySettings
from assets.summaries.prompt import PROMPT_VERSION
from orchestration.dbt_assets import BUILT_BY_RUN, DbtSteps, published_models
from orchestration.keys import published_key
from orchestration.resources import VigieResource
from orchestration.retries import retry_transient
from orchestration.versioning import catalogue_version, code_version

log = logging.getLogger("vigie.publish")

# The firm opens its BI tools every morning; a snapshot older than a day and two hours means a morning was missed.
PUBLISHED_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26),
                                                     warn_window=timedelta(hours=25))


def build_publish(dbt: DbtSteps, project: DbtProject) -> dg.AssetsDefinition:
    tables = published_models(project)

    @dg.multi_asset(
        name="publish_marts",
        specs=[dg.AssetSpec(published_key(t), deps=[dbt.key_for(t)], group_name="published",
                            kinds={"duckdb", "parquet"}, freshness_policy=PUBLISHED_FRESHNESS,
                            description=f"{t} in publish/marts.duckdb and publish/parquet/{t}.parquet, for BI "
                                        "tools.")
               for t in tables],
        description="Switch in the read-only snapshot for BI tools (DuckDB 1.4+ readable), its Parquet files and "
                    "the audit manifest, all at once.",
    )
    @retry_transient
    def publish(context: dg.AssetExecutionContext, vigie: VigieResource):
        home: VigieHome = vigie.vigie_home
        # the run's own event log, read once for the lineage and the audit manifest
        logs = context.instance.all_logs(context.run.run_id, of_type={
            dg.DagsterEventType.STEP_START, dg.DagsterEventType.ASSET_MATERIALIZATION,
            dg.DagsterEventType.ASSET_CHECK_EVALUATION})
        with vigie.connect_warehouse() as con:
            events = lineage_events(_run_lineage(context, tables, logs, con))
        report = publish_run(
            home, tables, run_id=context.run.run_id, code_version=code_version(),
            catalogue_version=catalogue_version(home),
            settings={**vigie.settings().to_dict(), "as_of_date": vigie.as_of_date().isoformat()},
            lineage_events=events, duckdb_config=vigie.duckdb_config(), audit=_audit_facts(logs, home))
        log.info("published %d tables to %s; audit manifest %s", len(tables), report.run_dir, report.manifest)
        if url := vigie.settings().openlineage_url:
            log.info("lineage: %d of %d events sent", send_lineage_events(url, events), len(events))
        for table in tables:
            yield dg.MaterializeResult(asset_key=published_key(table), metadata={
                "dagster/row_count": report.row_counts[table],
                "path": dg.MetadataValue.path(str(home.marts_db)),
                "published_run": dg.MetadataValue.path(str(report.run_dir)),
                "parquet": dg.MetadataValue.path(str(report.parquet_files[table])),
                "audit_manifest": dg.MetadataValue.path(str(report.manifest)),
                "lineage_events": dg.MetadataValue.path(str(report.lineage or "")),
            })

    return publish


def _run_lineage(context: dg.AssetExecutionContext, tables: list[str], logs: list, con) -> RunLineage:
    """The run as OpenLineage sees it: each dataset materialised so far, from its step's start to its
    materialisation (the published tables: this step, until now), with its parents and its columns."""
    run_id, now = context.run.run_id, datetime.now(UTC)
    step_started = {e.step_key: _at(e.timestamp) for e in logs
                    if e.dagster_event_type == dg.DagsterEventType.STEP_START}
    steps = {e.asset_materialization.asset_key.to_user_string(): StepTimes(step_started[e.step_key], _at(e.timestamp))
             for e in logs if e.asset_materialization and e.step_key in step_started}
    for table in tables:
        steps[published_key(table).to_user_string()] = StepTimes(step_started.get(_step_key(context), now), now)
    record = context.instance.get_run_record_by_id(run_id)
    started = _at(record.start_time) if record and record.start_time else min(
        (t.started_at for t in steps.values()), default=now)
    columns = _columns(con, list(steps))
    return RunLineage(run_id, started, now, parents=_upstream_parents(context, tables), steps=steps,
                      columns=columns, column_sources=_column_sources(logs, tables, columns))


def _audit_facts(logs: list, home: VigieHome) -> dict:
    """What the audit manifest records beyond the inputs and outputs: the dbt project as parsed (hash of its
    manifest), how the summaries were written, every check's result in this run, by asset, and the dbt tables
    kept from an earlier run's build, each with that run."""
    manifest = home.dbt_target / "manifest.json"
    summaries = SummarySettings.from_env()
    checks: dict[str, dict[str, str]] = {}
    kept: dict[str, str] = {}  # dbt table -> the earlier run that built it (nothing it reads had changed since)
    for entry in logs:
        materialization = entry.asset_materialization
        if materialization and BUILT_BY_RUN in materialization.metadata:
            kept[materialization.asset_key.to_user_string()] = materialization.metadata[BUILT_BY_RUN].value
        if entry.dagster_event_type != dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            continue
        evaluation = entry.dagster_event.event_specific_data
        verdict = "passed" if evaluation.passed else f"failed ({evaluation.severity.value.lower()})"
        checks.setdefault(evaluation.asset_key.to_user_string(), {})[evaluation.check_name] = verdict
    return {
        "dbt_manifest_sha256": hashlib.sha256(manifest.read_bytes()).hexdigest() if manifest.is_file() else None,
        "summaries": {"prompt_version": PROMPT_VERSION, "model": summaries.model if summaries.uses_llm else None,
                      "writer": "llm, template when the model fails or is not configured" if summaries.uses_llm
                      else "template"},
        "checks": {asset: dict(sorted(results.items())) for asset, results in sorted(checks.items())},
        "tables_kept_from_run": dict(sorted(kept.items())),
    }


def _step_key(context: dg.AssetExecutionContext) -> str:
    return context.get_step_execution_context().step.key


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _columns(con, datasets: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Columns and types of each warehouse dataset ("layer/name"); a published table has its mart's."""
    by_table = {(schema, table): list(columns.items())
                for (_, schema, table), columns in warehouse_schemas(con).items()}
    return {key: by_table.get(warehouse_relation(key), []) for key in datasets}


def _column_sources(logs: list, tables: list[str], columns: Mapping[str, list[tuple[str, str]]]
                    ) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """Column lineage of each dataset ("layer/name" -> column -> its (dataset, column) sources): the dbt models'
    from their materialisations (`dagster/column_lineage`, read from their SQL), a published table's from its mart,
    column for column."""
    sources = {}
    for entry in logs:
        materialization = entry.asset_materialization
        lineage = materialization.metadata.get("dagster/column_lineage") if materialization else None
        if lineage is not None:
            sources[materialization.asset_key.to_user_string()] = {
                column: [(dep.asset_key.to_user_string(), dep.column_name) for dep in deps]
                for column, deps in lineage.value.deps_by_column.items()}
    for table in tables:
        mart = f"marts/{table}"
        sources[published_key(table).to_user_string()] = {
            column: [(mart, column)] for column, _ in columns.get(published_key(table).to_user_string(), [])}
    return sources


def _upstream_parents(context: dg.AssetExecutionContext, tables: list[str]) -> dict[str, list[str]]:
    """Every asset upstream of the published tables, with its direct parents, as "layer/name" strings."""
    graph = context.job_def.asset_layer.asset_graph
    parents, pending = {}, [published_key(t) for t in tables]
    while pending:
        key = pending.pop()
        name = key.to_user_string()
        if name in parents:
            continue
        node_parents = sorted(graph.get(key).parent_keys, key=str) if graph.has(key) else []
        parents[name] = [p.to_user_string() for p in node_parents]
        pending.extend(node_parents)
    return parents
