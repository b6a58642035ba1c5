"""What the last complete build of a dbt step was made from, so a morning builds only what its new input reads.

An unchanged rerun used to run the first dbt step in full: about 27 s of 47 at 10 M ledger lines (bench, issue 10),
nearly all of it dbt's own cost per node, to write again the tables it already held. The step's tables are a
function of what it reads, and nothing else:
- the raw layer, whose every change goes through the ingestion ledger (assets/ingest/registry.py): a file version
  loaded, superseded, held back, rejected or removed changes `raw.ingest_files` in the same transaction as the rows;
- the dbt project (its SQL, seeds and macros) and the dbt that runs it;
- the run's vars and the environment the models read (the reference date).
Everything but the raw layer is hashed into one fingerprint; the raw layer gets one fingerprint per table, so a
morning that brings only a ledger re-export builds the models downstream of the tables it changed, and keeps the
others (orchestration/dbt_assets.py). The record of the last complete, successful build is kept in the warehouse
itself (a restored or replaced warehouse brings its own, or none). It is removed before a build starts and written
once dbt has succeeded, so a build killed or failed halfway leaves no record and the next run builds everything.

A model whose content rarely moves while its inputs do can be marked as a build gate (`meta: {vigie_build_gate:
true}`): when it comes out of a partial build as it was (table_contents), the tables that read the changed raw
tables only through it (or through other gates that came out as they were) are kept too.

Plain Python and SQL without Dagster: the dbt step (orchestration/dbt_assets.py) decides what to do with it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import version as installed_version

import duckdb

from assets.ingest.raw_tables import ledger_source
from assets.warehouse import STATE_SCHEMA, relation_exists

RECORD_SCHEMA, RECORD_NAME = STATE_SCHEMA, "dbt_builds"
RECORD_TABLE = f"{RECORD_SCHEMA}.{RECORD_NAME}"
# The tools whose behaviour, not only the project's files, decides what a build writes.
BUILD_TOOLS = ("dbt-core", "dbt-duckdb", "duckdb")


@dataclass(frozen=True)
class BuildInputs:
    """Everything a dbt step's tables are computed from, as the step is about to run."""

    project: str  # hash of the dbt project's files (orchestration/dbt_project.project_fingerprint)
    dbt_vars: str
    environment: Mapping[str, str]
    raw_tables: Mapping[str, str]  # raw_table_fingerprints()

    def fingerprint(self) -> str:
        """Everything but the raw layer: when it moves, every table of the step may have changed."""
        tools = {tool: installed_version(tool) for tool in BUILD_TOOLS}
        payload = json.dumps({"project": self.project, "tools": tools, "vars": self.dbt_vars,
                              "environment": dict(sorted(self.environment.items()))}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class BuildRecord:
    fingerprint: str  # BuildInputs.fingerprint() of the build
    run_id: str  # the run whose dbt step built (or kept) the tables
    raw_tables: Mapping[str, str] = field(default_factory=dict)  # the raw layer it read, per table


def changed_raw_tables(record: BuildRecord | None, inputs: BuildInputs) -> set[str] | None:
    """The raw tables whose content moved since the recorded build; None when everything must be built again (no
    record, or a change of the project, the tools, the vars or the environment)."""
    if record is None or record.fingerprint != inputs.fingerprint() or not record.raw_tables:
        return None
    tables = record.raw_tables.keys() | inputs.raw_tables.keys()
    return {table for table in tables if record.raw_tables.get(table) != inputs.raw_tables.get(table)}


def raw_table_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """A hash of each raw table's state: its row count and the ingestion ledger's rows of the source that fills it
    (the whole ledger for `ingest_files`, the ledger itself); for the quarantine tables every source writes
    (`ingest_rejections`, `ingest_flags`), their own rows.

    The ledger alone would do for the loaders (each change of the data writes it); the counts also catch a raw table
    changed by hand. The quarantine tables are small, and a file loaded without a rejected or flagged line leaves
    them as they were: hashed on the whole ledger, they moved with every file, and a re-exported ledger built again
    the models and tests that read only them (the ingest_rejections mart, eight nodes at 10 M lines). Reading all of
    it costs milliseconds, even at 10 M ledger lines."""
    tables = [name for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'raw'"
        " ORDER BY table_name").fetchall()]
    counts = {table: con.execute(f'SELECT count(*) FROM raw."{table}"').fetchone()[0] for table in tables}
    ledger: dict[str | None, str] = {}
    if "ingest_files" in tables:
        ledger = dict(con.execute(
            "SELECT source, md5(string_agg(row_text, chr(10) ORDER BY row_text))"
            " FROM (SELECT source, to_json(f)::VARCHAR AS row_text FROM raw.ingest_files AS f)"
            " GROUP BY GROUPING SETS ((source), ())").fetchall())
    quarantine = table_contents(con, [("raw", table) for table in tables
                                      if ledger_source(table) is None and table != "ingest_files"])
    return {table: hashlib.sha256(json.dumps([counts[table], quarantine.get(("raw", table))
                                              or ledger.get(ledger_source(table))]).encode()).hexdigest()
            for table in tables}


