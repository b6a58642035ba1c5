"""PracticeLoader through the ingestion driver: the five kinds of files, quarantine, versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assets.ingest.practice import PracticeLoader
from assets.ingest.registry import ingest_source


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    (tmp_path / "practice").mkdir()
    return tmp_path


def write(landing: Path, name: str, text: str) -> None:
    (landing / "practice" / name).write_text(text, encoding="utf-8")


def ingest(con, landing: Path, run_id: str = "run-1"):
    return ingest_source(con, landing, PracticeLoader(), run_id)


def file_record(con, name: str) -> dict:
    row = con.execute(
        "SELECT status, entity, rows_read, rows_loaded, rows_quarantined, warnings, supersede_key"
        " FROM raw.ingest_files WHERE file_path = ?", [f"practice/{name}"]).fetchone()
    keys = ("status", "entity", "rows_read", "rows_loaded", "rows_quarantined", "warnings", "supersede_key")
    return dict(zip(keys, row, strict=True))


def assert_every_line_accounted(con) -> None:
    files = con.execute("SELECT file_path, sha256, status, rows_read, rows_loaded, rows_quarantined"
                        " FROM raw.ingest_files").fetchall()
    for file_path, sha, status, read, loaded, quarantined in files:
        assert read == loaded + quarantined, file_path
        stored_rejections = con.execute("SELECT count(*) FROM raw.ingest_rejections WHERE sha256 = ?"
                                        " AND line_number IS NOT NULL", [sha]).fetchone()[0]
        assert stored_rejections == quarantined, file_path
        if status == "loaded":
            stored = sum(con.execute(f"SELECT count(*) FROM raw.{table} WHERE _file_sha256 = ?",
                                     [sha]).fetchone()[0] for table in PracticeLoader.raw_tables)
            assert stored == loaded, file_path


def test_each_kind_of_file_lands_in_its_own_table(con, landing):
    write(landing, "collaborators.csv", "id,name,email,office_id,hourly_cost,active\n"
                                        "u1,Jeanne Martin,jeanne@cabinet.fr,o1,45.50,true\n")
    write(landing, "offices.csv", "id,name\no1,Lyon\no2,Paris\n")
    write(landing, "export_client_files_2026-11-01.csv",
          "company_id,siren,collaborator_id,bookkeeping_by,frequency,deactivated\n"
          "c1,123456789,u1,firm,monthly,false\n")
    write(landing, "dext-documents.csv",
          "id,company_id,received_at,method,kind,status,processed_at,auto_rule\n"
          "d1,c1,2026-10-30T08:15:00+01:00,app,purchase,processed,,true\n")
    write(landing, "Supplier_Rules.csv",
          "id,company_id,supplier,created_at,active\nr1,c1,EDF,2026-01-05,true\n")
    ingest(con, landing)

    entities = con.execute("SELECT file_path, entity FROM raw.ingest_files ORDER BY file_path").fetchall()
    assert entities == [
        ("practice/Supplier_Rules.csv", "supplier_rules"), ("practice/collaborators.csv", "collaborators"),
        ("practice/dext-documents.csv", "documents"),
        ("practice/export_client_files_2026-11-01.csv", "client_files"), ("practice/offices.csv", "offices")]
    assert con.execute("SELECT hourly_cost, _line_number FROM raw.practice_collaborators").fetchone() == (
        "45.50", 2)
    document = con.execute("SELECT received_at, processed_at, auto_rule FROM raw.practice_documents"
                           ).fetchone()
    assert document == ("2026-10-30T08:15:00+01:00", None, "true")
    assert con.execute("SELECT name FROM raw.practice_offices ORDER BY _line_number").fetchall() == [
        ("Lyon",), ("Paris",)]
    assert file_record(con, "offices.csv")["supersede_key"] == "practice:offices"
    assert_every_line_accounted(con)


def test_record_without_id_is_quarantined_only_for_files_that_have_ids(con, landing):
    write(landing, "documents.csv", "id,company_id,received_at,method,kind,status,processed_at,auto_rule\n"
                                    ",c1,2026-10-30,email,sale,ready,,false\n"
                                    "d2,c1,2026-10-31,upload,sale,ready,,false\n")
    write(landing, "client_files.csv",
          "company_id,siren,collaborator_id,bookkeeping_by,frequency,deactivated\n"
          ",987654321,u1,client,yearly,true\n")
    ingest(con, landing)

    assert con.execute("SELECT line_number, reason, raw_line FROM raw.ingest_rejections").fetchall() == [
        (2, "record without id", ",c1,2026-10-30,email,sale,ready,,false")]
    assert con.execute("SELECT id FROM raw.practice_documents").fetchall() == [("d2",)]
    assert con.execute("SELECT company_id, siren FROM raw.practice_client_files").fetchall() == [
        (None, "987654321")]
    assert_every_line_accounted(con)


def test_missing_key_column_is_warned_and_loaded_empty(con, landing):
    write(landing, "collaborators.csv", "id,name,email,office_id,active,phone\nu1,Jeanne,j@c.fr,o1,true,06\n")
    ingest(con, landing)

    assert json.loads(file_record(con, "collaborators.csv")["warnings"]) == [
        "missing key columns, loaded as empty: hourly_cost", "extra columns ignored: phone"]
    collaborator = con.execute("SELECT name, hourly_cost FROM raw.practice_collaborators").fetchone()
    assert collaborator == ("Jeanne", None)


def test_unknown_practice_file_is_rejected(con, landing):
    write(landing, "invoices.csv", "id,amount\nf1,10\n")
    summary = ingest(con, landing)

    assert file_record(con, "invoices.csv")["status"] == "rejected"
    assert summary.problems[0].startswith("practice/invoices.csv: file rejected: unknown practice file")


def test_only_csv_files_are_practice_inputs(landing):
    write(landing, "offices.csv", "id,name\n")
    write(landing, "offices.jsonl", '{"id": "o1"}\n')
    write(landing, "notes.txt", "hello\n")

    assert [p.name for p in PracticeLoader().list_files(landing / "practice")] == ["offices.csv"]


def test_newer_documents_export_supersedes_the_older_one(con, landing):
    header = "id,company_id,received_at,method,kind,status,processed_at,auto_rule\n"
    write(landing, "documents_2026-10-31.csv", header + "d1,c1,2026-10-30,app,purchase,to_review,,false\n")
    ingest(con, landing, "run-1")
    write(landing, "documents_2026-11-01.csv", header + "d1,c1,2026-10-30,app,purchase,processed,2026-11-01,"
                                                        "true\nd2,c1,2026-11-01,email,sale,ready,,false\n")
    ingest(con, landing, "run-2")

    assert con.execute("SELECT id, status FROM raw.practice_documents ORDER BY id").fetchall() == [
        ("d1", "processed"), ("d2", "ready")]
    assert file_record(con, "documents_2026-10-31.csv")["status"] == "superseded"
    assert_every_line_accounted(con)


def test_ingesting_twice_adds_nothing(con, landing):
    write(landing, "offices.csv", "id,name\no1,Lyon\n,Sans id\n")
    ingest(con, landing, "run-1")
    summary = ingest(con, landing, "run-2")

    assert summary.files_unchanged == 1
    assert con.execute("SELECT count(*) FROM raw.practice_offices").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM raw.ingest_files").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM raw.ingest_rejections").fetchone()[0] == 1
