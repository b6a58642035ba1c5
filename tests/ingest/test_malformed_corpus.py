"""The corpus of malformed inputs (tests/fixtures/malformed/<source>/): each file goes through the ingestion
driver alone, under its own name (for CRM and practice files the name says which object they hold), and what
became of it must be what its `<file>.expected.yml` sidecar says.

Sidecar: source, file, status (loaded | rejected | suspect), rows_read, rows_loaded, rows_quarantined,
rejections: [{line: N or null for the whole file, reason_contains: "..."}] in line order, flags: [{line: N,
column, rule, value}] (values kept but flagged, rows of raw.ingest_flags; none when absent), exit_code (what
`vigie run` returns for this file alone) and, optionally, warnings_contain: sentences the file's warnings must
include. No other rejection and no other flag may appear. Whatever the file, rows_read = rows_loaded +
rows_quarantined and the run goes on. tests/e2e/test_morning_after.py drops the whole corpus into a running home.

exit_code is 2 when current_problems() is not empty. Flagged values reach it through marts.rpt_data_quality,
which the dbt build writes after ingestion; the test stands in for that build with the loader-flag part of the
model (the fixtures use only codes the contract declares, so the model's other parts would add nothing).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from assets.ingest import build_loader
from assets.ingest.registry import current_problems, ingest_source

MALFORMED = Path(__file__).parents[1] / "fixtures" / "malformed"
SIDECAR = ".expected.yml"
AT_LEAST = {"accounting": 6, "crm": 9, "practice": 5, "timetracking": 10}
FIXTURES = sorted(path for source in AT_LEAST for path in (MALFORMED / source).iterdir()
                  if not path.name.endswith(SIDECAR))
LARGE_ON_PURPOSE = {"clockify_field_200kb.csv"}  # a quoted field over the csv module's 128 KB default


def test_the_corpus_is_complete():
    for source, minimum in AT_LEAST.items():
        fixtures = {path.name for path in FIXTURES if path.parent.name == source}
        sidecars = {path.name for path in (MALFORMED / source).glob(f"*{SIDECAR}")}
        assert len(fixtures) >= minimum, source
        assert sidecars == {f"{name}{SIDECAR}" for name in fixtures}, source
    assert all(path.stat().st_size < 4096 for path in FIXTURES if path.name not in LARGE_ON_PURPOSE)


def _stand_in_for_the_dbt_build(con) -> None:
    """marts.rpt_data_quality as the dbt build writes it from the loader's flags of the files in force."""
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    con.execute("CREATE TABLE marts.rpt_data_quality AS SELECT f.source, g.file_path, g.line_number, g.column_name,"
                " g.value, g.rule, g.detail FROM raw.ingest_flags g"
                " JOIN raw.ingest_files f ON f.file_path = g.file_path AND f.sha256 = g.sha256"
                " WHERE f.status = 'loaded'")


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_malformed_file_ends_as_its_sidecar_says(con, tmp_path, fixture):
    source = fixture.parent.name
    expected = yaml.safe_load(fixture.with_name(f"{fixture.name}{SIDECAR}").read_text(encoding="utf-8"))
    assert (expected["source"], expected["file"]) == (source, fixture.name)
    landing = tmp_path / "landing"
    (landing / source).mkdir(parents=True)
    shutil.copyfile(fixture, landing / source / fixture.name)
    loader = build_loader(source, scratch_dir=tmp_path / "scratch")

    summary = ingest_source(con, landing, loader, "run-1")

    file_path = f"{source}/{fixture.name}"
    status, read, loaded, quarantined, sha, warnings = con.execute(
        "SELECT status, rows_read, rows_loaded, rows_quarantined, sha256, warnings FROM raw.ingest_files"
        " WHERE file_path = ?", [file_path]).fetchone()
    assert (status, read, loaded, quarantined) == (
        expected["status"], expected["rows_read"], expected["rows_loaded"], expected["rows_quarantined"])
    assert read == loaded + quarantined
    stored = sum(con.execute(f"SELECT count(*) FROM raw.{table} WHERE _file_sha256 = ?", [sha]).fetchone()[0]
                 for table in loader.raw_tables)
    assert stored == loaded
    found = con.execute("SELECT line_number, reason FROM raw.ingest_rejections WHERE file_path = ?"
                        " ORDER BY line_number NULLS FIRST", [file_path]).fetchall()
    wanted = expected["rejections"]
    assert [line for line, _reason in found] == [item["line"] for item in wanted], found
    for (_line, reason), item in zip(found, wanted, strict=True):
        assert item["reason_contains"] in reason
    flags = con.execute("SELECT line_number, column_name, rule, value FROM raw.ingest_flags WHERE file_path = ?"
                        " ORDER BY line_number, column_name", [file_path]).fetchall()
    assert flags == [(item["line"], item["column"], item["rule"], item["value"])
                     for item in expected.get("flags") or []]
    for sentence in expected.get("warnings_contain", []):
        assert sentence in json.loads(warnings or "[]")
    assert summary.files_rejected == (expected["status"] == "rejected")
    assert summary.files_suspect == (expected["status"] == "suspect")
    _stand_in_for_the_dbt_build(con)
    assert (2 if current_problems(con, landing) else 0) == expected["exit_code"]
