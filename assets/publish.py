"""Publishing: the read-only snapshot BI tools open, one Parquet file per table, the run's audit manifest and its
lineage events, switched in together as one unit.

Layout of `publish/`::

    runs/<YYYYmmddTHHMMSSZ>-<run_id[:8]>/   one folder per run, never modified once in place
        marts.duckdb                        storage version v1.4.0 (DuckDB 1.4+ clients, BI drivers), mode 0444
        parquet/<table>.parquet
        manifest.json                       what went in, which code ran, what came out (sha256 of each Parquet)
        lineage.jsonl                       OpenLineage events (assets/lineage.py), when the run gave some
    current -> runs/<name>                  THE switch: one relative symbolic link
    marts.duckdb -> current/marts.duckdb    the contract's stable paths, created once, never changed
    parquet -> current/parquet
    manifest.json -> current/manifest.json

Why: a run publishes several files. Replacing them one by one leaves a window (and, after a crash, a lasting
state) where the snapshot, the Parquet files and the manifest come from two runs. Here a run is built whole in a
hidden `runs/.<name>.tmp/`, fsynced, renamed into place, its manifest and lineage are copied to `audit/` (so no
published run ever lacks its audit record), and only then is `current` switched by `os.replace` of a new symbolic
link, which is atomic: whoever resolves a stable path gets all of the previous run or all of the new one. A reader
holding the previous snapshot open keeps its file, which is never modified (only unlinked when pruned). A failure
removes what the run built; a kill -9 leaves `current` on the previous run and the next publish removes the
hidden leftovers (a run folder killed after its rename but before the switch stays, never published, until pruned).
One publish at a time per home: the run lock (assets/run_lock.py) guarantees it, and the removal of leftovers
relies on it.

Stale WAL: a BI client that opens the snapshot read-write writes a WAL next to the path it opened. DuckDB 1.4 puts
it next to the symbolic link (`publish/marts.duckdb.wal`) and would replay it onto the next snapshot; newer versions
put it next to the resolved file, inside the run folder. Both are deleted before and after the switch, and nothing
here ever opens the published path, so a stale (or garbage) WAL can neither break a publish nor alter a snapshot.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from assets.home import VigieHome
from assets.ingest.registry import file_sha256
from assets.lineage import write_lineage_events
from assets.warehouse import fetch_dicts

log = logging.getLogger("vigie.publish")

PUBLISHED_STORAGE_VERSION = "v1.4.0"
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
KEEP_NEWEST_RUNS = 2
SNAPSHOT = "marts.duckdb"
MANIFEST = "manifest.json"
LINEAGE = "lineage.jsonl"
# The contract's paths, relative links through `current`: switching `current` switches all of them at once.
STABLE_LINKS = {SNAPSHOT: f"current/{SNAPSHOT}", "parquet": "current/parquet", MANIFEST: f"current/{MANIFEST}"}

_STAMP = re.compile(r"\d{8}T\d{6}Z")


@dataclass
class PublishReport:
    marts_db: Path  # home.marts_db, the stable path
    run_dir: Path  # publish/runs/<name>
    row_counts: dict[str, int]
    parquet_files: dict[str, Path]  # stable paths under home.parquet
    manifest: Path  # the audit/ copy
    lineage: Path | None  # the audit/ copy, None when the run gave no lineage events


def publish_run(home: VigieHome, tables: list[str], *, run_id: str, code_version: dict,
                catalogue_version: str | None, settings: dict, lineage_events: Iterable = (),
                source_schema: str = "marts", now: datetime | None = None,
                duckdb_config: Mapping[str, str] | None = None, audit: Mapping | None = None) -> PublishReport:
    """Publish `source_schema.<table>` of the working warehouse (with comments) as one run: snapshot, Parquet files,
    manifest and lineage appear together under the stable paths, or nothing changes. `duckdb_config` holds the
    run's memory_limit, threads and temp_directory (assets.warehouse.duckdb_config). `audit` adds its keys to the
    manifest (dbt manifest hash, summary prompt and model, check results per asset)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    _runs(home).mkdir(parents=True, exist_ok=True)
    home.audit.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(home)
    name = _free_run_name(home, now, run_id)
    staging = _runs(home) / f".{name}.tmp"
    events = list(lineage_events)
    header = {"run_id": run_id, "written_at": now.isoformat(timespec="seconds"),
              "run_dir": (_runs(home) / name).relative_to(home.root).as_posix(), "code_version": code_version,
              "catalogue_version": catalogue_version, "settings": settings, **(audit or {})}
    try:
        staging.mkdir()
        row_counts = _build_run(home, staging, tables, source_schema, header, events, duckdb_config or {})
        _commit_run(home, staging, name)
    finally:
        _remove(staging)
        if _current_name(home) != name:
            _discard_run(home, name)  # failed after the rename: take back the run folder and its audit copies
    _ensure_stable_links(home, now)
    _remove_stale_wals(home)  # a client may have opened the previous snapshot read-write in the meantime
    manifest_copy, lineage_copy = _audit_paths(home, name)
    return PublishReport(marts_db=home.marts_db, run_dir=_runs(home) / name, row_counts=row_counts,
                         parquet_files={table: home.parquet / f"{table}.parquet" for table in tables},
                         manifest=manifest_copy, lineage=lineage_copy if events else None)


