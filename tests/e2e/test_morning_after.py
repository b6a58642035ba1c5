"""The morning after bad exports: a truncated companies file, invoices split in two files, an absurd time entry
and an undeclared practice value. The run completes with exit code 2, publishes, names each problem in one line,
and the published clients, sales and hours are the day before's. Then the whole corpus of malformed inputs
(tests/fixtures/malformed) lands at once: each problem its sidecar expects is named in one line, and no figure
of the clients already there moves."""

from __future__ import annotations

import io
import json
import shutil
from contextlib import redirect_stderr
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from assets.home import VigieHome
from tests.e2e.conftest import query, run_vigie_in_process
from tests.e2e.small_home import AS_OF, small_home

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "malformed"
DATA_SOURCES = ("accounting", "crm", "practice", "timetracking")
SIDECAR = ".expected.yml"


@dataclass(frozen=True)
class Run:
    code: int
    problems: list[str]  # the "vigie: ..." lines on stderr
    figures: dict[str, dict[str, tuple]]


def run(home: VigieHome) -> Run:
    stderr = io.StringIO()
    with redirect_stderr(stderr):
        code = run_vigie_in_process(home.root, "run", "--as-of", AS_OF)
    problems = [line for line in stderr.getvalue().splitlines() if line.startswith("vigie: ")]
    return Run(code, problems, figures(home))


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
    return run(home)


@pytest.fixture(scope="module")
def day_two(home, day_one) -> tuple[Run, dict]:
    written = spoil_the_exports(home.landing)
    return run(home), written


@pytest.fixture(scope="module")
def day_three(home, day_two) -> tuple[Run, list[dict]]:
    """Every malformed data file of the corpus dropped into landing/<source>/corpus/ at once."""
    expectations = []
    for source in DATA_SOURCES:
        for sidecar in sorted((CORPUS / source).glob(f"*{SIDECAR}")):
            expected = yaml.safe_load(sidecar.read_text(encoding="utf-8"))
            target = home.landing / source / "corpus" / expected["file"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(CORPUS / source / expected["file"], target)
            expectations.append(expected | {"path": target.relative_to(home.landing).as_posix()})
    return run(home), expectations


def one_line(problems: list[str], prefix: str, *words: str) -> None:
    matching = [line for line in problems if line.startswith(f"vigie: {prefix}")]
    assert len(matching) == 1 and all(word in matching[0] for word in words), (prefix, words, problems)


def test_the_morning_after_bad_exports_publishes_yesterdays_figures(home, day_one, day_two):
    (today, written) = day_two
    assert day_one.code in (0, 2)
    assert today.code == 2, "\n".join(today.problems)
    manifest = json.loads((home.root / "publish" / "current" / "manifest.json").read_text(encoding="utf-8"))
    runs = query(home.warehouse_db, "SELECT DISTINCT run_id FROM raw.ingest_files")
    assert manifest["run_id"] in {run_id for (run_id,) in runs}, "the bad morning's run published"
    assert today.figures == day_one.figures

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


def test_the_whole_corpus_at_once_names_each_problem_and_moves_no_other_figure(home, day_two, day_three):
    (yesterday, _written), (today, expectations) = day_two, day_three
    assert len(expectations) >= 40
    assert today.code == 2, "\n".join(today.problems[-3:])

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
    # every line names a file of landing/, and its line when there is one
    assert all(line.startswith(tuple(f"vigie: {source}/" for source in DATA_SOURCES))
               and (", line " in line or ": file rejected: " in line) for line in today.problems[:-1])

    for table, rows in yesterday.figures.items():
        assert {key: today.figures[table].get(key) for key in rows} == rows, table
    identity = query(home.marts_db, "SELECT count(*) FROM ingest_files WHERE rows_read <> rows_loaded"
                                    " + rows_quarantined")
    assert identity == [(0,)]
