"""Column-level lineage of the dbt models: for each column a model builds, the columns of the tables it is computed
from, read from the model's compiled SQL.

The SQL is read with sqlglot, the parser dagster-dbt itself uses for column lineage. sqlglot is given the
warehouse's schemas (every table and view with its columns), so it can expand `select *` through the CTEs dbt
models are written with. A parser without the schemas, such as openlineage-sql, traces none of Vigie's models
through their `select * from final`.

The result only changes with the SQL and the schemas it reads. A cache under the home keeps each model's result by
a hash of both, so an unchanged model costs a hash, not a parse (about 1 s for all the models).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path

from sqlglot import MappingSchema, exp, parse_one
from sqlglot.errors import SqlglotError
from sqlglot.lineage import lineage
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import build_scope

from assets.atomic_files import write_text_atomically

log = logging.getLogger("vigie.lineage")

Relation = tuple[str, str, str]  # (database, schema, table)
Schemas = Mapping[Relation, Mapping[str, str]]  # relation -> column -> type, in the warehouse's column order
ColumnSources = dict[str, list[tuple[str, str, str]]]  # column -> [(schema, table, column)] it is computed from

DIALECT = "duckdb"
# The reference date is spliced into the SQL as a literal (macros/as_of_date.sql): it changes every day and never
# changes which column a column comes from, so the cache key leaves it out.
_DATE_LITERAL = re.compile(r"date '\d{4}-\d{2}-\d{2}'")


def column_sources(compiled_sql: str, schemas: Schemas) -> ColumnSources:
    """Each column the query selects, with the (schema, table, column) it is computed from, sorted. A column made of
    literals only has none. Raises SqlglotError when sqlglot cannot read the query."""
    schema = _mapping_schema(_tables_read(compiled_sql, schemas))  # all of them: 0.5 s a run for nothing
    # Qualified once (stars expanded, every column tied to its table), then every column walked over the same scope
    # and the same tree: per column, lineage() would qualify and copy the whole query again (6 s for the models, not
    # 1 s). Only the leaves are read, so the selects need no trimming (trimming copies each one).
    qualified = qualify(parse_one(compiled_sql, dialect=DIALECT), schema=schema, dialect=DIALECT,
                        validate_qualify_columns=False, identify=False)
    roots = lineage(None, qualified, schema=schema, dialect=DIALECT, scope=build_scope(qualified), copy=False,
                    trim_selects=False)
    sources: ColumnSources = {}
    for column, root in roots.items():
        found = set()
        for node in root.walk():
            table = None if node.downstream else node.expression.find(exp.Table)
            if table is not None:
                found.add((table.db, table.name, exp.to_column(node.name).name))
        sources[column] = sorted(found)
    return sources


def _tables_read(compiled_sql: str, schemas: Schemas) -> Schemas:
    """The relations the query may read: those whose table name it mentions."""
    return {relation: columns for relation, columns in schemas.items() if relation[2] in compiled_sql}


def _mapping_schema(schemas: Schemas) -> MappingSchema:
    schema = MappingSchema(dialect=DIALECT)
    for (database, schema_name, table), columns in schemas.items():
        schema.add_table(exp.table_(table, db=schema_name, catalog=database, quoted=True), dict(columns),
                         dialect=DIALECT)
    return schema


def warehouse_schemas(con) -> dict[Relation, dict[str, str]]:
    """Every table and view of the warehouse with its columns and types, in column order."""
    rows = con.execute("SELECT database_name, schema_name, table_name, column_name, data_type FROM duckdb_columns()"
                       " WHERE NOT internal ORDER BY database_name, schema_name, table_name, column_index").fetchall()
    schemas: dict[Relation, dict[str, str]] = {}
    for database, schema_name, table, column, kind in rows:
        schemas.setdefault((database, schema_name, table), {})[column] = kind
    return schemas


class ColumnLineageCache:
    """Each model's column sources, by a hash of its compiled SQL and the schemas of the tables it reads. Written
    whole to a temporary file then renamed, so a run killed while writing leaves the previous cache."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self._entries: dict[str, dict] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # none yet, or unreadable: every model is parsed again
            self._entries = {}

    def sources(self, model: str, compiled_sql: str, schemas: Schemas) -> ColumnSources | None:
        """The model's column sources, from the cache or parsed now; None when sqlglot cannot read its SQL."""
        key = _cache_key(compiled_sql, schemas)
        entry = self._entries.get(model)
        if entry and entry.get("key") == key:
            return {column: [tuple(source) for source in found] for column, found in entry["columns"].items()}
        try:
            found = column_sources(compiled_sql, schemas)
        except (SqlglotError, ValueError, KeyError) as error:  # the optimizer raises the last two on odd SQL
            log.warning("column lineage of %s not read: %s", model, str(error).splitlines()[0][:200])
            return None
        self._entries[model] = {"key": key, "columns": found}
        return found

    def save(self) -> None:
        write_text_atomically(self.path, json.dumps(self._entries, sort_keys=True))


def _cache_key(compiled_sql: str, schemas: Schemas) -> str:
    digest = hashlib.sha256(_DATE_LITERAL.sub("date ''", compiled_sql).encode())
    read = _tables_read(compiled_sql, schemas)
    for relation in sorted(read):
        digest.update(json.dumps([relation, list(read[relation].items())]).encode())
    return digest.hexdigest()
