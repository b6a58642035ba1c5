"""dbt models as Dagster assets, in two steps around the Python assets; dbt tests become their asset checks.

Built by a factory from the home's manifest (orchestration/dbt_project.py), never at import time.
"""

import graphlib
import json
import logging
import os
import shutil
import sysconfig
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets, get_asset_key_for_model
from packaging.version import Version

from assets.column_lineage import ColumnLineageCache, warehouse_schemas
from assets.warehouse import connect
from checks.gx_validation import load_great_expectations
from orchestration.dbt_build_record import (
    BuildInputs,
    BuildRecord,
    changed_raw_tables,
    forget_build,
    last_build,
    missing_relations,
    raw_table_fingerprints,
    record_build,
    table_contents,
)
from orchestration.dbt_project import needs_full_refresh, project_fingerprint, record_incremental_build
from orchestration.keys import PYTHON_OUTPUT_SOURCES, raw_key
from orchestration.resources import VigieResource
from orchestration.retries import retry_transient

log = logging.getLogger("vigie.dbt")

# dbt runs from the same environment as Vigie, whatever PATH says (the UI's code server has a bare PATH), through
# `vigie-dbt`: dbt's command line without the interpreter's teardown (orchestration/dbt_command.py).
DBT_EXECUTABLE = Path(sysconfig.get_path("scripts")) / "vigie-dbt"

# The marts that read what the Python assets write, and everything downstream: dbt's own graph selector, so a new
# mart reading the rules engine's output lands in the second step without anyone tagging it.
AFTER_PYTHON_ASSETS = " ".join(f"source:{source}+" for source in PYTHON_OUTPUT_SOURCES)

# Metadata of a materialisation or check result reported again from the run that built the table (a step with
# nothing new to read builds nothing: orchestration/dbt_build_record.py).
BUILT_BY_RUN = "vigie/built_by_run"

# Metadata of a view that reads changed raw tables, reported without being created again: its definition is that of
# the run named, its rows those of the raw tables now (a view holds no rows; its SQL changes only with the project,
# and then the whole step builds).
VIEW_DEFINED_BY_RUN = "vigie/view_defined_by_run"

# The dbt nodes that are tables (or views) in the warehouse, and assets of the dbt steps.
TABLE_NODES = ("model", "seed", "snapshot")

# Each model's column lineage, kept between runs beside dbt's target (assets/column_lineage.py).
COLUMN_LINEAGE_CACHE = "column_lineage.json"


class VigieDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without two start-up costs that buy Vigie nothing, paid before each dbt step starts
    (py-spy, three-file home, about 3 s a run):
    - the `dbt --version` subprocess that learns which dbt runs (1.7 s): it is the dbt-core of this environment
      (DBT_EXECUTABLE), whose version the package metadata gives;
    - the in-process dbt adapter, built by loading dbt's macros (0.5 s a step): dagster-dbt only uses it to fetch row
      counts and column metadata, which Vigie reads itself after dbt exits (`_with_table_metadata`).
    Both are private to dagster-dbt (pinned below 0.30); tests/orchestration/test_dbt_resource.py fails if they move.
    """

    @cached_property
    def _cli_version(self) -> Version:
        return Version(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):
        return None


def dbt_resource(project: DbtProject) -> DbtCliResource:
    return VigieDbtCliResource(project_dir=project, dbt_executable=str(DBT_EXECUTABLE))


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
        whole_step = context.selected_asset_keys == set(context.assets_def.keys)
        # The ledger's incremental models keep what the SQL computed when each file version arrived: a new
        # version of the project rebuilds them (and everything else) from the raw layer, as `--full-refresh` does.
        full_refresh = holds_incremental_models and (vigie.full_refresh or needs_full_refresh(vigie.vigie_home))
        inputs = _build_inputs(vigie) if holds_incremental_models else None
        # A morning builds what reads the raw tables that changed since the step's last build, and keeps the rest
        # (dbt_build_record.py); with nothing changed, it builds nothing.
        plan = _partial_build(context, vigie, project, name, inputs) if (
            inputs and whole_step and not full_refresh) else None
        if plan:
            yield from plan.kept
        if plan and not plan.to_build and not plan.views:
            yield from plan.kept_checks
            if plan.changed:  # raw tables no model of the step reads
                _record(vigie, name, inputs, context.run.run_id)
            return
        if inputs:
            with vigie.connect_warehouse() as con:
                forget_build(con, name)
        # dbt unit tests check the SQL, not the data: they run in `make test` (tests/dbt), not every morning.
        args = ["build", "--exclude-resource-type", "unit_test", "--vars", vigie.dbt_vars(),
                # dbt's own log file (debug level: every query) would go to the step's artefacts, removed below; its
                # writing cost ~4 s of CPU a run (py-spy, three-file home). What matters reaches the run log.
                "--log-level-file", "none",
                # Nor its JSON artefacts: the whole manifest written twice and run_results, 0.6 s a step for files
                # removed below. The compiled SQL column lineage needs is in target/compiled/ all the same.
                "--no-write-json"]
        if holds_incremental_models:
            load_great_expectations()  # while this process waits for dbt; the quality checks come next
        if full_refresh:
            log.info("dbt build: %s: incremental models rebuilt in full", "full refresh asked" if vigie.full_refresh
                     else "first build, or the dbt project changed since the last one")
        os.environ.update(vigie.dbt_environment())  # the dbt subprocess inherits it
        if plan:
            events, compiled = _build_partially(
                context, dbt, [*args, *(["--exclude", exclude] if exclude else [])], plan, vigie, project)
        else:
            events, compiled = _run_dbt(context, dbt.cli([*args, "--full-refresh"] if full_refresh else args,
                                                         context=context), project)
        if holds_incremental_models and whole_step:
            record_incremental_build(vigie.vigie_home)  # a subset may have left an incremental model out
        yield from _with_table_metadata(context, events, vigie, project, compiled)
        if plan:  # the checks of kept tables that dbt did not run again (a test may read a built and a kept table)
            ran = {dg.AssetCheckKey(e.asset_key, e.check_name) for e in events if isinstance(e, dg.AssetCheckResult)}
            built = {context.asset_key_for_output(e.output_name) for e in events
                     if isinstance(e, dg.Output) and BUILT_BY_RUN not in e.metadata}
            yield from (check for check in plan.kept_checks if check.asset_key not in built
                        and dg.AssetCheckKey(check.asset_key, check.check_name) not in ran)
        if inputs and whole_step:
            _record(vigie, name, inputs, context.run.run_id)

    return _models


def _build_inputs(vigie: VigieResource) -> BuildInputs:
    """Everything the step's tables are computed from (orchestration/dbt_build_record.py)."""
    raw_tables = {}  # the step selected alone in a new home: dbt creates the warehouse
    if vigie.vigie_home.warehouse_db.exists():
        with vigie.connect_warehouse(read_only=True) as con:
            raw_tables = raw_table_fingerprints(con)
    return BuildInputs(project=project_fingerprint(), dbt_vars=vigie.dbt_vars(), environment=vigie.dbt_environment(),
                       raw_tables=raw_tables)


def _record(vigie: VigieResource, step: str, inputs: BuildInputs, run_id: str) -> None:
    with vigie.connect_warehouse() as con:
        record_build(con, step, BuildRecord(inputs.fingerprint(), run_id, inputs.raw_tables))


@dataclass(frozen=True)
class PartialBuild:
    """What a step builds when only some raw tables changed since its last build, and what it reports as kept."""

    changed: frozenset[str]  # raw tables
    to_build: frozenset[dg.AssetKey]  # the tables that read them other than through a build gate (the gates too)
    views: list[dg.Output]  # the views that read them: reported again as they stand, their tests run again
    behind_gates: frozenset[dg.AssetKey]  # the tables that read them only through gates: built if one changes
    gates: frozenset[dg.AssetKey]  # the build gates among to_build
    kept: list[dg.Output]  # the other tables' latest materialisations, reported again
    kept_behind_gates: list[dg.Output]  # reported again unless a gate they read changed
    kept_checks: list[dg.AssetCheckResult]  # the latest results of the checks of both


