"""What every run does first and last, whatever launched it (`vigie run`, the UI, a schedule or sensor tick).

First: take the home's lock (one run at a time, released by the kernel if the run is killed), then clean up after
any run that died: mark its Dagster run failed, end the dbt process it left writing the warehouse, empty the
scratch folders, prune what is past retention, and point dbt and DuckDB at this home with the settings' limits.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta

import dagster as dg

from assets import run_lock
from assets.alerts import record_run_failure
from assets.home import VigieHome
from assets.housekeeping import clear_dbt_invocations, clear_scratch, prune_home
from assets.processes import (
    end_orphans,
    identity_alive,
    mark_children,
    process_identity,
    unmark_children,
)
from assets.publish import prune_published_runs
from assets.settings import Settings
from orchestration import dbt_forkserver
from orchestration.dbt_project import home_environment
from orchestration.keys import PROCESS_TAG

log = logging.getLogger("vigie.run")

# A run launched by the daemon is STARTED a few seconds before its resource records its process; a STARTED run
# without a recorded process is only declared dead once it started this long ago (and nobody holds the home).
UNRECORDED_RUN_GRACE = timedelta(minutes=10)
# A scheduled run waiting for another run on the same home gives up after this long.
LOCK_WAIT_SECONDS = 6 * 3600
IN_PROGRESS = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.CANCELING]


def begin_run(home: VigieHome, *, run_id: str, instance: dg.DagsterInstance | None, settings: Settings,
              wait: bool = True) -> run_lock.Holder:
    """Hold the home for this run and leave it clean; raises run_lock.HomeBusy when `wait` is false and another run
    holds it. Called twice by `vigie run` (before Dagster starts, then by the resource): the second call only
    records the run's process."""
    if instance is not None and instance.get_run_by_id(run_id) is not None:
        # Recorded before waiting for the lock, so a run waiting its turn is never taken for a dead one.
        instance.add_run_tags(run_id, {PROCESS_TAG: process_tag(run_id)})
    already_held = run_lock.held_here(home.run_lock) is not None
    holder = run_lock.acquire(home.run_lock, run_id=run_id, wait=wait, timeout_seconds=LOCK_WAIT_SECONDS,
                              on_wait=lambda other: log.warning("waiting for %s to end", other.describe()
                                                                if other else "another run"))
    if already_held:
        return holder
    try:
        _clean_up_after_dead_runs(home, run_id, instance, settings)
    except BaseException:
        end_run(home)
        raise
    return holder


def _clean_up_after_dead_runs(home: VigieHome, run_id: str, instance: dg.DagsterInstance | None,
                              settings: Settings) -> None:
    if instance is not None:
        reap_dead_runs(instance, current_run_id=run_id, holding_lock=True, home=home,
                       webhook_url=settings.alert_webhook)
    ended = end_orphans(home.root, run_id)
    if ended:
        log.warning("ended %d process(es) left by a run that died: %s", len(ended), ended)
    mark_children(home.root, run_id)
    home.ensure()
    clear_scratch(home)
    clear_dbt_invocations(home)
    _prune(home, settings)
    set_run_environment(home, settings)
    dbt_forkserver.start()  # imports dbt while the run starts; after mark_children, so it carries the mark


def process_tag(run_id: str) -> str:
    """run id @ host:pid:start-time. The run id guards against a re-execution, which copies its parent's tags."""
    return f"{run_id}@{process_identity()}"


def end_run(home: VigieHome) -> None:
    run_lock.release(home.run_lock)
    if run_lock.held_here(home.run_lock) is None:
        dbt_forkserver.stop()
        unmark_children()  # processes this one starts later (a notebook, a test) belong to no run


def set_run_environment(home: VigieHome, settings: Settings) -> None:
    """dbt reads its target path, the warehouse and DuckDB's limits from the environment (profiles.yml)."""
    os.environ.update(home_environment(home, settings))
    # dbt spills beside the warehouse file (profiles.yml says why); the run's own connections to home.spill
    home.spill.mkdir(parents=True, exist_ok=True)


def reap_dead_runs(instance: dg.DagsterInstance, *, current_run_id: str | None, holding_lock: bool,
                   home: VigieHome | None = None, webhook_url: str | None = None) -> list[str]:
    """Mark failed the runs still "in progress" whose process is gone (killed with -9, out of memory), so neither
    the UI nor Dagster's run queue waits for them forever. Returns their ids.

    A run launched in-process (`vigie run`, `dagster job execute`) is invisible to the daemon's failure sensor: its
    alert is written here, when `home` is given."""
    reaped = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS)):
        if run.run_id == current_run_id:
            continue
        reason = _death_reason(instance, run, holding_lock)
        if not reason:
            continue
        instance.report_run_failed(run, message=f"Vigie: {reason}; marked failed by the next run.")
        log.warning("run %s was left in progress by a dead process (%s): marked failed", run.run_id, reason)
        reaped.append(run.run_id)
        if home is not None and run.remote_job_origin is None:
            record_run_failure(home, run_id=run.run_id, job_name=run.job_name, message=f"killed: {reason}",
                               webhook_url=webhook_url)
    return reaped


def _death_reason(instance: dg.DagsterInstance, run: dg.DagsterRun, holding_lock: bool) -> str | None:
    run_id, _, identity = run.tags.get(PROCESS_TAG, "").partition("@")
    if run_id == run.run_id and identity:
        return f"its process {identity} is gone" if identity_alive(identity) is False else None
    # No process recorded (or only the parent's, for a re-execution). A run still STARTING is the run monitor's
    # (start_timeout_seconds); a STARTED one is declared dead only when nobody holds the home and it is old.
    if not holding_lock or run.status != dg.DagsterRunStatus.STARTED:
        return None
    record = instance.get_run_record_by_id(run.run_id)
    if record is None or record.start_time is None:
        return None
    age = datetime.now(UTC) - datetime.fromtimestamp(record.start_time, UTC)
    return f"it never recorded a process and started {age} ago" if age > UNRECORDED_RUN_GRACE else None


def _prune(home: VigieHome, settings: Settings) -> None:
    report = prune_home(home, retention_days=settings.retention_days,
                        audit_retention_days=settings.audit_retention_days)
    removed = prune_published_runs(home, retention_days=settings.retention_days)
    if report.removed or removed:
        log.info("housekeeping: %s; %d published run(s) past %d days removed", report.summary(), len(removed),
                 settings.retention_days)
