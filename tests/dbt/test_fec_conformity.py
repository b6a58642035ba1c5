"""rpt_fec_conformity: each FEC file version checked as the DGFiP's Test Compta Demat would, with the physical
line numbers that show each problem. Files go through the real loader, the report through the real dbt project."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from assets.ingest import build_loader
from assets.ingest.raw_tables import create_raw_schema
from assets.ingest.registry import ingest_source
from tests.dbt.dbt_runner import build_models, fetch_dicts

REAL_FEC = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "fec"
SIREN = "732829320"  # passes the Luhn check
HEADER = ("JournalCode|JournalLib|EcritureNum|EcritureDate|CompteNum|CompteLib|CompAuxNum|CompAuxLib|PieceRef|"
          "PieceDate|EcritureLib|Debit|Credit|EcritureLet|DateLet|ValidDate|Montantdevise|Idevise")
JOURNALS = {"AN": "A nouveaux", "VT": "Ventes", "BQ": "Banque", "OD": "Operations diverses"}


def line(journal: str, number: int, day: str, account: str, debit: str, credit: str) -> str:
    return (f"{journal}|{JOURNALS[journal]}|{number}|{day}|{account}|Compte {account}|||P{number}|{day}|"
            f"Ecriture {journal} {number}|{debit}|{credit}|||{day}||")


# year N-1: clean. Closing balances carried over: 101000 credit 1000, 512000 debit 2200, 411000 nil.
YEAR_2024 = [
    line("AN", 1, "20240101", "101000", "0,00", "1000,00"),  # line 2
    line("AN", 1, "20240101", "512000", "1000,00", "0,00"),
    line("VT", 1, "20240110", "411000", "1200,00", "0,00"),
    line("VT", 1, "20240110", "706000", "0,00", "1200,00"),
    line("BQ", 1, "20240120", "512000", "1200,00", "0,00"),
    line("BQ", 1, "20240120", "411000", "0,00", "1200,00"),  # line 7
]
# year N: each problem the issue names, on lines known by number
YEAR_2025 = [
    line("AN", 1, "20250101", "101000", "0,00", "1000,00"),  # line 2
    line("AN", 1, "20250101", "512000", "1500,00", "0,00"),  # line 3: 1 500 opened, 2 200 closed in 2024
    line("AN", 1, "20250101", "120000", "0,00", "500,00"),  # line 4: result, allocated: not compared
    line("VT", 1, "20250110", "411000", "1200,00", "0,00"),  # line 5
    line("VT", 1, "20250110", "706000", "0,00", "1200,00"),
    line("VT", 2, "20250210", "411000", "600,00", "0,00"),  # lines 7-8: entry VT 2 does not balance
    line("VT", 2, "20250210", "706000", "0,00", "500,00"),
    line("VT", 4, "20250310", "411000", "100,00", "0,00"),  # line 9: VT 3 is missing
    line("VT", 4, "20250310", "706000", "0,00", "100,00"),
    line("OD", 1, "20230615", "801000", "50,00", "0,00"),  # lines 11-12: class 8, dated outside the year
    line("OD", 1, "20230615", "802000", "0,00", "50,00"),
]


def write_fec(landing: Path, name: str, lines: list[str]) -> None:
    (landing / "accounting").mkdir(parents=True, exist_ok=True)
    (landing / "accounting" / name).write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")


def conformity(landing: Path, root: Path) -> dict[tuple[str, str], dict]:
    warehouse = root / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        create_raw_schema(con)
        ingest_source(con, landing, build_loader("accounting"), run_id="test")
    result = build_models(warehouse, root, ["rpt_fec_conformity", "ingest_files"], as_of="2026-01-31")
    assert result.success, result.exception
    with duckdb.connect(str(warehouse)) as con:
        rows = fetch_dicts(con, "SELECT * FROM marts.rpt_fec_conformity")
        summary = fetch_dicts(con, "SELECT file_path, conformity_status, conformity_errors, conformity_warnings"
                                   " FROM marts.ingest_files")
    report = {(row["file_path"].rsplit("/", 1)[-1], row["check_id"]): row for row in rows}
    # ingest_files sums the report up per file: its worst status and its counts
    for file in summary:
        statuses = [row["status"] for (name, _), row in report.items() if name == file["file_path"].rsplit("/")[-1]]
        assert (file["conformity_errors"], file["conformity_warnings"]) == (statuses.count("error"),
                                                                            statuses.count("warning"))
        worst = "error" if "error" in statuses else "warning" if "warning" in statuses else "ok"
        assert file["conformity_status"] == worst
    return report


def verdict(report: dict, file_name: str, check_id: str) -> tuple[str, int, list[int]]:
    row = report[(file_name, check_id)]
    return row["status"], row["failing_count"], json.loads(row["example_lines"])


@pytest.fixture(scope="module")
def two_years(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("conformity")
    write_fec(root / "landing", f"{SIREN}FEC20241231.txt", YEAR_2024)
    write_fec(root / "landing", f"{SIREN}FEC20251231.txt", YEAR_2025)
    return conformity(root / "landing", root)


def test_every_check_of_the_seed_is_reported_for_every_file(two_years):
    checks = {check for _, check in two_years}
    assert len(checks) == 20
    assert len(two_years) == 2 * 20


def test_a_clean_year_passes_every_check_but_the_ones_its_minimal_content_misses(two_years):
    failed = {check: row["status"] for (name, check), row in two_years.items()
              if name == f"{SIREN}FEC20241231.txt" and row["status"] != "ok"}
    assert failed == {}


@pytest.mark.parametrize(("check_id", "expected"), [
    ("entry_balanced", ("error", 2, [7, 8])),
    ("journal_month_balanced", ("error", 2, [7, 8])),
    ("file_balanced", ("error", 1, [])),
    ("entry_numbering", ("warning", 1, [9])),
    ("fiscal_year_dates", ("error", 2, [11, 12])),
    ("no_class_8_9_account", ("error", 2, [11, 12])),
    ("opening_matches_previous_closing", ("error", 1, [3])),
    ("file_name", ("ok", 0, [])),
    ("debit_or_credit", ("ok", 0, [])),
    ("no_closing_entries", ("ok", 0, [])),
])
def test_each_problem_of_year_n_is_reported_with_its_lines(two_years, check_id, expected):
    assert verdict(two_years, f"{SIREN}FEC20251231.txt", check_id) == expected


def test_quarantined_lines_count_in_the_format_checks_and_closing_entries_are_found(tmp_path):
    lines = [
        line("VT", 1, "20250110", "411000", "1200,00", "0,00"),  # line 2
        line("VT", 1, "20250110", "706000", "0,00", "1200,00"),
        line("VT", 2, "20250230", "411000", "10,00", "0,00"),  # line 4: 30 February
        line("VT", 3, "20250301", "411000", "12,345", "0,00"),  # line 5: three decimals
        line("OD", 1, "20251231", "706000", "1200,00", "0,00"),  # lines 6-7: classes 7 closed into 12
        line("OD", 1, "20251231", "120000", "0,00", "1200,00"),
    ]
    write_fec(tmp_path / "landing", "123456789FEC20251231.txt", lines)  # 123456789 fails the Luhn check
    report = conformity(tmp_path / "landing", tmp_path)
    name = "123456789FEC20251231.txt"
    assert verdict(report, name, "date_format") == ("error", 1, [4])
    assert verdict(report, name, "amount_format") == ("error", 1, [5])
    assert verdict(report, name, "no_closing_entries") == ("error", 2, [6, 7])
    assert verdict(report, name, "file_name")[:2] == ("error", 1)
    assert verdict(report, name, "opening_entries")[:2] == ("warning", 1)  # none at all


def test_the_real_exports_get_the_checker_verdicts(tmp_path):
    landing = tmp_path / "landing" / "accounting"
    landing.mkdir(parents=True)
    for real in REAL_FEC.glob("*FEC*.txt"):
        shutil.copy(real, landing / real.name)
    report = conformity(tmp_path / "landing", tmp_path)
    statuses = {key: row["status"] for key, row in report.items()}
    odoo, cash_basis = "0000000001FEC20220831.txt", "000000000FEC20231231.txt"
    # a 10-digit "SIREN" in the name; balanced; dated within its fiscal year 2021-09 to 2022-08
    assert statuses[(odoo, "file_name")] == "error"
    assert statuses[(odoo, "file_balanced")] == "ok"
    assert statuses[(odoo, "fiscal_year_dates")] == "ok"
    # a SIREN of zeros; EcritureNum 0 on almost every line, ValidDate always blank, entries from 2021 although it
    # closes 2023-12-31
    assert statuses[(cash_basis, "file_name")] == "error"
    assert statuses[(cash_basis, "entry_numbering")] == "warning"
    assert statuses[(cash_basis, "validation_date")] == "warning"
    assert statuses[(cash_basis, "fiscal_year_dates")] == "error"
    assert statuses[(cash_basis, "file_balanced")] == "ok"
    assert statuses[(cash_basis, "column_names")] == "ok"  # the 22 columns of the cash-basis layout
