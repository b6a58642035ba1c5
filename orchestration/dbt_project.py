"""The dbt project as Dagster sees it, per home: where it is, where its artefacts go, and the parse before loading.

dbt's target path (manifest, partial parse, one folder per dbt step) is under the home, never in the source tree:
the code may be installed read-only, and two homes must never rewrite each other's manifest. Nothing here runs at
import time; `prepare_manifest` is called by the definitions factory (only when the manifest is missing or older than
the project) and by `vigie run` (with the run's vars, so `dbt build` reuses the parse; not again while nothing a
parse depends on has changed).
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from assets.atomic_files import write_text_atomically
from assets.home import VigieHome
from assets.settings import Settings, load_settings

if TYPE_CHECKING:
    from dagster_dbt import DbtProject

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "models", "seeds", "macros", "tests")
PARTIAL_PARSE = "partial_parse.msgpack"
PARSE_STAMP = "parsed_by"  # in the target path: what the manifest there was parsed from (parse_fingerprint)
AS_OF_DATE_ENV = "VIGIE_AS_OF_DATE"  # macros/as_of_date.sql
ENV_VAR_CALL = re.compile(rb"""env_var\(\s*['"]([A-Za-z0-9_]+)['"]""")  # what the project reads from the environment
INCREMENTAL_STAMP = "incremental_built_by"  # beside the target path: the project fingerprint of the last build
log = logging.getLogger("vigie.dbt")


@cache
def vigie_dbt_project(target_path: Path) -> DbtProject:
    from dagster_dbt import DbtProject  # here: a parse in its own process (start_parse) needs neither it nor Dagster

    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target_path=target_path)


def project_for(home: VigieHome) -> DbtProject:
    return vigie_dbt_project(home.dbt_target)


def home_environment(home: VigieHome, settings: Settings) -> dict[str, str]:
    """What dbt reads from the environment for this home (profiles.yml): its warehouse, target and log paths, and
    DuckDB's limits from settings.yml."""
    from assets.warehouse import duckdb_config  # DuckDB and pandas: not needed to start a parse

    config = duckdb_config(settings, home)
    return {
        "VIGIE_HOME": str(home.root),
        "VIGIE_WAREHOUSE_DB": str(home.warehouse_db),
        "DBT_TARGET_PATH": str(home.dbt_target),
        "DBT_LOG_PATH": str(home.dbt_logs),
        "VIGIE_DUCKDB_MEMORY_LIMIT": config["memory_limit"],
        "VIGIE_DUCKDB_THREADS": config["threads"],
    }


def reference_date_environment(as_of: date) -> dict[str, str]:
    """The reference date, which dbt reads with env_var() (macros/as_of_date.sql). As a var, its change every
    morning made dbt parse the whole project again (6.3 s on the demo project, 2-core machine); as an environment
    variable, only the files that read it are parsed again (3.8 s)."""
    return {AS_OF_DATE_ENV: as_of.isoformat()}


def run_vars(settings: Settings) -> str:
    """The run's settings dbt reads with var(); the reference date travels in the environment."""
    return json.dumps({"language": settings.language,
                       "practice_inactive_drop_pct": settings.practice_inactive_drop_pct})


