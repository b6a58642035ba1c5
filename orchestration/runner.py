"""Runs the pipeline through the real Dagster definitions, recorded in the home's Dagster instance.

Everything that depends on the home (environment for dbt and the Dagster instance) is set here, when a command
starts, never at import time.
"""

from __future__ import annotations

import logging
import os
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import yaml

from assets.home import VigieHome
from assets.ingest.registry import current_problems
from assets.opportunities.catalogue import ensure_catalogue_file, load_catalogue
from assets.settings import ensure_settings_file, load_settings
from orchestration.dbt_manifest import prepare_dbt_manifest, seed_threshold_names

log = logging.getLogger("vigie")

DAGSTER_INSTANCE_SETTINGS = {
    "telemetry": {"enabled": False},
    # Every writer of the working DuckDB shares this pool; DuckDB allows one writing process per file.
    "concurrency": {"pools": {"default_limit": 1}},
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


def _write_instance_settings(dagster_home: Path) -> None:
    dagster_home.mkdir(parents=True, exist_ok=True)
    settings_file = dagster_home / "dagster.yaml"
    if not settings_file.exists():
        settings_file.write_text(yaml.safe_dump(DAGSTER_INSTANCE_SETTINGS, sort_keys=False), encoding="utf-8")


def check_configuration(home: VigieHome) -> None:
    """Create the firm's configuration files when missing, then refuse a broken one (SettingsError or
    CatalogueError, one line naming file and line) before the run starts."""
    home.ensure()
    ensure_settings_file(home.settings_file)
    load_settings(home.settings_file)
    ensure_catalogue_file(home.missions_file)
    load_catalogue(home.missions_file, seed_threshold_names())


def run_pipeline(home: VigieHome, *, as_of: date | None = None, select: str | None = None,
                 refresh_summaries: bool = False) -> RunOutcome:
    activate_home(home)
    from orchestration.resources import VigieResource

    vigie = VigieResource(home=str(home.root), as_of=as_of.isoformat() if as_of else "",
                          refresh_summaries=refresh_summaries)
    prepare_dbt_manifest(vigie.dbt_vars())
    import dagster as dg

    from orchestration.definitions import defs

    job = defs.resolve_job_def("vigie_pipeline")
    selection = None
    if select:
        selection = list(dg.AssetSelection.from_string(select).resolve(defs.resolve_asset_graph()))
    run_config = {
        "resources": {"vigie": {"config": {"home": vigie.home, "as_of": vigie.as_of,
                                           "refresh_summaries": refresh_summaries}}},
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
    }
    log_file = _run_log_path(home)
    log.info("detailed log: %s", log_file)
    # dbt's own output goes to the run's log file; the terminal gets one progress line per step.
    with dg.DagsterInstance.get() as instance, log_file.open("w", encoding="utf-8") as sink, redirect_stdout(sink):
        result = job.execute_in_process(run_config=run_config, instance=instance, asset_selection=selection,
                                        raise_on_error=False)
    outcome = RunOutcome(success=result.success, run_id=result.run_id, log_file=log_file)
    if not result.success:
        outcome.failure = _first_failure(result)
    if home.warehouse_db.exists():
        with duckdb.connect(str(home.warehouse_db), read_only=True) as con:
            outcome.problems = current_problems(con, home.landing)
    return outcome


def _run_log_path(home: VigieHome) -> Path:
    logs = home.warehouse / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    return logs / f"run-{datetime.now():%Y%m%dT%H%M%S}.log"


def _first_failure(result) -> str:
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            message = error.message.strip().splitlines()[0] if error else "unknown error"
            return f"step {event.step_key} failed: {message}"
    return "the run failed"