def _partial_build(context: dg.AssetExecutionContext, vigie: VigieResource, project: DbtProject, step: str,
                   inputs: BuildInputs) -> PartialBuild | None:
    """When the project, the vars and the environment are those of the step's last complete build, and the
    warehouse still holds its tables: build only what reads the raw tables that changed since, and report the
    others as that build left them, each naming the run that made it. None: the whole step builds."""
    step_keys = context.assets_def.keys
    with vigie.connect_warehouse(read_only=True) as con:
        record = last_build(con, step)
        changed = changed_raw_tables(record, inputs)
        if changed is None:
            return None
        reading = _downstream_of_raw_tables(project, changed, through_gates=True) & step_keys
        to_build = _downstream_of_raw_tables(project, changed, through_gates=False) & step_keys
        # Creating a view again changes nothing (a view holds no rows, and its SQL is the last build's), yet cost a
        # dbt node each: about 0.35 s of dbt's time for each of the four staging views a re-exported ledger reaches.
        views = to_build & _view_keys(project)
        to_build -= views
        missing = missing_relations(con, _relations(project, step_keys - to_build))
    if missing:
        log.info("dbt build: %d tables of the last build are missing (%s.%s...): building again", len(missing),
                 *missing[0])
        return None
    behind_gates = reading - to_build - views
    latest = _latest_results(context, step_keys - to_build)
    if latest is None:
        log.info("dbt build: a table of the last build (run %s) has no materialisation left in the run history:"
                 " building again", record.run_id)
        return None
    outputs, kept_checks = latest
    key_of = {output.output_name: context.asset_key_for_output(output.output_name) for output in outputs}
    if to_build:
        log.info("dbt build: %s changed since run %s: %d tables read them (%d of them only through a build gate,"
                 " built if it changes), keeping %d",
                 ", ".join(f"raw.{table}" for table in sorted(changed)), record.run_id, len(reading),
                 len(behind_gates), len(step_keys - reading))
    else:
        log.info("dbt build: nothing this step reads changed since run %s: its %d tables kept as they are",
                 record.run_id, len(step_keys))
    return PartialBuild(frozenset(changed), frozenset(to_build),
                        [_as_view_read_again(output) for output in outputs if key_of[output.output_name] in views],
                        frozenset(behind_gates), frozenset(to_build & _build_gates(project)),
                        kept=[output for output in outputs if key_of[output.output_name] not in reading],
                        kept_behind_gates=[output for output in outputs if key_of[output.output_name] in behind_gates],
                        kept_checks=kept_checks)


def _as_view_read_again(kept: dg.Output) -> dg.Output:
    """A view's latest materialisation, reported by this run: same definition (and column lineage), new rows. The
    run that created the view is the one that materialisation names, if it was itself a view read again."""
    metadata = {name: value for name, value in kept.metadata.items()
                if name not in (BUILT_BY_RUN, "Execution Duration")}
    defined_by = kept.metadata.get(VIEW_DEFINED_BY_RUN, kept.metadata[BUILT_BY_RUN])
    return dg.Output(None, output_name=kept.output_name, metadata={**metadata, VIEW_DEFINED_BY_RUN: defined_by})


def _view_keys(project: DbtProject) -> set[dg.AssetKey]:
    translator = VigieDbtTranslator()
    return {translator.get_asset_key(props) for props in _manifest(project)["nodes"].values()
            if props["resource_type"] == "model" and props["config"].get("materialized") == "view"}


