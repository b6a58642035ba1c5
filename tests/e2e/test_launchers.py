"""Every launcher works without run config: a schedule tick and a sensor tick, evaluated as the daemon does and
their RunRequest executed through the real job on a temporary home; both obey settings.yml."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import dagster as dg
import pytest

from assets.home import VigieHome
from tests.e2e.small_home import small_home


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

        # dbt's artefacts stay in the home: the code may be installed read-only, and homes share nothing.
        from orchestration.dbt_project import DBT_PROJECT_DIR

        assert not (DBT_PROJECT_DIR / "target").exists() and not (DBT_PROJECT_DIR / "logs").exists()
        assert (home.dbt_target / "manifest.json").exists()
        assert not [p for p in home.dbt_target.iterdir() if p.is_dir()], "each dbt step's folder is removed"

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