def prune_published_runs(home: VigieHome, *, retention_days: int, now: datetime | None = None) -> list[Path]:
    """Remove the run folders older than `retention_days` (by the stamp in their name, else their mtime), except
    the current one and the newest KEEP_NEWEST_RUNS; returns the folders removed. The audit copies stay: they are
    the firm's record (assets/housekeeping.py prunes them on its own retention)."""
    if retention_days < 1:
        raise ValueError(f"retention_days must be at least 1, got {retention_days}")
    cutoff = (now or datetime.now(UTC)).astimezone(UTC) - timedelta(days=retention_days)
    current = _current_name(home)
    runs = sorted(_run_folders(home), key=lambda path: (_run_time(path), path.name), reverse=True)
    removed = []
    for run in runs[KEEP_NEWEST_RUNS:]:
        if run.name != current and _run_time(run) < cutoff:
            # A reader holding this snapshot open keeps reading it: unlinking does not free an open file.
            shutil.rmtree(run)
            removed.append(run)
    if removed:
        log.info("pruned %d published run(s) older than %d day(s)", len(removed), retention_days)
    return removed


# --- building the run, hidden ----------------------------------------------------------------------------------


def _build_run(home: VigieHome, staging: Path, tables: list[str], source_schema: str, header: dict,
               events: list[dict], duckdb_config: Mapping[str, str]) -> dict[str, int]:
    """Everything of the run inside `staging`, synced to disk, so the rename that follows publishes whole files."""
    row_counts, inputs = _build_snapshot(home, staging, tables, source_schema, duckdb_config)
    manifest = {**header, "inputs": inputs, "outputs": _outputs(home, staging, row_counts)}
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str),
                                    encoding="utf-8")
    if events:
        write_lineage_events(staging / LINEAGE, events)
    _fsync_tree(staging)
    return row_counts


def _build_snapshot(home: VigieHome, staging: Path, tables: list[str], source_schema: str,
                    duckdb_config: Mapping[str, str]) -> tuple[dict[str, int], list[dict]]:
    (staging / "parquet").mkdir()
    row_counts = {}
    if "temp_directory" in duckdb_config:
        Path(duckdb_config["temp_directory"]).mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config=dict(duckdb_config))
    try:
        con.execute(f"ATTACH '{_sql_path(home.warehouse_db)}' AS wh (READ_ONLY)")
        con.execute(f"ATTACH '{_sql_path(staging / SNAPSHOT)}' AS pub"
                    f" (STORAGE_VERSION '{PUBLISHED_STORAGE_VERSION}')")
        for table in tables:
            row_counts[table] = _copy_table(con, source_schema, table)
            _write_parquet(con, staging / "parquet", table)
        inputs = _inputs(con)
        con.execute("DETACH pub")  # checkpoints: the snapshot is one self-contained file, no WAL beside it
    finally:
        con.close()
    # Read-only on disk too: a BI client cannot open it read-write by mistake (unless it runs as root).
    (staging / SNAPSHOT).chmod(0o444)
    return row_counts, inputs


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _copy_table(con, source_schema: str, table: str) -> int:
    source = f'wh.{source_schema}."{table}"'
    con.execute(f'CREATE TABLE pub.main."{table}" AS SELECT * FROM {source}')
    _copy_comments(con, source_schema, table)
    return con.execute(f'SELECT count(*) FROM pub.main."{table}"').fetchone()[0]


