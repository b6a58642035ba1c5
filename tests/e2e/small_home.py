"""A small generated firm (3 clients) and the real `vigie run` in a subprocess, for the tests of running
unattended (launchers, concurrent runs, kill -9)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from assets.generate import generate_landing
from assets.home import VigieHome
from assets.settings import DEFAULT_SETTINGS_TEXT

AS_OF = "2026-10-31"
VIGIE = str(Path(sys.executable).with_name("vigie"))
# Columns that name the run or the moment it ran: they differ between any two runs by design.
RUN_SPECIFIC = {"run_id", "loaded_at", "generated_at"}


def small_home(root: Path, **settings: object) -> VigieHome:
    home = VigieHome(root)
    generate_landing(root, clients=3)
    text = DEFAULT_SETTINGS_TEXT
    for key, value in settings.items():
        text = "\n".join(f"{key}: {value}" if line.startswith(f"{key}:") else line for line in text.splitlines())
    home.config.mkdir(parents=True, exist_ok=True)
    home.settings_file.write_text(text + "\n", encoding="utf-8")
    return home


def start_vigie_run(home: VigieHome, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("VIGIE_HOME", "DAGSTER_HOME", "OPENAI_API_KEY")}
    return subprocess.Popen([VIGIE, "run", "--home", str(home.root), "--as-of", AS_OF, *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def published_tables(home: VigieHome) -> dict[str, list[tuple]]:
    """Every published table, sorted, without the columns that name the run."""
    tables = {}
    with duckdb.connect(str(home.marts_db), read_only=True) as con:
        for (table,) in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY table_name").fetchall():
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index",
                [table]).fetchall() if c not in RUN_SPECIFIC]
            select = ", ".join(f'"{c}"' for c in columns)
            tables[table] = sorted(con.execute(f'SELECT {select} FROM "{table}"').fetchall(), key=repr)
    return tables


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