def last_build(con: duckdb.DuckDBPyConnection, step: str) -> BuildRecord | None:
    if not relation_exists(con, RECORD_SCHEMA, RECORD_NAME):
        return None
    if "raw_tables" not in _record_columns(con):  # a record written before the raw layer was kept per table
        return None
    row = con.execute(f"SELECT inputs_fingerprint, run_id, raw_tables FROM {RECORD_TABLE} WHERE step = ?",
                      [step]).fetchone()
    return BuildRecord(row[0], row[1], json.loads(row[2] or "{}")) if row else None


def _record_columns(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {name for (name,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = ?"
        " AND table_name = ?", [RECORD_SCHEMA, RECORD_NAME]).fetchall()}


def forget_build(con: duckdb.DuckDBPyConnection, step: str) -> None:
    """Before a build: whatever happens to it, its tables no longer match the last record."""
    if relation_exists(con, RECORD_SCHEMA, RECORD_NAME):
        con.execute(f"DELETE FROM {RECORD_TABLE} WHERE step = ?", [step])


def record_build(con: duckdb.DuckDBPyConnection, step: str, record: BuildRecord) -> None:
    """After a complete, successful build: its tables are what `record.fingerprint`'s inputs give."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RECORD_SCHEMA}")
    con.execute(f"CREATE TABLE IF NOT EXISTS {RECORD_TABLE} (step VARCHAR PRIMARY KEY,"
                " inputs_fingerprint VARCHAR NOT NULL, run_id VARCHAR NOT NULL, recorded_at TIMESTAMP NOT NULL,"
                " raw_tables VARCHAR)")
    con.execute(f"ALTER TABLE {RECORD_TABLE} ADD COLUMN IF NOT EXISTS raw_tables VARCHAR")
    con.execute(f"INSERT OR REPLACE INTO {RECORD_TABLE} (step, inputs_fingerprint, run_id, recorded_at, raw_tables)"
                " VALUES (?, ?, ?, current_timestamp, ?)",
                [step, record.fingerprint, record.run_id, json.dumps(dict(record.raw_tables), sort_keys=True)])


def missing_relations(con: duckdb.DuckDBPyConnection, relations: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (schema, name) pairs the warehouse holds no table or view for: a record is no use if one was dropped."""
    held = set(con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()"
        " UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = current_database()"
    ).fetchall())
    return sorted(set(relations) - held)


def table_contents(con: duckdb.DuckDBPyConnection, relations: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """A hash of each table's rows, whatever their order: a build gate (orchestration/dbt_assets.py) compares it
    before and after the gate model is built. A table not in the warehouse hashes as empty."""
    relations = list(relations)
    missing = set(missing_relations(con, relations))
    contents = {}
    for schema, table in relations:
        if (schema, table) in missing:
            contents[(schema, table)] = ""
            continue
        count, total = con.execute(  # the row as a struct, under an alias no column is named
            f'SELECT count(*), sum(hash(vigie_row)::HUGEINT) FROM "{schema}"."{table}" AS vigie_row').fetchone()
        contents[(schema, table)] = f"{count}:{total}"
    return contents
