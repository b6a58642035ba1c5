"""What two files of the malformed time-tracking corpus hold beyond their sidecar (test_malformed_corpus.py):
the euro signs of an ISO-8859-15 export, and the lines inside a 200 KB quoted field."""

from __future__ import annotations

import shutil
from pathlib import Path

from assets.ingest.registry import ingest_source
from assets.ingest.timetracking import TimeTrackingLoader

CORPUS = Path(__file__).parents[1] / "fixtures" / "malformed" / "timetracking"
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
