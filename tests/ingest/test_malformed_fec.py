"""The malformed FEC corpus: each file of tests/fixtures/malformed/accounting/ goes through the ingestion driver
alone, and what became of it must be what its `<file>.expected.yml` sidecar says.

Sidecar format (shared with the other sources' corpora): source, file, status (loaded | rejected), rows_read,
rows_loaded, rows_quarantined, rejections: [{line: N or null for the whole file, reason_contains: "..."}] in
line order; here also exit_code (what `vigie run` would return for this file alone: 2 when anything is rejected
or quarantined, else 0) and, optionally, warnings_contain: sentences the file's warnings must include.
Whatever the file, rows_read = rows_loaded + rows_quarantined and the run goes on.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from assets.ingest.fec import FecLoader
from assets.ingest.registry import current_problems, ingest_source

CORPUS = Path(__file__).parents[1] / "fixtures" / "malformed" / "accounting"
SIDECAR = ".expected.yml"
FIXTURES = sorted(path for path in CORPUS.iterdir() if not path.name.endswith(SIDECAR))


def test_the_corpus_is_complete():
    assert len(FIXTURES) >= 6
    sidecars = {path.name for path in CORPUS.glob(f"*{SIDECAR}")}
    assert sidecars == {f"{path.name}{SIDECAR}" for path in FIXTURES}
    assert all(path.stat().st_size < 4096 for path in FIXTURES), "small, synthetic files"


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda path: path.name)
def test_malformed_fec_ends_as_its_sidecar_says(con, tmp_path, fixture):
    expected = yaml.safe_load((CORPUS / f"{fixture.name}{SIDECAR}").read_text(encoding="utf-8"))
    assert (expected["source"], expected["file"]) == ("accounting", fixture.name)
    (tmp_path / "accounting").mkdir()
    shutil.copyfile(fixture, tmp_path / "accounting" / fixture.name)

    summary = ingest_source(con, tmp_path, FecLoader(scratch_dir=tmp_path / "scratch"), "run-1")

    file_path = f"accounting/{fixture.name}"
    status, read, loaded, quarantined, sha, warnings = con.execute(
        "SELECT status, rows_read, rows_loaded, rows_quarantined, sha256, warnings FROM raw.ingest_files"
        " WHERE file_path = ?", [file_path]).fetchone()
    assert (status, read, loaded, quarantined) == (
        expected["status"], expected["rows_read"], expected["rows_loaded"], expected["rows_quarantined"])
    assert read == loaded + quarantined
    stored = con.execute("SELECT count(*) FROM raw.fec_lines WHERE _file_sha256 = ?", [sha]).fetchone()[0]
    assert stored == loaded
    found = con.execute("SELECT line_number, reason FROM raw.ingest_rejections WHERE file_path = ?"
                        " ORDER BY line_number NULLS FIRST", [file_path]).fetchall()
    wanted = expected["rejections"]
    assert [line for line, _reason in found] == [item["line"] for item in wanted], found
    for (_line, reason), item in zip(found, wanted, strict=True):
        assert item["reason_contains"] in reason
    for sentence in expected.get("warnings_contain", []):
        assert sentence in json.loads(warnings or "[]")
    assert summary.files_rejected == (expected["status"] == "rejected")
    assert (2 if current_problems(con, tmp_path) else 0) == expected["exit_code"]
