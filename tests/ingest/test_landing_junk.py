"""Stray files in landing/<source>/ (system files, downloads in progress, notes) are skipped, not rejected:
otherwise every run would end with exit 2 while they stay."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from assets.ingest.crm import CrmLoader
from assets.ingest.fec import FecLoader
from assets.ingest.registry import current_problems, ingest_source, iter_files

REAL_FEC = Path(__file__).resolve().parents[3] / "shared" / "realdata" / "fec" / "0000000001FEC20220831.txt"
HALF_A_FEC = REAL_FEC.read_bytes()[:20_000] if REAL_FEC.is_file() else b""

# name -> content; each would be rejected or quarantined if it were read as a FEC.
STRAY = {
    "Thumbs.db": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00\x00\x00",
    "desktop.ini": b"[.ShellClassInfo]\r\nIconResource=C:\\Windows\\System32\\imageres.dll,-184\r\n",
    ".DS_Store": b"\x00\x00\x00\x01Bud1\x00\x00\x10\x00",
    "~$ssier client.xlsx": b"\x0bjdupont   \x00\x00",
    "~$2022.txt": b"jdupont",
    "552100554FEC20251231.txt.crdownload": HALF_A_FEC,
    "552100554FEC20251231.txt.part": HALF_A_FEC,
    "552100554FEC20251231.txt.partial": HALF_A_FEC,
    "552100554FEC20251231.txt.download": HALF_A_FEC,
    "export~1.TMP": HALF_A_FEC,
    "README.txt": "Déposer ici les FEC des clients, un fichier par exercice.\n".encode(),
    "LISEZMOI": b"Ne pas renommer les fichiers.\n",
    "Lisezmoi-2025.TXT": "Relances envoyées le 3 mars.\n".encode(),
    "procedure.md": "# Procédure\n\n1. Exporter le FEC\n".encode(),
    "Guide export FEC.PDF": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
    "dossiers/552100554/notes.md": "à revoir\n".encode(),
}


@pytest.mark.skipif(not REAL_FEC.is_file(), reason="the real FEC files are in shared/realdata/fec")
def test_stray_files_are_skipped_and_the_fec_beside_them_loads(con, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="vigie.ingest")
    accounting = tmp_path / "accounting"
    accounting.mkdir()
    shutil.copyfile(REAL_FEC, accounting / REAL_FEC.name)
    for name, content in STRAY.items():
        (accounting / name).parent.mkdir(parents=True, exist_ok=True)
        (accounting / name).write_bytes(content)

    for run in ("run-1", "run-2"):
        caplog.clear()
        summary = ingest_source(con, tmp_path, FecLoader(scratch_dir=tmp_path / "scratch"), run)
        skipped = sorted(r.getMessage().split(": skipped")[0] for r in caplog.records
                         if r.levelno == logging.INFO and ": skipped, " in r.getMessage())
        assert skipped == sorted(f"accounting/{name}" for name in STRAY), "one line per stray file and run"

    assert (summary.files_seen, summary.files_unchanged, summary.problems) == (1, 1, [])
    recorded = con.execute("SELECT file_path, status, rows_loaded FROM raw.ingest_files").fetchall()
    assert recorded == [(f"accounting/{REAL_FEC.name}", "loaded", 5422)]
    assert con.execute("SELECT count(*) FROM raw.ingest_rejections").fetchone()[0] == 0
    assert current_problems(con, tmp_path) == []


def test_the_log_line_says_why_the_file_is_skipped(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="vigie.ingest")
    for name in ("Thumbs.db", "a.crdownload", "LISEZMOI.txt", "123456789FEC20231231.txt"):
        (tmp_path / "accounting" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "accounting" / name).write_text("x")
    kept = iter_files(tmp_path / "accounting")
    assert [p.name for p in kept] == ["123456789FEC20231231.txt"]
    assert [r.getMessage() for r in caplog.records] == [
        "accounting/LISEZMOI.txt: skipped, a note left by a person rather than an export",
        "accounting/Thumbs.db: skipped, a system file rather than an export",
        "accounting/a.crdownload: skipped, a download in progress rather than an export"]


def test_lock_files_of_the_tabular_sources_are_skipped_too(con, tmp_path):
    (tmp_path / "crm").mkdir()
    (tmp_path / "crm" / "companies.csv").write_text("id,name,siren,type\nc1,Dupont SARL,552100554,client\n",
                                                    encoding="utf-8")
    (tmp_path / "crm" / "~$companies.csv").write_bytes(b"\x0bjdupont   \x00\x00")
    (tmp_path / "crm" / "companies.csv.part").write_text("id,name,siren\nc1,Dup", encoding="utf-8")
    summary = ingest_source(con, tmp_path, CrmLoader(), "run-1")
    assert (summary.files_seen, summary.problems) == (1, [])
    assert current_problems(con, tmp_path) == []
