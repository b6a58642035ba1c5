"""Runs left "in progress" by a dead process are marked failed; a run that is alive, or may still be starting,
never is."""

from __future__ import annotations

import subprocess
import sys
import uuid

import dagster as dg
import pytest

from assets.home import VigieHome
from assets.processes import process_identity
from orchestration.keys import PROCESS_TAG
from orchestration.run_guard import reap_dead_runs


@pytest.fixture
def instance():
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


def _dead_identity() -> str:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = process_identity(child.pid)
    child.wait()
    return identity


def _run(instance, status: dg.DagsterRunStatus, process: str | None = None, recorded_by: str | None = None) -> str:
    """A run in `status`; `process` is the identity recorded in its tag, by itself or by `recorded_by` (a parent)."""
    run_id = str(uuid.uuid4())
    tags = {PROCESS_TAG: f"{recorded_by or run_id}@{process}"} if process else {}
    instance.add_run(dg.DagsterRun(job_name="vigie_pipeline", run_id=run_id, status=status, tags=tags))
    return run_id


def test_a_run_whose_process_died_is_marked_failed_and_alerted(instance, tmp_path):
    dead = _run(instance, dg.DagsterRunStatus.STARTED, _dead_identity())
    alive = _run(instance, dg.DagsterRunStatus.STARTED, process_identity())
    home = VigieHome(tmp_path / "home")
    assert reap_dead_runs(instance, current_run_id=None, holding_lock=True, home=home) == [dead]
    assert instance.get_run_by_id(dead).status == dg.DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(alive).status == dg.DagsterRunStatus.STARTED
    assert dead in (home.audit / "alerts.log").read_text(encoding="utf-8"), "an in-process run is alerted here"


def test_a_reexecution_carrying_its_parents_dead_process_is_not_taken_for_dead(instance):
    """Dagster copies the parent's tags into a re-execution: the process recorded is the parent's."""
    child = _run(instance, dg.DagsterRunStatus.STARTED, _dead_identity(), recorded_by=str(uuid.uuid4()))
    assert reap_dead_runs(instance, current_run_id=None, holding_lock=True) == []
    assert instance.get_run_by_id(child).status == dg.DagsterRunStatus.STARTED


def test_a_run_still_starting_or_just_started_without_a_process_is_left_alone(instance):
    starting = _run(instance, dg.DagsterRunStatus.STARTING)
    started = _run(instance, dg.DagsterRunStatus.STARTED)  # no start time yet: it cannot be old
    assert reap_dead_runs(instance, current_run_id=None, holding_lock=True) == []
    for run_id in (starting, started):
        assert instance.get_run_by_id(run_id).status != dg.DagsterRunStatus.FAILURE