def start_parse(home: VigieHome, as_of: date | None) -> subprocess.Popen:
    """Parse the project for a run of `home` in a process of its own, while this one starts Dagster (about 3 s of
    imports and set-up that a parse used to wait for). The run's own prepare_manifest then waits for it on the
    parse lock and finds its stamp; if this parse failed or differs in anything, the run parses again itself, so
    this process only ever saves time. Its output goes nowhere: a failing parse fails again in the run, loudly."""
    parse = subprocess.Popen(
        # -P: the current directory is not put on sys.path (dbt imports every dbt_* module it finds there)
        [sys.executable, "-P", "-m", __name__, str(home.root), as_of.isoformat() if as_of else ""],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # reaped as soon as it ends, not left a zombie for the rest of the run
    threading.Thread(target=parse.wait, name="vigie-parse-reaper", daemon=True).start()
    return parse


def stop_parse(parse: subprocess.Popen) -> None:
    """Once the run no longer needs it (done, failed, or refused because another run holds the home)."""
    if parse.poll() is None:
        parse.kill()  # a parse killed midway is made again: its stamp is written last
    parse.wait()


def _parse_for_run(root: str, as_of: str) -> None:
    """start_parse's process: the environment and vars `vigie run` computes, then prepare_manifest."""
    home = VigieHome.resolve(root)
    if not home.settings_file.is_file():  # the run creates it (check_configuration) before starting a parse
        return
    settings = load_settings(home.settings_file)
    os.environ.update(home_environment(home, settings))
    os.environ.update(reference_date_environment(settings.as_of(date.fromisoformat(as_of) if as_of else None)))
    prepare_manifest(home, run_vars(settings))


def prepare_manifest(home: VigieHome, dbt_vars: str = "{}", *, only_if_stale: bool = False) -> Path:
    """Parse the dbt project into the home's target path; returns manifest.json.

    Several processes load the definitions at once (`vigie serve` starts a webserver and a daemon, each with its
    own code server, and `vigie run` parses with its vars): they parse one at a time, and each parse is written
    beside the target and moved in file by file, so no process ever reads a half-written manifest.
    """
    manifest = home.dbt_target / "manifest.json"
    home.dbt_target.mkdir(parents=True, exist_ok=True)
    with (home.dbt_target.parent / ".parse.lock").open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released when the file closes, or when the process dies
        if only_if_stale and manifest.exists() and manifest.stat().st_mtime >= _newest_project_change():
            return manifest
        # A second run the same day with nothing changed: dbt's partial parse would still take 1.4 s, most of it
        # writing the same manifest again.
        fingerprint = parse_fingerprint(dbt_vars)
        stamp = home.dbt_target / PARSE_STAMP
        if manifest.exists() and stamp.is_file() and stamp.read_text(encoding="utf-8") == fingerprint:
            return manifest
        for leftover in home.dbt_target.parent.glob(".parse-*"):  # of a parse killed midway; none runs now
            shutil.rmtree(leftover, ignore_errors=True)
        stamp.unlink(missing_ok=True)  # until the new artefacts are all in place
        _parse_into(home, dbt_vars)
        write_text_atomically(stamp, fingerprint)
    return manifest


def _parse_into(home: VigieHome, dbt_vars: str) -> None:
    from dbt.cli.main import dbtRunner

    from orchestration.dbt_parse_seed import seed_for

    scratch = Path(tempfile.mkdtemp(prefix=".parse-", dir=home.dbt_target.parent))
    try:
        os.environ.setdefault("VIGIE_WAREHOUSE_DB", str(home.warehouse_db))
        partial = home.dbt_target / PARTIAL_PARSE
        seed = None
        if partial.exists():  # dbt reparses only what changed
            shutil.copy2(partial, scratch / PARTIAL_PARSE)
        elif (seed := seed_for(DBT_PROJECT_DIR)) is not None and seed.plant(scratch / PARTIAL_PARSE):
            log.info("dbt parse: a new home, started from the last parse of this project on this machine")
        project = str(DBT_PROJECT_DIR)
        result = dbtRunner().invoke(["parse", "--project-dir", project, "--profiles-dir", project, "--target-path",
                                     str(scratch), "--log-path", str(home.dbt_logs), "--vars", dbt_vars, "--quiet"])
        if not result.success:
            raise RuntimeError(f"dbt could not parse {DBT_PROJECT_DIR}: {result.exception}")
        if seed is not None:  # a new home's parse: the seed of the next one
            seed.keep(scratch / PARTIAL_PARSE)
        for artefact in scratch.iterdir():
            if artefact.is_file():
                os.replace(artefact, home.dbt_target / artefact.name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def parse_fingerprint(dbt_vars: str) -> str:
    """What a parse depends on: the project's files, the vars, what the project reads from the environment, and
    dbt's version."""
    from importlib.metadata import version

    read = {name.decode() for _, content in _project_files() for name in ENV_VAR_CALL.findall(content)}
    environment = sorted((name, value) for name, value in os.environ.items() if name in read)
    digest = hashlib.sha256(project_fingerprint().encode())
    for part in (dbt_vars, repr(environment), version("dbt-core"), version("dbt-duckdb")):
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()


def project_fingerprint() -> str:
    """A hash of the dbt project's files: the incremental models are rebuilt in full when it changes, since they
    keep what an older version of the SQL computed for the file versions they had already summed."""
    digest = hashlib.sha256()
    for name, content in _project_files():
        digest.update(name.encode() + b"\0" + content)
    return digest.hexdigest()


def _project_files() -> Iterator[tuple[str, bytes]]:
    for name in PROJECT_FILES:
        path = DBT_PROJECT_DIR / name
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file():
                yield file.relative_to(DBT_PROJECT_DIR).as_posix(), file.read_bytes()


def needs_full_refresh(home: VigieHome) -> bool:
    """True unless the last build of the incremental models was made by this very project."""
    stamp = home.dbt_target.parent / INCREMENTAL_STAMP
    return not stamp.is_file() or stamp.read_text(encoding="utf-8").strip() != project_fingerprint()


def record_incremental_build(home: VigieHome) -> None:
    write_text_atomically(home.dbt_target.parent / INCREMENTAL_STAMP, project_fingerprint())


def _newest_project_change() -> float:
    newest = 0.0
    for name in PROJECT_FILES:
        path = DBT_PROJECT_DIR / name
        paths = path.rglob("*") if path.is_dir() else [path]
        newest = max([newest, *(p.stat().st_mtime for p in paths if p.is_file())])
    return newest


def seed_threshold_names() -> set[str]:
    """The thresholds the `thresholds` seed defines: what a mission catalogue may refer to."""
    with (DBT_PROJECT_DIR / "seeds" / "thresholds.csv").open(encoding="utf-8", newline="") as seed:
        return {row["threshold_name"] for row in csv.DictReader(seed)}


if __name__ == "__main__":
    _parse_for_run(*sys.argv[1:3])
