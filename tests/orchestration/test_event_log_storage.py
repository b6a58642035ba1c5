"""The home's Dagster event log keeps a connection per database file open: Dagster's storage opened one per event.
What it writes is what Dagster's own storage reads back, in this process and in another one (the webserver)."""

from __future__ import annotations

import time

import dagster as dg
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from assets.home import VigieHome
from orchestration import event_log_storage
from orchestration.event_log_storage import OPEN_DATABASES, PooledSqliteEventLogStorage
from orchestration.runner import activate_home


def _entry(run_id: str, message: str) -> EventLogEntry:
    return EventLogEntry(error_info=None, level="INFO", user_message=message, run_id=run_id,
                         timestamp=time.time())


def _counting_engines(monkeypatch) -> list[str]:
    created: list[str] = []
    real = event_log_storage.create_engine

    def create_engine(url, **kwargs):
        created.append(str(url))
        return real(url, **kwargs)

    monkeypatch.setattr(event_log_storage, "create_engine", create_engine)
    return created


def test_a_home_instance_writes_its_events_through_the_pooled_storage(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    activate_home(VigieHome(tmp_path / "home"))
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        assert instance.event_log_storage._base_dir == str((tmp_path / "home").resolve() / ".dagster/history/runs")


def test_the_events_of_a_run_share_one_connection_pool_and_read_back_anywhere(tmp_path, monkeypatch):
    created = _counting_engines(monkeypatch)
    storage = PooledSqliteEventLogStorage(str(tmp_path))
    for n in range(20):
        storage.store_event(_entry("run-a", f"event {n}"))
    assert sum(url.endswith("run-a.db") for url in created) == 1  # Dagster's storage: 20
    assert [e.user_message for e in storage.get_logs_for_run("run-a")] == [f"event {n}" for n in range(20)]
    # another process (the webserver) reads the same file with Dagster's own storage, while the pool is open
    assert len(SqliteEventLogStorage(str(tmp_path)).get_logs_for_run("run-a")) == 20
    storage.dispose()


def test_open_databases_are_bounded_and_a_deleted_run_keeps_none(tmp_path):
    storage = PooledSqliteEventLogStorage(str(tmp_path))
    for run in range(OPEN_DATABASES + 3):
        storage.store_event(_entry(f"run-{run}", "started"))
    assert len(storage._engines) <= OPEN_DATABASES
    last = f"run-{OPEN_DATABASES + 2}"
    storage.delete_events(last)
    assert last not in storage._engines
    assert storage.get_logs_for_run(last) == []
    storage.wipe()
    assert set(storage._engines) <= {"index"}  # the run databases are gone, and so are their connections
    storage.dispose()


def test_a_table_found_in_the_index_is_not_looked_up_again_but_a_missing_one_is(tmp_path, monkeypatch):
    storage = PooledSqliteEventLogStorage(str(tmp_path))
    created = _counting_engines(monkeypatch)
    lookups: list[str] = []
    real = SqliteEventLogStorage.has_table

    def has_table(self, table_name):
        lookups.append(table_name)
        return real(self, table_name)

    monkeypatch.setattr(SqliteEventLogStorage, "has_table", has_table)
    assert all(storage.supports_asset_checks for _ in range(50))  # Dagster asks before every check event
    assert lookups == ["asset_check_executions"]
    assert not storage.has_table("no_such_table") and not storage.has_table("no_such_table")
    assert lookups.count("no_such_table") == 2  # a later migration may add it: never cached as missing
    assert created == []  # the pooled engines are not touched by the lookups
    storage.wipe()
    assert storage.supports_asset_checks and lookups.count("asset_check_executions") == 2  # wiped: asked again
    storage.dispose()


def test_events_are_committed_without_a_sync_each_and_still_read_back(tmp_path):
    storage = PooledSqliteEventLogStorage(str(tmp_path))
    storage.store_event(_entry("run-a", "started"))
    with storage.run_connection("run-a") as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL; SQLite's default: 2, FULL
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"  # where NORMAL is safe
    assert [e.user_message for e in SqliteEventLogStorage(str(tmp_path)).get_logs_for_run("run-a")] == ["started"]
    storage.dispose()