def _build_partially(context: dg.AssetExecutionContext, dbt: DbtCliResource, args: list[str], plan: PartialBuild,
                     vigie: VigieResource, project: DbtProject) -> tuple[list, dict[str, str]]:
    """Build the plan's tables, and their tests and those of its views, in one dbt invocation, reading the tables
    behind the build gates as they stand. When a gate's content changed, a second invocation builds the tables
    behind it, the tables of the first that read those again, and the tests of all of them (a test failed by the
    first because it read a table behind the gate as it was is run again; any other failure is the step's). The
    tables behind only gates that came out as they were are reported as kept. Returns the events, parents first,
    and the compiled SQL.

    The gates seldom move (a re-export brings the same companies and, most mornings, the same months): waiting for
    them before building the rest cost a second dbt invocation on most mornings. One ledger re-exported among 1 000:
    4.0 s for the gates and what they read, then 6.2 s for the rest (step 13.9 s), against 7.8 s in one invocation
    (step 11.1 to 11.5 s).

    dagster-dbt would add the step's whole selection to ours (dbt unites two --select), so these builds run outside
    the step's context and their events are turned into the step's own."""
    manifest = _manifest(project)
    to_build, behind = _node_ids(project, plan.to_build), _node_ids(project, plan.behind_gates)
    views = _node_ids(project, {context.asset_key_for_output(output.output_name) for output in plan.views})

    def build(models: set[str], tested: set[str] = frozenset(), raise_on_error: bool = True
              ) -> tuple[list, dict[str, str], Exception | None]:
        """Build these models, and run the tests of them and of `tested`."""
        selected = models | _tests_of(manifest, models | tested)
        if not selected:
            return [], {}, None
        invocation = dbt.cli([*args, "--indirect-selection", "empty", "--select",
                              " ".join(f"fqn:{'.'.join(manifest['nodes'][uid]['fqn'])}" for uid in sorted(selected))],
                             manifest=project.manifest_path, dagster_dbt_translator=VigieDbtTranslator(),
                             raise_on_error=raise_on_error)
        events, compiled = _run_dbt(context, invocation, project)
        return events, compiled, invocation.get_error()

    if not behind:
        events, compiled, _ = build(to_build, views)
        return _in_graph_order(context, manifest, [*plan.views, *events]), compiled
    gate_keys = {relation: key for relation, key in _asset_keys_by_relation(project).items() if key in plan.gates}
    gate_relations = sorted(gate_keys)
    with vigie.connect_warehouse(read_only=True) as con:
        gates_before = table_contents(con, gate_relations)
    events, compiled, error = build(to_build, views, raise_on_error=False)
    with vigie.connect_warehouse(read_only=True) as con:
        changed_gates = [gate for gate, content in table_contents(con, gate_relations).items()
                         if content != gates_before[gate]]
    if not changed_gates:
        if error:
            raise error
        log.info("dbt build: build gates as they were (%s): the %d tables that read the changed tables only through"
                 " them kept", ", ".join(".".join(gate) for gate in gate_relations), len(behind))
        return _in_graph_order(context, manifest, [*plan.views, *events, *plan.kept_behind_gates]), compiled
    # What reads a gate that changed is built, with the tables of the first invocation that read it (or that it did
    # not build: dbt skips what reads a failed test's table); what stands behind the other gates only is kept.
    moved = _node_ids(project, {gate_keys[gate] for gate in changed_gates})
    behind_moved = behind & _reachable(manifest["child_map"], moved)
    built = {output.metadata["unique_id"].value for output in events if isinstance(output, dg.Output)}
    again = to_build & (_reachable(manifest["child_map"], behind_moved) | (to_build - built))
    still = [gate for gate in gate_relations if gate not in changed_gates]
    log.info("dbt build: build gate changed (%s): building the %d tables behind %s%s%s",
             ", ".join(".".join(gate) for gate in changed_gates), len(behind_moved),
             "it" if len(changed_gates) == 1 else "them",
             f", and again the {len(again)} tables that read them" if again else "",
             f"; the {len(behind - behind_moved)} tables behind only the gates as they were"
             f" ({', '.join('.'.join(gate) for gate in still)}) kept" if still else "")
    moved_keys = _asset_keys(manifest, behind_moved)
    kept = [output for output in plan.kept_behind_gates
            if context.asset_key_for_output(output.output_name) not in moved_keys]
    more_events, more_compiled, _ = build(behind_moved | again)
    if error and _failed_checks(events) - _failed_checks(more_events, every=True):
        raise error  # a test failed for a reason other than the gate's tables as they were
    return (_in_graph_order(context, manifest,
                            [*plan.views, *_not_reported_again(events, more_events), *kept, *more_events]),
            {**compiled, **more_compiled})


