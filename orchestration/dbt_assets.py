"""dbt models as Dagster assets, in two steps around the Python assets; dbt tests become their asset checks.

Built by a factory from the home's manifest (orchestration/dbt_project.py), never at import time.
"""

import json
import logging
import shutil
import sysconfig
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets, get_asset_key_for_model

from assets.warehouse import connect
from orchestration.dbt_project import needs_full_refresh, record_incremental_build
from orchestration.keys import PYTHON_OUTPUT_SOURCES, raw_key
from orchestration.resources import VigieResource
from orchestration.retries import retry_transient

log = logging.getLogger("vigie.dbt")

# dbt runs from the same environment as Vigie, whatever PATH says (the UI's code server has a bare PATH).
DBT_EXECUTABLE = Path(sysconfig.get_path("scripts")) / "dbt"

# The marts that read what the Python assets write, and everything downstream: dbt's own graph selector, so a new
# mart reading the rules engine's output lands in the second step without anyone tagging it.
AFTER_PYTHON_ASSETS = " ".join(f"source:{source}+" for source in PYTHON_OUTPUT_SOURCES)


def dbt_resource(project: DbtProject) -> DbtCliResource:
    return DbtCliResource(project_dir=project, dbt_executable=str(DBT_EXECUTABLE))


class VigieDbtTranslator(DagsterDbtTranslator):
    """Asset keys by layer: staging|intermediate|marts/<model>, seeds/<seed>; a source takes the key its YAML
    `meta.dagster.asset_key` gives (the tables Vigie's Python assets write), else raw/<table> (the ingest layer)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            if dbt_resource_props.get("meta", {}).get("dagster", {}).get("asset_key"):
                return super().get_asset_key(dbt_resource_props)
            return raw_key(dbt_resource_props["name"])
        return dg.AssetKey([_layer(dbt_resource_props), dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return _layer(dbt_resource_props)


def _layer(props: Mapping[str, Any]) -> str:
    if props["resource_type"] == "seed":
        return "seeds"
    fqn = props.get("fqn", [])
    return fqn[1] if len(fqn) > 2 else "models"


@dataclass(frozen=True)
class DbtSteps:
    models: dg.AssetsDefinition   # everything the rules engine and the summaries read
    outputs: dg.AssetsDefinition  # the marts that read what they write

    @property
    def both(self) -> list[dg.AssetsDefinition]:
        return [self.models, self.outputs]

    def key_for(self, node_name: str) -> dg.AssetKey:
        """The asset key of a dbt model or seed, derived from the manifest and the translator (either step holds
        the whole manifest)."""
        return get_asset_key_for_model([self.models], node_name)


def build_dbt_steps(project: DbtProject) -> DbtSteps:
    return DbtSteps(models=_dbt_step(project, "vigie_dbt_models", select="fqn:*", exclude=AFTER_PYTHON_ASSETS,
                                     holds_incremental_models=True),
                    outputs=_dbt_step(project, "vigie_dbt_outputs", select=AFTER_PYTHON_ASSETS, exclude=None))


def _dbt_step(project: DbtProject, name: str, select: str, exclude: str | None,
              holds_incremental_models: bool = False) -> dg.AssetsDefinition:
    @dbt_assets(manifest=project.manifest_path, project=project, name=name, select=select, exclude=exclude,
                dagster_dbt_translator=VigieDbtTranslator())
    @retry_transient
    def _models(context: dg.AssetExecutionContext, dbt: DbtCliResource, vigie: VigieResource):
        # dbt unit tests check the SQL, not the data: they run in `make test` (tests/dbt), not every morning.
        args = ["build", "--exclude-resource-type", "unit_test", "--vars", vigie.dbt_vars()]
        # The ledger's incremental models keep what the SQL computed when each file version arrived: a new
        # version of the project rebuilds them (and everything else) from the raw layer.
        full_refresh = holds_incremental_models and needs_full_refresh(vigie.vigie_home)
        if full_refresh:
            log.info("dbt build: first build, or the dbt project changed since the last one: incremental models "
                     "rebuilt in full")
        invocation = dbt.cli([*args, "--full-refresh"] if full_refresh else args, context=context)
        try:
            # Row counts are read after dbt exits: DuckDB lets one process hold the file while dbt writes it.
            events = list(_logging_progress(invocation.stream()))
        finally:
            # dagster-dbt leaves ~30 MB of artefacts per step; what matters is in the events and the run log.
            shutil.rmtree(invocation.target_path, ignore_errors=True)
        if holds_incremental_models and context.selected_asset_keys == set(context.assets_def.keys):
            record_incremental_build(vigie.vigie_home)  # a subset may have left an incremental model out
        yield from _with_row_counts(context, events, vigie)

    return _models


def _logging_progress(events: Iterator, every: int = 25) -> Iterator:
    done = 0
    for event in events:
        done += 1
        if done % every == 0:
            log.info("dbt build: %d models and tests done", done)
        yield event
    log.info("dbt build: finished, %d models and tests", done)


def _with_row_counts(context: dg.AssetExecutionContext, events: list, vigie: VigieResource) -> Iterator:
    """Add `dagster/row_count` to each model built as a table (asset key = [schema, table])."""
    with connect(vigie.vigie_home.warehouse_db, vigie.duckdb_config(), read_only=True) as con:
        tables = set(con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall())
        for event in events:
            if isinstance(event, dg.Output):
                schema_and_table = tuple(context.asset_key_for_output(event.output_name).path)
                if schema_and_table in tables:
                    rows = con.execute('SELECT count(*) FROM "{}"."{}"'.format(*schema_and_table)).fetchone()[0]
                    event = event.with_metadata({**event.metadata, "dagster/row_count": rows})
            yield event


def published_models(project: DbtProject) -> list[str]:
    """Names of the marts tagged `published` in the dbt manifest: the BI contract's tables."""
    nodes = json.loads(project.manifest_path.read_text(encoding="utf-8"))["nodes"].values()
    return sorted(n["name"] for n in nodes if n["resource_type"] == "model" and "published" in n.get("tags", []))
