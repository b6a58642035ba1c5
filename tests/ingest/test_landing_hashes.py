"""A landing file is read again to be hashed only when its stat says it may have changed (landing_hashes.py).

An unchanged morning must not read every export again, and a file changed in any way must never keep its old hash:
the tests write files the way exports and copies do (in place at the same size, with the modification time put
back, or replaced by a rename) and check that the new content is what gets loaded.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assets.ingest import landing_hashes, registry
from assets.ingest.registry import file_sha256
from tests.ingest.test_fec_reader import fec_text, sale
from tests.ingest.test_fec_versions import DEC_1, ingest, put

NAME = "123456789FEC20231231.txt"
FIRST = fec_text([*sale(1, "10,00", "20230115"), *sale(2, "20,00", "20231031")])
SAME_SIZE = FIRST.replace("20,00", "30,00")  # another amount, the same number of bytes


@pytest.fixture
def hashed_files(monkeypatch) -> list[str]:
    """The files the run read to hash them, in order; files count as settled as soon as they are written."""
    read: list[str] = []
    real = registry.file_sha256

    def counting(path: Path, *args) -> str:
        read.append(path.name)
        return real(path, *args)

    monkeypatch.setattr(registry, "file_sha256", counting)
    monkeypatch.setattr(landing_hashes, "RACY_MARGIN_NS", -10**18)  # any stat counts as settled
    return read


def test_an_unchanged_file_is_not_read_again_to_be_hashed(tmp_path, con, hashed_files):
    landing = tmp_path / "landing"
    put(landing, NAME, FIRST, DEC_1)
    ingest(con, landing, "r1")
    assert hashed_files == [NAME]
    summary = ingest(con, landing, "r2")
    assert hashed_files == [NAME]
    assert summary.files_unchanged == 1


def test_a_file_rewritten_at_the_same_size_with_its_time_put_back_is_hashed_and_loaded_again(
        tmp_path, con, hashed_files):
    landing = tmp_path / "landing"
    path = put(landing, NAME, FIRST, DEC_1)
    ingest(con, landing, "r1")
    before = os.stat(path)
    path.write_text(SAME_SIZE, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # as `cp -p` or `rsync -t` leave it
    after = os.stat(path)
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
    ingest(con, landing, "r2")
    assert hashed_files == [NAME, NAME]
    assert con.execute("SELECT sum(debit) FROM raw.fec_lines").fetchone()[0] == 40  # 10 + 30, not 10 + 20
    assert con.execute("SELECT sha256 FROM raw.ingest_files WHERE status = 'loaded'").fetchone()[0] == file_sha256(
        path)


def test_a_file_replaced_by_a_rename_is_hashed_again(tmp_path, con, hashed_files):
    landing = tmp_path / "landing"
    path = put(landing, NAME, FIRST, DEC_1)
    ingest(con, landing, "r1")
    replacement = put(landing, "incoming.tmp", SAME_SIZE, DEC_1)
    os.replace(replacement, path)
    ingest(con, landing, "r2")
    assert os.stat(path).st_mtime_ns == DEC_1 * 10**9
    assert hashed_files == [NAME, NAME]
    assert con.execute("SELECT sum(debit) FROM raw.fec_lines").fetchone()[0] == 40


def test_a_file_written_just_before_it_was_hashed_is_hashed_again_next_time(tmp_path, con, hashed_files,
                                                                             monkeypatch):
    monkeypatch.setattr(landing_hashes, "RACY_MARGIN_NS", 60 * 10**9)  # the file was written less than a minute ago
    landing = tmp_path / "landing"
    put(landing, NAME, FIRST)
    ingest(con, landing, "r1")
    ingest(con, landing, "r2")
    assert hashed_files == [NAME, NAME]
    assert con.execute(f"SELECT count(*) FROM {landing_hashes.TABLE}").fetchone()[0] == 0


def test_a_file_gone_from_landing_is_forgotten_and_hashed_again_when_put_back(tmp_path, con, hashed_files):
    landing = tmp_path / "landing"
    path = put(landing, NAME, FIRST, DEC_1)
    ingest(con, landing, "r1")
    path.unlink()
    ingest(con, landing, "r2")
    assert con.execute(f"SELECT count(*) FROM {landing_hashes.TABLE}").fetchone()[0] == 0
    put(landing, NAME, FIRST, DEC_1)
    ingest(con, landing, "r3")
    assert hashed_files == [NAME, NAME]
