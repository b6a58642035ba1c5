"""The tables dbt reads (its sources), handed to either engine through one interface (issue 12).

On one machine they are the DuckDB tables the ingest assets and the Python steps write: dbt-duckdb reads them where
they are. Scaled out (docs/scale-out.md), the same tables are written as Parquet files, one folder per schema, and
registered as Spark tables under the same schema and name, so `dbt build --target spark` reads the same sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

# What dbt's sources read: the raw layer (ingestion) and what the rules engine and the summaries write.
SOURCE_SCHEMAS = ("raw", "opportunities", "summaries")


@dataclass(frozen=True)
class ParquetTable:
    schema: str
    name: str
    path: Path  # a folder holding one Parquet file: a table's location


def export_to_parquet(con: duckdb.DuckDBPyConnection, out_dir: Path,
                      schemas: tuple[str, ...] = SOURCE_SCHEMAS) -> list[ParquetTable]:
    """Each table of `schemas` as <out_dir>/<schema>/<table>/data.parquet, with its column types."""
    tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables()"
                         " WHERE database_name = current_database() AND list_contains(?, schema_name)"
                         " ORDER BY schema_name, table_name", [list(schemas)]).fetchall()
    exported = []
    for schema, name in tables:
        path = out_dir / schema / name
        path.mkdir(parents=True, exist_ok=True)
        con.execute(f'COPY (SELECT * FROM "{schema}"."{name}") TO \'{_quoted(path / "data.parquet")}\''
                    " (FORMAT parquet)")
        exported.append(ParquetTable(schema, name, path.resolve()))
    return exported


def spark_registration(tables: list[ParquetTable]) -> list[str]:
    """The Spark SQL statements that make each Parquet file the table dbt's source names (re-runnable)."""
    statements = [f"CREATE DATABASE IF NOT EXISTS {schema}" for schema in sorted({t.schema for t in tables})]
    for table in tables:
        statements += [f"DROP TABLE IF EXISTS {table.schema}.{table.name}",
                       f"CREATE TABLE {table.schema}.{table.name} USING parquet"
                       f" LOCATION '{_quoted(table.path.as_uri())}'"]
    return statements


def _quoted(text: Path | str) -> str:
    return str(text).replace("'", "''")
