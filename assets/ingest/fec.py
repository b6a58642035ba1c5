"""The FEC loader: every legal variant and real-world quirk of the Fichier des Écritures Comptables.

Python only streams bytes (encoding, line ends, chunking: fec_text) and reads the header and the file name
(fec_layout); DuckDB splits, types and checks the lines (fec_sql), so a ledger of tens of millions of lines
loads at DuckDB speed in bounded memory. Each line is loaded or quarantined with its physical line number.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

from assets.ingest.fec_layout import (
    FEC_FIELDS,
    FecFileName,
    FecLayout,
    parse_file_name,
    pseudo_client_id,
    read_header,
    siren_from_folder,
    siren_of,
    siren_position,
)
from assets.ingest.fec_sql import (
    CHUNK_TABLE,
    LINE_COLUMNS,
    NO_REPAIR_SQL,
    REPAIRED_TABLE,
    SOFT_PROBLEMS,
    SOURCES_TABLE,
    chunk_sql,
    repair_sql,
)
from assets.ingest.fec_text import (
    LEGAL_ENCODINGS,
    TextChunk,
    TextFormat,
    codec_of,
    normalise_line_ends,
    quick_text_format,
    sniff_text_format,
    transcode_to_chunks,
    transcode_whole,
)
from assets.ingest.registry import FileRejected, FileReport, Rejection, iter_files
from assets.ingest.tabular import load_stamp
from assets.warehouse import insert_rows

log = logging.getLogger("vigie.ingest")

# 64 MB of text per statement: the 10 M-line bench's FEC ingest took 58.6 s with 32 MB, 52.1 s with 64 MB and
# 50.4 s with 128 MB, its peak memory 746, 918 and 1 098 MB. Most of the gain is in the inserts into
# raw.fec_lines (13.8 s with 32 MB, 9.1 s with 64 MB); the commits cost about 11 s whatever the size.
DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024
LONGEST_FISCAL_YEAR = timedelta(days=731)  # a first fiscal year may last up to 24 months
FILES_TABLE = "vigie_fec_files"
FILES_COLUMNS = {"file_index": "INTEGER", "siren": "VARCHAR", "closing_date": "DATE", "sha256": "VARCHAR",
                 "file_path": "VARCHAR"}
SOURCES_COLUMNS = {"file_index": "INTEGER", "path": "VARCHAR", "first_line": "BIGINT", "header_line": "BIGINT"}
INSERT_COLUMNS = ["siren", "closing_date", *LINE_COLUMNS, "_file_sha256", "_source_file", "_line_number"]
# The dbt seed of opening journals (à-nouveaux): a file whose entries open with one starts a fiscal year.
OPENING_JOURNALS_SEED = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "opening_journals.csv"


class FecLoader:
    """SourceLoader of landing/accounting (see registry.SourceLoader): any file there is read as a FEC.

    Files smaller than a chunk, named <SIREN>FEC<closing date>, that share a header are read together by one
    statement per batch of about `chunk_bytes` (`plan_batches`, `load_batch`): UTF-8 and ASCII files straight
    from landing/, others once transcoded. Any other file is transcoded to UTF-8 chunks and read on its own
    (`load`). Both go through the same SQL, so a line gets the same fate either way.
    """

    source = "accounting"
    raw_tables = ("fec_lines",)
    # A corrected re-export may well have fewer lines; the ledger's balance warnings say when one looks wrong.
    guards_shrinking = False

    def __init__(self, scratch_dir: Path | None = None, chunk_bytes: int = DEFAULT_CHUNK_BYTES):
        self.scratch_dir = scratch_dir  # transcoded chunks of the file being loaded; default: system tmp
        self.chunk_bytes = chunk_bytes
        self._planned: dict[str, _PlainFile] = {}  # file_path -> what plan_batches read of it
        self._copies: _CopiesAhead | None = None  # the UTF-8 copies of the next batch, made while one is read

    def list_files(self, landing_dir: Path) -> list[Path]:
        return iter_files(landing_dir)

    def _work_dir(self, prefix: str) -> Path:
        """A fresh folder for transcoded text, under the home's scratch folder (else the system's)."""
        if self.scratch_dir:
            self.scratch_dir.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.scratch_dir))

    def load(self, con, path: Path, file_path: str, sha256: str) -> FileReport:
        started = time.monotonic()
        name = parse_file_name(path.name)
        text_format = sniff_text_format(path, self.chunk_bytes)
        work_dir = self._work_dir("fec_")
        try:
            chunks = transcode_to_chunks(path, text_format, work_dir, self.chunk_bytes)
            _register_files(con, [(0, name.siren, name.closing_date, sha256, file_path)])
            layout, tally = _load_chunks(con, chunks, file_path, name.siren is None)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        _drop_work_tables(con)
        report = _report(con, path, file_path, sha256, name, text_format, layout, tally)
        log.debug("%s: %d rows loaded, %d quarantined in %.1f s (%s, %s, %s, %d columns)", file_path,
                 report.rows_loaded, report.rows_quarantined, time.monotonic() - started,
                 text_format.encoding, layout.amount_layout, layout.regime, layout.field_count)
        return report

    def plan_batches(self, versions: list) -> list[list]:
        """Group the versions to load (registry._Version) into batches read by one statement each; a file larger
        than a chunk, or whose name lacks its SIREN or closing date, is a batch of its own.

        Versions of one ledger (same SIREN and closing date: re-exports) never share a batch, and load in the
        order they were exported: each is replaced by the next (superseded_by), as when they arrive on
        different mornings, and removing the replaced rows touches rows an earlier batch committed. When a
        transaction removes rows it inserted itself, DuckDB drops the rows it had already written to the
        database file and writes them all to the WAL at commit, then again at the checkpoint: at 10 M lines,
        with 140 re-exports spread over 27 batches, every batch paid that."""
        batches: list[list] = []
        ledgers: dict[tuple, list] = {}  # (siren, closing date) -> its versions
        for version in versions:
            plain = _plain_file(version.path, self.chunk_bytes)
            if plain is None:
                batches.append([version])
                continue
            self._planned[version.file_path] = plain
            ledgers.setdefault((plain.name.siren, plain.name.closing_date), []).append(version)
        for ledger_versions in ledgers.values():
            # stable: with equal times, the version listed later is loaded later and stays the newest, as before
            ledger_versions.sort(key=lambda v: self._planned[v.file_path].modified_ns)
        batches += self._batches_by_header(ledgers)
        if self._copies:  # a batch that failed is planned again: what was copied ahead of it is made again
            self._copies.close()
        self._copies = _CopiesAhead(lambda: self._work_dir("fec_ahead_"), [b for b in batches if len(b) > 1])
        return batches

    def _batches_by_header(self, ledgers: dict[tuple, list]) -> list[list]:
        """Versions sharing a header, in batches of at most `chunk_bytes` of text, each ledger's versions in
        batches of their own and in export order.

        The first versions of every ledger are placed first (those of the re-exported ledgers leading), then the
        second versions, and so on. A later version joins the open batch of its header unless the version before
        it is in a batch still open: that batch is closed first, so the two never share one and the earlier loads
        first. Planning each round apart left a small batch per header and round at the end of the load (12 of
        the 10 M-line bench's 33 statements, 5.6 s for its last 127 MB, against 1.1 s for 63 MB in a full batch)."""
        by_round: list[list] = []
        previous: dict[str, str] = {}  # file_path -> that of the version of its ledger exported just before
        for ledger_versions in sorted(ledgers.values(), key=len, reverse=True):  # stable: landing order otherwise
            for position, version in enumerate(ledger_versions):
                if position == len(by_round):
                    by_round.append([])
                by_round[position].append(version)
                if position:
                    previous[version.file_path] = ledger_versions[position - 1].file_path
        planned: list[list] = []
        open_batches: dict[str, list] = {}  # header -> its batch being filled
        open_sizes: dict[str, int] = {}  # header -> the bytes of its open batch
        open_batch_of: dict[str, str] = {}  # file_path -> the header of the open batch holding it

        def close(header: str) -> None:
            batch = open_batches.pop(header)
            del open_sizes[header]
            for held in batch:
                del open_batch_of[held.file_path]
            planned.append(batch)

        for version in (version for round_versions in by_round for version in round_versions):
            header, size = self._planned[version.file_path].header, self._planned[version.file_path].size
            if version.file_path in previous and previous[version.file_path] in open_batch_of:
                close(open_batch_of[previous[version.file_path]])  # the version it replaces loads first
            if header in open_batches and open_sizes[header] + size > self.chunk_bytes:
                close(header)
            open_batches.setdefault(header, []).append(version)
            open_sizes[header] = open_sizes.get(header, 0) + size
            open_batch_of[version.file_path] = header
        return planned + list(open_batches.values())

    def load_batch(self, con, versions: list) -> dict[str, FileReport]:
        """Load files planned together by plan_batches (same header): one parse statement, one insert, per-file
        reports."""
        started = time.monotonic()
        plain = [self._planned.pop(v.file_path) for v in versions]
        layout = read_header(plain[0].header)
        _register_files(con, [(index, p.name.siren, p.name.closing_date, v.sha, v.file_path)
                              for index, (v, p) in enumerate(zip(versions, plain, strict=True))])
        loader = _LayoutLoader(con, layout)
        copies = self._copies  # made by plan_batches, which planned these versions
        next_batch = copies.after(versions)
        try:
            sources = []
            for index, (version, file) in enumerate(zip(versions, plain, strict=True)):
                read_path = version.path if file.in_place else copies.take(version, file.text_format)
                sources.append((index, str(read_path), 1, file.header_line))
            if next_batch:
                copies.start([(v, self._planned[v.file_path]) for v in next_batch if v.file_path in self._planned])
            loader.load(sources)
        finally:
            copies.forget(versions)
            if not next_batch:
                copies.close()  # the plan's last batch
        stats = _batch_stats(con)
        _drop_work_tables(con)
        reports = {}
        for index, (version, file) in enumerate(zip(versions, plain, strict=True)):
            tally = loader.tallies.get(index, _Tally())
            reports[version.file_path] = _assemble_report(
                version.path, file.name, file.text_format, layout, tally, stats[index],
                file.name.siren, "file name", file.name.closing_date, list(file.name.warnings))
        log.debug("%d files (%s...) read together in %.1f s", len(versions), versions[0].file_path,
                  time.monotonic() - started)
        return reports


@dataclass(frozen=True)
class _PlainFile:
    """A file small enough to be read in a batch, with what the plan read of it."""

    name: FecFileName
    text_format: TextFormat
    header: str  # the header line as written
    header_line: int  # its physical line number
    size: int
    modified_ns: int  # when it was exported (its modification time)

    @property
    def in_place(self) -> bool:
        """DuckDB reads it from landing/ as it is (CR LF line ends are dropped in SQL); any other file is copied
        once, as UTF-8 with LF line ends."""
        return self.text_format.encoding in ("utf-8", "ascii") and self.text_format.only_crlf


HEADER_SEARCH_BYTES = 1 << 16  # a header further down than this is read by the one-file path


def _plain_file(path: Path, chunk_bytes: int) -> _PlainFile | None:
    """The file when it can be read in a batch, else None (it is then loaded, or rejected, on its own): named
    <SIREN>FEC<closing date>, smaller than a chunk, text with a FEC header near its start."""
    try:
        stat = path.stat()
        size = stat.st_size
        name = parse_file_name(path.name)
        if size > chunk_bytes or name.siren is None or name.closing_date is None or name.warnings:
            return None
        data = path.read_bytes()
        text_format = quick_text_format(data) or sniff_text_format(path, chunk_bytes)
        header, number = _header_line(data, codec_of(text_format))
        if header is None:
            return None
        read_header(header)  # a file without a FEC header is rejected on its own, with the reason
        return _PlainFile(name, text_format, header, number, size, stat.st_mtime_ns)
    except (OSError, FileRejected):
        return None


def _header_line(data: bytes, codec: str) -> tuple[str | None, int]:
    """The first line with something on it, and its physical number, within HEADER_SEARCH_BYTES. Nearly every
    export starts with it: then only that line is decoded (decoding and splitting 64 KB of each of 3 140 files
    took about 0.9 s of the plan)."""
    end = data.find(b"\n", 0, HEADER_SEARCH_BYTES)
    first = data[:end].removesuffix(b"\r") if end >= 0 else b""
    if first and b"\r" not in first:  # the codecs read here (UTF-8, ASCII, single-byte) write LF as one byte
        line = first.decode(codec, errors="replace")
        if line.strip():
            return line, 1
    start = data[:HEADER_SEARCH_BYTES]
    text = normalise_line_ends(start.decode(codec, errors="replace"))
    lines = text.split("\n")[:-1] if len(start) == HEADER_SEARCH_BYTES else text.split("\n")
    for number, line in enumerate(lines, start=1):
        if line.strip():
            return line, number
    return None, 0


class _CopiesAhead:
    """The UTF-8 copies of the files of a batch that DuckDB cannot read as they are, made in a thread while DuckDB
    (which releases the GIL) reads the batch before: the 10 M-line bench spent 2.8 s transcoding between its
    batches' statements. One batch ahead, so the copies waiting hold at most a chunk of text."""

    def __init__(self, make_folder: Callable[[], Path], batches: list[list]):
        self.make_folder = make_folder  # called once, when the first copy is written
        self.batches = batches  # the batches of several files, in the order they are read
        self.folder: Path | None = None
        self.pool: ThreadPoolExecutor | None = None
        self.made: dict[str, Future] = {}  # file_path -> the copy under way (its result: the copy's path)

    def after(self, versions: list) -> list | None:
        """The batch planned after `versions`, if any."""
        for position, batch in enumerate(self.batches[:-1]):
            if batch[0].file_path == versions[0].file_path:
                return self.batches[position + 1]
        return None

    def start(self, files: list[tuple]) -> None:
        """Copy these (version, _PlainFile) in the thread, those DuckDB cannot read from landing/ as they are."""
        for version, plain in files:
            if not plain.in_place and version.file_path not in self.made:
                if self.pool is None:
                    self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fec-copy")
                self._folder()  # made here, so the thread never makes it
                self.made[version.file_path] = self.pool.submit(self._copy, version, plain.text_format)

    def take(self, version, text_format: TextFormat) -> Path:
        """The copy of this file: the one made ahead (waiting for it if needed), else one made now. A copy that failed
        ahead is made again here, so its error is raised where the batch reads it."""
        made = self.made.pop(version.file_path, None)
        if made is not None and made.exception() is None:
            return made.result()
        self._folder()
        return self._copy(version, text_format)

    def forget(self, versions: list) -> None:
        """Remove the copies of a batch read (or failed)."""
        if self.folder:
            for version in versions:
                self._path_of(version).unlink(missing_ok=True)

    def close(self) -> None:
        """Stop copying and remove every copy; a copy asked for later is made then."""
        if self.pool:
            self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool, self.made, self.batches = None, {}, []
        if self.folder:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def _copy(self, version, text_format: TextFormat) -> Path:
        path = self._path_of(version)
        transcode_whole(version.path, text_format, path)
        return path

    def _folder(self) -> Path:
        if self.folder is None:
            self.folder = self.make_folder()
        return self.folder

    def _path_of(self, version) -> Path:
        return self.folder / f"{hashlib.sha256(version.file_path.encode()).hexdigest()[:32]}.txt"


def _register_files(con, rows: list[tuple]) -> None:
    """vigie_fec_files: what every row of each file read shares (file_index, siren, closing date, sha, path)."""
    _create_work_table(con, FILES_TABLE, FILES_COLUMNS, rows)


def _create_work_table(con, table: str, columns: dict[str, str], rows: list[tuple]) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
    insert_rows(con, table, columns, rows)


def _drop_work_tables(con) -> None:
    for table in (SOURCES_TABLE, CHUNK_TABLE, REPAIRED_TABLE, FILES_TABLE):
        con.execute(f"DROP TABLE IF EXISTS {table}")  # after a failure, the caller's rollback removes them


@dataclass
class _Tally:
    """What the chunks of one file add up to."""

    rows_read: int = 0
    rows_loaded: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    short_lines: int = 0
    lines_with_extra_data: int = 0
    repaired: Counter[str] = field(default_factory=Counter)
    unreadable: Counter[str] = field(default_factory=Counter)
    chunks: int = 0
    siren_values: set[str] = field(default_factory=set)  # distinct values of a SIREN/SIRET column, if any


@dataclass
class _LayoutLoader:
    """Loads text of one layout into raw.fec_lines: the chunks of one file, or many files at once. Each read is
    a list of sources (file_index, path, first physical line, header line); vigie_fec_files gives each
    file_index its constants."""

    con: object
    layout: FecLayout
    tallies: dict[int, _Tally] = field(default_factory=dict)

    def __post_init__(self):
        self.parse_sql, self.repair_sql = chunk_sql(self.layout), repair_sql(self.layout)

    def load(self, sources: list[tuple[int, str, int, int]]) -> None:
        _create_work_table(self.con, SOURCES_TABLE, SOURCES_COLUMNS, sources)
        self.con.execute(self.parse_sql, {"paths": [path for _, path, _, _ in sources]})
        width = self.layout.field_count
        soft = ", ".join(f"count(*) FILTER ({c} AND problem IS NULL)" for c in SOFT_PROBLEMS)
        counts = self.con.execute(
            f"SELECT file_index, count(*), count(*) FILTER (problem IS NULL),"
            f" count(*) FILTER (problem IS NOT NULL AND field_count > {width}),"
            f" count(*) FILTER (problem IS NULL AND field_count < {width}),"
            f" count(*) FILTER (problem IS NULL AND has_extra_data), {soft} FROM {CHUNK_TABLE}"
            " GROUP BY file_index").fetchall()
        self.con.execute(self.repair_sql if any(row[3] for row in counts) else NO_REPAIR_SQL)
        self._insert()
        self._flag_formula_like_labels()
        if any(any(row[6:]) for row in counts):
            self._flag_unreadable_optional_fields()
        repaired: dict[int, Counter] = {}
        for index, label, count in self.con.execute(
                f"SELECT file_index, merged_into, count(*) FROM {REPAIRED_TABLE} GROUP BY ALL").fetchall():
            repaired.setdefault(index, Counter())[label] = count
        losing = set()
        for index, rows, clean, _, short, extra, *unreadable in counts:
            tally = self.tallies.setdefault(index, _Tally())
            loaded = clean + sum(repaired.get(index, Counter()).values())
            if rows > loaded:
                losing.add(index)
            tally.rows_read += rows
            tally.rows_loaded += loaded
            tally.short_lines += short
            tally.lines_with_extra_data += extra
            tally.repaired.update(repaired.get(index, Counter()))
            tally.unreadable.update(dict(zip(SOFT_PROBLEMS, unreadable, strict=True)))
        for index, _, _, _ in sources:
            self.tallies.setdefault(index, _Tally()).chunks += 1
        if losing:
            for index, rejection in self._rejections():
                self.tallies[index].rejections.append(rejection)

    def _insert(self) -> None:
        columns = ", ".join(f'"{c}"' for c in INSERT_COLUMNS)
        values = ", ".join(["f.siren", "f.closing_date", *(f"c.{c}" for c in LINE_COLUMNS), "f.sha256",
                            "f.file_path", "c.line_number"])
        # Every row carries its file and physical line number, and nothing reads raw.fec_lines in storage order,
        # so the insert need not keep it: 0.60 s against 0.44 s for a batch of 462 000 lines (2 threads). The
        # setting is the session's own; it is put back for whatever else this connection does.
        self.con.execute("SET SESSION preserve_insertion_order = false")
        try:
            self.con.execute(f"INSERT INTO raw.fec_lines ({columns}) SELECT {values}"
                             f" FROM (SELECT * FROM {CHUNK_TABLE} WHERE problem IS NULL"
                             f"       UNION ALL SELECT * FROM {REPAIRED_TABLE}) AS c"
                             f" JOIN {FILES_TABLE} AS f USING (file_index)")
        finally:
            self.con.execute("RESET SESSION preserve_insertion_order")

    def _flag_formula_like_labels(self) -> None:
        """Labels a spreadsheet opening the published tables would run as formulas (values.check_values says the
        same for the other sources): kept as written, one raw.ingest_flags row each. Done in SQL on the chunk so
        a ten-million-line ledger pays one pass, not a Python loop."""
        labels = ("ecriture_lib", "compte_lib", "comp_aux_lib", "journal_lib")
        # Only lines with a label starting with a space or a formula character are unnested and matched: one
        # anchored test per label instead of a trim and two patterns on each of 4 labels (40 M values at 10 M lines).
        may_be_formula = " OR ".join(f"regexp_matches({c}, '^[\\s=@+-]')" for c in labels)
        self.con.execute(
            "INSERT INTO raw.ingest_flags (file_path, sha256, line_number, column_name, value, rule, detail)"
            " SELECT f.file_path, f.sha256, line_number, name, CASE WHEN length(value) > 40"
            "  THEN left(value, 40) || '…' ELSE value END, 'formula_like',"
            "  'starts like a spreadsheet formula (=, +, - or @)'"
            f" FROM (SELECT file_index, line_number,"
            f"  unnest([{', '.join(repr(FEC_FIELDS[c]) for c in labels)}]) AS name,"
            f"  unnest([{', '.join(labels)}]) AS value FROM {CHUNK_TABLE}"
            f"  WHERE problem IS NULL AND ({may_be_formula}))"
            f" JOIN {FILES_TABLE} AS f USING (file_index)"
            " WHERE length(trim(value)) >= 2 AND regexp_matches(value, '^\\s*([=@]|[+-][^\\s])')"
            "  AND NOT regexp_full_match(value, '\\s*[+-]?[0-9\\s.,]+%?\\s*')")

    def _flag_unreadable_optional_fields(self) -> None:
        """An optional date or Montantdevise written but unreadable is loaded as empty (the line stays usable):
        one raw.ingest_flags row each, with the text as written, so the NULL is never silent."""
        separator = "chr(9)" if self.layout.separator == "\t" else "'" + self.layout.separator.replace("'", "''") + "'"
        fields = {flag: flag.removeprefix("bad_") for flag in SOFT_PROBLEMS}
        selects = [f"SELECT file_index, line_number, '{FEC_FIELDS[field]}' AS name,"
                   f" trim(string_split(line, {separator})[{self.layout.positions[field]}]) AS value"
                   f" FROM {CHUNK_TABLE} WHERE {flag} AND problem IS NULL"
                   for flag, field in fields.items() if field in self.layout.positions]
        self.con.execute(
            "INSERT INTO raw.ingest_flags (file_path, sha256, line_number, column_name, value, rule, detail)"
            " SELECT f.file_path, f.sha256, line_number, name, value, 'unreadable_value',"
            " 'unreadable ' || name || ' \"' || value || '\"; loaded as empty'"
            f" FROM ({' UNION ALL '.join(selects)}) JOIN {FILES_TABLE} AS f USING (file_index)")

    def _rejections(self) -> list[tuple[int, Rejection]]:
        rows = self.con.execute(
            f"SELECT file_index, line_number, problem, line FROM {CHUNK_TABLE} AS c WHERE problem IS NOT NULL"
            f" AND NOT EXISTS (SELECT 1 FROM {REPAIRED_TABLE} AS r WHERE r.file_index = c.file_index"
            "  AND r.line_number = c.line_number)"
            " ORDER BY file_index, line_number").fetchall()
        return [(index, Rejection(number, self._reason(problem, line), line)) for index, number, problem, line in rows]

    def _reason(self, problem: str, line: str) -> str:
        """Say so when the line has more fields than the header (one trailing empty field is a separator)."""
        separator, width = self.layout.separator, self.layout.field_count
        fields = line.split(separator)
        if len(fields) <= width or (len(fields) == width + 1 and not fields[-1].strip()):
            return problem
        shown = "tab" if separator == "\t" else repr(separator)
        return (f"line has {len(fields)} fields, the header has {width}, and no label could take the extra "
                f"{shown} ({problem})")


def _siren_values(con, layout: FecLayout, chunk: TextChunk, header_line: int) -> set[str]:
    """Distinct non-blank values of the extra SIREN/SIRET column in this chunk (at most two)."""
    position = siren_position(layout)[0]
    sep = "chr(9)" if layout.separator == "\t" else "'" + layout.separator.replace("'", "''") + "'"
    rows = con.execute(
        "SELECT DISTINCT regexp_replace(trim(string_split(line, " + sep + f")[{position}]), '[ .\"\\r]', '', 'g')"
        " AS value FROM (SELECT $first_line + i - 1 AS line_number, line"
        "  FROM (SELECT string_split(content, chr(10)) AS parts FROM read_text($path)),"
        "       unnest(parts) WITH ORDINALITY AS t(line, i))"
        " WHERE line_number > $header_line AND coalesce(value, '') <> '' LIMIT 2",
        {"path": str(chunk.path), "first_line": chunk.first_line, "header_line": header_line}).fetchall()
    return {value for (value,) in rows}


def _load_chunks(con, chunks: Iterator[TextChunk], file_path: str, read_siren: bool) -> tuple[FecLayout, _Tally]:
    """One file, chunk after chunk (file_index 0). `read_siren`: the name has none, the content may hold one."""
    loader: _LayoutLoader | None = None
    header_line = 0
    # Closed in reverse order: the prefetching thread stops before the generator it reads from.
    with closing(chunks), closing(_prefetched(chunks)) as prefetched:
        for chunk in prefetched:
            if loader is None:
                layout, header_line = _find_header(chunk)
                loader = _LayoutLoader(con, layout) if layout else None
            if loader is not None:
                loader.load([(0, str(chunk.path), chunk.first_line, header_line)])
                tally = loader.tallies[0]
                if read_siren and siren_position(loader.layout) and len(tally.siren_values) < 2:
                    tally.siren_values.update(_siren_values(con, loader.layout, chunk, header_line))
                log.debug("%s: chunk %d, lines %d-%d, %d rows loaded so far", file_path, tally.chunks,
                          chunk.first_line, chunk.first_line + chunk.line_count - 1, tally.rows_loaded)
            chunk.path.unlink()
    if loader is None:
        raise FileRejected("no FEC header: the file has no non-blank line")
    return loader.layout, loader.tallies.setdefault(0, _Tally())


def _prefetched(chunks: Iterator[TextChunk]) -> Iterator[TextChunk]:
    """Transcode the next chunk in a thread while DuckDB (which releases the GIL) parses the current one."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fec-transcode") as pool:
        upcoming = pool.submit(next, chunks, None)
        while (chunk := upcoming.result()) is not None:
            upcoming = pool.submit(next, chunks, None)
            yield chunk


def _find_header(chunk: TextChunk) -> tuple[FecLayout | None, int]:
    """The first non-blank line is the header; a chunk of blank lines leaves the search to the next one."""
    with chunk.path.open(encoding="utf-8") as handle:
        for offset, line in enumerate(handle):
            if line.strip():
                return read_header(line.rstrip("\n")), chunk.first_line + offset
    return None, 0


@dataclass(frozen=True)
class _FileStats:
    """Totals over the rows of one file that were loaded."""

    first: date | None
    last: date | None
    debit: Decimal
    credit: Decimal
    two_sided: int  # lines with both a debit and a credit
    unbalanced: int  # entries (JournalCode + EcritureNum) whose debit and credit differ
    after_closing: int  # lines dated after the closing date


# Over `loaded` (file_index, journal_code, ecriture_num, ecriture_date, debit, credit) and vigie_fec_files.
_STATS_SQL = f"""
    unbalanced AS (
        SELECT file_index, count(*) AS entries FROM (
            SELECT file_index FROM loaded GROUP BY file_index, journal_code, ecriture_num
            HAVING sum(debit) <> sum(credit))
        GROUP BY file_index)
    SELECT f.file_index, min(l.ecriture_date), max(l.ecriture_date), coalesce(sum(l.debit), 0),
           coalesce(sum(l.credit), 0), count(*) FILTER (l.debit <> 0 AND l.credit <> 0),
           coalesce(any_value(u.entries), 0), count(*) FILTER (l.ecriture_date > f.closing_date)
    FROM {FILES_TABLE} AS f LEFT JOIN loaded AS l USING (file_index) LEFT JOIN unbalanced AS u USING (file_index)
    GROUP BY f.file_index"""


def _batch_stats(con) -> dict[int, _FileStats]:
    """_FileStats of every file of a batch, from the lines it just parsed."""
    columns = "file_index, journal_code, ecriture_num, ecriture_date, debit, credit"
    rows = con.execute(f"WITH loaded AS (SELECT {columns} FROM {CHUNK_TABLE} WHERE problem IS NULL"
                       f" UNION ALL SELECT {columns} FROM {REPAIRED_TABLE}), {_STATS_SQL}").fetchall()
    return {index: _FileStats(*values) for index, *values in rows}


def _report(con, path: Path, file_path: str, sha256: str, name: FecFileName, text_format: TextFormat,
            layout: FecLayout, tally: _Tally) -> FileReport:
    """The report of a file loaded on its own: its SIREN and closing date are derived when the name lacks them,
    and its rows (in raw.fec_lines) updated."""
    this_file = {"sha": sha256, "file": file_path}
    columns = "0 AS file_index, journal_code, ecriture_num, ecriture_date, debit, credit"
    loaded = f"SELECT {columns} FROM raw.fec_lines WHERE _file_sha256 = $sha AND _source_file = $file"
    period = _stats_of_file(con, loaded, this_file, name.closing_date)
    warnings = list(name.warnings)
    siren, siren_from = (name.siren, "file name") if name.siren else _derive_siren(
        con, this_file, layout, tally, warnings)
    closing_date = name.closing_date or _derive_closing_date(con, this_file, period.first, period.last, warnings)
    if (siren, closing_date) != (name.siren, name.closing_date):  # the rows were inserted with the name's
        con.execute("UPDATE raw.fec_lines SET siren = $siren, closing_date = $closing WHERE _file_sha256 = $sha"
                    " AND _source_file = $file", this_file | {"siren": siren, "closing": closing_date})
    stats = period if closing_date == name.closing_date else _stats_of_file(con, loaded, this_file, closing_date)
    return _assemble_report(path, name, text_format, layout, tally, stats, siren, siren_from, closing_date, warnings)


def _stats_of_file(con, loaded: str, params: dict, closing_date: date | None) -> _FileStats:
    _register_files(con, [(0, None, closing_date, params["sha"], params["file"])])
    try:
        values = con.execute(f"WITH loaded AS ({loaded}), {_STATS_SQL}", params).fetchone()
    finally:
        con.execute(f"DROP TABLE IF EXISTS {FILES_TABLE}")
    return _FileStats(*values[1:])


def _assemble_report(path: Path, name: FecFileName, text_format: TextFormat, layout: FecLayout, tally: _Tally,
                     stats: _FileStats, siren: str, siren_from: str, closing_date: date | None,
                     warnings: list[str]) -> FileReport:
    warnings += [*layout.warnings, *_content_warnings(text_format, tally)]
    warnings += _period_warnings(stats, closing_date)
    if stats.two_sided:
        warnings.append(f"{stats.two_sided} line(s) have both a debit and a credit; both kept")
    if stats.unbalanced:
        warnings.append(f"{stats.unbalanced} entries (JournalCode + EcritureNum) do not balance")
    if stats.debit != stats.credit:
        warnings.append(f"the file does not balance: total debit {stats.debit}, total credit {stats.credit}")
    modified_at = _modified_at(path)
    return FileReport(
        entity="fec", rows_read=tally.rows_read, rows_loaded=tally.rows_loaded, rejections=tally.rejections,
        warnings=warnings, client_id=siren,
        supersede_key=f"{siren}:{closing_date.isoformat()}" if closing_date else None,
        # The version exported last wins (the file's modification time), then the one loaded last: never the
        # row count, since a corrected re-export may have fewer lines. A copy that keeps an old backup's time
        # (`cp -p`) stays older than the export it would otherwise replace.
        version_rank_key=f"{modified_at.strftime('%Y%m%dT%H%M%S%fZ')}|{load_stamp()}",
        details={
            "siren_from": siren_from, "modified_at": modified_at.isoformat(),
            "encoding": text_format.encoding, "bom": text_format.bom, "line_ending": text_format.line_ending,
            "separator": "tab" if layout.separator == "\t" else layout.separator,
            "layout": layout.amount_layout, "regime": layout.regime, "column_count": layout.field_count,
            "extra_columns": layout.extra_columns,
            "columns": {FEC_FIELDS[c]: layout.header_names[p - 1] for c, p in layout.positions.items()},
            "period_first": stats.first, "period_last": stats.last, "closing_date": closing_date,
            "total_debit": str(stats.debit), "total_credit": str(stats.credit), "chunks": tally.chunks,
            "repaired_lines": dict(tally.repaired),
        },
    )


def _content_warnings(text_format: TextFormat, tally: _Tally) -> list[str]:
    warnings = []
    if text_format.encoding not in LEGAL_ENCODINGS:
        warnings.append(f"the file is encoded in {text_format.encoding}, which the FEC format does not "
                        "allow; read as such")
    if tally.rows_read == 0:
        warnings.append("the file has a header but no entry line")
    for label, count in sorted(tally.repaired.items()):
        warnings.append(f"{count} line(s) had a separator inside {label}; the extra fields were merged back "
                        "into it")
    if tally.short_lines:
        warnings.append(f"{tally.short_lines} line(s) have fewer fields than the header; the missing "
                        "trailing fields were read as empty")
    if tally.lines_with_extra_data:
        warnings.append(f"{tally.lines_with_extra_data} line(s) have data beyond the last named column; "
                        "it was ignored")
    for flag, count in sorted(tally.unreadable.items()):
        if count:
            field_name = FEC_FIELDS[flag.removeprefix("bad_")]
            warnings.append(f"{count} line(s) have an unreadable {field_name}; stored as empty")
    return warnings


def _modified_at(path: Path) -> datetime:
    """The file's modification time in UTC, to the microsecond: when the export was written."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=path.stat().st_mtime_ns // 1000)


def _derive_siren(con, this_file: dict, layout: FecLayout, tally: _Tally, warnings: list[str]) -> tuple[str, str]:
    """A file name without a SIREN: the content's, else its folder's, else a pseudo identifier that the file's
    monthly re-exports share. Returns the SIREN and where it comes from."""
    column = siren_position(layout)
    if column:
        values = sorted(tally.siren_values)
        if len(values) == 1 and siren_of(values[0]):
            warnings.append(f"the file name has no SIREN; used {siren_of(values[0])} from its column {column[1]}")
            return siren_of(values[0]), f"column {column[1]}"
        if values:
            shown = ", ".join(values) + (" ..." if len(values) > 1 else "")
            warnings.append(f"the column {column[1]} does not hold one SIREN ({shown}); not used")
    if "id_client" in layout.positions:
        values, blanks = con.execute(
            "SELECT list(DISTINCT regexp_replace(trim(id_client), '[ .]', '', 'g')),"
            " count(*) FILTER (coalesce(trim(id_client), '') = '') FROM raw.fec_lines"
            " WHERE _file_sha256 = $sha AND _source_file = $file", this_file).fetchone()
        if values and len(values) == 1 and not blanks and siren_of(values[0]):
            warnings.append(f"the file name has no SIREN; used {siren_of(values[0])}, the IdClient of every line")
            return siren_of(values[0]), "IdClient"
    folders = this_file["file"].split("/")[1:-1]  # under landing/accounting/
    if folders and (siren := siren_from_folder(folders[-1])):
        warnings.append(f"the file name has no SIREN; used {siren} from its folder {folders[-1]!r}")
        return siren, "folder"
    pseudo = pseudo_client_id(this_file["file"])
    warnings.append(f"the file name, its content and its folder give no SIREN; used the pseudo identifier "
                    f"{pseudo}, the same for every file of this folder named alike apart from dates")
    return pseudo, "pseudo identifier"


def _derive_closing_date(con, this_file: dict, first: date | None, last: date | None,
                         warnings: list[str]) -> date | None:
    """A file name without a closing date: 12 months from the start of the fiscal year the file opens (its opening
    entries, else its first entry's month), said in a warning."""
    if last is None:
        warnings.append("the file name has no closing date and no entry has one; it replaces no other file")
        return None
    opening = con.execute(
        "SELECT min(ecriture_date) FROM raw.fec_lines WHERE _file_sha256 = $sha AND _source_file = $file"
        " AND list_contains($journals, upper(trim(journal_code)))",
        this_file | {"journals": sorted(_opening_journals())}).fetchone()[0]
    start, why = None, ""
    if opening is not None:
        # Opening entries are dated on the first day of the year, or on the previous closing date.
        start = opening + timedelta(days=1) if (opening + timedelta(days=1)).day == 1 else opening.replace(day=1)
        why = f"opening entries dated {opening.isoformat()}"
    elif first.day == 1:
        start, why = first, f"first entry on {first.isoformat()}"
    else:
        # Not the last entry date: it moves with every monthly re-export, which would then never replace each
        # other (January counted twice). The month of the first entry does not move.
        start, why = first.replace(day=1), f"first entry in {first.strftime('%Y-%m')}, no opening entries"
    closing = start.replace(year=start.year + 1) - timedelta(days=1)
    warnings.append(f"the file name has no closing date; the entries open a fiscal year on {start.isoformat()} "
                    f"({why}), so used {closing.isoformat()}, 12 months later")
    return closing


@cache
def _opening_journals() -> frozenset[str]:
    """Journal codes of opening entries, from the dbt seed that staging uses too (none if it is missing)."""
    if not OPENING_JOURNALS_SEED.is_file():
        log.warning("%s is missing: FEC files are not checked for opening entries", OPENING_JOURNALS_SEED)
        return frozenset()
    with OPENING_JOURNALS_SEED.open(encoding="utf-8", newline="") as handle:
        return frozenset(row["journal_code"].strip().upper() for row in csv.DictReader(handle))


def _period_warnings(stats: _FileStats, closing_date: date | None) -> list[str]:
    if closing_date is None or stats.first is None:
        return []
    warnings = []
    if stats.after_closing:
        warnings.append(f"{stats.after_closing} line(s) are dated after the closing date {closing_date.isoformat()}")
    if closing_date - stats.first > LONGEST_FISCAL_YEAR:
        warnings.append(f"entries start on {stats.first.isoformat()}, more than 24 months before the closing date "
                        f"{closing_date.isoformat()}")
    return warnings
