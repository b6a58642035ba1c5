"""The Dagster code location, loaded without running anything: lineage, checks, automation and concurrency.

The definitions are also compared with a snapshot (tests/e2e/snapshots/asset_graph.txt: every asset key with its
direct dependencies, then jobs, schedules, sensors, checks, freshness and executor), so any change shows up as a
diff in review. After a deliberate change, rewrite it with `VIGIE_UPDATE_SNAPSHOTS=1 pytest
tests/e2e/test_definitions.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg
import pytest

SNAPSHOT = Path(__file__).with_name("snapshots") / "asset_graph.txt"
# published from every source's ingestion ledger
BOOKKEEPING_TABLES = {"ingest_files", "ingest_rejections", "rpt_data_quality"}
# Marts published empty, with their contract columns only, until their models land (they read no source yet).
# The lineage test fails as soon as one of them reads its sources: then remove it from here.


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    from assets.home import VigieHome

    return VigieHome(tmp_path_factory.mktemp("defs") / "home")


@pytest.fixture(scope="module")
def defs(home) -> dg.Definitions:
    """The definitions as Dagster's tools load them: the factory parses dbt into a home that has never run."""
    from orchestration.definitions import build_definitions

    return build_definitions(home)


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


def test_dbt_tests_are_asset_checks_of_the_marts(graph, home):
    nodes = json.loads((home.dbt_target / "manifest.json").read_text(encoding="utf-8"))["nodes"]
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


def test_runs_never_overlap_and_run_their_steps_in_one_process(defs):
    """DuckDB allows one writer per file: every job runs its steps one after the other in one process (no pool slot
    that a killed run could keep), and the home's instance lets one run in progress at a time."""
    from orchestration.keys import MAX_CONCURRENT_RUNS
    from orchestration.runner import DAGSTER_INSTANCE_SETTINGS

    for job in defs.resolve_all_job_defs():
        assert job.executor_def.name == "in_process", job.name
    assert DAGSTER_INSTANCE_SETTINGS["concurrency"]["runs"]["max_concurrent_runs"] == MAX_CONCURRENT_RUNS == 1
    assert DAGSTER_INSTANCE_SETTINGS["python_logs"]["managed_python_loggers"] == ["vigie"]


def test_the_resource_needs_no_run_config(defs):
    """A launch from the UI, a schedule or a sensor passes no run config: every field has a default."""
    for job in defs.resolve_all_job_defs():
        assert not job.run_config_schema.config_type.fields["resources"].is_required, job.name
        assert job.run_config_schema.config_type.fields["resources"].config_type.fields["vigie"].is_required is False


def test_schedule_and_sensors_start_on_and_published_tables_have_a_freshness_policy(defs, graph):
    assert defs.resolve_schedule_def("vigie_daily").default_status == dg.DefaultScheduleStatus.RUNNING
    for sensor in ("landing_files_sensor", "vigie_run_failure_alert"):
        assert defs.resolve_sensor_def(sensor).default_status == dg.DefaultSensorStatus.RUNNING
    for key in keys_in(graph, "published"):
        policy = graph.get(key).freshness_policy
        assert policy is not None and policy.fail_window.to_timedelta().total_seconds() == 26 * 3600, key


def definitions_snapshot(defs, graph) -> str:
    lines = [asset_graph_snapshot(graph), "# jobs"]
    lines += [f"{j.name} executor={j.executor_def.name}" for j in sorted(defs.resolve_all_job_defs(),
                                                                        key=lambda j: j.name)]
    lines.append("# schedules")
    lines += [f"{s.name} {s.cron_schedule} {s.execution_timezone} job={s.job_name} default={s.default_status.value}"
              for s in sorted(defs.schedules, key=lambda s: s.name)]
    lines.append("# sensors")
    lines += [f"{s.name} {type(s).__name__} default={s.default_status.value}"
              for s in sorted(defs.sensors, key=lambda s: s.name)]
    lines.append("# checks")
    lines += [f"{k.asset_key.to_user_string()}:{k.name} blocking={graph.get_check_spec(k).blocking}"
              for k in sorted(graph.asset_check_keys, key=str) if not k.name.startswith(("not_null", "unique",
                                                                                         "accepted", "relat"))]
    lines.append("# automation and freshness")
    for key in sorted(graph.get_all_asset_keys()):
        node = graph.get(key)
        policy = node.freshness_policy
        if node.automation_condition or policy:
            windows = (f"fail after {policy.fail_window.to_timedelta()}, warn after {policy.warn_window.to_timedelta()}"
                       if policy else "none")
            lines.append(f"{key.to_user_string()} automation={node.automation_condition} freshness: {windows}")
    lines.append("# pools")
    lines += sorted({f"{d.node_def.name} pool={d.node_def.pool}" for d in graph.assets_defs
                     if d.is_executable and d.node_def.pool})
    return "\n".join(lines) + "\n"


def asset_graph_snapshot(graph) -> str:
    lines = []
    for key in sorted(graph.get_all_asset_keys()):
        deps = sorted(parent.to_user_string() for parent in graph.get(key).parent_keys)
        lines.append(f"{key.to_user_string()} <- {', '.join(deps)}".rstrip())
    return "\n".join(lines) + "\n"


def test_definitions_match_the_snapshot(defs, graph):
    current = definitions_snapshot(defs, graph)
    if os.environ.get("VIGIE_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(current, encoding="utf-8")
    assert SNAPSHOT.exists(), f"no snapshot yet: run with VIGIE_UPDATE_SNAPSHOTS=1 to write {SNAPSHOT}"
    assert current == SNAPSHOT.read_text(encoding="utf-8"), (
        "the definitions changed; review the diff, then rewrite the snapshot with VIGIE_UPDATE_SNAPSHOTS=1")
