"""Versions of CRM, practice and time-tracking files cannot lose data: files that split one object all count,
a file is replaced only by a newer export of itself, and a version that loses most of the rows of the one in
force is held back as suspect. Files that cannot be read are rejected, never fatal."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from assets.ingest.crm import CrmLoader
from assets.ingest.practice import PracticeLoader
from assets.ingest.registry import current_problems, ingest_source
from assets.ingest.tabular import file_identity

COMPANIES_HEADER = "id,name,siren,type,parent_id,created,owner_id,naf\n"
INVOICES_HEADER = "id,company_id,deal_id,number,date,due_date,status,total_excl_tax,total_incl_tax,paid_date\n"


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    for source in ("crm", "practice"):
        (tmp_path / source).mkdir()
    return tmp_path


def companies(count: int) -> str:
    return COMPANIES_HEADER + "".join(f"c{i},Company {i},,client,,2024-01-01,u1,\n" for i in range(count))


def write(landing: Path, name: str, text: str) -> Path:
    path = landing / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def statuses(con) -> dict[str, str]:
    return dict(con.execute("SELECT file_path, status FROM raw.ingest_files ORDER BY loaded_at").fetchall())


def company_count(con) -> int:
    return con.execute("SELECT count(*) FROM raw.crm_companies").fetchone()[0]


@pytest.mark.parametrize("path, identity, export_date", [
    ("sellsy_companies_2026-10-31.csv", "sellsy_companies_", "20261031000000"),
    ("Sellsy_Companies_20261031.jsonl", "sellsy_companies_", "20261031000000"),
    ("export-2026-10-31/companies.csv", "export-/companies", "20261031000000"),
    ("export_20261031_1430/companies.csv", "export_/companies", "20261031143000"),
    ("invoices_2024.csv", "invoices_2024", ""),
    ("invoices_2025-01-01_2025-01-31.csv", "invoices_2025-01-01_2025-01-31", ""),
    ("invoices_20250131-20250228.csv", "invoices_20250131-20250228", ""),
    ("companies.csv", "companies", ""),
])
def test_a_file_identity_drops_export_dates_and_keeps_periods(path, identity, export_date):
    assert file_identity(path) == (identity, export_date)


def test_invoices_split_by_year_are_all_loaded(con, landing):
    write(landing, "crm/invoices_2024.csv", INVOICES_HEADER + "i1,c1,,F1,2024-03-01,,paid,100,120,\n")
    write(landing, "crm/invoices_2025.csv", INVOICES_HEADER + "i2,c1,,F2,2025-03-01,,paid,200,240,\n")
    summary = ingest_source(con, landing, CrmLoader(), "run-1")
    assert summary.files_superseded == 0
    assert set(statuses(con).values()) == {"loaded"}
    assert con.execute("SELECT list(id ORDER BY id) FROM raw.crm_invoices").fetchone()[0] == ["i1", "i2"]


def test_a_dated_export_replaces_the_earlier_export_of_the_same_file_only(con, landing):
    write(landing, "crm/invoices_2024.csv", INVOICES_HEADER + "i1,c1,,F1,2024-03-01,,paid,100,120,\n")
    write(landing, "crm/companies_2026-09-30.csv", companies(10))
    ingest_source(con, landing, CrmLoader(), "run-1")
    write(landing, "crm/companies_2026-10-31.csv", companies(11))
    ingest_source(con, landing, CrmLoader(), "run-2")
    assert statuses(con) == {"crm/invoices_2024.csv": "loaded", "crm/companies_2026-09-30.csv": "superseded",
                             "crm/companies_2026-10-31.csv": "loaded"}
    assert company_count(con) == 11


def test_a_truncated_export_is_held_back_and_the_version_in_force_stays(con, landing):
    write(landing, "crm/companies.csv", companies(500))
    ingest_source(con, landing, CrmLoader(), "run-1")
    write(landing, "crm/companies.csv", COMPANIES_HEADER)  # header only: the export was cut
    summary = ingest_source(con, landing, CrmLoader(), "run-2")

    assert company_count(con) == 500
    assert summary.files_suspect == 1 and summary.files_superseded == 0
    rows = con.execute("SELECT status, rows_loaded FROM raw.ingest_files ORDER BY loaded_at").fetchall()
    assert rows == [("loaded", 500), ("suspect", 0)]
    [problem] = current_problems(con, landing)
    assert problem.startswith("crm/companies.csv: file rejected: suspect version held back: 0 row(s) where the "
                              "version in force (crm/companies.csv) has 500")


def test_a_version_losing_most_rows_is_suspect_but_a_modest_shrink_is_not(con, landing):
    write(landing, "practice/documents_2026-09-30.csv", "id,company_id,received_at\n"
          + "".join(f"d{i},c1,2026-09-01\n" for i in range(100)))
    ingest_source(con, landing, PracticeLoader(), "run-1")
    write(landing, "practice/documents_2026-10-31.csv", "id,company_id,received_at\n"
          + "".join(f"d{i},c1,2026-09-01\n" for i in range(30)))
    ingest_source(con, landing, PracticeLoader(), "run-2")
    assert statuses(con)["practice/documents_2026-10-31.csv"] == "suspect"
    assert con.execute("SELECT count(*) FROM raw.practice_documents").fetchone()[0] == 100

    write(landing, "practice/documents_2026-11-30.csv", "id,company_id,received_at\n"
          + "".join(f"d{i},c1,2026-09-01\n" for i in range(80)))
    ingest_source(con, landing, PracticeLoader(), "run-3")
    assert statuses(con) == {"practice/documents_2026-09-30.csv": "superseded",
                             "practice/documents_2026-10-31.csv": "superseded",
                             "practice/documents_2026-11-30.csv": "loaded"}
    assert con.execute("SELECT count(*) FROM raw.practice_documents").fetchone()[0] == 80
    assert current_problems(con, landing) == []


def test_a_suspect_version_is_weighed_again_with_the_tolerance_of_the_day(con, landing):
    write(landing, "crm/companies.csv", companies(10))
    ingest_source(con, landing, CrmLoader(), "run-1")
    write(landing, "crm/companies.csv", companies(2))
    ingest_source(con, landing, CrmLoader(), "run-2")
    assert company_count(con) == 10
    ingest_source(con, landing, CrmLoader(), "run-3", shrink_tolerance=0.9)  # the firm confirms the shrink
    assert company_count(con) == 2
    assert con.execute("SELECT list(status ORDER BY loaded_at) FROM raw.ingest_files").fetchone()[0] == [
        "superseded", "loaded"]
    assert current_problems(con, landing) == []


def test_an_older_export_arriving_late_does_not_count_as_a_shrink(con, landing):
    write(landing, "crm/companies_2026-10-31.csv", companies(10))
    ingest_source(con, landing, CrmLoader(), "run-1")
    write(landing, "crm/companies_2026-01-31.csv", companies(1))
    ingest_source(con, landing, CrmLoader(), "run-2")
    assert statuses(con) == {"crm/companies_2026-10-31.csv": "loaded", "crm/companies_2026-01-31.csv": "superseded"}
    assert company_count(con) == 10


def test_an_unreadable_file_is_rejected_and_the_others_load(con, landing, monkeypatch):
    write(landing, "crm/companies.csv", companies(3))
    write(landing, "crm/invoices.csv", INVOICES_HEADER + "i1,c1,,F1,2024-03-01,,paid,100,120,\n")
    original = Path.open

    def denied(path: Path, *args, **kwargs):
        if path.name == "companies.csv":  # as chmod 000 would, for a user other than root
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return original(path, *args, **kwargs)

    monkeypatch.setattr(Path, "open", denied)
    summary = ingest_source(con, landing, CrmLoader(), "run-1")
    assert summary.files_rejected == 1 and summary.files_loaded == 1
    assert "crm/companies.csv: file rejected: cannot be read: Permission denied" in summary.problems
    # recorded once: the next run does not add a second rejection while the cause lasts
    ingest_source(con, landing, CrmLoader(), "run-2")
    assert con.execute("SELECT count(*) FROM raw.ingest_files WHERE status = 'rejected'").fetchone()[0] == 1


def test_files_are_hashed_on_two_threads_in_the_order_they_are_listed(con, landing, monkeypatch):
    """Hashing is most of an unchanged morning's ingest (1.7 s for the 1.5 GB of the 10 M-line bench on one
    core); hashlib lets go of the GIL, so two threads hash at once. Each version keeps its own hash, and an
    unreadable file is still rejected by name."""
    import threading
    import time

    import assets.ingest.registry as registry

    for number in range(6):
        write(landing, f"crm/invoices_{2020 + number}.csv",
              INVOICES_HEADER + f"i{number},c1,,F{number},{2020 + number}-03-01,,paid,100,120,\n")
    write(landing, "crm/companies.csv", companies(3))
    threads, hashing = set(), registry.file_sha256

    def slow_hash(path: Path, *args) -> str:
        threads.add(threading.current_thread().name)
        time.sleep(0.05)  # long enough for the other thread to take the next file
        if path.name == "invoices_2022.csv":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return hashing(path, *args)

    monkeypatch.setattr(registry, "file_sha256", slow_hash)
    summary = ingest_source(con, landing, CrmLoader(), "run-1")
    assert len(threads) == 2 and threading.current_thread().name not in threads
    assert (summary.files_loaded, summary.files_rejected) == (6, 1)
    assert "crm/invoices_2022.csv: file rejected: cannot be read: Permission denied" in summary.problems
    recorded = dict(con.execute("SELECT file_path, sha256 FROM raw.ingest_files WHERE status = 'loaded'").fetchall())
    assert recorded == {f"crm/{path.name}": hashing(path) for path in (landing / "crm").iterdir()
                        if path.name != "invoices_2022.csv"}


def test_a_file_that_vanishes_while_it_is_read_is_rejected_and_the_others_load(con, landing, monkeypatch):
    write(landing, "crm/companies.csv", companies(3))
    write(landing, "crm/invoices.csv", INVOICES_HEADER + "i1,c1,,F1,2024-03-01,,paid,100,120,\n")
    original = Path.read_bytes

    def vanishing(path: Path):
        if path.name == "companies.csv":
            path.unlink()  # deleted by the export tool between listing and reading
        return original(path)

    monkeypatch.setattr(Path, "read_bytes", vanishing)
    summary = ingest_source(con, landing, CrmLoader(), "run-1")
    assert summary.files_rejected == 1 and summary.files_loaded == 1
    assert any(p.startswith("crm/companies.csv: file rejected: cannot be read: No such file")
               for p in summary.problems)
    assert con.execute("SELECT count(*) FROM raw.crm_companies").fetchone()[0] == 0


def test_a_truncated_time_report_is_held_back_like_any_other_export(con, landing):
    from assets.ingest.timetracking import TimeTrackingLoader

    (landing / "timetracking").mkdir()
    header = "Date,Client,Project,Task,Notes,Hours,Billable?,First Name,Last Name,Billable Rate\n"
    entries = "".join(f"2026-10-{day:02d},Acme,Tenue,Saisie,,2,Yes,Julie,Moreau,95\n" for day in range(1, 21))
    report = write(landing, "timetracking/harvest_time_report.csv", header + entries)
    ingest_source(con, landing, TimeTrackingLoader(), "run-1")
    report.write_text(header + entries.splitlines(keepends=True)[0], encoding="utf-8")
    summary = ingest_source(con, landing, TimeTrackingLoader(), "run-2")
    assert summary.files_suspect == 1
    assert con.execute("SELECT count(*) FROM raw.time_entries").fetchone()[0] == 20


def test_the_good_export_put_back_after_a_truncated_one_ends_the_problem(con, landing):
    write(landing, "crm/companies.csv", companies(500))
    ingest_source(con, landing, CrmLoader(), "run-1")
    write(landing, "crm/companies.csv", COMPANIES_HEADER)
    ingest_source(con, landing, CrmLoader(), "run-2")
    assert current_problems(con, landing)
    write(landing, "crm/companies.csv", companies(500))  # the firm exports again, byte for byte yesterday's
    ingest_source(con, landing, CrmLoader(), "run-3")
    assert current_problems(con, landing) == []
    assert company_count(con) == 500


def test_a_file_put_back_to_an_earlier_content_is_what_counts_for_its_path(con, landing):
    write(landing, "crm/companies.csv", companies(10))
    ingest_source(con, landing, CrmLoader(), "run-1")
    write(landing, "crm/companies.csv", companies(7))
    ingest_source(con, landing, CrmLoader(), "run-2")
    assert company_count(con) == 7
    write(landing, "crm/companies.csv", companies(10))
    summary = ingest_source(con, landing, CrmLoader(), "run-3")
    assert company_count(con) == 10 and summary.files_loaded == 1
    assert con.execute("SELECT list(status ORDER BY loaded_at) FROM raw.ingest_files").fetchone()[0] == [
        "superseded", "loaded"]
    ingest_source(con, landing, CrmLoader(), "run-4")  # and it stays so, without loading again
    assert con.execute("SELECT count(*) FROM raw.ingest_files").fetchone()[0] == 2


def test_a_file_name_that_is_not_utf8_is_rejected_by_name_and_the_others_load(con, landing):
    import os

    raw_name = os.fsdecode(b"companies_\xe9.csv")
    (landing / "crm" / raw_name).write_text(companies(2), encoding="utf-8")
    write(landing, "crm/invoices.csv", INVOICES_HEADER + "i1,c1,,F1,2024-03-01,,paid,100,120,\n")
    summary = ingest_source(con, landing, CrmLoader(), "run-1")
    assert summary.files_loaded == 1 and summary.files_rejected == 1
    problems = current_problems(con, landing)
    assert problems == ["crm/companies_\\xe9.csv: file rejected: the file name is not valid UTF-8 (an archive "
                        "made on another system?); rename it"]


def test_files_named_after_the_period_they_hold_all_count(con, landing):
    write(landing, "crm/invoices_2025-01-01_2025-01-31.csv", INVOICES_HEADER + "i1,c1,,F1,2025-01-03,,paid,1,1,\n")
    write(landing, "crm/invoices_2025-03-01_2025-03-31.csv", INVOICES_HEADER + "i2,c1,,F2,2025-03-03,,paid,1,1,\n")
    summary = ingest_source(con, landing, CrmLoader(), "run-1")
    assert summary.files_superseded == 0
    assert con.execute("SELECT count(*) FROM raw.crm_invoices").fetchone()[0] == 2


def test_exports_of_one_day_rank_by_their_time(con, landing):
    write(landing, "crm/companies_20261031_1530.csv", companies(11))
    write(landing, "crm/companies_20261031_1430.csv", companies(10))  # listed, and loaded, after the later one
    ingest_source(con, landing, CrmLoader(), "run-1")
    assert statuses(con) == {"crm/companies_20261031_1430.csv": "superseded",
                             "crm/companies_20261031_1530.csv": "loaded"}


def test_a_ledger_of_the_older_versioning_rule_is_read_again_under_todays(con, landing):
    """What Vigie 0.1 left: invoices_2025.csv had replaced invoices_2024.csv, both keyed 'crm:invoices' and
    ranked by path."""
    write(landing, "crm/invoices_2024.csv", INVOICES_HEADER + "i1,c1,,F1,2024-03-01,,paid,100,120,\n")
    write(landing, "crm/invoices_2025.csv", INVOICES_HEADER + "i2,c1,,F2,2025-03-01,,paid,200,240,\n")
    ingest_source(con, landing, CrmLoader(), "run-1")
    con.execute("UPDATE raw.ingest_files SET supersede_key = 'crm:invoices',"
                " version_rank_key = split_part(file_path, '/', 2) || '|20260101T000000000000Z'")
    con.execute("UPDATE raw.ingest_files SET status = 'superseded', superseded_by = 'crm/invoices_2025.csv'"
                " WHERE file_path = 'crm/invoices_2024.csv'")
    con.execute("DELETE FROM raw.crm_invoices WHERE _source_file = 'crm/invoices_2024.csv'")

    ingest_source(con, landing, CrmLoader(), "run-2")
    assert con.execute("SELECT list(id ORDER BY id) FROM raw.crm_invoices").fetchone()[0] == ["i1", "i2"]
    assert set(statuses(con).values()) == {"loaded"}
    assert con.execute("SELECT count(*) FROM raw.ingest_files").fetchone()[0] == 2


def test_a_path_put_back_to_content_another_file_holds_counts_once(con, landing):
    write(landing, "crm/companies.csv", companies(10))
    write(landing, "crm/archive/companies.csv", companies(10))  # the same content under another path
    ingest_source(con, landing, CrmLoader(), "run-1")
    write(landing, "crm/companies.csv", companies(9))
    ingest_source(con, landing, CrmLoader(), "run-2")
    write(landing, "crm/companies.csv", companies(10))
    ingest_source(con, landing, CrmLoader(), "run-3")
    duplicates = con.execute("SELECT file_path, sha256, count(*) FROM raw.ingest_files GROUP BY ALL"
                             " HAVING count(*) > 1").fetchall()
    assert duplicates == []
    # companies.csv holds the archive's content again: it counts once, through the archive; its 9-row version,
    # no longer on disk, is out
    assert company_count(con) == 10
    assert con.execute("SELECT count(*) FROM raw.ingest_files WHERE status = 'loaded'").fetchone()[0] == 1