def _failed_checks(events: list, every: bool = False) -> set[tuple[dg.AssetKey, str]]:
    """The checks these events report as failed with an error (every: all the checks they report)."""
    return {(event.asset_key, event.check_name) for event in events if isinstance(event, dg.AssetCheckResult)
            and (every or (not event.passed and event.severity == dg.AssetCheckSeverity.ERROR))}


def _not_reported_again(events: list, later: list) -> list:
    """The events of a build without the tables and checks a later build reports again (each is reported once)."""
    outputs = {event.output_name for event in later if isinstance(event, dg.Output)}
    checks = {(event.asset_key, event.check_name) for event in later if isinstance(event, dg.AssetCheckResult)}
    return [event for event in events
            if not (isinstance(event, dg.Output) and event.output_name in outputs)
            and not (isinstance(event, dg.AssetCheckResult) and (event.asset_key, event.check_name) in checks)]


def _in_graph_order(context: dg.AssetExecutionContext, manifest: Mapping[str, Any], events: list) -> list:
    """The tables' events parents first, as Dagster wants a step's outputs (a table built may read one kept), then
    the other events (the checks) in the order they came."""
    rank = _graph_rank(manifest)
    translator = VigieDbtTranslator()
    order = {translator.get_asset_key(manifest["nodes"][uid]): rank[uid] for uid in rank}
    outputs = [event for event in events if isinstance(event, dg.Output)]
    outputs.sort(key=lambda output: order.get(context.asset_key_for_output(output.output_name), -1))
    return [*outputs, *(event for event in events if not isinstance(event, dg.Output))]


def _graph_rank(manifest: Mapping[str, Any]) -> dict[str, int]:
    """Each table node's place in an order of the graph where every node comes after the nodes it reads."""
    tables = {uid for uid, props in manifest["nodes"].items() if props["resource_type"] in TABLE_NODES}
    graph = {uid: [parent for parent in manifest["parent_map"].get(uid, []) if parent in tables] for uid in tables}
    return {uid: place for place, uid in enumerate(graphlib.TopologicalSorter(graph).static_order())}


def _node_ids(project: DbtProject, keys: Iterable[dg.AssetKey]) -> set[str]:
    """The unique ids of the models, seeds and snapshots behind these asset keys."""
    wanted = set(keys)
    translator = VigieDbtTranslator()
    return {uid for uid, props in _manifest(project)["nodes"].items()
            if props["resource_type"] in TABLE_NODES and translator.get_asset_key(props) in wanted}


def _asset_keys(manifest: Mapping[str, Any], uids: Iterable[str]) -> set[dg.AssetKey]:
    translator = VigieDbtTranslator()
    return {translator.get_asset_key(manifest["nodes"][uid]) for uid in uids}


def _ancestors(manifest: Mapping[str, Any], uids: Iterable[str]) -> set[str]:
    return _reachable(manifest["parent_map"], uids)


def _reachable(edges: Mapping[str, list[str]], starts: Iterable[str], stop: Callable[[str], bool] = lambda uid: False
               ) -> set[str]:
    """The nodes reached from these along the edges (dbt's parent_map or child_map), not going on from a node where
    `stop` says so."""
    todo, seen = list(starts), set()
    while todo:
        uid = todo.pop()
        if stop(uid):
            continue
        for neighbour in edges.get(uid, []):
            if neighbour not in seen:
                seen.add(neighbour)
                todo.append(neighbour)
    return seen