def _copy_comments(con, source_schema: str, table: str) -> None:
    """CREATE TABLE AS drops comments; BI tools show them, so carry table and column comments over."""
    (table_comment,) = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE database_name = 'wh' AND schema_name = ? AND table_name = ?",
        [source_schema, table]).fetchone()
    if table_comment:
        con.execute(f'COMMENT ON TABLE pub.main."{table}" IS {_literal(table_comment)}')
    for column, comment in con.execute(
            "SELECT column_name, comment FROM duckdb_columns() WHERE database_name = 'wh' AND schema_name = ?"
            " AND table_name = ? AND comment IS NOT NULL AND comment <> ''", [source_schema, table]).fetchall():
        con.execute(f'COMMENT ON COLUMN pub.main."{table}"."{column}" IS {_literal(comment)}')


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _write_parquet(con, parquet_dir: Path, table: str) -> Path:
    # Written straight to its final name: the whole folder is hidden until the run is complete.
    path = parquet_dir / f"{table}.parquet"
    con.execute(f"COPY pub.main.\"{table}\" TO '{_sql_path(path)}' (FORMAT parquet, COMPRESSION zstd)")
    return path


def _inputs(con) -> list[dict]:
    """The input files of the NEW snapshot (its ingest_files table, when published): the manifest describes exactly
    what the run publishes, and reading it here never opens the published path with its possibly stale WAL."""
    if not con.execute("SELECT 1 FROM duckdb_tables() WHERE database_name = 'pub' AND schema_name = 'main'"
                       " AND table_name = 'ingest_files'").fetchone():
        return []
    columns = ["file_path", "source", "sha256", "status", "rows_read", "rows_loaded", "rows_quarantined"]
    present = {c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE database_name = 'pub'"
                                         " AND schema_name = 'main' AND table_name = 'ingest_files'").fetchall()}
    # the FEC conformity verdict of each ledger (rpt_fec_conformity), where the snapshot has it
    columns += [c for c in ("conformity_status", "conformity_errors", "conformity_warnings") if c in present]
    return fetch_dicts(con, f"SELECT {', '.join(columns)} FROM pub.main.ingest_files ORDER BY file_path, loaded_at")


def _outputs(home: VigieHome, staging: Path, row_counts: dict[str, int]) -> dict[str, dict]:
    """Rows, stable Parquet path (relative to the home) and sha256 of the very file this run publishes."""
    return {
        table: {"rows": rows, "parquet": (home.parquet / f"{table}.parquet").relative_to(home.root).as_posix(),
                "parquet_sha256": file_sha256(staging / "parquet" / f"{table}.parquet")}
        for table, rows in row_counts.items()
    }


# --- committing: rename, audit copies, switch ------------------------------------------------------------------


def _commit_run(home: VigieHome, staging: Path, name: str) -> None:
    os.rename(staging, _runs(home) / name)  # atomic on one filesystem: the folder appears complete
    _fsync_dir(_runs(home))
    # Before the switch: a published run always has its audit record (a kill in between leaves an unpublished
    # run folder and its audit copies, never a published run without them).
    _write_audit_copies(home, _runs(home) / name, name)
    _remove_stale_wals(home)  # before the switch, or DuckDB 1.4 could replay it onto the new snapshot
    _switch_current(home, name)


def _write_audit_copies(home: VigieHome, run_dir: Path, name: str) -> None:
    manifest_copy, lineage_copy = _audit_paths(home, name)
    _write_atomically(manifest_copy, (run_dir / MANIFEST).read_bytes())
    if (run_dir / LINEAGE).exists():
        _write_atomically(lineage_copy, (run_dir / LINEAGE).read_bytes())


def _switch_current(home: VigieHome, name: str) -> None:
    _replace_with_symlink(home.publish / "current", f"runs/{name}")


def _discard_run(home: VigieHome, name: str) -> None:
    """Remove what a failed publish created after its rename. The name was free when chosen, so all of it is ours."""
    _remove(_runs(home) / name)
    for path in _audit_paths(home, name):
        path.unlink(missing_ok=True)


def _ensure_stable_links(home: VigieHome, now: datetime) -> None:
    """Create the stable links once. A home published by the previous layout has a regular marts.duckdb (replaced
    in one os.replace) and a real parquet/ folder (moved to runs/legacy-<stamp>/, as a rename cannot replace a
    folder by a link)."""
    for link, target in STABLE_LINKS.items():
        path = home.publish / link
        if path.is_symlink() and os.readlink(path) == target:
            continue
        if path.is_dir() and not path.is_symlink():
            _move_legacy_dir(home, path, now)
        elif path.is_file() and not path.is_symlink():
            _keep_legacy_file(home, path, now)
        _replace_with_symlink(path, target)
        log.info("publish: %s now links to %s", path, target)


