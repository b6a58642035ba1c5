"""The morning after, end to end, on the real `vigie run` of a small generated firm that ran fine the day before.

Overnight the exports went bad: a truncated companies file, invoices split in two files, an absurd time entry, an
undeclared practice value, and the whole corpus of malformed inputs (tests/fixtures/malformed) dropped into the
landing folders. And the API refuses the key, quoting it back (401, "Incorrect API key provided: <key>").

The run (a subprocess, verbose) completes with exit code 2 and publishes; it names in one line each problem the
corpus sidecars expect and each of the four bad exports; the published clients, sales and hours of the firm are
the day before's; summaries fall back to the template with llm_error = refused; and the key is nowhere: not in
any file under the home (every byte: DuckDB files, Dagster's storage and event log, run logs, dbt logs, publish/,
audit/), not in any value of any table or Parquet file (DuckDB may compress what it stores), not on stdout or
stderr.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import yaml

from assets.home import VigieHome
from tests.e2e.conftest import query, run_vigie_in_process
from tests.e2e.small_home import AS_OF, VIGIE, small_home
from tests.summaries.conftest import FakeOpenAI, error_echoing_key

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "malformed"
DATA_SOURCES = ("accounting", "crm", "practice", "timetracking")
SIDECAR = ".expected.yml"


@dataclass(frozen=True)
class Run:
    code: int
    problems: list[str]  # the "vigie: ..." lines on stderr
    figures: dict[str, dict[str, tuple]]
    stdout: str = ""
    stderr: str = ""


def run_in_process(home: VigieHome) -> Run:
    code = run_vigie_in_process(home.root, "run", "--as-of", AS_OF)
    return Run(code, [], figures(home))


def run_refused_by_the_api(home: VigieHome, key: str, fake: FakeOpenAI) -> Run:
    """`vigie -v run` as a process, the key set, the API at `fake`."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIGIE_HOME", "DAGSTER_HOME")}
    env.update(OPENAI_API_KEY=key, OPENAI_BASE_URL=fake.base_url, VIGIE_OPENAI_MODEL="gpt-test")
    done = subprocess.run([VIGIE, "-v", "run", "--home", str(home.root), "--as-of", AS_OF], env=env,
                          capture_output=True, text=True, timeout=900)
    problems = [line for line in done.stderr.splitlines() if line.startswith("vigie: ")]
    return Run(done.returncode, problems, figures(home), done.stdout, done.stderr)


def figures(home: VigieHome) -> dict[str, dict[str, tuple]]:
    """What a partner reads the next morning, by key: the clients, their sales, the hours spent on each deal."""
    def by_key(sql: str) -> dict[str, tuple]:
        return {row[0]: row for row in query(home.marts_db, sql)}

    return {
        "clients": by_key("SELECT client_id, siren, name, account_type, parent_client_id, collaborator_id,"
                          " office_id FROM dim_clients"),
        "sales": by_key("SELECT * FROM fct_client_sales"),
        "hours": by_key("SELECT deal_id, actual_labour_hours, actual_labour_cost FROM fct_deals"),
    }


