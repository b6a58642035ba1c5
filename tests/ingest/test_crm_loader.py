"""CrmLoader through the ingestion driver: file naming, CSV and JSON Lines reading, quarantine, versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assets.ingest.crm import CrmLoader
from assets.ingest.registry import ingest_source

BOM = "\ufeff"


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    (tmp_path / "crm").mkdir()
    return tmp_path


def write(landing: Path, name: str, text: str, encoding: str = "utf-8") -> None:
    (landing / "crm" / name).write_bytes(text.encode(encoding))


def ingest(con, landing: Path, run_id: str = "run-1"):
    return ingest_source(con, landing, CrmLoader(), run_id)


def file_record(con, name: str) -> dict:
    row = con.execute(
        "SELECT status, entity, rows_read, rows_loaded, rows_quarantined, warnings, superseded_by"
        " FROM raw.ingest_files WHERE file_path = ?", [f"crm/{name}"]).fetchone()
    keys = ("status", "entity", "rows_read", "rows_loaded", "rows_quarantined", "warnings", "superseded_by")
    return dict(zip(keys, row, strict=True))


def rejections(con, name: str) -> list[tuple]:
    return con.execute("SELECT line_number, reason, raw_line FROM raw.ingest_rejections WHERE file_path = ?"
                       " ORDER BY line_number NULLS FIRST", [f"crm/{name}"]).fetchall()


def assert_every_line_accounted(con) -> None:
    """rows_read = rows_loaded + rows_quarantined for every file, and each count matches what was stored."""
    files = con.execute("SELECT file_path, sha256, status, rows_read, rows_loaded, rows_quarantined"
                        " FROM raw.ingest_files").fetchall()
    tables = CrmLoader.raw_tables
    for file_path, sha, status, read, loaded, quarantined in files:
        assert read == loaded + quarantined, file_path
        stored_rejections = con.execute("SELECT count(*) FROM raw.ingest_rejections WHERE sha256 = ?"
                                        " AND line_number IS NOT NULL", [sha]).fetchone()[0]
        assert stored_rejections == quarantined, file_path
        if status == "loaded":
            stored = sum(con.execute(f"SELECT count(*) FROM raw.{table} WHERE _file_sha256 = ?",
                                     [sha]).fetchone()[0] for table in tables)
            assert stored == loaded, file_path


def test_csv_with_bom_and_multiline_notes_keeps_the_physical_start_line(con, landing):
    write(landing, "interactions.csv", BOM + (
        "id,company_id,kind,date,author_id,text\r\n"
        'i1,c1,call,2026-10-01,u1,"Appel du client\r\nrelance TVA"\r\n'
        "i2,c1,comment,2026-10-02,u2,RAS\r\n"
        'i3,c2,task,2026-10-03,u1,"ligne 1\r\n""citée""\r\nligne 3"\r\n'
        "i4,c2,event,2026-10-04,u1,\r\n"))
    ingest(con, landing)

    rows = con.execute("SELECT id, text, _line_number FROM raw.crm_interactions ORDER BY id").fetchall()
    assert rows == [("i1", "Appel du client\r\nrelance TVA", 2), ("i2", "RAS", 4),
                    ("i3", 'ligne 1\r\n"citée"\r\nligne 3', 5), ("i4", None, 8)]
    assert file_record(con, "interactions.csv")["rows_read"] == 4
    assert_every_line_accounted(con)


def test_csv_record_with_wrong_field_count_is_quarantined_with_its_start_line(con, landing):
    write(landing, "interactions.csv",
          "id,company_id,kind,date,author_id,text\n"
          'i1,c1,call,2026-10-01,u1,"note sur\ndeux lignes"\n'
          'i2,c1,call,2026-10-02,"une virgule, en trop"\n'
          "i3,c1,call,2026-10-03,u1,ok\n")
    ingest(con, landing)

    assert rejections(con, "interactions.csv") == [
        (4, "5 fields where the header has 6", 'i2,c1,call,2026-10-02,"une virgule, en trop"')]
    assert con.execute("SELECT id, _line_number FROM raw.crm_interactions ORDER BY id").fetchall() == [
        ("i1", 2), ("i3", 5)]
    record = file_record(con, "interactions.csv")
    assert (record["rows_read"], record["rows_loaded"], record["rows_quarantined"]) == (3, 2, 1)
    assert_every_line_accounted(con)


def test_a_note_over_128_kb_is_read_whole_and_reading_goes_on(con, landing):
    write(landing, "interactions.csv",
          "id,company_id,kind,date,author_id,text\n"
          f'i1,c1,call,2026-10-01,u1,"{"x" * 200_000}"\n'
          "i2,c1,call,2026-10-02,u1,ok\n")
    ingest(con, landing)

    assert rejections(con, "interactions.csv") == []
    assert con.execute("SELECT id, _line_number, length(text) FROM raw.crm_interactions ORDER BY id").fetchall() == [
        ("i1", 2, 200_000), ("i2", 3, 2)]
    assert_every_line_accounted(con)


def test_jsonl_keeps_number_text_and_quarantines_bad_lines_with_their_line(con, landing):
    write(landing, "opportunities.jsonl", "\n".join([
        json.dumps({"id": "o1", "company_id": "c1", "amount": "1500.00", "status": "open"}),
        '{"id": "o2", "amount": ',
        "",
        '["o3"]',
        '{"id": 4, "company_id": 7, "amount": 1250.50, "probability": 60, "status": "won", "owner_id": null}',
        '{"company_id": "c9", "amount": "10.00"}',
    ]) + "\n")
    ingest(con, landing)

    rows = con.execute("SELECT id, company_id, amount, probability, owner_id, _line_number"
                       " FROM raw.crm_opportunities ORDER BY _line_number").fetchall()
    assert rows == [("o1", "c1", "1500.00", None, None, 1), ("4", "7", "1250.50", "60", None, 5)]
    found = rejections(con, "opportunities.jsonl")
    assert [(line, raw) for line, _reason, raw in found] == [
        (2, '{"id": "o2", "amount": '), (4, '["o3"]'), (6, '{"company_id": "c9", "amount": "10.00"}')]
    assert found[0][1].startswith("invalid JSON")
    assert found[1][1] == "not a JSON object but an array"
    assert found[2][1] == "record without id"
    record = file_record(con, "opportunities.jsonl")
    assert (record["rows_read"], record["rows_loaded"], record["rows_quarantined"]) == (5, 2, 3)
    assert_every_line_accounted(con)


def test_jsonl_booleans_and_nested_values_become_text(con, landing):
    write(landing, "companies.jsonl",
          '{"id": "c1", "name": "ACME", "type": true, "naf": {"code": "6920Z"}, "siren": ["1", 2.50]}\n')
    ingest(con, landing)

    # Numbers inside nested values keep their exact text too, hence "2.50" as a JSON string.
    assert con.execute("SELECT type, naf, siren FROM raw.crm_companies").fetchone() == (
        "true", '{"code":"6920Z"}', '["1","2.50"]')


def test_missing_key_columns_and_extra_columns_give_one_warning_each(con, landing):
    write(landing, "companies.csv",
          "ID,Name,siren,website,phone\n"
          "c1,ACME,123456789,https://acme.example,0102030405\n"
          "c2,Beta,,https://beta.example,\n")
    ingest(con, landing)

    warnings = json.loads(file_record(con, "companies.csv")["warnings"])
    assert warnings == ["missing key columns, loaded as empty: type, parent_id, created, owner_id, naf",
                        "extra columns ignored: phone, website"]
    assert con.execute("SELECT id, name, siren, naf FROM raw.crm_companies ORDER BY id").fetchall() == [
        ("c1", "ACME", "123456789", None), ("c2", "Beta", None, None)]
    assert_every_line_accounted(con)


def test_csv_without_id_column_rejects_the_file(con, landing):
    write(landing, "companies.csv", "name,siren\nACME,123456789\n")
    summary = ingest(con, landing)

    assert summary.files_rejected == 1
    assert file_record(con, "companies.csv")["status"] == "rejected"
    assert "no 'id' column" in rejections(con, "companies.csv")[0][1]
    assert con.execute("SELECT count(*) FROM raw.crm_companies").fetchone()[0] == 0


def test_object_read_from_a_prefixed_dated_name_in_any_case(con, landing):
    write(landing, "Sellsy_Credit-Notes_2026-10-31.CSV",
          "id,company_id,invoice_id,number,date,status,total_excl_tax,total_incl_tax\n"
          "a1,c1,f1,AV-001,2026-10-15,stored,100.00,120.00\n")
    ingest(con, landing)

    assert file_record(con, "Sellsy_Credit-Notes_2026-10-31.CSV")["entity"] == "credit_notes"
    assert con.execute("SELECT number, total_incl_tax FROM raw.crm_credit_notes").fetchall() == [
        ("AV-001", "120.00")]


def test_unknown_object_is_rejected_and_nothing_loaded(con, landing):
    write(landing, "contacts.csv", "id,name\nk1,Jean\n")
    summary = ingest(con, landing)

    record = file_record(con, "contacts.csv")
    assert (record["status"], record["rows_read"]) == ("rejected", 0)
    [(line, reason, _raw)] = rejections(con, "contacts.csv")
    assert line is None and reason.startswith("unknown CRM object")
    assert summary.problems == [f"crm/contacts.csv: file rejected: {reason}"]


def test_semicolon_separated_windows_1252_file_is_read_with_a_warning(con, landing):
    write(landing, "companies.csv", "id;name;naf\nc1;Société Générale d'Études;6920Z\n",
          encoding="cp1252")
    ingest(con, landing)

    assert con.execute("SELECT name, naf FROM raw.crm_companies").fetchone() == (
        "Société Générale d'Études", "6920Z")
    warnings = json.loads(file_record(con, "companies.csv")["warnings"])
    assert warnings[0] == "not valid UTF-8; read as Windows-1252"


def test_newer_export_of_an_object_supersedes_the_older_one(con, landing):
    write(landing, "sellsy_companies_2026-09-30.csv", "id,name\nc1,ACME\nc2,Beta\n")
    write(landing, "sellsy_companies_2026-10-31.csv", "id,name\nc1,ACME SA\nc3,Gamma\n")
    summary = ingest(con, landing)

    assert summary.files_superseded == 1
    assert con.execute("SELECT id, name FROM raw.crm_companies ORDER BY id").fetchall() == [
        ("c1", "ACME SA"), ("c3", "Gamma")]
    older = file_record(con, "sellsy_companies_2026-09-30.csv")
    assert (older["status"], older["superseded_by"]) == ("superseded", "crm/sellsy_companies_2026-10-31.csv")
    assert file_record(con, "sellsy_companies_2026-10-31.csv")["status"] == "loaded"
    assert_every_line_accounted(con)


def test_older_export_arriving_later_does_not_replace_the_newer_one(con, landing):
    write(landing, "sellsy_companies_2026-10-31.csv", "id,name\nc1,ACME SA\n")
    ingest(con, landing, "run-1")
    write(landing, "sellsy_companies_2026-09-30.csv", "id,name\nc1,ACME\nc2,Beta\n")
    ingest(con, landing, "run-2")

    assert con.execute("SELECT id, name FROM raw.crm_companies").fetchall() == [("c1", "ACME SA")]
    assert file_record(con, "sellsy_companies_2026-09-30.csv")["status"] == "superseded"


def test_exports_of_different_objects_do_not_supersede_each_other(con, landing):
    write(landing, "companies.csv", "id,name\nc1,ACME\n")
    write(landing, "deals.csv", "id,company_id,name\nd1,c1,Bilan 2026\n")
    ingest(con, landing)

    assert con.execute("SELECT count(*) FROM raw.ingest_files WHERE status = 'loaded'").fetchone()[0] == 2


def test_ingesting_twice_adds_nothing(con, landing):
    write(landing, "companies.csv", "id,name\nc1,ACME\n")
    write(landing, "invoices.jsonl", '{"id": "f1", "company_id": "c1", "total_excl_tax": "100.00"}\n{oops\n')
    ingest(con, landing, "run-1")
    before = con.execute("SELECT (SELECT count(*) FROM raw.ingest_files), (SELECT count(*) FROM"
                         " raw.ingest_rejections), (SELECT count(*) FROM raw.crm_companies),"
                         " (SELECT count(*) FROM raw.crm_invoices)").fetchone()
    summary = ingest(con, landing, "run-2")
    after = con.execute("SELECT (SELECT count(*) FROM raw.ingest_files), (SELECT count(*) FROM"
                        " raw.ingest_rejections), (SELECT count(*) FROM raw.crm_companies),"
                        " (SELECT count(*) FROM raw.crm_invoices)").fetchone()

    assert before == (2, 1, 1, 1)
    assert after == before
    assert (summary.files_unchanged, summary.files_loaded) == (2, 0)