def _tests_of(manifest: Mapping[str, Any], built: set[str]) -> set[str]:
    """The data tests that read one of these tables (the others they read are kept, or built by the same
    invocation)."""
    return {uid for uid, props in manifest["nodes"].items() if props["resource_type"] == "test"
            and set(manifest["parent_map"].get(uid, [])) & built}


def _run_dbt(context: dg.AssetExecutionContext, invocation: Any, project: DbtProject) -> tuple[list, dict[str, str]]:
    """The events of a dbt invocation, as the step reports them, and the compiled SQL of the models it built."""
    try:
        # Row counts are read after dbt exits: DuckDB lets one process hold the file while dbt writes it.
        events = [_as_step_event(context, event) for event in _logging_progress(invocation.stream())]
        return events, _compiled_models(invocation.target_path, events, project)
    finally:
        # dagster-dbt leaves each step's artefacts (compiled SQL, a copy of the partial parse); what matters is in
        # the events and the run log.
        shutil.rmtree(invocation.target_path, ignore_errors=True)


def _build_gates(project: DbtProject) -> set[dg.AssetKey]:
    """The models marked as build gates (orchestration/dbt_build_record.py)."""
    manifest = _manifest(project)
    if problems := build_gate_problems(manifest):
        raise ValueError("dbt project: " + "; ".join(problems))
    translator = VigieDbtTranslator()
    return {translator.get_asset_key(props) for props in manifest["nodes"].values() if _is_build_gate(props)}


def build_gate_problems(manifest: Mapping[str, Any]) -> list[str]:
    """What makes a model marked as a build gate unusable as one: its rows must be in the warehouse to be compared
    before and after it is built (a view or an ephemeral model shows the new rows already, or none), and it may not
    read another gate (the gates are all built first, in one dbt invocation, before what stands behind them)."""
    nodes = manifest["nodes"]
    gates = sorted(uid for uid, props in nodes.items() if _is_build_gate(props))
    problems = [f"build gate {nodes[uid]['name']} is materialized as {nodes[uid]['config'].get('materialized')},"
                " not as a table" for uid in gates
                if nodes[uid]["config"].get("materialized") not in ("table", "incremental")]
    problems += [f"build gate {nodes[uid]['name']} reads another build gate" for uid in gates
                 if _ancestors(manifest, [uid]) & set(gates)]
    return problems


def _is_build_gate(props: Mapping[str, Any]) -> bool:
    return props["resource_type"] == "model" and bool(props.get("config", {}).get("meta", {}).get("vigie_build_gate"))


def _sources_of_raw_tables(project: DbtProject, tables: Iterable[str]) -> list[Mapping[str, Any]]:
    """The dbt sources declared on these raw tables."""
    wanted = set(tables)
    return [props for props in _manifest(project)["sources"].values()
            if (props.get("identifier") or props["name"]) in wanted]


def _downstream_of_raw_tables(project: DbtProject, tables: Iterable[str], through_gates: bool) -> set[dg.AssetKey]:
    """The asset keys of the models that read these raw tables, directly or through other models (or, not
    through_gates, through models other than the build gates)."""
    manifest = _manifest(project)
    nodes = manifest["nodes"]
    reached = _reachable(manifest["child_map"],
                         [props["unique_id"] for props in _sources_of_raw_tables(project, tables)],
                         stop=lambda uid: not through_gates and uid in nodes and _is_build_gate(nodes[uid]))
    translator = VigieDbtTranslator()
    return {translator.get_asset_key(nodes[uid]) for uid in reached
            if uid in nodes and nodes[uid]["resource_type"] in TABLE_NODES}


