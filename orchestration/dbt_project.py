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
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject

from assets.home import VigieHome

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "models", "seeds", "macros", "tests")
PARTIAL_PARSE = "partial_parse.msgpack"
PARSE_STAMP = "parsed_by"  # in the target path: what the manifest there was parsed from (parse_fingerprint)
ENV_VAR_CALL = re.compile(rb"""env_var\(\s*['"]([A-Za-z0-9_]+)['"]""")  # what the project reads from the environment
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
        _write_atomically(stamp, fingerprint)
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


def parse_fingerprint(dbt_vars: str) -> str:
    """What a parse depends on: the project's files, the vars, what dbt reads from the environment, and dbt."""
    from importlib.metadata import version

    read = {name.decode() for _, content in _project_files() for name in ENV_VAR_CALL.findall(content)}
    environment = sorted((name, value) for name, value in os.environ.items()
                         if name in read or name.startswith("DBT_"))  # and dbt's own settings
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
    _write_atomically(home.dbt_target.parent / INCREMENTAL_STAMP, project_fingerprint())


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


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
