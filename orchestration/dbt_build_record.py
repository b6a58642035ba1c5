"""What the last complete build of a dbt step was made from, so a morning with nothing new rebuilds nothing.

An unchanged rerun used to run the first dbt step in full: about 27 s of 47 at 10 M ledger lines (bench, issue 10),
nearly all of it dbt's own cost per node, to write again the tables it already held. The step's tables are a
function of what it reads, and nothing else:
- the raw layer, whose every change goes through the ingestion ledger (assets/ingest/registry.py): a file version
  loaded, superseded, held back, rejected or removed changes `raw.ingest_files` in the same transaction as the rows;
- the dbt project (its SQL, seeds and macros) and the dbt that runs it;
- the run's vars and the environment the models read (the reference date).
The step's inputs are hashed into one fingerprint; the fingerprint of its last complete, successful build is kept in
the warehouse itself (a restored or replaced warehouse brings its own, or none). It is removed before a build starts
and written once dbt has succeeded, so a build killed or failed halfway leaves no record and the next run rebuilds.

Plain Python and SQL without Dagster: the dbt step (orchestration/dbt_assets.py) decides what to do with it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import version as installed_version

import duckdb

from assets.warehouse import relation_exists

RECORD_SCHEMA, RECORD_NAME = "vigie_state", "dbt_builds"
RECORD_TABLE = f"{RECORD_SCHEMA}.{RECORD_NAME}"
# The tools whose behaviour, not only the project's files, decides what a build writes.
BUILD_TOOLS = ("dbt-core", "dbt-duckdb", "duckdb")


@dataclass(frozen=True)
class BuildInputs:
    """Everything a dbt step's tables are computed from, as the step is about to run."""

    project: str  # hash of the dbt project's files (orchestration/dbt_project.project_fingerprint)
    dbt_vars: str
    environment: Mapping[str, str]
    raw_layer: str  # raw_layer_fingerprint()

    def fingerprint(self) -> str:
        tools = {tool: installed_version(tool) for tool in BUILD_TOOLS}
        payload = json.dumps({"project": self.project, "tools": tools, "vars": self.dbt_vars,
                              "environment": dict(sorted(self.environment.items())), "raw": self.raw_layer},
                             sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class BuildRecord:
    fingerprint: str
    run_id: str  # the run whose dbt step built the tables


def raw_layer_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """A hash of the raw layer's state: every row of the ingestion ledger and every raw table's row count.

    The ledger alone would do for the loaders (each change of the data writes it); the counts also catch a raw table
    changed by hand. Reading them costs milliseconds, even at 10 M ledger lines."""
    tables = [name for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'raw'"
        " ORDER BY table_name").fetchall()]
    counts = {table: con.execute(f'SELECT count(*) FROM raw."{table}"').fetchone()[0] for table in tables}
    ledger = con.execute(
        "SELECT md5(coalesce(string_agg(row_text, chr(10) ORDER BY row_text), ''))"
        " FROM (SELECT to_json(f)::VARCHAR AS row_text FROM raw.ingest_files AS f)"
    ).fetchone()[0] if "ingest_files" in tables else None
    return hashlib.sha256(json.dumps({"counts": counts, "ledger": ledger}, sort_keys=True).encode()).hexdigest()


def last_build(con: duckdb.DuckDBPyConnection, step: str) -> BuildRecord | None:
    if not relation_exists(con, RECORD_SCHEMA, RECORD_NAME):
        return None
    row = con.execute(f"SELECT inputs_fingerprint, run_id FROM {RECORD_TABLE} WHERE step = ?", [step]).fetchone()
    return BuildRecord(*row) if row else None


def forget_build(con: duckdb.DuckDBPyConnection, step: str) -> None:
    """Before a build: whatever happens to it, its tables no longer match the last record."""
    if relation_exists(con, RECORD_SCHEMA, RECORD_NAME):
        con.execute(f"DELETE FROM {RECORD_TABLE} WHERE step = ?", [step])


def record_build(con: duckdb.DuckDBPyConnection, step: str, record: BuildRecord) -> None:
    """After a complete, successful build: its tables are what `record.fingerprint`'s inputs give."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RECORD_SCHEMA}")
    con.execute(f"CREATE TABLE IF NOT EXISTS {RECORD_TABLE} (step VARCHAR PRIMARY KEY,"
                " inputs_fingerprint VARCHAR NOT NULL, run_id VARCHAR NOT NULL, recorded_at TIMESTAMP NOT NULL)")
    con.execute(f"INSERT OR REPLACE INTO {RECORD_TABLE} VALUES (?, ?, ?, current_timestamp)",
                [step, record.fingerprint, record.run_id])


def missing_relations(con: duckdb.DuckDBPyConnection, relations: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (schema, name) pairs the warehouse holds no table or view for: a record is no use if one was dropped."""
    held = set(con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()"
        " UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = current_database()"
    ).fetchall())
    return sorted(set(relations) - held)

