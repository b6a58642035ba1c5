"""One run at a time per home, and a killed run never blocks the next one.

The module's fixture runs the concurrency scenario on one home: a first run, a second `vigie run` that must refuse
at once, and a third with --wait that runs after the first. Its published tables are then the reference for the
kill test: another home with the same inputs, whose runs are killed with -9 three times in a row (at 20 % of the
first run's length, while dbt runs, at 80 %), must end with the same tables, and again after a run for another day
killed while dbt runs. The kills hit the `vigie` process only, so a dbt it started is left running, orphaned, as
after an OOM kill.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from dataclasses import dataclass

import dagster as dg
import pytest

from assets.home import VigieHome
from assets.ingest.registry import file_sha256
from assets.processes import command_line, parent_pid, processes_of
from assets.run_lock import read_holder
from orchestration import dbt_forkserver
from orchestration.dbt_assets import BUILT_BY_RUN, DBT_EXECUTABLE
from tests.e2e.small_home import AS_OF, VIGIE, published_tables, small_home, start_vigie_run, wait_until


@dataclass
class ConcurrentRuns:
    home: VigieHome
    first_pid: int
    first_duration: float
    refused: subprocess.CompletedProcess
    refusal_seconds: float
    waiting_stderr: str


def dbt_processes(home: VigieHome) -> list[int]:
    """Live `dbt` processes started by a run of this home."""
    return [pid for pid, _ in processes_of(home.root) if f"{DBT_EXECUTABLE} " in command_line(pid)]


def forked_dbt_processes(home: VigieHome) -> list[int]:
    """Live dbt processes a run of this home forked from its dbt server (orchestration/dbt_forkserver.py): they
    have the server's command line, and the server as parent."""
    server = f"-m {dbt_forkserver.__name__} "
    return [pid for pid, _ in processes_of(home.root)
            if server in command_line(pid) and server in command_line(parent_pid(pid))]


def holds_the_home(home: VigieHome, process: subprocess.Popen) -> bool:
    holder = read_holder(home.run_lock)
    return holder is not None and holder.pid == process.pid


@pytest.fixture(scope="module")
def concurrent(tmp_path_factory) -> ConcurrentRuns:
    home = small_home(tmp_path_factory.mktemp("concurrent") / "home")
    started = time.monotonic()
    first = start_vigie_run(home)
    wait_until(lambda: holds_the_home(home, first), 60, "the first run to take the home")
    asked = time.monotonic()
    refused = subprocess.run([VIGIE, "run", "--home", str(home.root), "--as-of", AS_OF], capture_output=True,
                             text=True, timeout=120)
    refusal_seconds = time.monotonic() - asked
    waiting = start_vigie_run(home, "--wait")
    _, first_err = first.communicate(timeout=600)
    assert first.returncode == 0, first_err
    first_duration = time.monotonic() - started
    _, waiting_err = waiting.communicate(timeout=600)
    assert waiting.returncode == 0, waiting_err
    return ConcurrentRuns(home, first.pid, first_duration, refused, refusal_seconds, waiting_err)


def test_a_second_run_refuses_at_once_naming_the_first(concurrent):
    assert concurrent.refused.returncode == 1
    assert concurrent.refusal_seconds < 30, "the refusal is immediate (imports aside)"
    (line,) = [line for line in concurrent.refused.stderr.splitlines() if line.startswith("vigie:")]
    assert "another Vigie run is in progress" in line and f"pid {concurrent.first_pid}" in line
    assert "started 20" in line and "--wait" in line


def test_a_run_with_wait_runs_after_and_publishes_a_snapshot_wholly_its_own(concurrent):
    home = concurrent.home
    assert "waiting for run" in concurrent.waiting_stderr
    manifest = json.loads((home.publish / "manifest.json").read_text(encoding="utf-8"))
    runs = [json.loads(p.read_text(encoding="utf-8"))["run_id"] for p in sorted(home.audit.glob("run-*.json"))]
    assert len(runs) == 2 and manifest["run_id"] == runs[-1], "the waiting run published last"
    for table, output in manifest["outputs"].items():
        assert file_sha256(home.root / output["parquet"]) == output["parquet_sha256"], table


def test_kill_9_three_times_then_the_next_run_completes_with_the_same_marts(concurrent, tmp_path):
    home = small_home(tmp_path / "home")
    orphaned = []
    for kill_point in (0.2, "while dbt runs", 0.8):
        run = start_vigie_run(home)
        if kill_point == "while dbt runs":  # the worst moment: dbt keeps writing the warehouse, orphaned
            # the step's dbt runs forked from the run's dbt server, not in the `vigie-dbt` the step started
            wait_until(lambda: forked_dbt_processes(home), 300, "a dbt step to start, forked from the dbt server")
        else:
            time.sleep(concurrent.first_duration * kill_point)
        run.send_signal(signal.SIGKILL)
        run.communicate()
        orphaned += dbt_processes(home) + forked_dbt_processes(home)
    final = start_vigie_run(home)
    wait_until(lambda: holds_the_home(home, final), 60, "the next run to take the home")
    final_run_id = read_holder(home.run_lock).run_id
    _, stderr = final.communicate(timeout=600)
    assert final.returncode == 0, stderr

    assert orphaned, "the kill during dbt left no orphaned dbt: the test proves less than it says"
    survivors = [pid for pid, run_id in processes_of(home.root) if run_id != final_run_id]
    assert survivors == [], "a process of a dead run survived the next run"
    assert published_tables(home) == published_tables(concurrent.home)
    assert [p.name for p in home.scratch.iterdir()] in ([], ["spill"]), "scratch of killed runs is cleared"
    assert not [p for p in home.dbt_target.iterdir() if p.is_dir()], "dbt step folders of killed runs are removed"
    assert not list((home.publish / "runs").glob(".*")), "no half-built published run stays behind"
    with dg.DagsterInstance.from_config(str(home.root / ".dagster")) as instance:
        in_progress = instance.get_runs(filters=dg.RunsFilter(statuses=[
            dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.CANCELING]))
        assert in_progress == [], "runs killed with -9 are marked failed, not left in progress"


    # A build killed halfway leaves no record of the last good one: when the inputs are back to what that build
    # read, the next run builds again rather than keep tables the killed build (and its orphan) may have rewritten.
    other_day = start_vigie_run(home, "--as-of", "2026-11-30")
    wait_until(lambda: forked_dbt_processes(home), 300, "the other day's dbt step to start")
    other_day.send_signal(signal.SIGKILL)
    other_day.communicate()
    again = start_vigie_run(home)
    _, stderr = again.communicate(timeout=600)
    assert again.returncode == 0, stderr
    with dg.DagsterInstance.from_config(str(home.root / ".dagster")) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(["marts", "fct_indicators_monthly"]))
    assert BUILT_BY_RUN not in event.asset_materialization.metadata, "tables of a killed build were kept"
    assert published_tables(home) == published_tables(concurrent.home)
