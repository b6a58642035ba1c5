"""FEC files read together (one statement per batch) give exactly what reading each file on its own gives.

The same landing/ is loaded twice: once as Vigie does (small files sharing a header are batched), once with every
file alone (the path that transcodes to chunks). Every raw table must match row for row: lines, line numbers,
quarantined lines and reasons, flags, file reports. The landing mixes the real exports of ../shared, every FEC of
the malformed corpus, generated ledgers in every encoding and line end the generator writes, and hand-made edge
cases (CR CR LF, bare CR, BOM with blank lines before the header, no final line end, a separator inside a label).
"""

import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from assets.generate import generate_landing
from assets.ingest.fec import FecLoader
from assets.ingest.raw_tables import create_raw_schema
from assets.ingest.registry import _Version, ingest_source

REPO = Path(__file__).resolve().parents[2]
REAL_FEC = REPO.parent / "shared" / "realdata" / "fec"
CORPUS = REPO / "tests" / "fixtures" / "malformed" / "accounting"
HEADER = ("JournalCode|JournalLib|EcritureNum|EcritureDate|CompteNum|CompteLib|CompAuxNum|CompAuxLib|PieceRef|"
          "PieceDate|EcritureLib|Debit|Credit|EcritureLet|DateLet|ValidDate|Montantdevise|Idevise")


def line(num: int, account: str, label: str, debit: str, credit: str, day: str = "20240115") -> str:
    return f"VE|Ventes|{num}|{day}|{account}|Compte|||F{num}|{day}|{label}|{debit}|{credit}||||||"


EDGE_CASES = {
    # name: (text, encoding, line end)
    "crcrlf": ([HEADER, line(1, "411000", "Vente", "120,00", "0,00"), line(1, "706000", "Vente", "0,00", "120,00")],
               "utf-8", "\r\r\n"),
    "bare_cr": ([HEADER, line(2, "411000", "Vente", "50,00", "0,00"), line(2, "706000", "Vente", "0,00", "50,00")],
                "utf-8", "\r"),
    "bom_blank_lines": (["", "   ", HEADER, line(3, "411000", "Vente", "10,00", "0,00"),
                         line(3, "706000", "=SUM(A1)", "0,00", "10,00")], "utf-8-sig", "\n"),
    "no_final_line_end": ([HEADER, line(4, "411000", "Vente", "10,00", "0,00"),
                           line(4, "706000", "Vente", "0,00", "10,00")], "utf-8", ""),
    "label_with_pipe": ([HEADER, line(5, "411000", "Vente | remise", "10,00", "0,00"),
                         line(5, "706000", "Vente", "0,00", "abc"),
                         line(5, "706000", "Vente", "0,00", "10,00", "2024-13-45")],
                        "utf-8", "\r\n"),
    "cp1252_euro": ([HEADER, line(6, "411000", "Vente 10 € TTC", "10,00", "0,00"),
                     line(6, "706000", "Vente élève", "0,00", "10,00")], "cp1252", "\r\n"),
    "latin9_crlf_bad_date": ([HEADER, line(7, "411000", "Vente été", "10,00", "0,00").replace("||||||", "|3112|||||"),
                              line(7, "706000", "Vente", "0,00", "10,00")], "iso-8859-15", "\r\n"),
}