def _latest_results(context: dg.AssetExecutionContext, keys: set[dg.AssetKey]
                    ) -> tuple[list[dg.Output], list[dg.AssetCheckResult]] | None:
    """The latest materialisation of each of these assets and the latest result of each of their checks, to report
    again, each naming the run that built the table (a table kept run after run keeps naming that run). None when
    one of them is no longer in the run history."""
    latest = context.instance.get_latest_materialization_events(keys)
    if any(latest.get(key) is None for key in keys):
        return None
    outputs = []
    for key, entry in sorted(latest.items(), key=lambda item: item[1].timestamp):  # parents first, as built
        metadata = _own_metadata(entry.asset_materialization.metadata)
        outputs.append(dg.Output(None, output_name=context.assets_def.get_output_name_for_asset_key(key),
                                 metadata={**metadata, BUILT_BY_RUN: _built_by(metadata, entry.run_id)}))
    # Each check's latest result is in the run that reported those materialisations (Dagster's own "latest check
    # execution" is this run's, planned when the step started).
    latest_checks: dict[dg.AssetCheckKey, dg.EventLogEntry] = {}
    for run_id in {entry.run_id for entry in latest.values()}:
        for entry in context.instance.all_logs(run_id, of_type={dg.DagsterEventType.ASSET_CHECK_EVALUATION}):
            check = entry.dagster_event.event_specific_data.asset_check_key
            if check.asset_key in keys and check in context.selected_asset_check_keys and (
                    check not in latest_checks or latest_checks[check].timestamp < entry.timestamp):
                latest_checks[check] = entry
    checks = []
    for entry in sorted(latest_checks.values(), key=lambda entry: entry.timestamp):
        evaluation = entry.dagster_event.event_specific_data
        checks.append(_as_check_result(evaluation, {BUILT_BY_RUN: _built_by(evaluation.metadata, entry.run_id)}))
    return outputs, checks


def _built_by(metadata: Mapping[str, Any], run_id: str) -> str:
    """The run that built what this event reports: the one it names, if it was itself reported again, else its own."""
    named = metadata.get(BUILT_BY_RUN)
    return str(named.value) if isinstance(named, dg.MetadataValue) else named or run_id


def _as_step_event(context: dg.AssetExecutionContext, event: Any) -> Any:
    """An event of a dbt invocation run outside the step's context, as the step reports it."""
    if isinstance(event, dg.AssetMaterialization):
        return dg.Output(None, output_name=context.assets_def.get_output_name_for_asset_key(event.asset_key),
                         metadata=event.metadata)
    if isinstance(event, dg.AssetCheckEvaluation):
        return _as_check_result(event)
    return event


def _as_check_result(evaluation: dg.AssetCheckEvaluation, metadata: Mapping[str, Any] | None = None
                     ) -> dg.AssetCheckResult:
    """A check's evaluation as a result the step reports, with more metadata if given."""
    return dg.AssetCheckResult(asset_key=evaluation.asset_key, check_name=evaluation.check_name,
                               passed=evaluation.passed, severity=evaluation.severity,
                               description=evaluation.description, metadata={**evaluation.metadata, **(metadata or {})})


def _own_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """A materialisation's metadata without what Dagster adds itself (pointers to the events of its inputs then)."""
    return {name: value for name, value in metadata.items() if not name.startswith("dagster/input_event_pointer/")}


def _relations(project: DbtProject, keys: Iterable[dg.AssetKey]) -> list[tuple[str, str]]:
    """The (schema, table) of the models and seeds behind these asset keys."""
    wanted = set(keys)
    return [relation for relation, key in _asset_keys_by_relation(project).items() if key in wanted]


def _logging_progress(events: Iterator, every: int = 25) -> Iterator:
    done = 0
    for event in events:
        done += 1
        if done % every == 0:
            log.info("dbt build: %d models and tests done", done)
        yield event
    log.info("dbt build: finished, %d models and tests", done)


