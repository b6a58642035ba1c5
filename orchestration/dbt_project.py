"""The dbt project as Dagster sees it, per home: where it is, where its artefacts go, and the parse before loading.

dbt's target path (manifest, partial parse, one folder per dbt step) is under the home, never in the source tree:
the code may be installed read-only, and two homes must never rewrite each other's manifest. Nothing here runs at
import time; `prepare_manifest` is called by the definitions factory (only when the manifest is missing or older than
the project) and by `vigie run` (always, with the run's vars, so `dbt build` reuses the parse).
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject

from assets.home import VigieHome

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "models", "seeds", "macros", "tests")
PARTIAL_PARSE = "partial_parse.msgpack"
INCREMENTAL_STAMP = "incremental_built_by"  # beside the target path: the project fingerprint of the last build


@cache
def vigie_dbt_project(target_path: Path) -> DbtProject:
    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target_path=target_path)


def project_for(home: VigieHome) -> DbtProject:
    return vigie_dbt_project(home.dbt_target)


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
        for leftover in home.dbt_target.parent.glob(".parse-*"):  # of a parse killed midway; none runs now
            shutil.rmtree(leftover, ignore_errors=True)
        _parse_into(home, dbt_vars)
    return manifest


def _parse_into(home: VigieHome, dbt_vars: str) -> None:
    from dbt.cli.main import dbtRunner

    scratch = Path(tempfile.mkdtemp(prefix=".parse-", dir=home.dbt_target.parent))
    try:
        partial = home.dbt_target / PARTIAL_PARSE
        if partial.exists():  # dbt reparses only what changed
            shutil.copy2(partial, scratch / PARTIAL_PARSE)
        project = str(DBT_PROJECT_DIR)
        os.environ.setdefault("VIGIE_WAREHOUSE_DB", str(home.warehouse_db))
        result = dbtRunner().invoke(["parse", "--project-dir", project, "--profiles-dir", project, "--target-path",
                                     str(scratch), "--log-path", str(home.dbt_logs), "--vars", dbt_vars, "--quiet"])
        if not result.success:
            raise RuntimeError(f"dbt could not parse {DBT_PROJECT_DIR}: {result.exception}")
        for artefact in scratch.iterdir():
            if artefact.is_file():
                os.replace(artefact, home.dbt_target / artefact.name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def project_fingerprint() -> str:
    """A hash of the dbt project's files: the incremental models are rebuilt in full when it changes, since they
    keep what an older version of the SQL computed for the file versions they had already summed."""
    digest = hashlib.sha256()
    for name in PROJECT_FILES:
        path = DBT_PROJECT_DIR / name
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file():
                digest.update(file.relative_to(DBT_PROJECT_DIR).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def needs_full_refresh(home: VigieHome) -> bool:
    """True unless the last build of the incremental models was made by this very project."""
    stamp = home.dbt_target.parent / INCREMENTAL_STAMP
    return not stamp.is_file() or stamp.read_text(encoding="utf-8").strip() != project_fingerprint()


def record_incremental_build(home: VigieHome) -> None:
    stamp = home.dbt_target.parent / INCREMENTAL_STAMP
    partial = stamp.with_name(f".{INCREMENTAL_STAMP}.{os.getpid()}")
    partial.write_text(project_fingerprint(), encoding="utf-8")
    os.replace(partial, stamp)


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