def spoil_the_exports(landing: Path) -> dict[str, object]:
    """Yesterday's exports as a bad morning leaves them; returns where each problem was written."""
    companies = landing / "crm" / "companies.csv"
    companies.write_text(companies.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")

    invoices = landing / "crm" / "invoices.csv"
    header, *rows = invoices.read_text(encoding="utf-8").splitlines(keepends=True)
    invoices.unlink()  # the tool now writes one file per year
    (landing / "crm" / "invoices_2024.csv").write_text(header + "".join(rows[: len(rows) // 2]), encoding="utf-8")
    (landing / "crm" / "invoices_2025.csv").write_text(header + "".join(rows[len(rows) // 2:]), encoding="utf-8")

    [clockify] = (landing / "timetracking").glob("Clockify*.csv")
    lines = clockify.read_text(encoding="utf-8-sig").splitlines()
    fields = lines[1].split(",")
    fields[13], fields[14] = "1e30", "1e30"  # Duration (h), Duration (decimal)
    clockify.write_text("\n".join([*lines, ",".join(fields)]) + "\n", encoding="utf-8")

    client_files = landing / "practice" / "client_files.csv"
    header, first, *rest = client_files.read_text(encoding="utf-8").splitlines(keepends=True)
    client_files.write_text(header + first.replace(",firm,", ",cabinet,", 1) + "".join(rest), encoding="utf-8")
    return {"clockify": clockify.relative_to(landing).as_posix(), "clockify_line": len(lines) + 1}


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> VigieHome:
    return small_home(tmp_path_factory.mktemp("morning") / "home")


@pytest.fixture(scope="module")
def day_one(home) -> Run:
    return run_in_process(home)


@dataclass(frozen=True)
class BadMorning:
    run: Run
    written: dict  # where the four bad exports put their problem
    expectations: list[dict]  # the corpus sidecars, each with the path its file was dropped at
    key: str
    requests: list[dict]  # what the API received


@pytest.fixture(scope="module")
def day_two(home, day_one) -> BadMorning:
    written = spoil_the_exports(home.landing)
    expectations = drop_the_corpus(home.landing)
    key = f"sk-vigie-canary-{uuid.uuid4().hex}"
    fake = FakeOpenAI()
    fake.default = error_echoing_key(401)
    fake.start()
    try:
        run = run_refused_by_the_api(home, key, fake)
    finally:
        fake.stop()
    return BadMorning(run, written, expectations, key, fake.requests)


def drop_the_corpus(landing: Path) -> list[dict]:
    """Every malformed data file of the corpus dropped into landing/<source>/corpus/ at once."""
    expectations = []
    for source in DATA_SOURCES:
        for sidecar in sorted((CORPUS / source).glob(f"*{SIDECAR}")):
            expected = yaml.safe_load(sidecar.read_text(encoding="utf-8"))
            target = landing / source / "corpus" / expected["file"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(CORPUS / source / expected["file"], target)
            expectations.append(expected | {"path": target.relative_to(landing).as_posix()})
    return expectations


def same_figures_for_what_was_there(yesterday: Run, today: Run) -> None:
    """Every client, sales row and deal of yesterday is published today with the same values (the corpus adds
    clients of its own)."""
    for table, rows in yesterday.figures.items():
        assert {key: today.figures[table].get(key) for key in rows} == rows, table


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


def one_line(problems: list[str], prefix: str, *words: str) -> None:
    matching = [line for line in problems if line.startswith(f"vigie: {prefix}")]
    assert len(matching) == 1 and all(word in matching[0] for word in words), (prefix, words, problems)


def test_the_morning_after_bad_exports_publishes_yesterdays_figures(home, day_one, day_two):
    today, written = day_two.run, day_two.written
    assert day_one.code in (0, 2)
    assert today.code == 2, today.stderr[-3000:]
    manifest = json.loads((home.root / "publish" / "current" / "manifest.json").read_text(encoding="utf-8"))
    runs = query(home.warehouse_db, "SELECT DISTINCT run_id FROM raw.ingest_files")
    assert manifest["run_id"] in {run_id for (run_id,) in runs}, "the bad morning's run published"
    same_figures_for_what_was_there(day_one, today)

    one_line(today.problems, "crm/companies.csv: file rejected: suspect version held back", "0 row(s)", "has 14")
    one_line(today.problems, f"{written['clockify']}, line {written['clockify_line']}: ", "1e30")
    one_line(today.problems, "practice/client_files.csv, line 2: ", "'cabinet'", "bookkeeping_by", "flagged")
    assert not [line for line in today.problems if line.startswith("vigie: crm/invoices")], \
        "identical copies of yesterday's invoices are no problem"

    # the undeclared value is kept as written, and flagged where BI tools see it
    assert query(home.marts_db, "SELECT count(*) FROM dim_clients WHERE bookkeeping_by = 'cabinet'") == [(1,)]
    assert query(home.marts_db, "SELECT file_path, line_number, column_name, rule FROM rpt_data_quality"
                                " WHERE value = 'cabinet'") == [
        ("practice/client_files.csv", 2, "bookkeeping_by", "undeclared_value")]
    assert query(home.marts_db, "SELECT file_path FROM ingest_files WHERE status = 'suspect'") == [
        ("crm/companies.csv",)]


def test_the_whole_corpus_at_once_names_each_problem(home, day_two):
    today, expectations = day_two.run, day_two.expectations
    assert len(expectations) >= 40
    for expected in expectations:
        path = expected["path"]
        for rejection in expected.get("rejections") or []:
            if rejection["line"] is None:
                one_line(today.problems, f"{path}: file rejected: ", rejection["reason_contains"])
            else:
                one_line(today.problems, f"{path}, line {rejection['line']}: ", rejection["reason_contains"])
        for flag in expected.get("flags") or []:
            flagged = [line for line in today.problems if line.startswith(f"vigie: {path}, line {flag['line']}: ")]
            assert flagged and all("flagged" in line for line in flagged), (path, flag, today.problems)
    # every line names a file of landing/, and its line when there is one; the last one sums up
    assert all(line.startswith(tuple(f"vigie: {source}/" for source in DATA_SOURCES))
               and (", line " in line or ": file rejected: " in line) for line in today.problems[:-1])
    assert query(home.marts_db, "SELECT count(*) FROM ingest_files WHERE rows_read <> rows_loaded"
                                " + rows_quarantined") == [(0,)]


def test_summaries_fall_back_to_the_template_when_the_api_refuses_the_key(home, day_two):
    assert day_two.requests, "the summaries were sent to the API"
    rows = query(home.marts_db, "SELECT generator, llm_error FROM client_summaries")
    # refused; once five clients in a row were, the circuit breaker stops sending: unavailable for the rest
    assert ("template", "refused") in rows and set(rows) <= {("template", "refused"), ("template", "unavailable")}


def test_the_key_the_api_echoed_is_nowhere(home, day_two):
    key, run = day_two.key, day_two.run
    assert key not in run.stdout and key not in run.stderr
    assert "Incorrect API key" not in run.stdout + run.stderr
    assert files_holding(home.root, key.encode()) == []
    assert files_holding(home.root, b"Incorrect API key") == []
    assert values_holding(home.root, key) == []
    # what was searched: the warehouse, Dagster's instance, logs, publish/ and audit/ all exist and hold files
    for place in (home.warehouse_db, home.root / ".dagster", home.root / "warehouse" / "logs", home.root / "publish",
                  home.root / "audit"):
        assert place.exists() and (place.is_file() or any(place.rglob("*"))), place


def test_the_search_finds_a_key_that_leaked(tmp_path):
    """The search itself: a key written into a file, a table or a Parquet file is found."""
    key = f"sk-vigie-canary-{uuid.uuid4().hex}"
    (tmp_path / "alerts.log").write_text(f"run failed: Incorrect API key provided: {key}\n", encoding="utf-8")
    with duckdb.connect(str(tmp_path / "marts.duckdb")) as con:
        # many repeated values: DuckDB compresses them, so the bytes alone might not show the key
        con.execute("CREATE TABLE client_summaries AS SELECT 'x' || range AS client_id, ? AS llm_error"
                    " FROM range(100000)", [f"AuthenticationError: {key}"])
        con.execute(f"COPY client_summaries TO '{tmp_path / 'client_summaries.parquet'}' (FORMAT parquet)")
    assert tmp_path / "alerts.log" in files_holding(tmp_path, key.encode())
    assert set(values_holding(tmp_path, key)) == {f"{tmp_path / 'marts.duckdb'}:main.client_summaries.llm_error",
                                                  f"{tmp_path / 'client_summaries.parquet'}:llm_error"}
