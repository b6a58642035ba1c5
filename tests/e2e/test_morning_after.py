"""The morning after bad exports: a truncated companies file, invoices split in two files, an absurd time entry
and an undeclared practice value. The run completes with exit code 2, publishes, names each problem in one line,
and the published clients, sales and hours are the day before's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import query, run_vigie_in_process
from tests.e2e.small_home import AS_OF, small_home

CLIENT_COLUMNS = "client_id, siren, name, account_type, parent_client_id, collaborator_id, office_id"


def published(home, sql: str) -> list[tuple]:
    return sorted(query(home.marts_db, sql), key=repr)


def figures(home) -> dict[str, list[tuple]]:
    """What a partner reads the next morning: the clients, their sales, the hours spent on each deal."""
    return {
        "clients": published(home, f"SELECT {CLIENT_COLUMNS} FROM dim_clients"),
        "sales": published(home, "SELECT * FROM fct_client_sales"),
        "hours": published(home, "SELECT deal_id, actual_labour_hours, actual_labour_cost FROM fct_deals"),
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
    return {"clockify": clockify.relative_to(landing).as_posix(), "clockify_line": len(lines) + 1,
            "cabinet_client": first.split(",")[0]}


@pytest.fixture(scope="module")
def mornings(tmp_path_factory):
    home = small_home(tmp_path_factory.mktemp("morning") / "home")
    first = run_vigie_in_process(home.root, "run", "--as-of", AS_OF)
    before = figures(home)
    written = spoil_the_exports(home.landing)
    return home, first, before, written


def test_the_morning_after_bad_exports_publishes_yesterdays_figures(mornings, capsys):
    home, first, before, written = mornings
    assert first in (0, 2)
    capsys.readouterr()

    code = run_vigie_in_process(home.root, "run", "--as-of", AS_OF)
    errors = capsys.readouterr().err.splitlines()

    assert code == 2, "\n".join(errors)
    manifest = json.loads((home.root / "publish" / "current" / "manifest.json").read_text(encoding="utf-8"))
    runs = query(home.warehouse_db, "SELECT DISTINCT run_id FROM raw.ingest_files ORDER BY run_id")
    assert manifest["run_id"] in {run for (run,) in runs}, "the bad morning's run published"

    after = figures(home)
    assert after["clients"] == before["clients"]
    assert after["sales"] == before["sales"]
    assert after["hours"] == before["hours"]

    def one_line(prefix: str, *words: str) -> None:
        matching = [line for line in errors if line.startswith(f"vigie: {prefix}")]
        assert len(matching) == 1 and all(word in matching[0] for word in words), (prefix, errors)

    one_line("crm/companies.csv: file rejected: suspect version held back", "0 row(s)", "has 14")
    one_line(f"{written['clockify']}, line {written['clockify_line']}: ", "1e30")
    one_line("practice/client_files.csv, line 2: ", "'cabinet'", "bookkeeping_by", "flagged")
    assert not [line for line in errors if line.startswith("vigie: crm/invoices")], "identical copies are no problem"

    # the undeclared value is kept as written, and flagged where BI tools see it
    assert query(home.marts_db, "SELECT bookkeeping_by FROM dim_clients WHERE client_id IN (SELECT client_id FROM"
                                " dim_clients WHERE bookkeeping_by = 'cabinet')") == [("cabinet",)]
    assert query(home.marts_db, "SELECT file_path, line_number, column_name, rule FROM rpt_data_quality"
                                " WHERE value = 'cabinet'") == [
        ("practice/client_files.csv", 2, "bookkeeping_by", "undeclared_value")]
    statuses = dict(query(home.marts_db, "SELECT file_path, status FROM ingest_files WHERE file_path LIKE 'crm/%'"
                                         " AND status = 'suspect'"))
    assert statuses == {"crm/companies.csv": "suspect"}
