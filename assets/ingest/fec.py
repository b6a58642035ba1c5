"""The FEC loader: every legal variant and real-world quirk of the Fichier des Écritures Comptables.

Python only streams bytes (encoding, line ends, chunking: fec_text) and reads the header and the file name
(fec_layout); DuckDB splits, types and checks the lines (fec_sql), so a ledger of tens of millions of lines
loads at DuckDB speed in bounded memory. Each line is loaded or quarantined with its physical line number.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from assets.ingest.fec_layout import FEC_FIELDS, FecFileName, FecLayout, parse_file_name, read_header
from assets.ingest.fec_sql import (
    CHUNK_TABLE,
    LINE_COLUMNS,
    NO_REPAIR_SQL,
    REPAIRED_TABLE,
    SOFT_PROBLEMS,
    chunk_sql,
    repair_sql,
)
from assets.ingest.fec_text import (
    LEGAL_ENCODINGS,
    TextChunk,
    TextFormat,
    sniff_text_format,
    transcode_to_chunks,
)
from assets.ingest.registry import FileRejected, FileReport, Rejection, iter_files

log = logging.getLogger("vigie.ingest")

DEFAULT_CHUNK_BYTES = 32 * 1024 * 1024
LONGEST_FISCAL_YEAR = timedelta(days=731)  # a first fiscal year may last up to 24 months
INSERT_COLUMNS = ["siren", "closing_date", *LINE_COLUMNS, "_file_sha256", "_source_file", "_line_number"]


class FecLoader:
    """SourceLoader of landing/accounting (see registry.SourceLoader): any file there is read as a FEC."""

    source = "accounting"
    raw_tables = ("fec_lines",)

    def __init__(self, scratch_dir: Path | None = None, chunk_bytes: int = DEFAULT_CHUNK_BYTES):
        self.scratch_dir = scratch_dir  # transcoded chunks of the file being loaded; default: system tmp
        self.chunk_bytes = chunk_bytes

    def list_files(self, landing_dir: Path) -> list[Path]:
        return iter_files(landing_dir)

    def load(self, con, path: Path, file_path: str, sha256: str) -> FileReport:
        started = time.monotonic()
        name = parse_file_name(path.name, sha256)
        text_format = sniff_text_format(path, self.chunk_bytes)
        if self.scratch_dir:
            self.scratch_dir.mkdir(parents=True, exist_ok=True)
        work_dir = Path(tempfile.mkdtemp(prefix="fec_", dir=self.scratch_dir))
        try:
            chunks = transcode_to_chunks(path, text_format, work_dir, self.chunk_bytes)
            layout, tally = _load_chunks(con, chunks, [name.siren, name.closing_date, sha256, file_path])
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
        for table in (CHUNK_TABLE, REPAIRED_TABLE):  # after a failure, the caller's rollback removes them
            con.execute(f"DROP TABLE IF EXISTS {table}")
        report = _report(con, file_path, sha256, name, text_format, layout, tally)
        log.debug("%s: %d rows loaded, %d quarantined in %.1f s (%s, %s, %s, %d columns)", file_path,
                 report.rows_loaded, report.rows_quarantined, time.monotonic() - started,
                 text_format.encoding, layout.amount_layout, layout.regime, layout.field_count)
        return report


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


@dataclass
class _ChunkLoader:
    """Loads the chunks of one file into raw.fec_lines once its header is known."""

    con: object
    layout: FecLayout
    header_line: int
    constants: list  # siren, closing date, sha256, file path: the same on every row
    tally: _Tally = field(default_factory=_Tally)

    def __post_init__(self):
        self.parse_sql, self.repair_sql = chunk_sql(self.layout), repair_sql(self.layout)

    def load(self, chunk: TextChunk) -> None:
        self.con.execute(self.parse_sql, {"path": str(chunk.path), "first_line": chunk.first_line,
                                          "header_line": self.header_line})
        width = self.layout.field_count
        soft = ", ".join(f"count(*) FILTER ({c} AND problem IS NULL)" for c in SOFT_PROBLEMS)
        rows, clean, repairable, short, extra, *unreadable = self.con.execute(
            f"SELECT count(*), count(*) FILTER (problem IS NULL),"
            f" count(*) FILTER (problem IS NOT NULL AND field_count > {width}),"
            f" count(*) FILTER (problem IS NULL AND field_count < {width}),"
            f" count(*) FILTER (problem IS NULL AND has_extra_data), {soft} FROM {CHUNK_TABLE}").fetchone()
        self.con.execute(self.repair_sql if repairable else NO_REPAIR_SQL)
        self._insert()
        repaired = dict(self.con.execute(
            f"SELECT merged_into, count(*) FROM {REPAIRED_TABLE} GROUP BY ALL").fetchall())
        loaded = clean + sum(repaired.values())
        tally = self.tally
        tally.rejections += self._rejections() if rows > loaded else []
        tally.rows_read += rows
        tally.rows_loaded += loaded
        tally.short_lines += short
        tally.lines_with_extra_data += extra
        tally.repaired.update(repaired)
        tally.unreadable.update(dict(zip(SOFT_PROBLEMS, unreadable, strict=True)))
        tally.chunks += 1

    def _insert(self) -> None:
        columns = ", ".join(f'"{c}"' for c in INSERT_COLUMNS)
        values = ", ".join(["?", "?", *LINE_COLUMNS, "?", "?", "line_number"])
        self.con.execute(f"INSERT INTO raw.fec_lines ({columns})"
                         f" SELECT {values} FROM {CHUNK_TABLE} WHERE problem IS NULL"
                         f" UNION ALL SELECT {values} FROM {REPAIRED_TABLE}", self.constants * 2)

    def _rejections(self) -> list[Rejection]:
        rows = self.con.execute(
            f"SELECT line_number, problem, line FROM {CHUNK_TABLE} WHERE problem IS NOT NULL"
            f" AND line_number NOT IN (SELECT line_number FROM {REPAIRED_TABLE})"
            " ORDER BY line_number").fetchall()
        return [Rejection(number, self._reason(problem, line), line) for number, problem, line in rows]

    def _reason(self, problem: str, line: str) -> str:
        """Say so when the line has more fields than the header (one trailing empty field is a separator)."""
        separator, width = self.layout.separator, self.layout.field_count
        fields = line.split(separator)
        if len(fields) <= width or (len(fields) == width + 1 and not fields[-1].strip()):
            return problem
        shown = "tab" if separator == "\t" else repr(separator)
        return (f"line has {len(fields)} fields, the header has {width}, and no label could take the extra "
                f"{shown} ({problem})")


def _load_chunks(con, chunks: Iterator[TextChunk], constants: list) -> tuple[FecLayout, _Tally]:
    loader: _ChunkLoader | None = None
    file_path = constants[-1]
    # Closed in reverse order: the prefetching thread stops before the generator it reads from.
    with closing(chunks), closing(_prefetched(chunks)) as prefetched:
        for chunk in prefetched:
            if loader is None:
                layout, header_line = _find_header(chunk)
                loader = _ChunkLoader(con, layout, header_line, constants) if layout else None
            if loader is not None:
                loader.load(chunk)
                log.debug("%s: chunk %d, lines %d-%d, %d rows loaded so far", file_path, loader.tally.chunks,
                          chunk.first_line, chunk.first_line + chunk.line_count - 1, loader.tally.rows_loaded)
            chunk.path.unlink()
    if loader is None:
        raise FileRejected("no FEC header: the file has no non-blank line")
    return loader.layout, loader.tally


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


def _report(con, file_path: str, sha256: str, name: FecFileName, text_format: TextFormat, layout: FecLayout,
            tally: _Tally) -> FileReport:
    this_file = {"sha": sha256, "file": file_path}
    first, last, debit, credit, unbalanced = con.execute(
        "SELECT min(ecriture_date), max(ecriture_date), coalesce(sum(debit), 0), coalesce(sum(credit), 0),"
        " (SELECT count(*) FROM (SELECT 1 FROM raw.fec_lines WHERE _file_sha256 = $sha"
        "  AND _source_file = $file GROUP BY journal_code, ecriture_num HAVING sum(debit) <> sum(credit)))"
        " FROM raw.fec_lines WHERE _file_sha256 = $sha AND _source_file = $file", this_file).fetchone()
    warnings = [*name.warnings, *layout.warnings, *_content_warnings(text_format, tally)]
    closing_date = name.closing_date or _derive_closing_date(con, this_file, last, warnings)
    warnings += _period_warnings(con, this_file, closing_date, first)
    if unbalanced:
        warnings.append(f"{unbalanced} entries (JournalCode + EcritureNum) do not balance")
    if debit != credit:
        warnings.append(f"the file does not balance: total debit {debit}, total credit {credit}")
    return FileReport(
        entity="fec", rows_read=tally.rows_read, rows_loaded=tally.rows_loaded, rejections=tally.rejections,
        warnings=warnings, client_id=name.siren,
        supersede_key=f"{name.siren}:{closing_date.isoformat()}" if closing_date else None,
        # A monthly re-export of the current year reaches a later date, or more lines on the same last date.
        version_rank_key=f"{last.isoformat() if last else '0000-00-00'}:{tally.rows_read:012d}",
        details={
            "encoding": text_format.encoding, "bom": text_format.bom, "line_ending": text_format.line_ending,
            "separator": "tab" if layout.separator == "\t" else layout.separator,
            "layout": layout.amount_layout, "regime": layout.regime, "column_count": layout.field_count,
            "extra_columns": layout.extra_columns,
            "columns": {FEC_FIELDS[c]: layout.header_names[p - 1] for c, p in layout.positions.items()},
            "period_first": first, "period_last": last, "closing_date": closing_date,
            "total_debit": str(debit), "total_credit": str(credit), "chunks": tally.chunks,
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


def _derive_closing_date(con, this_file: dict, last: date | None, warnings: list[str]) -> date | None:
    if last is None:
        warnings.append("the file name has no closing date and no entry has one; it replaces no other file")
        return None
    con.execute("UPDATE raw.fec_lines SET closing_date = $closing WHERE _file_sha256 = $sha"
                " AND _source_file = $file", this_file | {"closing": last})
    warnings.append(f"the file name has no closing date; used the last entry date {last.isoformat()}")
    return last


def _period_warnings(con, this_file: dict, closing_date: date | None, first: date | None) -> list[str]:
    if closing_date is None or first is None:
        return []
    after = con.execute("SELECT count(*) FROM raw.fec_lines WHERE _file_sha256 = $sha"
                        " AND _source_file = $file AND ecriture_date > $closing",
                        this_file | {"closing": closing_date}).fetchone()[0]
    warnings = []
    if after:
        warnings.append(f"{after} line(s) are dated after the closing date {closing_date.isoformat()}")
    if closing_date - first > LONGEST_FISCAL_YEAR:
        warnings.append(f"entries start on {first.isoformat()}, more than 24 months before the closing date "
                        f"{closing_date.isoformat()}")
    return warnings