def build_landing(root: Path) -> int:
    accounting = root / "landing" / "accounting"
    accounting.mkdir(parents=True)
    for path in sorted(REAL_FEC.glob("*FEC*.txt")):
        shutil.copy(path, accounting / path.name)
    for index, path in enumerate(sorted(p for p in CORPUS.iterdir() if not p.name.endswith(".yml"))):
        shutil.copy(path, accounting / f"{100000000 + index}FEC20241231_{path.stem}.txt")
    for index, (name, (lines, encoding, end)) in enumerate(EDGE_CASES.items()):
        text = end.join(lines) + (end if end else "")
        (accounting / f"{200000000 + index}FEC20241231_{name}.txt").write_bytes(text.encode(encoding))
    # Faults past the first 64 KB of a file that reads as clean UTF-8 with CR LF ends there: the plan does not scan
    # every byte of such a file (DuckDB's read and the parse refuse these), so that file is read again alone.
    clean_head = [HEADER, *(line(1000 + n, "411000" if n % 2 else "706000", f"Vente été {n}", *(
        ("10,00", "0,00") if n % 2 else ("0,00", "10,00"))) for n in range(800))]
    late_faults = {
        "late_latin1": ("\r\n".join(clean_head).encode("utf-8") + "\r\n".join(
            ["", line(9001, "411000", "Vente élève", "10,00", "0,00"),
             line(9001, "706000", "Vente", "0,00", "10,00"), ""]).encode("iso-8859-15")),
        "late_lone_cr": ("\r\n".join(clean_head) + "\r\n" + line(9002, "411000", "Vente", "10,00", "0,00")
                         + "\r" + line(9002, "706000", "Vente", "0,00", "10,00") + "\r\n").encode("utf-8"),
        "late_crcrlf": ("\r\n".join(clean_head) + "\r\n" + line(9003, "411000", "Vente", "10,00", "0,00")
                        + "\r\r\n" + line(9003, "706000", "Vente", "0,00", "10,00") + "\r\n").encode("utf-8"),
        "late_first_crlf": ("\n".join(clean_head) + "\n" + line(9004, "411000", "Vente", "10,00", "0,00")
                            + "\r\n").encode("utf-8"),
    }
    for index, (name, data) in enumerate(late_faults.items()):
        assert len(data) > 1 << 16 and data[: 1 << 16].decode("utf-8")
        (accounting / f"{300000000 + index}FEC20241231_{name}.txt").write_bytes(data)
    generated = root / "generated"
    generate_landing(generated, clients=6, lines_per_client=400, months=14, seed=7)
    for path in sorted((generated / "landing" / "accounting").rglob("*")):
        if path.is_file():
            shutil.copy2(path, accounting / path.name)
    return sum(1 for p in accounting.iterdir() if p.is_file())


