"""Which FEC version is current: the one exported last, for the same client and fiscal year, whatever its name.

A monthly re-export replaces the previous one when both name the same SIREN and closing date, or when those are
derived alike from the content, the folder and the name (issue 9 §2).
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest

from assets.ingest.fec import FecLoader
from assets.ingest.fec_layout import pseudo_client_id
from assets.ingest.registry import file_sha256, ingest_source
from tests.ingest.test_fec_reader import FIELDS_18, FIELDS_BNC, entry, fec_text, sale

NOV_1 = 1_698_796_800  # 2023-11-01 00:00 UTC, as a file modification time
DEC_1 = 1_701_388_800  # 2023-12-01


def put(landing: Path, relative: str, text: str, modified: float | None = None) -> Path:
    path = landing / "accounting" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if modified is not None:
        os.utime(path, (modified, modified))
    return path


def ingest(con, landing: Path, run_id: str):
    return ingest_source(con, landing, FecLoader(scratch_dir=landing.parent / "scratch"), run_id)


def ledger(con) -> list[tuple]:
    return con.execute("SELECT _source_file, siren, closing_date, count(*) FROM raw.fec_lines GROUP BY ALL"
                       " ORDER BY ALL").fetchall()


def loaded_warnings(con) -> list[str]:
    (warnings,) = con.execute("SELECT warnings FROM raw.ingest_files WHERE status = 'loaded'").fetchone()
    return json.loads(warnings)


def files(con) -> list[tuple]:
    return con.execute("SELECT file_path, status, client_id, supersede_key, superseded_by FROM raw.ingest_files"
                       " ORDER BY loaded_at, file_path").fetchall()


# The first export of 2023 has a wrong sale (3 entries, 6 lines); the correction removes it (2 entries, 4 lines).
WRONG = fec_text([*sale(1, "10,00", "20230115"), *sale(2, "999,00", "20231031"), *sale(3, "20,00", "20231031")])
CORRECTED = fec_text([*sale(1, "10,00", "20230115"), *sale(3, "20,00", "20231031")])


# --- version order: modification time, then load order, never row count -------------------------------------

@pytest.mark.parametrize("second_name", ["123456789FEC20231231_corrige.txt", "123456789FEC20231231.txt"])
def test_corrected_export_with_fewer_lines_supersedes_the_older(tmp_path, con, second_name):
    landing = tmp_path / "landing"
    put(landing, "123456789FEC20231231.txt", WRONG, NOV_1)
    ingest(con, landing, "run-1")
    put(landing, second_name, CORRECTED, DEC_1)  # a new name, or the same file overwritten
    ingest(con, landing, "run-2")
    statuses = con.execute("SELECT status, rows_read FROM raw.ingest_files ORDER BY loaded_at").fetchall()
    assert statuses == [("superseded", 6), ("loaded", 4)]
    assert ledger(con) == [(f"accounting/{second_name}", "123456789", date(2023, 12, 31), 4)]
    assert con.execute("SELECT sum(credit) FROM raw.fec_lines").fetchone()[0] == 30


@pytest.mark.parametrize("same_run", [False, True])
def test_older_export_arriving_later_does_not_replace_the_newer(tmp_path, con, same_run):
    landing = tmp_path / "landing"
    newer = "123456789FEC20231231.txt"
    older = "123456789FEC20231231_sauvegarde.txt"  # sorts after: loaded last, as a `cp -p` of an old backup
    put(landing, newer, CORRECTED, DEC_1)
    if not same_run:
        ingest(con, landing, "run-1")
    put(landing, older, WRONG, NOV_1)
    ingest(con, landing, "run-2")
    # (in one run, the older export is read first: see FecLoader.plan_batches)
    assert {f[0]: f[1] for f in files(con)} == {f"accounting/{newer}": "loaded",
                                                f"accounting/{older}": "superseded"}
    assert ledger(con) == [(f"accounting/{newer}", "123456789", date(2023, 12, 31), 4)]


def test_versions_modified_at_the_same_time_rank_by_load_order(tmp_path, con):
    landing = tmp_path / "landing"
    put(landing, "123456789FEC20231231_a.txt", WRONG, DEC_1)
    ingest(con, landing, "run-1")
    put(landing, "123456789FEC20231231_b.txt", CORRECTED, DEC_1)
    ingest(con, landing, "run-2")
    assert ledger(con) == [("accounting/123456789FEC20231231_b.txt", "123456789", date(2023, 12, 31), 4)]
    details = con.execute("SELECT details::JSON->>'modified_at' FROM raw.ingest_files").fetchall()
    assert details == [("2023-12-01T00:00:00+00:00",), ("2023-12-01T00:00:00+00:00",)]


# --- names without SIREN or closing date ------------------------------------------------------------------

def opening(day: str = "20250101") -> list[dict[str, str]]:
    common = {"JournalCode": "AN", "JournalLib": "A nouveaux", "EcritureNum": "0", "EcritureDate": day,
              "PieceDate": day, "EcritureLib": "A nouveaux"}
    return [entry(**common, CompteNum="512000", Debit="1000,00", Credit="0,00"),
            entry(**common, CompteNum="101000", Debit="0,00", Credit="1000,00")]


JANUARY = [*opening(), *sale(1, "100,00", "20250115")]
FEBRUARY = [*sale(2, "200,00", "20250210")]


def test_monthly_re_exports_named_without_siren_or_date_are_one_client_and_supersede(tmp_path, con):
    landing = tmp_path / "landing"
    put(landing, "grand-livre_2025-01.txt", fec_text(JANUARY), NOV_1)
    ingest(con, landing, "run-1")
    put(landing, "grand-livre_2025-02.txt", fec_text(JANUARY + FEBRUARY), DEC_1)
    ingest(con, landing, "run-2")
    pseudo = pseudo_client_id("accounting/grand-livre_2025-01.txt")
    assert pseudo == pseudo_client_id("accounting/grand-livre_2025-02.txt")
    assert files(con) == [
        ("accounting/grand-livre_2025-01.txt", "superseded", pseudo, f"{pseudo}:2025-12-31",
         "accounting/grand-livre_2025-02.txt"),
        ("accounting/grand-livre_2025-02.txt", "loaded", pseudo, f"{pseudo}:2025-12-31", None)]
    assert ledger(con) == [("accounting/grand-livre_2025-02.txt", pseudo, date(2025, 12, 31), 6)]
    january_sales = con.execute("SELECT sum(credit) FROM raw.fec_lines WHERE compte_num = '706000'"
                                      " AND month(ecriture_date) = 1").fetchone()[0]
    assert january_sales == 100  # counted once
    warnings = loaded_warnings(con)
    assert warnings[:2] == [
        f"the file name, its content and its folder give no SIREN; used the pseudo identifier {pseudo}, the same "
        "for every file of this folder named alike apart from dates",
        "the file name has no closing date; the entries open a fiscal year on 2025-01-01 (opening entries dated "
        "2025-01-01), so used 2025-12-31, 12 months later"]


@pytest.mark.parametrize(("first", "second", "same"), [
    ("accounting/grand-livre_2025-01.txt", "accounting/Grand livre 2025 02.txt", True),
    ("accounting/export janvier 2025.txt", "accounting/export février 2025.txt", True),
    ("accounting/GL_202501.txt", "accounting/GL_202502.txt", True),
    ("accounting/export 31.01.2025.txt", "accounting/export 28.02.2025.txt", True),
    ("accounting/export_01-2025.txt", "accounting/export_2-2025.txt", True),
    ("accounting/export_20250131.txt", "accounting/export_20250228.txt", True),
    ("accounting/grand-livre_2025-01.txt", "accounting/balance_2025-01.txt", False),
    ("accounting/dossier 12.txt", "accounting/dossier 47.txt", False),
    ("accounting/dossier 12 2025.txt", "accounting/dossier 47 2025.txt", False),
    ("accounting/CLI0042_2025-01.txt", "accounting/CLI0043_2025-02.txt", False),
    ("accounting/dupont/grand-livre_2025-01.txt", "accounting/martin/grand-livre_2025-01.txt", False),
])
def test_pseudo_identifier_ignores_dates_and_months_but_not_words_codes_or_folders(first, second, same):
    assert (pseudo_client_id(first) == pseudo_client_id(second)) is same
    assert pseudo_client_id(first).startswith("UNKNOWN-")


def test_siren_from_the_folder_name(tmp_path, con):
    landing = tmp_path / "landing"
    put(landing, "552100554 - Dupont SARL/grand-livre_2025-01.txt", fec_text(JANUARY), NOV_1)
    put(landing, "552100554 - Dupont SARL/grand-livre_2025-02.txt", fec_text(JANUARY + FEBRUARY), DEC_1)
    ingest(con, landing, "run-1")
    assert [f[1:4] for f in files(con)] == [("superseded", "552100554", "552100554:2025-12-31"),
                                                  ("loaded", "552100554", "552100554:2025-12-31")]
    warnings = loaded_warnings(con)
    assert "the file name has no SIREN; used 552100554 from its folder '552100554 - Dupont SARL'" in warnings


@pytest.mark.parametrize(("column", "value"), [("Siren", "552 100 554"), ("SIRET", "55210055400013"),
                                               ("NumSiren", '"552100554"')])
def test_siren_from_a_siren_column_comes_before_the_folder(tmp_path, con, column, value):
    landing = tmp_path / "landing"
    header = [*FIELDS_18, column]
    rows = [row | {column: value} for row in JANUARY]
    put(landing, "732829320/ledger.txt", fec_text(rows, header=header))
    ingest(con, landing, "run-1")
    assert ledger(con) == [("accounting/732829320/ledger.txt", "552100554", date(2025, 12, 31), 4)]
    client, warnings = con.execute("SELECT client_id, warnings FROM raw.ingest_files").fetchone()
    warnings = json.loads(warnings)
    assert client == "552100554"
    assert f"the file name has no SIREN; used 552100554 from its column {column}" in warnings


def test_a_siren_column_with_several_values_is_not_used(tmp_path, con):
    landing = tmp_path / "landing"
    header = [*FIELDS_18, "Siren"]
    rows = [row | {"Siren": siren} for row, siren in zip(JANUARY, ["552100554", "732829320"] * 2, strict=True)]
    put(landing, "552100554/ledger.txt", fec_text(rows, header=header))
    ingest(con, landing, "run-1")
    client, warnings = con.execute("SELECT client_id, warnings FROM raw.ingest_files").fetchone()
    warnings = json.loads(warnings)
    assert client == "552100554"  # from the folder
    assert "the column Siren does not hold one SIREN (552100554, 732829320 ...); not used" in warnings


def test_siren_from_an_idclient_shared_by_every_line(tmp_path, con):
    landing = tmp_path / "landing"
    rows = [row | {"IdClient": "552100554"} for row in JANUARY]
    put(landing, "ledger.txt", fec_text(rows, header=FIELDS_BNC))
    mixed = [row | {"IdClient": client} for row, client in zip(JANUARY, ["552100554", ""] * 2, strict=True)]
    put(landing, "other/ledger.txt", fec_text(mixed, header=FIELDS_BNC))
    ingest(con, landing, "run-1")
    clients = con.execute("SELECT file_path, client_id FROM raw.ingest_files ORDER BY file_path").fetchall()
    assert clients == [("accounting/ledger.txt", "552100554"),
                       ("accounting/other/ledger.txt", pseudo_client_id("accounting/other/ledger.txt"))]


def test_a_siren_in_the_name_is_kept_whatever_the_content_or_folder(tmp_path, con):
    landing = tmp_path / "landing"
    rows = [row | {"Siren": "552100554"} for row in JANUARY]
    put(landing, "732829320/123456789FEC20251231.txt", fec_text(rows, header=[*FIELDS_18, "Siren"]))
    ingest(con, landing, "run-1")
    assert ledger(con) == [("accounting/732829320/123456789FEC20251231.txt", "123456789",
                                  date(2025, 12, 31), 4)]


@pytest.mark.parametrize(("rows", "start", "closing", "why"), [
    ([*opening("20240701"), *sale(1, "1,00", "20240915")], "2024-07-01", date(2025, 6, 30),
     "opening entries dated 2024-07-01"),
    ([*opening("20231231"), *sale(1, "1,00", "20240115")], "2024-01-01", date(2024, 12, 31),
     "opening entries dated 2023-12-31"),
    ([*sale(1, "1,00", "20240901"), *sale(2, "1,00", "20241015")], "2024-09-01", date(2025, 8, 31),
     "first entry on 2024-09-01"),
])
def test_closing_date_is_twelve_months_after_the_fiscal_year_the_file_opens(tmp_path, con, rows, start,
                                                                              closing, why):
    landing = tmp_path / "landing"
    put(landing, "552100554/grand-livre.txt", fec_text(rows))
    ingest(con, landing, "run-1")
    key, warnings = con.execute("SELECT supersede_key, warnings FROM raw.ingest_files").fetchone()
    warnings = json.loads(warnings)
    assert key == f"552100554:{closing.isoformat()}"
    assert (f"the file name has no closing date; the entries open a fiscal year on {start} ({why}), "
            f"so used {closing.isoformat()}, 12 months later") in warnings
    assert {c for (_, _, c, _) in ledger(con)} == {closing}


def test_a_file_that_opens_no_fiscal_year_counts_it_from_its_first_month(tmp_path, con):
    landing = tmp_path / "landing"
    put(landing, "552100554/extrait.txt", fec_text([*sale(1, "1,00", "20240915"), *sale(2, "1,00", "20241015")]))
    ingest(con, landing, "run-1")
    key, warnings = con.execute("SELECT supersede_key, warnings FROM raw.ingest_files").fetchone()
    warnings = json.loads(warnings)
    assert key == "552100554:2025-08-31"
    assert ("the file name has no closing date; the entries open a fiscal year on 2024-09-01 (first entry in "
            "2024-09, no opening entries), so used 2025-08-31, 12 months later") in warnings


def test_monthly_re_exports_without_opening_entries_replace_each_other(tmp_path, con):
    landing = tmp_path / "landing"
    january = [*sale(1, "100,00", "20250102"), *sale(2, "100,00", "20250131")]
    put(landing, "123456789_export.txt", fec_text(january))
    ingest(con, landing, "run-1")
    put(landing, "123456789_export.txt", fec_text([*january, *sale(3, "100,00", "20250228")]))
    ingest(con, landing, "run-2")
    assert con.execute("SELECT list(status ORDER BY loaded_at) FROM raw.ingest_files").fetchone()[0] == [
        "superseded", "loaded"]
    assert con.execute("SELECT sum(debit) FROM raw.fec_lines").fetchone()[0] == 300


def test_loader_report_carries_the_derived_identity(tmp_path, con):
    path = put(tmp_path / "landing", "grand-livre_2025-02.txt", fec_text(JANUARY + FEBRUARY))
    report = FecLoader(scratch_dir=tmp_path / "scratch").load(con, path, "accounting/grand-livre_2025-02.txt",
                                                              file_sha256(path))
    pseudo = pseudo_client_id("accounting/grand-livre_2025-02.txt")
    assert (report.client_id, report.supersede_key) == (pseudo, f"{pseudo}:2025-12-31")
    assert (report.details["siren_from"], report.details["closing_date"]) == ("pseudo identifier",
                                                                              date(2025, 12, 31))
