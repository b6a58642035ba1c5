"""The ingestion ledger: which file versions were seen, what became of each line, and which version is current.

Every source loader plugs into `ingest_source`, which gives all of them the same guarantees:
- idempotent by sha256: a file version already recorded is not read again;
- transactional per file: its rows, its quarantined lines and its `ingest_files` row commit together;
- nothing lost: rows_read = rows_loaded + rows_quarantined, checked before commit;
- supersession: files sharing a `supersede_key` replace each other, the greatest `version_rank_key` wins, and the
  older versions' rows leave the raw layer (their `ingest_files` rows stay, with status `superseded`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from assets.warehouse import transaction

log = logging.getLogger("vigie.ingest")


class FileRejected(Exception):
    """The whole file cannot be read (wrong format, undecodable, no usable header...). Message: the reason."""


@dataclass(frozen=True)
class Rejection:
    line_number: int | None  # physical line, header = 1; None for a whole file
    reason: str
    raw_line: str | None = None


@dataclass
class FileReport:
    """What a loader says about one file it has just written to the raw layer."""

    entity: str
    rows_read: int
    rows_loaded: int
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    client_id: str | None = None
    supersede_key: str | None = None
    version_rank_key: str | None = None
    details: dict = field(default_factory=dict)

    @property
    def rows_quarantined(self) -> int:
        return sum(1 for r in self.rejections if r.line_number is not None)


class SourceLoader(Protocol):
    source: str  # accounting | crm | timetracking | practice
    raw_tables: tuple[str, ...]  # raw tables this loader writes, each with a _file_sha256 column

    def list_files(self, landing_dir: Path) -> list[Path]: ...

    def load(self, con, path: Path, file_path: str, sha256: str) -> FileReport:
        """Insert the file's rows into raw tables; raise FileRejected when nothing can be read."""
        ...


@dataclass
class IngestSummary:
    source: str
    files_seen: int = 0
    files_loaded: int = 0
    files_unchanged: int = 0
    files_rejected: int = 0
    files_superseded: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    problems: list[str] = field(default_factory=list)  # one readable line each