def _compiled_models(target_path: Path, events: list, project: DbtProject) -> dict[str, str]:
    """The compiled SQL of each model built in this step, by unique id, from the files dbt writes as it compiles
    each node (target/compiled/<package>/<model file>, read before the artefacts are removed). A model without its
    file has no column lineage; the step is not failed for it."""
    nodes = _manifest(project)["nodes"]
    compiled = {}
    for event in events:
        unique_id = event.metadata.get("unique_id") if isinstance(event, dg.Output) else None
        node = nodes.get(unique_id.value) if unique_id else None
        if node and node["resource_type"] == "model":
            path = target_path / "compiled" / node["package_name"] / node["original_file_path"]
            if path.is_file():
                compiled[unique_id.value] = path.read_text(encoding="utf-8")
    return compiled


def _with_table_metadata(context: dg.AssetExecutionContext, events: list, vigie: VigieResource,
                         project: DbtProject, compiled: Mapping[str, str]) -> Iterator:
    """Add to each model's materialisation its row count (`dagster/row_count`, tables only) and its column lineage
    (`dagster/column_lineage`: which columns of which assets each column is computed from), as the UI shows them.
    A table kept from an earlier run (BUILT_BY_RUN) keeps the metadata of that run."""
    keys_by_relation = _asset_keys_by_relation(project)
    cache = ColumnLineageCache(vigie.vigie_home.dbt_target.parent / COLUMN_LINEAGE_CACHE)
    with connect(vigie.vigie_home.warehouse_db, vigie.duckdb_config(), read_only=True) as con:
        tables = set(con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall())
        schemas = warehouse_schemas(con)
        for event in events:
            if isinstance(event, dg.Output) and BUILT_BY_RUN not in event.metadata:
                metadata = dict(event.metadata)
                schema_and_table = tuple(context.asset_key_for_output(event.output_name).path)
                if schema_and_table in tables:
                    metadata["dagster/row_count"] = con.execute(
                        'SELECT count(*) FROM "{}"."{}"'.format(*schema_and_table)).fetchone()[0]
                unique_id = metadata.get("unique_id")
                sql = compiled.get(unique_id.value) if unique_id else None
                sources = cache.sources(unique_id.value, sql, schemas) if sql else None
                if sources is not None:
                    metadata["dagster/column_lineage"] = _dagster_column_lineage(sources, keys_by_relation)
                event = event.with_metadata(metadata)
            yield event
    cache.save()


def _dagster_column_lineage(sources: Mapping[str, list], keys_by_relation: Mapping[tuple[str, str], dg.AssetKey]
                            ) -> dg.TableColumnLineage:
    """Column sources as Dagster's column lineage: (schema, table) pairs become the asset keys that hold them."""
    return dg.TableColumnLineage(deps_by_column={
        column: [dg.TableColumnDep(asset_key=keys_by_relation[(schema, table)], column_name=name)
                 for schema, table, name in found if (schema, table) in keys_by_relation]
        for column, found in sources.items()})


def _asset_keys_by_relation(project: DbtProject) -> dict[tuple[str, str], dg.AssetKey]:
    """(schema, table) of every model, seed and source in the warehouse -> its asset key."""
    manifest = _manifest(project)
    translator = VigieDbtTranslator()
    keys = {}
    for props in [*manifest["nodes"].values(), *manifest["sources"].values()]:
        if props["resource_type"] in ("model", "seed", "source"):
            table = props.get("alias") or props.get("identifier") or props["name"]
            keys[(props["schema"], table)] = translator.get_asset_key(props)
    return keys


def _manifest(project: DbtProject) -> dict:
    """The parsed manifest, read once while its file is unchanged (each dbt step and the publisher use it)."""
    path = project.manifest_path
    return _read_manifest(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=1)
def _read_manifest(path: Path, mtime_ns: int) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def published_models(project: DbtProject) -> list[str]:
    """Names of the marts tagged `published` in the dbt manifest: the BI contract's tables."""
    nodes = _manifest(project)["nodes"].values()
    return sorted(n["name"] for n in nodes if n["resource_type"] == "model" and "published" in n.get("tags", []))
