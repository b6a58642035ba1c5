"""Processes left by a dead run are ended by the next run; a recycled pid is never taken for the dead process."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from assets.processes import RUN_OWNER_ENV, end_orphans, identity_alive, process_identity


def _marked_sleeper(home, run_id: str) -> subprocess.Popen:
    env = {**os.environ, RUN_OWNER_ENV: f"{home}\t{run_id}"}
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], env=env)


def test_processes_of_another_run_on_the_home_are_ended(tmp_path):
    home, elsewhere = tmp_path / "home", tmp_path / "other-home"
    orphan = _marked_sleeper(home, "dead-run")
    own_child = _marked_sleeper(home, "current-run")
    other_home = _marked_sleeper(elsewhere, "dead-run")
    try:
        time.sleep(0.2)
        ended = end_orphans(home, "current-run", grace_seconds=2)
        assert ended == [orphan.pid]
        assert orphan.wait(timeout=5) is not None
        assert own_child.poll() is None and other_home.poll() is None
    finally:
        for process in (orphan, own_child, other_home):
            process.kill()
            process.wait()


def test_process_identity_tells_a_live_process_from_a_dead_one():
    assert identity_alive(process_identity()) is True
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = process_identity(child.pid)
    child.wait()
    assert identity_alive(identity) is False
    host, pid, start = process_identity().split(":")
    assert identity_alive(f"{host}:{pid}:{int(start) + 1}") is False, "same pid, other start time: not our process"
    assert identity_alive(f"another-host:{pid}:{start}") is None


# One process, two runs on the same home (a test suite or a notebook running Vigie in-process): the first run's dbt
# starts multiprocessing's resource tracker (dbt's spawn-context locks), a helper of the process that outlives the
# run. The second run must not take it for a dead run's leftover: ending it cost 5 s of grace a run and made Python
# warn that its tracker "died unexpectedly".
TWO_RUNS_IN_ONE_PROCESS = """
import multiprocessing, sys, time
from pathlib import Path
from assets.processes import end_orphans, mark_children, unmark_children
home = Path(sys.argv[1])
mark_children(home, "run-1")
multiprocessing.get_context("spawn").Lock()  # as dbt does when imported by a run
time.sleep(0.5)
unmark_children()
mark_children(home, "run-2")
print(end_orphans(home, "run-2", grace_seconds=1))
"""


def test_a_helper_the_process_keeps_across_runs_is_not_a_dead_runs_leftover(tmp_path):
    result = subprocess.run([sys.executable, "-c", TWO_RUNS_IN_ONE_PROCESS, str(tmp_path / "home")],
                            capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
