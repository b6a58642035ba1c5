"""Issue 9 §5 end to end: the API key never lands anywhere. The real `vigie run` (a subprocess, verbose) on a small
generated firm, with OPENAI_API_KEY set to a canary and OPENAI_BASE_URL pointing at an OpenAI-compatible server
on 127.0.0.1 that refuses it the way OpenAI does: 401, with a message quoting the key. The canary must then be
nowhere: not in any file under the home (every byte of every file: the DuckDB files, Dagster's storage and event
log, the run logs, dbt's logs, publish/, audit/), not in any value of any table of the warehouse or the published
marts (DuckDB may compress what it stores, so the tables are read too), not in the Parquet files' values, not on
the command's stdout or stderr."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import duckdb
import pytest

from tests.e2e.small_home import AS_OF, VIGIE, small_home
from tests.summaries.conftest import FakeOpenAI, error_echoing_key

pytestmark = pytest.mark.xdist_group("e2e-test_summary_secrets")


def files_holding(root: Path, needle: bytes) -> list[Path]:
    """Every file under `root` whose bytes contain `needle` (symbolic links to directories are not followed)."""
    found = []
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            if path.is_file() and needle in path.read_bytes():
                found.append(path)
    return found


def values_holding(root: Path, needle: str) -> list[str]:
    """Every table column, in every DuckDB database and Parquet file under `root`, with a value holding `needle`."""
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".parquet":
            with duckdb.connect() as con:
                relation = f"read_parquet('{path}')"
                columns = [c for c, in con.execute(f"SELECT column_name FROM (DESCRIBE SELECT * FROM {relation})")
                           .fetchall()]
                found += [f"{path}:{c}" for c in columns if con.execute(
                    f'SELECT count(*) FROM {relation} WHERE contains(CAST("{c}" AS VARCHAR), ?)', [needle]
                ).fetchone()[0]]
        elif path.suffix == ".duckdb":
            with duckdb.connect(str(path), read_only=True) as con:
                columns = con.execute(
                    "SELECT schema_name, table_name, column_name FROM duckdb_columns()"
                    " WHERE database_name = current_database() AND NOT internal").fetchall()
                found += [f"{path}:{s}.{t}.{c}" for s, t, c in columns if con.execute(
                    f'SELECT count(*) FROM "{s}"."{t}" WHERE contains(CAST("{c}" AS VARCHAR), ?)', [needle]
                ).fetchone()[0]]
    return found


@pytest.fixture(scope="module")
def refused_run(tmp_path_factory):
    """A home whose run was refused by the API, with the canary key; the command's outputs."""
    canary = f"sk-vigie-canary-{uuid.uuid4().hex}"
    home = small_home(tmp_path_factory.mktemp("secrets") / "home")
    fake = FakeOpenAI()
    fake.default = error_echoing_key(401)
    fake.start()
    env = {k: v for k, v in os.environ.items() if k not in ("VIGIE_HOME", "DAGSTER_HOME")}
    env.update(OPENAI_API_KEY=canary, OPENAI_BASE_URL=fake.base_url, VIGIE_OPENAI_MODEL="gpt-test")
    try:
        done = subprocess.run([VIGIE, "-v", "run", "--home", str(home.root), "--as-of", AS_OF], env=env,
                              capture_output=True, text=True, timeout=600)
    finally:
        fake.stop()
    return home, canary, done, fake.requests


def test_the_run_used_the_key_and_fell_back_to_the_template(refused_run):
    home, canary, done, requests = refused_run
    assert done.returncode in (0, 2), done.stderr[-3000:]  # 2: an input was flagged, the run completed
    assert requests, "the summaries were sent to the fake server"
    rows = duckdb.connect(str(home.marts_db), read_only=True).execute(
        "SELECT generator, llm_error FROM client_summaries").fetchall()
    assert rows and set(rows) == {("template", "refused")}


def test_the_canary_key_is_nowhere(refused_run):
    home, canary, done, _ = refused_run
    assert canary not in done.stdout and canary not in done.stderr
    assert "Incorrect API key" not in done.stdout + done.stderr
    assert files_holding(home.root, canary.encode()) == []
    assert files_holding(home.root, b"Incorrect API key") == []
    assert values_holding(home.root, canary) == []
    # what was searched: the warehouse, Dagster's instance, logs, publish/ and audit/ all exist and hold files
    for place in (home.warehouse_db, home.root / ".dagster", home.root / "warehouse" / "logs", home.root / "publish",
                  home.root / "audit"):
        assert place.exists() and (place.is_file() or any(place.rglob("*"))), place


def test_the_search_finds_a_key_that_leaked(refused_run, tmp_path):
    """The search itself: a key written into a file or a table of a copy of the home is found."""
    home, canary, _, _ = refused_run
    leak = tmp_path / "leak"
    leak.mkdir()
    (leak / "alerts.log").write_text(f"run failed: Incorrect API key provided: {canary}\n", encoding="utf-8")
    with duckdb.connect(str(leak / "marts.duckdb")) as con:
        # many repeated values: DuckDB compresses them, so the bytes alone might not show the key
        con.execute("CREATE TABLE client_summaries AS SELECT 'x' || range AS client_id, ? AS llm_error"
                    " FROM range(100000)", [f"AuthenticationError: {canary}"])
        con.execute(f"COPY client_summaries TO '{leak / 'client_summaries.parquet'}' (FORMAT parquet)")
    assert leak / "alerts.log" in files_holding(leak, canary.encode())
    assert set(values_holding(leak, canary)) == {f"{leak / 'marts.duckdb'}:main.client_summaries.llm_error",
                                                 f"{leak / 'client_summaries.parquet'}:llm_error"}