def _move_legacy_dir(home: VigieHome, path: Path, now: datetime) -> None:
    if not any(path.iterdir()):
        path.rmdir()  # the empty folder home.ensure() creates on a new home
        return
    legacy = _legacy_dir(home, now)
    log.warning("publish: moving the legacy %s to %s", path, legacy)
    os.rename(path, legacy / path.name)


def _keep_legacy_file(home: VigieHome, path: Path, now: datetime) -> None:
    """Keep the legacy snapshot beside its Parquet files (a hard link: no copy); best effort, it is superseded."""
    try:
        os.link(path, _legacy_dir(home, now) / path.name)
    except OSError as exc:
        log.warning("publish: legacy %s not kept: %s", path, exc)


def _legacy_dir(home: VigieHome, now: datetime) -> Path:
    legacy = _runs(home) / f"legacy-{now.strftime(STAMP_FORMAT)}"
    legacy.mkdir(exist_ok=True)
    return legacy


def _remove_stale_wals(home: VigieHome) -> None:
    for wal in (home.publish / f"{SNAPSHOT}.wal", home.publish / "current" / f"{SNAPSHOT}.wal"):
        if os.path.lexists(wal):
            log.warning("publish: removing stale %s: a client opened the published snapshot read-write; its"
                        " changes are dropped (the snapshot is read-only)", wal)
            wal.unlink()


# --- leftovers and names -----------------------------------------------------------------------------------------


def _remove_leftovers(home: VigieHome) -> None:
    """What a killed publish left: hidden run folders and temporary links or files of this layout, and the
    temporary files of the previous layout (`.marts.<pid>.duckdb.tmp`, `parquet/.<table>.parquet.tmp`)."""
    places = [(_runs(home), ".*.tmp"), (home.publish, ".*.tmp*"), (home.audit, ".*.tmp")]
    if home.parquet.is_dir() and not home.parquet.is_symlink():
        places.append((home.parquet, ".*.parquet.tmp"))
    for folder, pattern in places:
        for path in folder.glob(pattern):
            log.warning("publish: removing %s, left by an interrupted publish", path)
            _remove(path)


def _free_run_name(home: VigieHome, now: datetime, run_id: str) -> str:
    """`<stamp>-<run_id[:8]>`, with a counter when the same run publishes twice within a second."""
    base = f"{now.strftime(STAMP_FORMAT)}-{re.sub(r'[^A-Za-z0-9_-]', '_', run_id[:8])}"
    name, attempt = base, 1
    while any(os.path.lexists(path) for path in (_runs(home) / name, *_audit_paths(home, name))):
        attempt += 1
        name = f"{base}-{attempt}"
    return name


def _audit_paths(home: VigieHome, name: str) -> tuple[Path, Path]:
    return home.audit / f"run-{name}.json", home.audit / f"run-{name}.lineage.jsonl"


def _runs(home: VigieHome) -> Path:
    return home.publish / "runs"


def _current_name(home: VigieHome) -> str | None:
    current = home.publish / "current"
    return Path(os.readlink(current)).name if current.is_symlink() else None


def _run_folders(home: VigieHome) -> list[Path]:
    """Published run folders (legacy ones included); hidden folders are publishes under way or interrupted."""
    if not _runs(home).is_dir():
        return []
    return [path for path in _runs(home).iterdir()
            if not path.name.startswith(".") and path.is_dir() and not path.is_symlink()]


def _run_time(path: Path) -> datetime:
    stamp = _STAMP.search(path.name)
    if stamp:
        return datetime.strptime(stamp.group(), STAMP_FORMAT).replace(tzinfo=UTC)
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


# --- files, durably ------------------------------------------------------------------------------------------------


def _replace_with_symlink(path: Path, target: str) -> None:
    """Point `path` at `target` atomically: a new link under a temporary name, renamed over the old entry."""
    temporary = path.with_name(f".{path.name}.link.tmp")
    temporary.unlink(missing_ok=True)
    os.symlink(target, temporary)
    try:
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _fsync_tree(root: Path) -> None:
    """Data before name: the rename that publishes the folder must not reach the disk before its contents."""
    for folder, _dirs, files in os.walk(root):
        for name in files:
            with open(os.path.join(folder, name), "rb") as handle:
                os.fsync(handle.fileno())
        _fsync_dir(Path(folder))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    """Remove a file, a link (never followed) or a folder; nothing if absent."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