def load(landing: Path, database: Path, batched: bool, monkeypatch) -> tuple[duckdb.DuckDBPyConnection, dict]:
    calls = {"one_file": 0}
    one_file = FecLoader.load

    def counting(self, *args, **kwargs):
        calls["one_file"] += 1
        return one_file(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(FecLoader, "load", counting)
        if not batched:  # in the planned order: it decides which export a re-export replaced (superseded_by)
            plan = FecLoader.plan_batches
            patch.setattr(FecLoader, "plan_batches",
                          lambda self, versions: [[v] for batch in plan(self, versions) for v in batch])
        con = duckdb.connect(str(database))
        create_raw_schema(con)
        summary = ingest_source(con, landing, FecLoader(chunk_bytes=1 << 20), run_id="run")
    return con, {"calls": calls["one_file"], "summary": summary}


def rows(con, sql: str) -> list[tuple]:
    return sorted(con.execute(sql).fetchall(), key=repr)


def file_reports(con) -> list[tuple]:
    reports = []
    for row in con.execute("SELECT file_path, sha256, entity, client_id, supersede_key, status, rows_read,"
                           " rows_loaded, rows_quarantined, warnings, details, superseded_by"
                           " FROM raw.ingest_files").fetchall():
        details = json.loads(row[10])
        details.pop("chunks", None)  # how the text was cut, not what it says
        reports.append((*row[:10], details, row[11]))
    return sorted(reports, key=repr)


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> tuple[Path, int]:
    root = tmp_path_factory.mktemp("batches")
    return root / "landing", build_landing(root)


def test_batched_reading_gives_what_reading_each_file_alone_gives(landing, tmp_path, monkeypatch):
    landing_dir, file_count = landing
    batched, seen = load(landing_dir, tmp_path / "batched.duckdb", True, monkeypatch)
    alone, seen_alone = load(landing_dir, tmp_path / "alone.duckdb", False, monkeypatch)
    assert seen_alone["calls"] == seen_alone["summary"].files_seen == file_count
    # most files went through the batch path (the corpus' odd names and the 10-digit SIREN did not)
    assert seen["calls"] < file_count / 2, seen
    for table, columns in {
        "fec_lines": "*",
        "ingest_rejections": "file_path, sha256, line_number, reason, raw_line",
        "ingest_flags": "file_path, sha256, line_number, column_name, value, rule, detail",
    }.items():
        expected = rows(alone, f"SELECT {columns} FROM raw.{table}")
        assert rows(batched, f"SELECT {columns} FROM raw.{table}") == expected, table
        assert expected, f"raw.{table} is empty: the landing does not exercise it"
    assert file_reports(batched) == file_reports(alone)
    totals = batched.execute("SELECT sum(rows_read), sum(rows_loaded) + sum(rows_quarantined),"
                             " count(*) FILTER (status = 'rejected') FROM raw.ingest_files").fetchone()
    assert totals[0] == totals[1] and totals[2] > 0  # every line loaded or quarantined; bad files rejected


def test_a_batch_with_a_file_the_warehouse_refuses_loads_the_others(landing, tmp_path, monkeypatch):
    """A value DuckDB refuses in one file of a batch: each file is loaded again on its own, the bad one is
    rejected by name with the real cause, the others load."""
    landing_dir, _ = landing
    poisoned = sorted((landing_dir / "accounting").glob("*FEC*_label_with_pipe.txt"))[0].name
    refuse = FecLoader.load_batch

    def refusing(self, con, versions):
        if any(v.file_path.endswith(poisoned) for v in versions) and len(versions) > 1:
            raise duckdb.ConversionException("Conversion Error: simulated refusal")
        return refuse(self, con, versions)

    monkeypatch.setattr(FecLoader, "load_batch", refusing)
    con, seen = load(landing_dir, tmp_path / "refused.duckdb", True, monkeypatch)
    statuses = dict(con.execute("SELECT file_path, status FROM raw.ingest_files").fetchall())
    assert statuses[f"accounting/{poisoned}"] == "loaded"  # loaded alone, after the batch fell apart
    assert seen["summary"].files_loaded + seen["summary"].files_rejected == seen["summary"].files_seen


def _ledger(path: Path, number: int, lines: int, poison_at: int | None = None) -> None:
    body = [line(number * 10_000 + n, "411000" if n % 2 else "706000", f"Vente {n}", *(
        ("10,00", "0,00") if n % 2 else ("0,00", "10,00"))) for n in range(lines)]
    if poison_at is not None:
        body[poison_at] = body[poison_at].replace("Vente", "Ven\x00te")
    path.write_text("\r\n".join([HEADER, *body]) + "\r\n", encoding="utf-8")


def test_a_nul_byte_past_the_header_of_a_file_that_shares_it_rejects_that_file_by_name_only(tmp_path):
    """Two ledgers with the same header, one holding a NUL byte 90 KB in (a file cut and glued to a binary): that
    one is rejected whole with the reason, the other loads."""
    accounting = tmp_path / "landing" / "accounting"
    accounting.mkdir(parents=True)
    _ledger(accounting / "552100554FEC20241231.txt", 1, 1_000)
    _ledger(accounting / "552100554FEC20231231.txt", 2, 1_000, poison_at=900)  # ~90 KB in: past its header
    assert (accounting / "552100554FEC20231231.txt").read_bytes().index(b"\x00") > 1 << 16
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    create_raw_schema(con)
    summary = ingest_source(con, tmp_path / "landing", FecLoader(chunk_bytes=1 << 20), run_id="run")
    statuses = dict(con.execute("SELECT file_path, status FROM raw.ingest_files").fetchall())
    assert statuses == {"accounting/552100554FEC20241231.txt": "loaded",
                        "accounting/552100554FEC20231231.txt": "rejected"}
    assert con.execute("SELECT file_path, reason FROM raw.ingest_rejections WHERE line_number IS NULL").fetchall() \
        == [("accounting/552100554FEC20231231.txt",
             "the file contains NUL bytes: it is binary or UTF-16, not a FEC text file")]
    assert summary.files_loaded == 1 and summary.files_rejected == 1


def test_the_lines_of_a_batch_are_materialized_before_they_are_typed(tmp_path):
    """read_text gives one row per file (one row for a chunk of a large file): streamed from there, the split, typing
    and checks of a whole batch ran on one thread. Materializing the lines lets DuckDB share them out to every
    core (0.66 s to 0.41 s for 200 000 lines on two cores). The plan must keep that materialization."""
    from assets.ingest.fec_layout import read_header
    from assets.ingest.fec_sql import SOURCES_TABLE, chunk_sql

    ledger = tmp_path / "123456782FEC20241231.txt"
    ledger.write_text("\n".join([HEADER, line(1, "411000", "Vente", "10,00", "0,00")]) + "\n", encoding="utf-8")
    con = duckdb.connect()
    con.execute(f"CREATE TEMP TABLE {SOURCES_TABLE} AS SELECT 0 AS file_index, ? AS path, 1::BIGINT AS first_line,"
                " 1::BIGINT AS header_line", [str(ledger)])
    sql = chunk_sql(read_header(HEADER))
    plan = con.execute(f"EXPLAIN {sql}", {"paths": [str(ledger)]}).fetchall()[0][1]
    assert "CTE Name: text_lines" in plan
    con.execute(sql, {"paths": [str(ledger)]})
    assert con.execute("SELECT line_number, compte_num, debit, problem FROM vigie_fec_chunk").fetchall() == [
        (2, "411000", 10, None)]


def _export(path: Path, number: int, lines: int, exported_at: int) -> None:
    _ledger(path, number, lines)
    os.utime(path, ns=(exported_at, exported_at))


def test_a_re_export_never_shares_a_batch_with_the_version_it_replaces(tmp_path):
    """Two versions of one ledger (same SIREN and closing date) go in different batches, the older one first, so
    superseding it removes committed rows, never rows of the transaction that is inserting."""
    accounting = tmp_path / "accounting"
    accounting.mkdir()
    _export(accounting / "552100554FEC20241231_export-202502.txt", 1, 10, exported_at=2_000_000_000 * 10**9)
    _export(accounting / "552100554FEC20241231.txt", 2, 10, exported_at=1_900_000_000 * 10**9)
    _export(accounting / "732829320FEC20241231.txt", 3, 10, exported_at=1_950_000_000 * 10**9)
    versions = [_Version(path, f"accounting/{path.name}", path.name) for path in sorted(accounting.iterdir())]
    batches = [[v.path.name for v in batch] for batch in FecLoader().plan_batches(versions)]
    assert batches == [["552100554FEC20241231.txt", "732829320FEC20241231.txt"],
                       ["552100554FEC20241231_export-202502.txt"]]


def test_a_re_export_fills_the_open_batch_of_its_header_when_its_original_is_in_a_closed_one(tmp_path):
    """Re-exports do not make batches of their own at the end of the load: one joins the batch being filled for
    its header when the version it replaces was read by an earlier batch (here, two files fill a batch)."""
    accounting = tmp_path / "accounting"
    accounting.mkdir()
    _export(accounting / "552100554FEC20241231.txt", 1, 10, exported_at=1_900_000_000 * 10**9)
    _export(accounting / "732829320FEC20241231.txt", 2, 10, exported_at=1_900_000_000 * 10**9)
    _export(accounting / "775672272FEC20241231.txt", 3, 10, exported_at=1_900_000_000 * 10**9)
    _export(accounting / "552100554FEC20241231_v2.txt", 4, 10, exported_at=2_000_000_000 * 10**9)
    two_files = 2 * max(path.stat().st_size for path in accounting.iterdir())
    versions = [_Version(path, f"accounting/{path.name}", path.name) for path in sorted(accounting.iterdir())]
    batches = [[v.path.name for v in batch] for batch in FecLoader(chunk_bytes=two_files).plan_batches(versions)]
    assert batches == [["552100554FEC20241231.txt", "732829320FEC20241231.txt"],
                       ["775672272FEC20241231.txt", "552100554FEC20241231_v2.txt"]]


def test_a_re_export_in_another_layout_still_loads_after_the_version_it_replaces(tmp_path):
    """A ledger first exported tab-separated, then twice with pipes: its pipe versions fill the pipe batches, yet
    the tab version's batch is closed before its re-export joins one, so each version loads after the one before,
    and ends superseded by the next, as on three mornings."""
    accounting = tmp_path / "landing" / "accounting"
    accounting.mkdir(parents=True)
    day = 10**9 * 86_400
    _export(accounting / "552100554FEC20241231_v1.txt", 1, 10, exported_at=1_900_000_000 * 10**9)
    tab = accounting / "552100554FEC20241231_v1.txt"
    tab.write_text(tab.read_text(encoding="utf-8").replace("|", "\t"), encoding="utf-8")
    os.utime(tab, ns=(1_900_000_000 * 10**9, 1_900_000_000 * 10**9))
    _export(accounting / "552100554FEC20241231_v2.txt", 2, 10, exported_at=1_900_000_000 * 10**9 + day)
    _export(accounting / "552100554FEC20241231_v3.txt", 3, 10, exported_at=1_900_000_000 * 10**9 + 2 * day)
    _export(accounting / "732829320FEC20241231_v1.txt", 4, 10, exported_at=1_900_000_000 * 10**9)
    _export(accounting / "732829320FEC20241231_v2.txt", 5, 10, exported_at=1_900_000_000 * 10**9 + day)
    _export(accounting / "775672272FEC20241231.txt", 6, 10, exported_at=1_900_000_000 * 10**9)
    two_files = 2 * max(path.stat().st_size for path in accounting.iterdir())
    versions = [_Version(path, f"accounting/{path.name}", path.name) for path in sorted(accounting.iterdir())]
    batches = [[v.path.name for v in batch] for batch in FecLoader(chunk_bytes=two_files).plan_batches(versions)]
    assert batches == [["552100554FEC20241231_v1.txt"],
                       ["732829320FEC20241231_v1.txt", "775672272FEC20241231.txt"],
                       ["552100554FEC20241231_v2.txt", "732829320FEC20241231_v2.txt"],
                       ["552100554FEC20241231_v3.txt"]]
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    create_raw_schema(con)
    ingest_source(con, tmp_path / "landing", FecLoader(chunk_bytes=two_files), run_id="run")
    assert con.execute("SELECT file_path, status, superseded_by FROM raw.ingest_files WHERE client_id = '552100554'"
                       " ORDER BY file_path").fetchall() == [
        ("accounting/552100554FEC20241231_v1.txt", "superseded", "accounting/552100554FEC20241231_v2.txt"),
        ("accounting/552100554FEC20241231_v2.txt", "superseded", "accounting/552100554FEC20241231_v3.txt"),
        ("accounting/552100554FEC20241231_v3.txt", "loaded", None)]


def test_a_first_load_with_re_exports_writes_the_ledger_to_the_database_file_not_the_wal(tmp_path):
    """DuckDB writes the rows of a large insert straight to the database file, unless the same transaction
    removes some of them: then the commit writes them all to the WAL (and a checkpoint writes them again). A
    landing holding a ledger and its re-export must not pay that: the WAL stays a fraction of the ledger."""
    accounting = tmp_path / "landing" / "accounting"
    accounting.mkdir(parents=True)
    lines = 130_000  # a transaction must insert a row group (122 880 rows) to be written ahead
    _export(accounting / "552100554FEC20241231.txt", 1, lines, exported_at=1_900_000_000 * 10**9)
    _export(accounting / "552100554FEC20241231_export-202502.txt", 2, lines, exported_at=2_000_000_000 * 10**9)
    _export(accounting / "732829320FEC20241231.txt", 3, lines, exported_at=1_950_000_000 * 10**9)
    database = tmp_path / "w.duckdb"
    con = duckdb.connect(str(database), config={"checkpoint_threshold": "1TB"})  # keep what commits wrote
    create_raw_schema(con)
    summary = ingest_source(con, tmp_path / "landing", FecLoader(), run_id="run")
    assert (summary.files_loaded, summary.files_superseded, summary.rows_loaded) == (3, 1, 3 * lines)
    assert con.execute("SELECT count(*), count(DISTINCT _source_file) FROM raw.fec_lines").fetchone() == (
        2 * lines, 2)
    ledger_bytes = sum(path.stat().st_size for path in accounting.iterdir())
    wal = Path(f"{database}.wal")
    assert (wal.stat().st_size if wal.exists() else 0) < ledger_bytes / 10


def test_planning_a_batch_does_not_validate_every_byte_of_a_clean_utf8_file(landing, monkeypatch):
    """A UTF-8 or ASCII file whose first 64 KB read cleanly with CR LF (or LF) ends is planned without decoding
    every byte: DuckDB's read_text refuses invalid UTF-8, and the parse refuses a CR left inside a line, so a
    fault further down sends that file back to be read alone (the landing above has such files). Only the
    other files (single-byte encodings, CR line ends) are scanned whole by sniff_text_format."""
    import assets.ingest.fec as fec

    landing_dir, _ = landing
    scanned = []
    full_sniff = fec.sniff_text_format
    monkeypatch.setattr(fec, "sniff_text_format",
                        lambda path, size: scanned.append(path.name) or full_sniff(path, size))
    files = sorted(p for p in (landing_dir / "accounting").iterdir() if p.name[:9].isdigit())
    FecLoader().plan_batches([_Version(p, f"accounting/{p.name}", p.name) for p in files])
    assert "300000000FEC20241231_late_latin1.txt" not in scanned  # its first 64 KB are clean UTF-8
    assert any("cp1252_euro" in name for name in scanned)  # a single-byte file is scanned whole
    clean = [p.name for p in files if p.name not in scanned]
    assert len(clean) > len(files) / 2, (len(clean), len(files))


def test_planning_decodes_only_the_header_line_of_a_file_that_starts_with_it(landing, monkeypatch):
    """Nearly every export starts with its header: planning decodes that line alone, not the first 64 KB of every
    file (about 0.9 s of the plan for 3 140 files). A file whose first line is blank, ends with a lone CR or has no line
    end within 64 KB is still searched in its first 64 KB, and its header keeps its physical line number (the
    batched reading above gives the same rows as reading each file alone)."""
    import assets.ingest.fec as fec

    landing_dir, _ = landing
    searched = []
    normalise = fec.normalise_line_ends
    monkeypatch.setattr(fec, "normalise_line_ends", lambda text: searched.append(text) or normalise(text))
    files = sorted(p for p in (landing_dir / "accounting").iterdir() if p.name[:9].isdigit())
    loader = FecLoader()
    loader.plan_batches([_Version(p, f"accounting/{p.name}", p.name) for p in files])
    header_lines = {path.split("_", 1)[-1]: plain.header_line for path, plain in loader._planned.items()}
    assert header_lines["bom_blank_lines.txt"] == 3 and header_lines["bare_cr.txt"] == 1
    assert 2 <= len(searched) < len(files) / 4, (len(searched), len(files))  # 4 of 39, all 37 plannable before


@pytest.mark.parametrize("fault", ["late_latin1", "late_lone_cr"])
def test_a_file_duckdb_cannot_read_as_is_is_read_alone_and_its_batch_together(tmp_path, monkeypatch, fault):
    """DuckDB names the file of a batch it could not read as is (not UTF-8 past its first 64 KB, or a CR inside a
    line): that file is read on its own, with the format sniffed from every byte, and the others together."""
    accounting = tmp_path / "landing" / "accounting"
    accounting.mkdir(parents=True)
    for number in (1, 2, 3):
        _ledger(accounting / f"55210055{number}FEC20241231.txt", number, 100)
    lines = [HEADER, *(line(n, "411000" if n % 2 else "706000", f"Vente {n}", *(
        ("10,00", "0,00") if n % 2 else ("0,00", "10,00"))) for n in range(1, 901))]
    head = "\r\n".join(lines) + "\r\n"
    tail = [line(901, "411000", "Vente élève", "10,00", "0,00"), line(901, "706000", "Vente", "0,00", "10,00")]
    data = (head.encode() + "\r\n".join(tail).encode("iso-8859-15") + b"\r\n" if fault == "late_latin1"
            else (head + "\r".join(tail) + "\r\n").encode())
    assert len(head) > 1 << 16
    (accounting / "732829320FEC20241231.txt").write_bytes(data)
    alone = []
    one_file = FecLoader.load
    monkeypatch.setattr(FecLoader, "load", lambda self, con, path, *a: alone.append(path.name) or one_file(
        self, con, path, *a))
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    create_raw_schema(con)
    summary = ingest_source(con, tmp_path / "landing", FecLoader(), run_id="run")
    assert alone == ["732829320FEC20241231.txt"]
    assert (summary.files_loaded, summary.rows_loaded, summary.rows_quarantined) == (4, 3 * 100 + 902, 0)
    encoding, line_ending = con.execute(
        "SELECT details::JSON->>'encoding', details::JSON->>'line_ending' FROM raw.ingest_files"
        " WHERE file_path = 'accounting/732829320FEC20241231.txt'").fetchone()
    assert (encoding, line_ending) == (("iso-8859-15", "CRLF") if fault == "late_latin1" else ("utf-8", "CRLF"))
    assert con.execute("SELECT max(_line_number) FROM raw.fec_lines WHERE _source_file LIKE '%732829320%'"
                       ).fetchone() == (903,)


def test_a_single_byte_file_with_cr_lf_ends_is_transcoded_without_rewriting_them(tmp_path, monkeypatch):
    """A file read in a batch once transcoded (ISO-8859-15, Windows-1252) keeps its CR LF line ends when they are its
    only CRs: the parse drops a line end's CR, so rewriting them is work for nothing (1.3 s of the 10 M-line
    bench's 2.8 s of transcoding). Files with other CRs are still rewritten, and every line reads the same."""
    import assets.ingest.fec_text as fec_text

    accounting = tmp_path / "landing" / "accounting"
    accounting.mkdir(parents=True)
    lines = [HEADER, line(1, "411000", "Vente été 10 €", "10,00", "0,00"), line(1, "706000", "Vente", "0,00", "10,00")]
    (accounting / "552100554FEC20241231.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    (accounting / "732829320FEC20241231.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode("iso-8859-15"))
    (accounting / "443061841FEC20241231.txt").write_bytes(("\r".join(lines) + "\r").encode("iso-8859-15"))
    rewritten = []
    normalise = fec_text.normalise_line_ends
    monkeypatch.setattr(fec_text, "normalise_line_ends", lambda text: rewritten.append(text) or normalise(text))
    read_together = []
    batch = FecLoader.load_batch
    monkeypatch.setattr(FecLoader, "load_batch", lambda self, con, versions: read_together.append(len(versions))
                        or batch(self, con, versions))
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    create_raw_schema(con)
    summary = ingest_source(con, tmp_path / "landing", FecLoader(), run_id="run")
    assert read_together == [3] and (summary.rows_loaded, summary.rows_quarantined) == (6, 0)
    assert len(rewritten) == 1 and "\r" in rewritten[0] and "\r\n" not in rewritten[0]  # the bare-CR file only
    assert rows(con, "SELECT ecriture_lib, idevise, _line_number FROM raw.fec_lines") == sorted(
        [("Vente été 10 €", None, 2), ("Vente", None, 3)] * 3, key=repr)


def test_the_next_batch_is_transcoded_while_duckdb_reads_the_one_before(tmp_path, monkeypatch):
    """The files of a batch that DuckDB cannot read as they are (ISO-8859-15 here) are copied as UTF-8 by a thread while
    DuckDB reads the batch before; the copies are removed once read, and every line is loaded as before."""
    import threading

    import assets.ingest.fec as fec

    accounting = tmp_path / "landing" / "accounting"
    accounting.mkdir(parents=True)
    sirens = ["552100554", "552100562", "552100570", "552100588", "552100596", "552100604"]
    for number, siren in enumerate(sirens, start=1):
        lines = [HEADER, *(line(n, "411000" if n % 2 else "706000", f"Vente été {n} n°{number}", *(
            ("10,00", "0,00") if n % 2 else ("0,00", "10,00"))) for n in range(1, 201))]
        (accounting / f"{siren}FEC20241231.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode("iso-8859-15"))
    size = (accounting / f"{sirens[0]}FEC20241231.txt").stat().st_size
    copied_by = []
    transcode = fec.transcode_whole
    monkeypatch.setattr(fec, "transcode_whole", lambda path, text_format, out: copied_by.append(
        (path.name[:9], threading.current_thread().name)) or transcode(path, text_format, out))
    batches = []
    batch = FecLoader.load_batch
    monkeypatch.setattr(FecLoader, "load_batch", lambda self, con, versions: batches.append(
        [v.path.name[:9] for v in versions]) or batch(self, con, versions))
    scratch = tmp_path / "scratch"
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    create_raw_schema(con)
    summary = ingest_source(con, tmp_path / "landing", FecLoader(scratch_dir=scratch, chunk_bytes=2 * size + 10),
                            run_id="run")
    assert [len(b) for b in batches] == [2, 2, 2]
    threads = dict(copied_by)
    assert len(copied_by) == 6 and set(threads) == set(sirens)  # each file copied once
    assert all(threads[siren].startswith("MainThread") for siren in batches[0])
    assert all(threads[siren].startswith("fec-copy") for siren in batches[1] + batches[2])
    assert (summary.rows_loaded, summary.rows_quarantined) == (6 * 200, 0)
    assert con.execute(
        "SELECT count(DISTINCT ecriture_lib) FROM raw.fec_lines WHERE ecriture_lib LIKE 'Vente été % n°_'"
    ).fetchone() == (6 * 200,)
    assert not any(scratch.rglob("*.txt"))
