"""Publishing: the read-only snapshot BI tools open, one Parquet file per table, and the run's audit manifest.

BI tools never open the working warehouse (one writer at a time). They read `publish/marts.duckdb`, built next to
its final place and swapped in with `os.replace`, so a reader sees either the previous snapshot or the new one,
never a half-written file. The snapshot uses storage version v1.4.0 so DuckDB 1.4+ clients (and the BI drivers
built on them) can open it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from assets.home import VigieHome
from assets.ingest.registry import file_sha256
from assets.warehouse import fetch_dicts

PUBLISHED_STORAGE_VERSION = "v1.4.0"


@dataclass
class PublishReport:
    marts_db: Path
    row_counts: dict[str, int] = field(default_factory=dict)
    parquet_files: dict[str, Path] = field(default_factory=dict)
    manifest: Path | None = None


def publish_marts(home: VigieHome, tables: list[str], *, source_schema: str = "marts") -> PublishReport:
    """Copy `source_schema.<table>` of the working warehouse, with comments, to the snapshot and Parquet files."""
    home.publish.mkdir(parents=True, exist_ok=True)
    home.parquet.mkdir(parents=True, exist_ok=True)
    staging_db = home.publish / f".marts.{os.getpid()}.duckdb.tmp"
    staging_db.unlink(missing_ok=True)
    report = PublishReport(marts_db=home.marts_db)
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{_sql_path(home.warehouse_db)}' AS wh (READ_ONLY)")
        con.execute(f"ATTACH '{_sql_path(staging_db)}' AS pub (STORAGE_VERSION '{PUBLISHED_STORAGE_VERSION}')")
        for table in tables:
            report.row_counts[table] = _copy_table(con, source_schema, table)
            report.parquet_files[table] = _write_parquet(con, home.parquet, table)
        con.execute("DETACH pub")
    finally:
        con.close()
    os.replace(staging_db, home.marts_db)
    return report


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
    final = parquet_dir / f"{table}.parquet"
    partial = parquet_dir / f".{table}.parquet.tmp"
    con.execute(f"COPY pub.main.\"{table}\" TO '{_sql_path(partial)}' (FORMAT parquet, COMPRESSION zstd)")
    os.replace(partial, final)
    return final


def write_audit_manifest(home: VigieHome, *, run_id: str, report: PublishReport, code_version: dict,
                         catalogue_version: str | None, settings: dict) -> Path:
    """One JSON file per run: what went in (with sha256), which code and catalogue ran, what came out."""
    home.audit.mkdir(parents=True, exist_ok=True)
    manifest = {
        "run_id": run_id,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code_version": code_version,
        "catalogue_version": catalogue_version,
        "settings": settings,
        "inputs": _inputs(home.marts_db),
        "outputs": {
            table: {"rows": rows, "parquet": report.parquet_files[table].relative_to(home.root).as_posix(),
                    "parquet_sha256": file_sha256(report.parquet_files[table])}
            for table, rows in report.row_counts.items()
        },
    }
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = home.audit / f"run-{stamp}-{run_id[:8]}.json"
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    report.manifest = path
    return path


def _inputs(marts_db: Path) -> list[dict]:
    with duckdb.connect(str(marts_db), read_only=True) as con:
        if not con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = 'ingest_files'").fetchone():
            return []
        return fetch_dicts(con, "SELECT file_path, source, sha256, status, rows_read, rows_loaded, rows_quarantined"
                                " FROM ingest_files ORDER BY file_path, loaded_at")
