"""The home's Dagster event log: Dagster's own SQLite storage (one database per run, plus the index), with its
connections kept open between events.

Dagster's SqliteEventLogStorage builds a new SQLAlchemy engine, and so opens a new SQLite connection, for every
event it writes. A Vigie run writes about 1 400 events (each dbt model is an asset and each dbt test a check, and
each has its planned, output and result events), some of them twice (run database and index). Profiled on the
three-file home (py-spy), writing events took 8.9 s of a 55 s run; with a pool per database file the whole run went
from 39.7 to 35.5 s. Dagster also asks, before each asset check's event, whether the index has the checks' table,
through a new engine each time (0.5 s of CPU a run): a table found stays found.

Its connections write with `synchronous=NORMAL`: in WAL mode, SQLite then syncs the log at checkpoints, not at every
commit, and a power cut can lose the last events but never corrupt the file. The warehouse is what a run's tables are;
a run that lost the events of tables it built builds them again the next morning (orchestration/dbt_assets.py:
_latest_results). Storing an event: 0.55-0.67 ms -> 0.27-0.41 ms, for about 1 500 commits a run (events and index).
Everything else (schema, sharding, WAL journal, locking, watching) is Dagster's own code.

Configured by the home's dagster.yaml (orchestration/runner.py), so the webserver and the daemon use it too.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

# The run being written and the index are the two files in use; older runs are read now and then (the UI).
OPEN_DATABASES = 4


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage with one engine (a small connection pool) per database file, the least recently used
    closed beyond OPEN_DATABASES."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._tables_found: set[str] = set()  # in the index; Dagster's migrations add tables, never drop one
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> PooledSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)  # Dagster's builds its own class, whatever cls is

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.pop(shard, None) or _synced_at_checkpoints(create_engine(
            self.conn_string_for_shard(shard), connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}))
        self._engines[shard] = engine  # most recently used last
        while len(self._engines) > OPEN_DATABASES:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:  # the same as Dagster's, but for the engine's origin
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        if table_name in self._tables_found:
            return True
        found = super().has_table(table_name)
        if found:
            self._tables_found.add(table_name)
        return found

    def _close_all(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._close_all()  # the run databases are deleted: no connection may outlive its file
        self._tables_found.clear()
        super().wipe()

    def delete_events(self, run_id: str) -> None:
        super().delete_events(run_id)
        with self._db_lock:
            if engine := self._engines.pop(run_id, None):
                engine.dispose()

    def dispose(self) -> None:
        self._close_all()
        super().dispose()


def _synced_at_checkpoints(engine: Engine) -> Engine:
    """Every connection of the engine commits without syncing the WAL file (see the module's docstring)."""
    event.listen(engine, "connect", lambda connection, _record: connection.execute("PRAGMA synchronous=NORMAL"))
    return engine
