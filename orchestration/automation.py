"""When the pipeline runs, and who hears of a failure: the job, the morning schedule, the landing sensor, and the
run-failure alert. The schedule and the sensor are on by default and obey settings.yml (`daily_schedule`,
`landing_sensor`), read at each tick, so a firm switches them off without touching Dagster."""

import hashlib
import json
import time
from pathlib import Path

import dagster as dg

from assets.alerts import record_run_failure
from orchestration.keys import LAUNCHED_BY_TAG, PIPELINE_JOB
from orchestration.resources import VigieResource
from orchestration.run_guard import reap_dead_runs

pipeline_job = dg.define_asset_job(
    PIPELINE_JOB, selection=dg.AssetSelection.all(), executor_def=dg.in_process_executor,
    description="Ingest every landing source, build the dbt models, check them and publish the marts. One process, "
                "one step at a time: DuckDB allows one writer per file.")


@dg.schedule(name="vigie_daily", job=pipeline_job, cron_schedule="0 6 * * *", execution_timezone="Europe/Paris",
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Every morning at 06:00 (Paris), before the firm opens its BI tools (settings.yml: "
                         "daily_schedule).")
def daily_schedule(context: dg.ScheduleEvaluationContext, vigie: VigieResource):
    if not vigie.settings().daily_schedule:
        return dg.SkipReason("daily_schedule is false in settings.yml")
    _release_dead_runs(context.instance)
    return dg.RunRequest(tags={LAUNCHED_BY_TAG: "schedule"})


def landing_files(landing: Path) -> list[tuple[str, int, int]]:
    """(path under landing/, size, mtime in ns) of every file, sorted."""
    if not landing.is_dir():
        return []
    files = []
    for path in landing.rglob("*"):
        try:
            if path.is_file():
                stat = path.stat()
                files.append((path.relative_to(landing).as_posix(), stat.st_size, stat.st_mtime_ns))
        except FileNotFoundError:
            continue  # an exporter renamed its temporary file meanwhile: the next tick sees the final one
    return sorted(files)


def fingerprint(files: list[tuple[str, int, int]]) -> str:
    return hashlib.sha256("".join(f"{p}|{s}|{m}\n" for p, s, m in files).encode()).hexdigest()


def landing_decision(files: list[tuple[str, int, int]], cursor: str | None, settle_seconds: int,
                     now: float) -> tuple[str | None, str]:
    """(fingerprint to run on or None, new cursor). A change is run once the files have kept the same size and
    modification time for `settle_seconds`, so an export still being copied is never loaded half-written."""
    state = _cursor_state(cursor)
    current = fingerprint(files)
    if current == state.get("requested"):
        return None, json.dumps(state)
    if current != state.get("seen"):
        state.update(seen=current, seen_at=now)
    newest_change = max((m / 1e9 for _, _, m in files), default=0.0)
    settled = now - state["seen_at"] >= settle_seconds and now - newest_change >= settle_seconds
    if not settled:
        return None, json.dumps(state)
    state["requested"] = current
    return current, json.dumps(state)


def _cursor_state(cursor: str | None) -> dict:
    """The sensor's state; a cursor written by an older Vigie was the bare fingerprint of the files last run."""
    if not cursor:
        return {}
    try:
        state = json.loads(cursor)
    except ValueError:
        return {"requested": cursor}
    return state if isinstance(state, dict) else {}


@dg.sensor(job=pipeline_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Starts the pipeline when files land in landing/, once they have stopped changing "
                       "(settings.yml: landing_sensor, landing_settle_seconds).")
def landing_files_sensor(context: dg.SensorEvaluationContext, vigie: VigieResource):
    settings = vigie.settings()
    if not settings.landing_sensor:
        return dg.SkipReason("landing_sensor is false in settings.yml")
    run_on, cursor = landing_decision(landing_files(vigie.vigie_home.landing), context.cursor,
                                      settings.landing_settle_seconds, time.time())
    context.update_cursor(cursor)
    if run_on is None:
        return dg.SkipReason("no new or changed file in landing/, or files still changing")
    _release_dead_runs(context.instance)
    # No run_key: the cursor already runs each change once, and Dagster would silently drop a key seen before
    # (files restored to an earlier export, A -> B -> A).
    return dg.RunRequest(tags={LAUNCHED_BY_TAG: "sensor", "vigie/landing_fingerprint": run_on[:16]})


@dg.run_failure_sensor(name="vigie_run_failure_alert", default_status=dg.DefaultSensorStatus.RUNNING,
                       description="Writes one line to audit/alerts.log and POSTs to settings.yml's alert_webhook "
                                   "when a run fails.")
def run_failure_alert(context: dg.RunFailureSensorContext, vigie: VigieResource):
    run = context.dagster_run
    if run.tags.get(LAUNCHED_BY_TAG) == "cli" and "dagster/parent_run_id" not in run.tags:
        return  # `vigie run` alerts by itself (a re-execution from the UI copies its tags, and is alerted here)
    message = context.failure_event.message or "the run failed"
    record_run_failure(vigie.vigie_home, run_id=context.dagster_run.run_id, job_name=context.dagster_run.job_name,
                       message=message, webhook_url=vigie.settings().alert_webhook,
                       lineage_url=vigie.settings().openlineage_url)


def _release_dead_runs(instance: dg.DagsterInstance | None) -> None:
    """A run killed with -9 stays "in progress" and would hold Dagster's one-run queue forever."""
    if instance is not None:
        reap_dead_runs(instance, current_run_id=None, holding_lock=False)
