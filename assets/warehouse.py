"""Small DuckDB idioms every stage that writes the working warehouse shares."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from assets.home import VigieHome
from assets.settings import Settings

# Vigie's own bookkeeping in the warehouse (what dbt built, the landing files' hashes): read by no model.
STATE_SCHEMA = "vigie_state"
CGROUP_MEMORY_MAX = Path("/sys/fs/cgroup/memory.max")
# The default cap of each DuckDB instance (the run's, dbt's): the run's two processes stay under 2 GB whatever the
# firm's size, and DuckDB spills the rest under warehouse/. Measured on a full dbt build at 10 M ledger lines: 1 GB
# took 30.7 s and peaked at 1.24 GB; half of a 24 GB machine took 27.9 s and peaked at 2.26 GB.
DEFAULT_MEMORY_LIMIT_MB = 1024


def duckdb_config(settings: Settings, home: VigieHome) -> dict[str, str]:
    """memory_limit, threads and temp_directory for every connection (dbt's profile reads the same values), so a
    big run spills to disk instead of being killed."""
    return {
        "memory_limit": settings.duckdb_memory_limit or _default_memory_limit(),
        "threads": str(settings.duckdb_threads or _usable_cores()),
        "temp_directory": str(home.spill),
    }


def _default_memory_limit() -> str:
    """1 GB, or half the memory on a machine with less than 2 GB to give."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return f"{DEFAULT_MEMORY_LIMIT_MB}MB"
    total = min(total, _cgroup_memory_limit() or total)  # a container or a systemd MemoryMax= allows less
    return f"{max(min(total // 2 // 2**20, DEFAULT_MEMORY_LIMIT_MB), 256)}MB"


def _cgroup_memory_limit() -> int | None:
    try:
        text = CGROUP_MEMORY_MAX.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max": no limit


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # what this process may use, not what the machine has
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def connect(path: Path, config: dict[str, str], *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the run's resource limits."""
    Path(config["temp_directory"]).mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), read_only=read_only, config=dict(config))


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All or nothing: readers see the previous state or the new one, and a crash leaves the previous one."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def relation_exists(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    """A table or view of that name in the connection's own database."""
    return con.execute(
        "SELECT count(*) FROM (SELECT database_name, schema_name, table_name AS name FROM duckdb_tables()"
        " UNION ALL SELECT database_name, schema_name, view_name FROM duckdb_views())"
        " WHERE database_name = current_database() AND schema_name = ? AND name = ?",
        [schema, name],
    ).fetchone()[0] > 0


def fetch_dicts(con: duckdb.DuckDBPyConnection, sql: str, params=()) -> list[dict]:
    """Rows as dicts; `params` is a sequence ($1, ?) or a mapping ($name)."""
    cursor = con.execute(sql, params if isinstance(params, dict) else list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str], rows: Iterable[Sequence]) -> None:
    """Append `rows` (values in the order of `columns`, name -> SQL type) to `table` in one statement.

    executemany runs one statement per row: recording the 3 140 files of the 10 M-line bench that way cost ~5 s.
    As in replace_table, values travel as text and DuckDB casts them to the column types.
    """
    records = [{c: None if v is None else str(v) for c, v in zip(columns, row, strict=True)} for row in rows]
    if not records:
        return
    names = ", ".join(f'"{c}"' for c in columns)
    as_text = ", ".join(f'"{c}" VARCHAR' for c in columns)
    casts = ", ".join(f'CAST("{c}" AS {t.replace(" NOT NULL", "")})' for c, t in columns.items())
    con.execute(f"INSERT INTO {table} ({names}) SELECT {casts}"
                f" FROM (SELECT unnest(?::STRUCT({as_text})[], recursive := true))", [records])


def replace_table(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str], rows: list[dict]) -> None:
    """`schema.table` recreated with `columns` (name -> SQL type, constraints allowed) and filled with `rows`.

    Values travel as text and DuckDB casts them to the column types, so decimals, dates and timestamps arrive
    exactly as Python held them. Call it inside `transaction` when the table must never be seen half-written: a
    value the column refuses (say, too large for DECIMAL(18,2)) raises DuckDB's own error, naming the column.
    """
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
    con.execute(f"CREATE OR REPLACE TABLE {table} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
    if not rows:
        return
    frame = pd.DataFrame([[None if row[c] is None else str(row[c]) for c in columns] for row in rows],
                         columns=list(columns), dtype="object")
    casts = ", ".join(f"CAST({c} AS {t.replace(' NOT NULL', '')})" for c, t in columns.items())
    # A relation over the frame, not a registered view: nothing is left to unregister once the INSERT fails, when
    # the aborted transaction would refuse any statement and mask the real error.
    con.from_df(frame).project(casts).insert_into(table)
