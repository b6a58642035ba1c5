"""dbt models as Dagster assets; dbt tests become their asset checks (dagster-dbt's default)."""

import json
import logging
import sysconfig
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration.dbt_manifest import AFTER_PYTHON_ASSETS, DBT_PROJECT_DIR
from orchestration.ingest_assets import WAREHOUSE_POOL, raw_key
from orchestration.resources import VigieResource

log = logging.getLogger("vigie.dbt")

# manifest.json is written by `vigie run/ui` (dbt_manifest.prepare_dbt_manifest) before this module loads.
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

# dbt runs from the same environment as Vigie, whatever PATH says (the UI's code server has a bare PATH).
DBT_EXECUTABLE = Path(sysconfig.get_path("scripts")) / "dbt"


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=str(DBT_EXECUTABLE))


PYTHON_OUTPUT_SOURCES = ("opportunities", "summaries")


class VigieDbtTranslator(DagsterDbtTranslator):
    """Asset keys by layer: raw/<table> for ingested sources, <source>/<table> for the tables Python assets write,
    staging|intermediate|marts/<model>, seeds/<seed>."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            if dbt_resource_props["source_name"] in PYTHON_OUTPUT_SOURCES:
                return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
            return raw_key(dbt_resource_props["name"])
        return dg.AssetKey([_layer(dbt_resource_props), dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return _layer(dbt_resource_props)


def _layer(props: Mapping[str, Any]) -> str:
    if props["resource_type"] == "seed":
        return "seeds"
    fqn = props.get("fqn", [])
    return fqn[1] if len(fqn) > 2 else "models"


def _dbt_step(name: str, select: str, exclude: str | None) -> dg.AssetsDefinition:
    @dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, name=name, select=select, exclude=exclude,
                dagster_dbt_translator=VigieDbtTranslator(), pool=WAREHOUSE_POOL)
    def _models(context: dg.AssetExecutionContext, dbt: DbtCliResource, vigie: VigieResource):
        invocation = dbt.cli(["build", "--vars", vigie.dbt_vars()], context=context)
        # Row counts are read after dbt exits: DuckDB lets one process hold the file while dbt writes it.
        events = list(_logging_progress(invocation.stream()))
        yield from _with_row_counts(context, events, vigie.vigie_home.warehouse_db)

    return _models


# Two dbt steps around the Python assets: everything the rules and summaries read, then the marts that read them.
vigie_dbt_models = _dbt_step("vigie_dbt_models", select="fqn:*", exclude=AFTER_PYTHON_ASSETS)
vigie_dbt_outputs = _dbt_step("vigie_dbt_outputs", select=AFTER_PYTHON_ASSETS, exclude=None)


def _logging_progress(events: Iterator, every: int = 25) -> Iterator:
    done = 0
    for event in events:
        done += 1
        if done % every == 0:
            log.info("dbt build: %d models and tests done", done)
        yield event
    log.info("dbt build: finished, %d models and tests", done)


def _with_row_counts(context: dg.AssetExecutionContext, events: list, warehouse_db: Path) -> Iterator:
    """Add `dagster/row_count` to each model built as a table (asset key = [schema, table])."""
    with duckdb.connect(str(warehouse_db), read_only=True) as con:
        tables = set(con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall())
        for event in events:
            if isinstance(event, dg.Output):
                schema_and_table = tuple(context.asset_key_for_output(event.output_name).path)
                if schema_and_table in tables:
                    rows = con.execute('SELECT count(*) FROM "{}"."{}"'.format(*schema_and_table)).fetchone()[0]
                    event = event.with_metadata({**event.metadata, "dagster/row_count": rows})
            yield event


def published_models() -> list[str]:
    """Names of the marts tagged `published` in the dbt manifest: the BI contract's tables."""
    nodes = json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))["nodes"].values()
    return sorted(n["name"] for n in nodes if n["resource_type"] == "model" and "published" in n.get("tags", []))
