"""The Dagster code location, loaded without running anything: lineage, checks, automation and pools.

The asset graph is also compared with a snapshot (tests/e2e/snapshots/asset_graph.txt: every asset key with
its direct dependencies), so any lineage change shows up as a diff in review. After a deliberate change,
rewrite it with `VIGIE_UPDATE_SNAPSHOTS=1 pytest tests/e2e/test_definitions.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import pytest

SNAPSHOT = Path(__file__).with_name("snapshots") / "asset_graph.txt"
WAREHOUSE_POOL = "vigie_warehouse"
WAREHOUSE_WRITERS = {"ingest_accounting", "ingest_crm", "ingest_timetracking", "ingest_practice",
                     "ingest_ledger", "vigie_dbt_models", "publish_marts"}
BOOKKEEPING_TABLES = {"ingest_files", "ingest_rejections"}  # published from every source's ingestion ledger
# Marts published empty, with their contract columns only, until their models land (they read no source yet).
# The lineage test fails as soon as one of them reads its sources: then remove it from here.


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    from orchestration.dbt_manifest import prepare_dbt_manifest

    prepare_dbt_manifest()
    from orchestration.definitions import defs

    return defs


@pytest.fixture(scope="module")
def graph(defs):
    return defs.resolve_asset_graph()


def layer(key: dg.AssetKey) -> str:
    return key.path[0]


def keys_in(graph, layer_name: str) -> list[dg.AssetKey]:
    return sorted(k for k in graph.get_all_asset_keys() if layer(k) == layer_name)


def reachable(graph, key: dg.AssetKey, direction: str) -> set[dg.AssetKey]:
    """Every ancestor ("parent_keys") or descendant ("child_keys") of an asset, external assets included."""
    seen: set[dg.AssetKey] = set()
    frontier = [key]
    while frontier:
        for neighbour in getattr(graph.get(frontier.pop()), direction):
            if neighbour not in seen:
                seen.add(neighbour)
                frontier.append(neighbour)
    return seen


def test_definitions_load_as_one_code_location(defs, graph):
    dg.Definitions.validate_loadable(defs)
    assert {layer(k) for k in graph.get_all_asset_keys()} == {
        "landing", "config", "raw", "seeds", "staging", "intermediate", "marts", "opportunities", "summaries",
        "published"}


def test_every_published_asset_descends_from_a_landing_folder(graph):
    orphans = {k.path[1] for k in keys_in(graph, "published")
               if not any(layer(a) == "landing" for a in reachable(graph, k, "parent_keys"))}
    assert orphans == set()


def test_rules_and_summaries_sit_between_the_two_dbt_steps(graph):
    """Opportunities read the indicator marts and the firm's catalogue; the published marts read the engine."""
    history = dg.AssetKey(["opportunities", "opportunity_history"])
    assert {dg.AssetKey(["marts", "fct_indicators_monthly"]), dg.AssetKey(["config", "missions"])} <= \
        graph.get(history).parent_keys
    assert history in reachable(graph, dg.AssetKey(["published", "fct_opportunities"]), "parent_keys")
    summaries = dg.AssetKey(["summaries", "client_summaries"])
    assert history in graph.get(summaries).parent_keys
    assert summaries in graph.get(dg.AssetKey(["marts", "client_summaries"])).parent_keys


def test_every_landing_source_reaches_a_published_table_through_its_raw_tables(graph):
    """Each raw table of a source feeds a published table with its data, not only through the ingest ledger."""
    landing = keys_in(graph, "landing")
    assert {k.path[1] for k in landing} == {"accounting", "crm", "timetracking", "practice"}
    for source in landing:
        raw_tables = [k for k in graph.get(source).child_keys if layer(k) == "raw"]
        assert raw_tables, source.to_user_string()
        for raw in raw_tables:
            reached = reachable(graph, raw, "child_keys")
            fed = {k.path[1] for k in reached if layer(k) == "published"} - BOOKKEEPING_TABLES
            assert fed, f"{raw.to_user_string()} reaches no published table"


def test_dbt_tests_are_asset_checks_of_the_marts(graph):
    from orchestration.dbt_assets import dbt_project

    nodes = json.loads(dbt_project.manifest_path.read_text(encoding="utf-8"))["nodes"]
    marts = {uid: node["name"] for uid, node in nodes.items()
             if node["resource_type"] == "model" and node["fqn"][1] == "marts"}
    expected = set()
    for test in (n for n in nodes.values() if n["resource_type"] == "test"):
        # generic tests name the model they test; a singular test on one model only is attached to it too
        tested = test.get("attached_node") or (test["depends_on"]["nodes"] + [None])[0]
        if tested in marts:
            expected.add(dg.AssetCheckKey(dg.AssetKey(["marts", marts[tested]]), test["name"]))
    dbt_checks = {c for c in graph.asset_check_keys
                  if layer(c.asset_key) == "marts" and not c.name.startswith("gx_")}
    assert expected and dbt_checks == expected
    assert dg.AssetKey(["marts", "fct_indicators_monthly"]) in {c.asset_key for c in dbt_checks}


def test_great_expectations_suites_guard_dim_clients_and_ingest_files(graph):
    for table in ("dim_clients", "ingest_files"):
        key = dg.AssetCheckKey(dg.AssetKey(["marts", table]), f"gx_{table}")
        assert key in graph.asset_check_keys, table
        assert graph.get_check_spec(key).blocking, f"{table}: a failing suite must stop publishing"


def test_pipeline_job_schedule_and_sensor(defs, graph):
    job = defs.resolve_job_def("vigie_pipeline")
    materialisable = {k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    assert set(job.asset_layer.selected_asset_keys) == materialisable
    assert defs.resolve_schedule_def("vigie_daily").job_name == "vigie_pipeline"
    assert defs.resolve_sensor_def("landing_files_sensor").job_name == "vigie_pipeline"


def test_every_step_opening_the_warehouse_runs_in_the_warehouse_pool(graph):
    """Every executable step opens the working DuckDB (ingest, ledger, dbt, GX checks, publish): one at a time."""
    pools = {d.node_def.name: d.node_def.pool for d in graph.assets_defs if d.is_executable}
    assert set(pools) >= WAREHOUSE_WRITERS
    assert {name: pool for name, pool in pools.items() if pool != WAREHOUSE_POOL} == {}


def asset_graph_snapshot(graph) -> str:
    lines = []
    for key in sorted(graph.get_all_asset_keys()):
        deps = sorted(parent.to_user_string() for parent in graph.get(key).parent_keys)
        lines.append(f"{key.to_user_string()} <- {', '.join(deps)}".rstrip())
    return "\n".join(lines) + "\n"


def test_asset_graph_matches_the_snapshot(graph):
    current = asset_graph_snapshot(graph)
    if os.environ.get("VIGIE_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(current, encoding="utf-8")
    assert SNAPSHOT.exists(), f"no snapshot yet: run with VIGIE_UPDATE_SNAPSHOTS=1 to write {SNAPSHOT}"
    assert current == SNAPSHOT.read_text(encoding="utf-8"), (
        "the asset graph changed; review the diff, then rewrite the snapshot with VIGIE_UPDATE_SNAPSHOTS=1")
