"""Running unattended: every launcher works without run config, runs never overlap, and a run killed with -9 at
any point never blocks the next one, which publishes exactly what an uninterrupted run publishes.

Runs go through the real `vigie` command in subprocesses (so they can be killed) or the real Dagster definitions,
with dbt on a real DuckDB file, on a small generated firm (3 clients).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.generate import generate_landing
from assets.home import VigieHome
from assets.run_lock import read_holder
from assets.settings import DEFAULT_SETTINGS_TEXT

AS_OF = "2026-10-31"
VIGIE = str(Path(sys.executable).with_name("vigie"))
# Columns that name the run or the moment it ran: they differ between any two runs by design.
RUN_SPECIFIC = {"run_id", "loaded_at", "generated_at"}


def small_home(root: Path, **settings: object) -> VigieHome:
    home = VigieHome(root)
    generate_landing(root, clients=3)
    text = DEFAULT_SETTINGS_TEXT
    for key, value in settings.items():
        text = "\n".join(f"{key}: {value}" if line.startswith(f"{key}:") else line for line in text.splitlines())
    home.config.mkdir(parents=True, exist_ok=True)
    home.settings_file.write_text(text + "\n", encoding="utf-8")
    return home


def start_vigie_run(home: VigieHome, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("VIGIE_HOME", "DAGSTER_HOME", "OPENAI_API_KEY")}
    return subprocess.Popen([VIGIE, "run", "--home", str(home.root), "--as-of", AS_OF, *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def published_tables(home: VigieHome) -> dict[str, list[tuple]]:
    """Every published table, sorted, without the columns that name the run."""
    tables = {}
    with duckdb.connect(str(home.marts_db), read_only=True) as con:
        for (table,) in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY table_name").fetchall():
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index",
                [table]).fetchall() if c not in RUN_SPECIFIC]
            select = ", ".join(f'"{c}"' for c in columns)
            tables[table] = sorted(con.execute(f'SELECT {select} FROM "{table}"').fetchall(), key=repr)
    return tables


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[VigieHome, float]:
    """An uninterrupted run: what every other run on the same inputs must publish, and how long it takes."""
    home = small_home(tmp_path_factory.mktemp("reference") / "home")
    started = time.monotonic()
    run = start_vigie_run(home)
    _, stderr = run.communicate(timeout=600)
    assert run.returncode == 0, stderr
    return home, time.monotonic() - started


def test_kill_9_three_times_then_the_next_run_completes_with_the_same_marts(reference, tmp_path):
    reference_home, duration = reference
    home = small_home(tmp_path / "home")
    for share in (0.2, 0.5, 0.8):
        run = start_vigie_run(home)
        time.sleep(duration * share)
        run.send_signal(signal.SIGKILL)  # the vigie process only: a dbt it started is left running, orphaned
        run.wait()
    started = time.monotonic()
    final = start_vigie_run(home)
    wait_until(lambda: (holder := read_holder(home.run_lock)) is not None and holder.pid == final.pid, 60,
               "the next run to take the home")
    took_the_home = time.monotonic() - started
    _, stderr = final.communicate(timeout=600)
    assert final.returncode == 0, stderr
    assert took_the_home < 30, f"the next run waited {took_the_home:.0f} s for the home"
    assert published_tables(home) == published_tables(reference_home)
    assert not list(home.scratch.glob("*/*")) or all(p.name == "spill" for p in home.scratch.iterdir())
    assert not [p for p in home.dbt_target.iterdir() if p.is_dir()], "dbt step folders of killed runs are removed"
    assert not list((home.publish / "runs").glob(".*")), "no half-built published run stays behind"
    with dg.DagsterInstance.from_config(str(home.root / ".dagster")) as instance:
        in_progress = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        assert in_progress == [], "runs killed with -9 are marked failed, not left in progress"


def test_a_second_run_on_the_home_refuses_at_once_or_waits(tmp_path):
    home = small_home(tmp_path / "home")
    first = start_vigie_run(home)
    wait_until(lambda: (holder := read_holder(home.run_lock)) is not None and holder.pid == first.pid, 60,
               "the first run to take the home")
    started = time.monotonic()
    refused = subprocess.run([VIGIE, "run", "--home", str(home.root), "--as-of", AS_OF], capture_output=True,
                             text=True, timeout=120)
    assert refused.returncode == 1
    assert time.monotonic() - started < 30, "the refusal is immediate (imports aside)"
    (line,) = [line for line in refused.stderr.splitlines() if line.startswith("vigie:")]
    assert "another Vigie run is in progress" in line and f"pid {first.pid}" in line and "--wait" in line
    waiting = start_vigie_run(home, "--wait")
    _, first_err = first.communicate(timeout=600)
    assert first.returncode == 0, first_err
    _, waiting_err = waiting.communicate(timeout=600)
    assert waiting.returncode == 0, waiting_err
    assert "waiting for run" in waiting_err

    # The published snapshot is wholly the second run's: its manifest, and the Parquet files it lists.
    manifest = json.loads((home.publish / "manifest.json").read_text(encoding="utf-8"))
    runs = [json.loads(p.read_text(encoding="utf-8"))["run_id"] for p in sorted(home.audit.glob("run-*.json"))]
    assert len(runs) == 2 and manifest["run_id"] == runs[-1]
    from assets.ingest.registry import file_sha256

    for table, output in manifest["outputs"].items():
        assert file_sha256(home.root / output["parquet"]) == output["parquet_sha256"], table


@pytest.fixture
def restored_environment():
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def _run_request(home: VigieHome, definitions, request: dg.RunRequest, instance) -> dg.ExecuteInProcessResult:
    """What the daemon does with a tick's request: the real job, the request's config and tags, nothing else."""
    job = definitions.resolve_job_def(request.job_name or "vigie_pipeline")
    return job.execute_in_process(run_config=request.run_config, tags=request.tags, instance=instance,
                                  raise_on_error=False)


def test_a_schedule_tick_and_a_sensor_tick_each_give_a_successful_run(tmp_path, restored_environment):
    from orchestration.definitions import build_definitions
    from orchestration.runner import activate_home

    home = small_home(tmp_path / "home", landing_settle_seconds=0)
    activate_home(home)
    definitions = build_definitions(home)
    vigie = definitions.resources["vigie"]
    with dg.DagsterInstance.get() as instance:
        schedule = definitions.resolve_schedule_def("vigie_daily")
        with dg.build_schedule_context(instance=instance, resources={"vigie": vigie},
                                       scheduled_execution_time=datetime(2026, 11, 2, 5, tzinfo=UTC)) as context:
            (request,) = schedule.evaluate_tick(context).run_requests
        assert request.run_config in ({}, None), "a tick passes no run config"
        result = _run_request(home, definitions, request, instance)
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        first_snapshot = home.marts_db.resolve()

        sensor = definitions.resolve_sensor_def("landing_files_sensor")
        with dg.build_sensor_context(instance=instance, resources={"vigie": vigie}) as context:
            (request,) = sensor.evaluate_tick(context).run_requests
            cursor = context.cursor
        result = _run_request(home, definitions, request, instance)
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        assert home.marts_db.resolve() != first_snapshot, "the sensor's run published a new snapshot"
        with dg.build_sensor_context(instance=instance, resources={"vigie": vigie}, cursor=cursor) as context:
            assert sensor.evaluate_tick(context).run_requests == [], "unchanged landing files: no second run"

        # vigie.* log lines reach the run's log in Dagster (the UI), not only the terminal.
        messages = [e.message or "" for e in instance.all_logs(result.run_id)]
        assert any(m.startswith("published ") for m in messages), messages[-5:]


def test_switched_off_schedule_and_sensor_do_not_run(tmp_path, restored_environment):
    from orchestration.definitions import build_definitions
    from orchestration.runner import activate_home

    home = small_home(tmp_path / "home", daily_schedule="false", landing_sensor="false")
    activate_home(home)
    definitions = build_definitions(home)
    vigie = definitions.resources["vigie"]
    with dg.DagsterInstance.get() as instance:
        with dg.build_schedule_context(instance=instance, resources={"vigie": vigie}) as context:
            tick = definitions.resolve_schedule_def("vigie_daily").evaluate_tick(context)
        assert tick.run_requests == [] and "daily_schedule is false" in tick.skip_message
        with dg.build_sensor_context(instance=instance, resources={"vigie": vigie}) as context:
            tick = definitions.resolve_sensor_def("landing_files_sensor").evaluate_tick(context)
        assert tick.run_requests == [] and "landing_sensor is false" in tick.skip_message