def file_sha256(path: Path, chunk_size: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def ingest_source(con, landing: Path, loader: SourceLoader, run_id: str,
                  on_progress: Callable[[str], None] | None = None) -> IngestSummary:
    """Load every new file version of one source; see the module docstring for the guarantees."""
    summary = IngestSummary(loader.source)
    source_dir = landing / loader.source
    files = loader.list_files(source_dir) if source_dir.is_dir() else []
    for index, path in enumerate(files, start=1):
        file_path = path.relative_to(landing).as_posix()
        summary.files_seen += 1
        sha = file_sha256(path)
        if _already_recorded(con, file_path, sha):
            summary.files_unchanged += 1
            continue
        if on_progress and _worth_reporting(index, len(files)):
            on_progress(f"{loader.source}: reading file {index} of {len(files)} ({file_path})")
        _ingest_one(con, loader, path, file_path, sha, run_id, summary)
    return summary


def _worth_reporting(index: int, total: int, steps: int = 10) -> bool:
    """About ten progress lines per source, whatever the number of files."""
    return index == 1 or index == total or index % max(1, total // steps) == 0


def _already_recorded(con, file_path: str, sha: str) -> bool:
    return con.execute("SELECT 1 FROM raw.ingest_files WHERE file_path = ? AND sha256 = ?",
                       [file_path, sha]).fetchone() is not None


def _ingest_one(con, loader: SourceLoader, path: Path, file_path: str, sha: str, run_id: str,
                summary: IngestSummary) -> None:
    twin = con.execute("SELECT file_path FROM raw.ingest_files WHERE sha256 = ? AND status IN ('loaded', 'superseded')"
                       " LIMIT 1", [sha]).fetchone()
    with transaction(con):
        if twin:
            report = FileReport(entity=None, rows_read=0, rows_loaded=0,
                                warnings=[f"same content as {twin[0]}; not loaded twice"])
            _record(con, loader, file_path, sha, report, "skipped_duplicate", run_id)
        else:
            _load_and_record(con, loader, path, file_path, sha, run_id, summary)


def _load_and_record(con, loader, path, file_path, sha, run_id, summary: IngestSummary) -> None:
    try:
        report = loader.load(con, path, file_path, sha)
    except FileRejected as rejected:
        reason = str(rejected)
        report = FileReport(entity=None, rows_read=0, rows_loaded=0, rejections=[Rejection(None, reason)])
        _record(con, loader, file_path, sha, report, "rejected", run_id)
        summary.files_rejected += 1
        summary.problems.append(f"{file_path}: file rejected: {reason}")
        return
    if report.rows_read != report.rows_loaded + report.rows_quarantined:
        raise AssertionError(f"{file_path}: {report.rows_read} rows read but {report.rows_loaded} loaded and "
                             f"{report.rows_quarantined} quarantined; refusing to lose lines")
    _record(con, loader, file_path, sha, report, "loaded", run_id)
    summary.files_loaded += 1
    summary.rows_loaded += report.rows_loaded
    summary.rows_quarantined += report.rows_quarantined
    summary.problems.extend(f"{file_path}, line {r.line_number}: {r.reason}" for r in report.rejections)
    if report.supersede_key:
        summary.files_superseded += _apply_supersession(con, loader, report.supersede_key)


def _record(con, loader, file_path: str, sha: str, report: FileReport, status: str, run_id: str) -> None:
    con.execute(
        "INSERT INTO raw.ingest_files (file_path, source, entity, client_id, sha256, supersede_key, version_rank_key,"
        " status, rows_read, rows_loaded, rows_quarantined, warnings, details, superseded_by, loaded_at, run_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
        [file_path, loader.source, report.entity, report.client_id, sha, report.supersede_key,
         report.version_rank_key, status, report.rows_read, report.rows_loaded, report.rows_quarantined,
         json.dumps(report.warnings, ensure_ascii=False), json.dumps(report.details, ensure_ascii=False, default=str),
         datetime.now(), run_id],
    )
    if report.rejections:
        con.executemany(
            "INSERT INTO raw.ingest_rejections (file_path, sha256, line_number, reason, raw_line, run_id)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [[file_path, sha, r.line_number, r.reason, r.raw_line, run_id] for r in report.rejections],
        )
    for warning in report.warnings:
        log.debug("%s: %s", file_path, warning)


def _apply_supersession(con, loader: SourceLoader, key: str) -> int:
    """Keep the newest loaded version of `key`; mark the others superseded and remove their rows."""
    versions = con.execute(
        "SELECT sha256, file_path FROM raw.ingest_files WHERE supersede_key = ? AND source = ? AND status = 'loaded'"
        " ORDER BY version_rank_key DESC NULLS LAST, loaded_at DESC, file_path DESC",
        [key, loader.source]).fetchall()
    newest_sha, newest_path = versions[0]
    for sha, file_path in versions[1:]:
        for table in loader.raw_tables:
            con.execute(f"DELETE FROM raw.{table} WHERE _file_sha256 = ?", [sha])
        con.execute("UPDATE raw.ingest_files SET status = 'superseded', superseded_by = ? WHERE sha256 = ?"
                    " AND file_path = ?", [newest_path, sha, file_path])
        log.debug("%s superseded by %s", file_path, newest_path)
    return len(versions) - 1


def current_problems(con, landing: Path) -> list[str]:
    """Rejected files and quarantined lines of the input still in landing/ (exit code 2 when any).

    For each file still present, its latest recorded version counts; superseded versions no longer do.
    """
    present = [p.relative_to(landing).as_posix() for p in landing.rglob("*") if p.is_file()]
    if not present:
        return []
    rows = con.execute(
        "WITH latest AS (SELECT file_path, arg_max(sha256, loaded_at) AS sha256 FROM raw.ingest_files"
        "                WHERE list_contains(?, file_path) GROUP BY file_path)"
        " SELECT r.file_path, r.line_number, r.reason FROM raw.ingest_rejections r"
        " JOIN latest USING (file_path, sha256)"
        " JOIN raw.ingest_files f USING (file_path, sha256)"
        " WHERE f.status IN ('loaded', 'rejected')"
        " ORDER BY r.file_path, r.line_number NULLS FIRST", [present]).fetchall()
    return [f"{path}: file rejected: {reason}" if line is None else f"{path}, line {line}: {reason}"
            for path, line, reason in rows]


def ledger_totals(con) -> dict[str, int]:
    """Counts over the current ledger, for asset metadata and the run summary."""
    files, rejected, superseded, read, loaded, quarantined = con.execute(
        "SELECT count(*), count(*) FILTER (status = 'rejected'), count(*) FILTER (status = 'superseded'),"
        " coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0)"
        " FROM raw.ingest_files").fetchone()
    return {"file_versions": files, "files_rejected": rejected, "files_superseded": superseded,
            "rows_read": int(read), "rows_loaded": int(loaded), "rows_quarantined": int(quarantined)}


def iter_files(directory: Path, suffixes: Iterable[str] | None = None) -> list[Path]:
    """Files under `directory`, sorted, hidden files skipped; optionally only those with the given suffixes."""
    wanted = {s.lower() for s in suffixes} if suffixes else None
    return sorted(p for p in directory.rglob("*") if p.is_file() and not p.name.startswith(".")
                  and (wanted is None or p.suffix.lower() in wanted))
