"""The malformed time-tracking corpus: each file of tests/fixtures/malformed/timetracking/ goes through the
ingestion driver alone, and what became of it must be what its `<file>.expected.yml` sidecar says.

Sidecar format (shared with the other sources' corpora): source, file, status (loaded | rejected), rows_read,
rows_loaded, rows_quarantined, rejections: [{line: N or null for the whole file, reason_contains: "..."}] in
line order. Whatever the file, rows_read = rows_loaded + rows_quarantined and the run goes on.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from assets.ingest.registry import ingest_source
from assets.ingest.timetracking import TimeTrackingLoader

CORPUS = Path(__file__).parents[1] / "fixtures" / "malformed" / "timetracking"
SIDECAR = ".expected.yml"
FIXTURES = sorted(path for path in CORPUS.iterdir() if not path.name.endswith(SIDECAR))


def test_the_corpus_is_complete():
    assert len(FIXTURES) >= 10
    sidecars = {path.name for path in CORPUS.glob(f"*{SIDECAR}")}
    assert sidecars == {f"{path.name}{SIDECAR}" for path in FIXTURES}


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda path: path.name)
def test_malformed_file_ends_as_its_sidecar_says(con, tmp_path, fixture):
    expected = yaml.safe_load((CORPUS / f"{fixture.name}{SIDECAR}").read_text(encoding="utf-8"))
    assert (expected["source"], expected["file"]) == ("timetracking", fixture.name)
    (tmp_path / "timetracking").mkdir()
    shutil.copyfile(fixture, tmp_path / "timetracking" / fixture.name)

    summary = ingest_source(con, tmp_path, TimeTrackingLoader(), "run-1")

    file_path = f"timetracking/{fixture.name}"
    status, read, loaded, quarantined, sha = con.execute(
        "SELECT status, rows_read, rows_loaded, rows_quarantined, sha256 FROM raw.ingest_files"
        " WHERE file_path = ?", [file_path]).fetchone()
    assert (status, read, loaded, quarantined) == (
        expected["status"], expected["rows_read"], expected["rows_loaded"], expected["rows_quarantined"])
    assert read == loaded + quarantined
    stored = con.execute("SELECT count(*) FROM raw.time_entries WHERE _file_sha256 = ?", [sha]).fetchone()[0]
    assert stored == loaded
    found = con.execute("SELECT line_number, reason FROM raw.ingest_rejections WHERE file_path = ?"
                        " ORDER BY line_number NULLS FIRST", [file_path]).fetchall()
    wanted = expected["rejections"]
    assert [line for line, _reason in found] == [item["line"] for item in wanted], found
    for (_line, reason), item in zip(found, wanted, strict=True):
        assert item["reason_contains"] in reason
    assert summary.files_rejected == (expected["status"] == "rejected")


def test_the_iso_8859_15_export_keeps_its_euro_signs(con, tmp_path):
    (tmp_path / "timetracking").mkdir()
    shutil.copyfile(CORPUS / "clockify_iso_8859_15.csv", tmp_path / "timetracking" / "export.csv")
    ingest_source(con, tmp_path, TimeTrackingLoader(), "run-1")

    assert con.execute("SELECT description FROM raw.time_entries ORDER BY _line_number").fetchall() == [
        ("Forfait révision 95 €",), ("Œuvre sociale - frais 12 €",)]
    warnings, details = con.execute("SELECT warnings, details FROM raw.ingest_files").fetchone()
    assert "read as ISO-8859-15" in warnings and '"encoding": "iso-8859-15"' in details


def test_the_200_kb_field_is_one_entry_and_no_line_inside_it_becomes_one(con, tmp_path):
    (tmp_path / "timetracking").mkdir()
    shutil.copyfile(CORPUS / "clockify_field_200kb.csv", tmp_path / "timetracking" / "export.csv")
    ingest_source(con, tmp_path, TimeTrackingLoader(), "run-1")

    rows = con.execute("SELECT _line_number, length(description) FROM raw.time_entries"
                       " ORDER BY _line_number").fetchall()
    assert [line for line, _length in rows] == [2, 1102, 1104, 1106]
    assert rows[0][1] > 200_000
