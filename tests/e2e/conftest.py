"""End-to-end runs: the real `vigie` command, the real Dagster definitions, dbt on a real DuckDB file.

Each runs in a home of its own (its own dbt target path and Dagster instance), so modules run in parallel; `make
test` sends each module whole to one xdist worker (`--dist loadfile`), so a module-scoped home is built once.
"""

from __future__ import annotations

import os

import duckdb
import pytest

from orchestration.cli import main as vigie


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def run_vigie_in_process(home, command: str, *args: str) -> int:
    """Run `vigie <command> --home <home> <args>` here, on the home's own Dagster instance; returns the exit code.

    The command points VIGIE_HOME, DAGSTER_HOME... at the home, as it should for a process; the test process
    gets its environment back afterwards so the next test does not inherit a deleted home.
    """
    saved = dict(os.environ)
    os.environ["DAGSTER_HOME"] = str(home / ".dagster")
    try:
        return vigie([command, "--home", str(home), *args])
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def run_vigie():
    return run_vigie_in_process


def query(db_path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(db_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()
