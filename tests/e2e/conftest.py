"""End-to-end runs: the real `vigie` command, the real Dagster definitions, dbt on a real DuckDB file.

They share one xdist group: they write the dbt project's manifest, so they run one after the other.
"""

from __future__ import annotations

import duckdb
import pytest

from orchestration.cli import main as vigie


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.xdist_group("pipeline"))
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def run_vigie(monkeypatch):
    """Run `vigie <args>` in this process with the home's own Dagster instance; returns the exit code."""

    def _run(home, *args) -> int:
        monkeypatch.setenv("DAGSTER_HOME", str(home / ".dagster"))
        return vigie([args[0], "--home", str(home), *args[1:]])

    return _run


def query(db_path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()
