"""Reading text exports (assets/ingest/tabular.py): encodings, long CSV fields, JSON lines that break the parser.

Whatever is wrong with one record quarantines that record, with its physical line; the file and the run go on.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from assets.ingest import tabular
from assets.ingest.crm import CrmLoader
from assets.ingest.registry import FileRejected, ingest_source
from assets.ingest.tabular import decode_file, read_csv, read_jsonl


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    (tmp_path / "crm").mkdir()
    return tmp_path


def ingest(con, landing: Path):
    return ingest_source(con, landing, CrmLoader(), "run-1")


def rejections(con, name: str) -> list[tuple]:
    return con.execute("SELECT line_number, reason, raw_line FROM raw.ingest_rejections WHERE file_path = ?"
                       " ORDER BY line_number NULLS FIRST", [f"crm/{name}"]).fetchall()


def file_counts(con, name: str) -> tuple:
    return con.execute("SELECT status, rows_read, rows_loaded, rows_quarantined, warnings FROM raw.ingest_files"
                       " WHERE file_path = ?", [f"crm/{name}"]).fetchone()


# --- encodings -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("encoding", "euro_byte", "name"), [
    ("iso-8859-15", b"\xa4", "ISO-8859-15"),
    ("cp1252", b"\x80", "Windows-1252"),
])
def test_single_byte_exports_keep_the_euro_sign(con, landing, encoding, euro_byte, name):
    text = "id;name;naf\nc1;Cabinet Étoile – forfait 95 €;6920Z\n".replace("–", "-")
    data = text.encode(encoding)
    assert euro_byte in data
    (landing / "crm" / "companies.csv").write_bytes(data)

    assert decode_file(landing / "crm" / "companies.csv") == (
        text, encoding, [f"not valid UTF-8; read as {name}"])
    ingest(con, landing)
    assert con.execute("SELECT name FROM raw.crm_companies").fetchone() == ("Cabinet Étoile - forfait 95 €",)
    status, _read, _loaded, _quarantined, warnings = file_counts(con, "companies.csv")
    assert status == "loaded" and json.loads(warnings)[0] == f"not valid UTF-8; read as {name}"


def test_iso_8859_15_letters_that_cp1252_places_elsewhere(tmp_path):
    path = tmp_path / "export.csv"
    text = "client,note\nŒuvres sociales,œil 10 € Š Ž\n"
    path.write_bytes(text.encode("iso-8859-15"))

    assert decode_file(path)[:2] == (text, "iso-8859-15")


def test_a_file_both_encodings_read_alike_is_reported_as_windows_1252(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes("id,name\nc1,Société Générale\n".encode("cp1252"))

    assert decode_file(path) == ("id,name\nc1,Société Générale\n", "cp1252",
                                 ["not valid UTF-8; read as Windows-1252"])


def test_a_binary_or_utf16_file_is_rejected(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes("id,name\nc1,Société\n".encode("utf-16"))

    with pytest.raises(FileRejected, match="NUL bytes"):
        decode_file(path)


# --- long CSV fields -------------------------------------------------------------------------------------


def test_a_quoted_field_of_200_kb_over_several_lines_is_one_record(con, landing):
    long_text = "\n".join(f"i9,c9,call,2026-01-0{n % 9 + 1},u9,line {n} {'x' * 2000}" for n in range(100))
    assert len(long_text) > 131_072  # the csv module's default field limit
    (landing / "crm" / "interactions.csv").write_text(
        "id,company_id,kind,date,author_id,text\n"
        f'i1,c1,call,2026-10-01,u1,"{long_text}"\n'
        "i2,c1,call,2026-10-02,u1,ok\n"
        "i3,c1,task,2026-10-03,u1,\"two\nlines\"\n"
        "i4,c1,call,2026-10-04,u1,done\n", encoding="utf-8")
    ingest(con, landing)

    rows = con.execute("SELECT id, length(text), _line_number FROM raw.crm_interactions"
                       " ORDER BY _line_number").fetchall()
    assert rows == [("i1", len(long_text), 2), ("i2", 2, 102), ("i3", 9, 103), ("i4", 4, 105)]
    assert rejections(con, "interactions.csv") == []
    assert file_counts(con, "interactions.csv")[:4] == ("loaded", 4, 4, 0)


def test_a_field_over_the_bound_rejects_its_record_not_the_lines_inside_it():
    inside = "\n".join(f"a{n},b{n},c{n}" for n in range(200))  # each line would pass for a record
    content = read_csv(f'x,y,z\n1,"{inside}",ok\n2,short,ok\n', max_field_chars=200)

    assert [(r.line_number, r.values) for r in content.records] == [(202, ["2", "short", "ok"])]
    [rejection] = content.rejections
    assert rejection.line_number == 2
    assert rejection.reason == (f"a field of {len(inside)} characters exceeds the limit of 200; raw text cut to"
                                f" its first 1000 of {len(inside) + 7} characters")
    assert rejection.raw_line.startswith('1,"a0,b0,c0\na1,b1,c1') and len(rejection.raw_line) == 1000
    assert content.rows_read == 2


def test_the_default_bound_is_16_mib_characters():
    huge = "x" * (16 * 1024 * 1024 + 1)
    content = read_csv(f'x,y\n1,"{huge}"\n2,"{huge[:-2]}"\n')

    assert [r.line_number for r in content.records] == [3]
    assert [r.line_number for r in content.rejections] == [2]


def test_any_error_splitting_one_csv_record_quarantines_only_that_record(monkeypatch):
    real_reader = csv.reader

    class FailingOnBoom:
        def __init__(self, lines, **options):
            self._reader = real_reader(lines, **options)

        @property
        def line_num(self):
            return self._reader.line_num

        def __iter__(self):
            return self

        def __next__(self):
            fields = next(self._reader)
            if "BOOM" in fields:
                raise ValueError("splitting failed")
            return fields

    monkeypatch.setattr(tabular.csv, "reader", FailingOnBoom)
    content = read_csv("a,b\n1,x\n2,BOOM\n3,y\n")

    assert [r.line_number for r in content.records] == [2, 4]
    assert [(r.line_number, r.reason, r.raw_line) for r in content.rejections] == [
        (3, "unreadable CSV record: splitting failed", "2,BOOM")]


# --- JSON Lines ------------------------------------------------------------------------------------------


def test_a_deeply_nested_json_line_is_quarantined_and_the_others_loaded(con, landing):
    (landing / "crm" / "companies.jsonl").write_text("\n".join([
        json.dumps({"id": "c1", "name": "ACME"}),
        '{"id": "c2", "name": ' + "[" * 100_000,
        "[" * 100_000 + "]" * 100_000,
        json.dumps({"id": "c3", "name": "Beta"}),
    ]) + "\n", encoding="utf-8")
    ingest(con, landing)

    assert con.execute("SELECT id, _line_number FROM raw.crm_companies ORDER BY 2").fetchall() == [
        ("c1", 1), ("c3", 4)]
    assert [(line, reason) for line, reason, _raw in rejections(con, "companies.jsonl")] == [
        (2, "JSON nested too deeply"), (3, "JSON nested too deeply")]
    assert file_counts(con, "companies.jsonl")[:4] == ("loaded", 4, 2, 2)


def test_a_json_line_with_an_unpaired_surrogate_is_quarantined(con, landing):
    (landing / "crm" / "companies.jsonl").write_text(
        '{"id": "c1", "name": "ACME"}\n'
        '{"id": "c2", "name": "bad \\ud800 text"}\n'
        '{"id": "c3", "name": "Beta \\ud83d\\ude00"}\n', encoding="utf-8")
    ingest(con, landing)

    assert con.execute("SELECT id, name FROM raw.crm_companies ORDER BY _line_number").fetchall() == [
        ("c1", "ACME"), ("c3", "Beta \U0001f600")]
    [(line, reason, raw)] = rejections(con, "companies.jsonl")
    assert (line, raw) == (2, '{"id": "c2", "name": "bad \\ud800 text"}')
    assert reason.startswith("JSON string with an unpaired surrogate")


def test_any_error_parsing_one_json_line_quarantines_only_that_line(monkeypatch):
    real_loads = json.loads

    def failing_loads(text, **options):
        if "BOOM" in text:
            raise OverflowError("too big")
        return real_loads(text, **options)

    monkeypatch.setattr(tabular.json, "loads", failing_loads)
    content = read_jsonl('{"id": "1"}\n{"id": "BOOM"}\n{"id": "3"}\n')

    assert [r.line_number for r in content.records] == [1, 3]
    assert [(r.line_number, r.reason) for r in content.rejections] == [
        (2, "unreadable JSON line: OverflowError: too big")]
