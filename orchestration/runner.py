"""Runs the pipeline through the real Dagster definitions, recorded in the home's Dagster instance.

Everything that depends on the home (environment for dbt and the Dagster instance) is set here, when a command
starts, never at import time.
"""

from __future__ import annotations

import logging
import os
import uuid
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import yaml

from assets.alerts import record_run_failure
from assets.atomic_files import write_text_atomically
from assets.home import VigieHome
from assets.ingest.registry import current_problems
from orchestration.dbt_project import prepare_manifest
from orchestration.keys import LAUNCHED_BY_TAG, MAX_CONCURRENT_RUNS, PIPELINE_JOB, PROCESS_TAG

log = logging.getLogger("vigie")

# The home's Dagster instance (dagster.yaml). Vigie owns these keys; any other key a data team adds is kept.
DAGSTER_INSTANCE_SETTINGS = {
    "telemetry": {"enabled": False},
    # One run at a time per home; the run lock (assets/run_lock.py) holds the same rule for runs outside the queue.
    "concurrency": {"runs": {"max_concurrent_runs": MAX_CONCURRENT_RUNS}},
    # A run whose worker never started is failed after 5 minutes instead of holding the queue.
    "run_monitoring": {"enabled": True, "start_timeout_seconds": 300, "poll_interval_seconds": 60},
    # vigie.* log lines go to each run's log in the UI, not only to the terminal.
    "python_logs": {"managed_python_loggers": ["vigie"], "python_log_level": "INFO"},
}


@dataclass
class RunOutcome:
    success: bool
    run_id: str
    problems: list[str] = field(default_factory=list)  # rejected files and quarantined lines, one line each
    failure: str | None = None
    log_file: Path | None = None

    @property
    def exit_code(self) -> int:
        if not self.success:
            return 1
        return 2 if self.problems else 0


def activate_home(home: VigieHome) -> None:
    """Point dbt, Dagster and the libraries at this home, and keep them off the network."""
    home.ensure()
    os.environ["VIGIE_HOME"] = str(home.root)
    os.environ["VIGIE_WAREHOUSE_DB"] = str(home.warehouse_db)
    os.environ.setdefault("DAGSTER_HOME", str(home.root / ".dagster"))
    os.environ["DO_NOT_TRACK"] = "1"
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    _write_instance_settings(Path(os.environ["DAGSTER_HOME"]))


def _event_log_storage(dagster_home: Path) -> dict:
    """Dagster's SQLite event log where Dagster keeps it by default, with its connections kept open (see
    orchestration/event_log_storage.py)."""
    return {"module": "orchestration.event_log_storage", "class": "PooledSqliteEventLogStorage",
            "config": {"base_dir": str(dagster_home.resolve() / "history" / "runs")}}


def _write_instance_settings(dagster_home: Path) -> None:
    dagster_home.mkdir(parents=True, exist_ok=True)
    settings_file = dagster_home / "dagster.yaml"
    current = yaml.safe_load(settings_file.read_text(encoding="utf-8")) if settings_file.exists() else None
    wanted = {**(current or {}), **DAGSTER_INSTANCE_SETTINGS, "event_log_storage": _event_log_storage(dagster_home)}
    if current != wanted:
        write_text_atomically(settings_file, yaml.safe_dump(wanted, sort_keys=False))


def run_pipeline(home: VigieHome, *, as_of: date | None = None, select: str | None = None, full_refresh: bool = False,
                 refresh_summaries: bool = False, wait: bool = False) -> RunOutcome:
    """One run through the real definitions, holding the home's lock from before Dagster starts until the last read
    of the warehouse. Raises run_lock.HomeBusy at once when another run holds the home and `wait` is false."""
    activate_home(home)
    import dagster as dg

    from orchestration.resources import VigieResource
    from orchestration.run_guard import begin_run, end_run

    vigie = VigieResource(home=str(home.root), as_of=as_of.isoformat() if as_of else "", full_refresh=full_refresh,
                          refresh_summaries=refresh_summaries)
    run_id = str(uuid.uuid4())  # chosen here so the lock names the run before Dagster starts it
    with dg.DagsterInstance.get() as instance:
        begin_run(home, run_id=run_id, instance=instance, settings=vigie.settings(), wait=wait)
        try:
            return _execute(home, vigie, instance, run_id, select)
        except Exception as error:  # before Dagster started (dbt parse, definitions): no run to fail, alert here
            record_run_failure(home, run_id=run_id, job_name=PIPELINE_JOB, message=f"{type(error).__name__}: {error}",
                               webhook_url=vigie.settings().alert_webhook,
                               lineage_url=vigie.settings().openlineage_url)
            raise
        finally:
            end_run(home)


def _execute(home: VigieHome, vigie, instance, run_id: str, select: str | None) -> RunOutcome:
    import dagster as dg

    from orchestration.definitions import build_definitions
    from orchestration.run_guard import process_tag

    os.environ.update(vigie.dbt_environment())  # for this parse and the dbt steps' subprocesses
    # With the run's vars, so `dbt build` reuses this parse; usually made already by the parse `vigie run` started
    # (dbt_project.start_parse) while this process imported Dagster.
    prepare_manifest(home, vigie.dbt_vars())
    defs = build_definitions(home)
    job = defs.resolve_job_def(PIPELINE_JOB)
    selection = None
    if select:
        selection = list(dg.AssetSelection.from_string(select).resolve(defs.resolve_asset_graph()))
    run_config = {
        # every field of the resource, so a new option reaches the run without being listed here as well
        "resources": {"vigie": {"config": vigie.model_dump()}},
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
    }
    log_file = _run_log_path(home)
    log.info("run %s; detailed log: %s", run_id, log_file)
    # dbt's own output goes to the run's log file; the terminal gets one progress line per step.
    with log_file.open("w", encoding="utf-8") as sink, redirect_stdout(sink):
        result = job.execute_in_process(run_config=run_config, instance=instance, asset_selection=selection,
                                        raise_on_error=False, run_id=run_id,
                                        tags={PROCESS_TAG: process_tag(run_id), LAUNCHED_BY_TAG: "cli"})
    outcome = RunOutcome(success=result.success, run_id=result.run_id, log_file=log_file)
    if not result.success:
        outcome.failure = _first_failure(result)
        record_run_failure(home, run_id=run_id, job_name=PIPELINE_JOB, message=outcome.failure,
                           webhook_url=vigie.settings().alert_webhook, lineage_url=vigie.settings().openlineage_url)
    if home.warehouse_db.exists():
        with vigie.connect_warehouse(read_only=True) as con:
            outcome.problems = current_problems(con, home.landing)
    return outcome


def _run_log_path(home: VigieHome) -> Path:
    home.run_logs.mkdir(parents=True, exist_ok=True)
    return home.run_logs / f"run-{datetime.now():%Y%m%dT%H%M%S}.log"


def _first_failure(result) -> str:
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            message = error.message.strip().splitlines()[0] if error else "unknown error"
            return f"step {event.step_key} failed: {message}"
    return "the run failed"
