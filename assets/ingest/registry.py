"""The ingestion ledger: which file versions were seen, what became of each line, and which version is current.

Every source loader plugs into `ingest_source`, which gives all of them the same guarantees:
- idempotent by sha256: a file version already recorded is not read again, nor even hashed while its stat stays
  the same (landing_hashes.py);
- transactional per file: its rows, its quarantined lines and its `ingest_files` row commit together;
- nothing lost: rows_read = rows_loaded + rows_quarantined, checked before commit;
- supersession: files sharing a `supersede_key` replace each other, the greatest `version_rank_key` wins, and the
  older versions' rows leave the raw layer (their `ingest_files` rows stay, with status `superseded`);
- no silent loss: for loaders that guard it, a version that would replace a populated one while losing more than
  `shrink_tolerance` of its rows is held back as `suspect` (its rows leave the raw layer, the version in force
  stays) and reported, like a rejected file, until a sound version arrives;
- what is on disk counts: a path whose content returns to an earlier version (a good export put back after a bad
  one) loads that version again, and the bad one it replaces is no longer a problem;
- nothing fatal: a file that cannot be read (vanished, no permission, a name that is not UTF-8) or whose values
  the warehouse refuses is recorded as rejected with the real cause, and the other files still load;
- values kept but doubtful travel with their file version (raw.ingest_flags) and are reported with its problems.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import json
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Protocol

import duckdb

from assets.ingest import landing_hashes
from assets.ingest.raw_tables import INGEST_FILES, INGEST_FLAGS, INGEST_REJECTIONS
from assets.ingest.values import Flag
from assets.warehouse import insert_rows, relation_exists, transaction

log = logging.getLogger("vigie.ingest")


class FileRejected(Exception):
    """The whole file cannot be read (wrong format, undecodable, no usable header...). Message: the reason."""


@dataclass(frozen=True)
class Rejection:
    line_number: int | None  # physical line, header = 1; None for a whole file
    reason: str
    raw_line: str | None = None


@dataclass(frozen=True)
class LineFlag:
    """A doubtful value kept on one physical line (see assets/ingest/values.py)."""

    line_number: int
    flag: Flag


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
    flags: list[LineFlag] = field(default_factory=list)

    @property
    def rows_quarantined(self) -> int:
        return sum(1 for r in self.rejections if r.line_number is not None)


class SourceLoader(Protocol):
    source: str  # accounting | crm | timetracking | practice
    raw_tables: tuple[str, ...]  # raw tables this loader writes, each with a _file_sha256 column
    guards_shrinking: bool  # hold back a version that loses most of the rows of the one in force

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
    files_suspect: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    problems: list[str] = field(default_factory=list)  # one readable line each

    def add(self, other: IngestSummary) -> None:
        for name, value in vars(other).items():
            if name != "source":
                setattr(self, name, getattr(self, name) + value)


def file_sha256(path: Path, chunk_size: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


HASHING_THREADS = 2


def _hashed(paths: list[Path]) -> list[tuple[str | None, OSError | None]]:
    """(sha256, None) or (None, the error reading it) for each path, in order. Two threads: hashlib and file reads
    let go of the GIL, so both cores hash (1.7 s for the 1.5 GB of the 10 M-line bench on one)."""
    def hash_or_error(path: Path) -> tuple[str | None, OSError | None]:
        try:
            return file_sha256(path), None
        except OSError as error:
            return None, error

    with ThreadPoolExecutor(max_workers=HASHING_THREADS, thread_name_prefix="vigie-hash") as pool:
        return list(pool.map(hash_or_error, paths))


DEFAULT_SHRINK_TOLERANCE = 0.5
# Reading errors that belong to one input file, not to the machine: the file is rejected and the run goes on.
# A full disk (ENOSPC) or no memory is not one of them: the step fails and is retried.
FILE_READ_ERRNOS = {errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR, errno.EIO, errno.ESTALE}


@dataclass(frozen=True)
class _Version:
    """One file version to record: its path relative to landing/ and its sha256."""

    path: Path
    file_path: str
    sha: str


def ingest_source(con, landing: Path, loader: SourceLoader, run_id: str,
                  on_progress: Callable[[str], None] | None = None,
                  shrink_tolerance: float = DEFAULT_SHRINK_TOLERANCE) -> IngestSummary:
    """Load every new file version of one source; see the module docstring for the guarantees."""
    summary = IngestSummary(loader.source)
    source_dir = landing / loader.source
    files = loader.list_files(source_dir) if source_dir.is_dir() else []
    _reread_versions_of_an_older_rule(con, loader, {landing_path(path, landing) for path in files})
    on_disk: list[_Version] = []
    named: list[tuple[Path, str]] = []
    for path in files:
        file_path = landing_path(path, landing)
        summary.files_seen += 1
        if file_path != path.relative_to(landing).as_posix():
            _record_unreadable(con, loader, _Version(path, file_path, _unreadable_sha(file_path, "name")),
                               "the file name is not valid UTF-8 (an archive made on another system?); rename it",
                               run_id, summary)
            continue
        named.append((path, file_path))
    for (path, file_path), (sha, error) in zip(named, landing_hashes.hashes(con, loader.source, named, _hashed),
                                               strict=True):
        if error is None:
            on_disk.append(_Version(path, file_path, sha))
            continue
        if error.errno not in FILE_READ_ERRNOS:
            raise error
        _record_unreadable(con, loader, _Version(path, file_path, _unreadable_sha(file_path, error.errno)),
                           f"cannot be read: {error.strerror or error}", run_id, summary)
    unchanged = _already_recorded(con, on_disk)
    for version in _with_history_to_retire(con, [v for v in on_disk if v in unchanged]):
        _retire_what_it_replaced(con, loader, version.file_path, version.sha)
    summary.files_unchanged += len(unchanged)
    batches = _batches(con, loader, [version for version in on_disk if version not in unchanged])
    for index, batch in enumerate(batches, start=1):
        if on_progress and _worth_reporting(index, len(batches)):
            on_progress(f"{loader.source}: reading {len(batch)} new file version(s), batch {index} of"
                        f" {len(batches)} ({batch[0].file_path}...)")
        _ingest(con, loader, batch, run_id, summary, shrink_tolerance)
    return summary


def _ingest(con, loader, batch: list[_Version], run_id: str, summary: IngestSummary,
            shrink_tolerance: float) -> None:
    """One batch of _batches: a file alone, or files read together."""
    if len(batch) == 1:
        _ingest_one(con, loader, batch[0], run_id, summary, shrink_tolerance)
    else:
        _ingest_batch(con, loader, batch, run_id, summary, shrink_tolerance)


def _batches(con, loader, pending: list[_Version]) -> list[list[_Version]]:
    """The loader's batches (files read by one statement) when it has any; a version whose content is already
    loaded, or written twice in landing/, goes alone (it is recorded as a duplicate, see _ingest_one)."""
    if not hasattr(loader, "plan_batches") or len(pending) < 2:
        return [[version] for version in pending]
    shas = [version.sha for version in pending]
    known = {sha for (sha,) in con.execute(
        "SELECT DISTINCT sha256 FROM raw.ingest_files WHERE list_contains(?, sha256)"
        " AND status IN ('loaded', 'superseded')", [shas]).fetchall()}
    written = Counter(shas)  # not shas.count: 3 140 new files made that 0.15 s
    alone = [v for v in pending if v.sha in known or written[v.sha] > 1]
    together = [v for v in pending if v not in alone]
    return [[version] for version in alone] + loader.plan_batches(together)


def _ingest_batch(con, loader, batch: list[_Version], run_id: str, summary: IngestSummary,
                  shrink_tolerance: float) -> None:
    """Files read together commit together; when the warehouse refuses a value, or one file cannot be read,
    each file of the batch is loaded again on its own, so the bad one is rejected by name and the others load."""
    counted = IngestSummary(loader.source)  # added to the run's summary once the batch is committed
    try:
        with transaction(con):
            _forget_earlier_records(con, batch)
            reports = loader.load_batch(con, batch)
            recorded = [(version, reports[version.file_path]) for version in batch]
            _record_loaded(con, loader, recorded, run_id, counted, shrink_tolerance)
        summary.add(counted)
    except (duckdb.ConversionException, duckdb.InvalidInputException, duckdb.ConstraintException,
            duckdb.OutOfRangeException, FileRejected, OSError) as error:
        if isinstance(error, OSError) and error.errno not in FILE_READ_ERRNOS:
            raise
        cause = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        refused = [version for version in batch if str(version.path) in str(error)]
        if len(refused) == 1:
            # DuckDB names the file it could not read (not UTF-8, a CR inside a line): that one is read on its
            # own, the others together again
            log.info("%s: %s read on its own (%s)", loader.source, refused[0].file_path, cause)
            _ingest_one(con, loader, refused[0], run_id, summary, shrink_tolerance)
            for others in _batches(con, loader, [version for version in batch if version is not refused[0]]):
                _ingest(con, loader, others, run_id, summary, shrink_tolerance)
            return
        log.info("%s: %d files read together failed (%s); loading each on its own", loader.source, len(batch),
                 cause)
        for version in batch:
            _ingest_one(con, loader, version, run_id, summary, shrink_tolerance)


# Before file identities (Vigie 0.1), a CRM or practice version ranked by its path ("companies.csv|<stamp>") and
# every file of one object replaced the others; since, a version ranks by its export date ("" or 14 digits).
CURRENT_RANK_RULE = "([0-9]{14})?[|].*"


def _reread_versions_of_an_older_rule(con, loader, present: set[str]) -> None:
    """A ledger written by an older Vigie keeps what its rule decided (invoices_2024.csv superseded by
    invoices_2025.csv). The versions of that rule whose file is still in landing/ are forgotten, rows included,
    and read again under today's rule; those whose file is gone stay as they are."""
    if loader.source not in ("crm", "practice"):
        return
    older = con.execute("SELECT file_path, sha256 FROM raw.ingest_files WHERE source = ? AND version_rank_key IS"
                        " NOT NULL AND NOT regexp_full_match(version_rank_key, ?)",
                        [loader.source, CURRENT_RANK_RULE]).fetchall()
    reread = [(file_path, sha) for file_path, sha in older if file_path in present]
    for file_path, sha in reread:
        with transaction(con):
            for table in loader.raw_tables:
                con.execute(f"DELETE FROM raw.{table} WHERE _file_sha256 = ? AND _source_file = ?", [sha, file_path])
            _forget_earlier_record(con, _Version(Path(file_path), file_path, sha))
    if reread:
        log.info("%s: %d file version(s) recorded under an older versioning rule are read again",
                 loader.source, len(reread))


def landing_path(path: Path, landing: Path) -> str:
    """The file's path relative to landing/, as recorded. A name that is not valid UTF-8 (a zip made on Windows)
    cannot be stored as text: its undecodable bytes are written as \\xNN, so it can still be named."""
    relative = path.relative_to(landing).as_posix()
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(relative).decode("utf-8", "backslashreplace")
    return relative


def _unreadable_sha(file_path: str, cause) -> str:
    """A stand-in version id for a file that cannot be read: the same on every run while the cause lasts, so the
    rejection is recorded once."""
    return hashlib.sha256(f"unreadable:{file_path}:{cause}".encode()).hexdigest()


def _record_unreadable(con, loader, version: _Version, reason: str, run_id: str, summary) -> None:
    if _already_recorded(con, [version]):
        summary.files_unchanged += 1
        return
    _reject(con, loader, version, reason, run_id, summary)


def _worth_reporting(index: int, total: int, steps: int = 10) -> bool:
    """About ten progress lines per source, whatever the number of files."""
    return index == 1 or index == total or index % max(1, total // steps) == 0


def _version_keys(versions: list[_Version]) -> list[dict]:
    return [{"file_path": v.file_path, "sha256": v.sha} for v in versions]


# the file versions on disk, as a relation a query can join (one parameter: _version_keys)
_ON_DISK = "(SELECT unnest(?::STRUCT(file_path VARCHAR, sha256 VARCHAR)[], recursive := true))"


def _already_recorded(con, versions: list[_Version]) -> set[_Version]:
    """The versions whose content at their path needs no work; one query for all the files of a source. Two
    recorded versions still do, and are loaded again:
    - one held back as suspect: it is weighed again on every run (with the tolerance of the day) until a sound
      version supersedes it;
    - one superseded by another content of the same path that is no longer there: the file was put back (a
      good export restored after a bad one), and what is on disk is what counts for that path."""
    if not versions:
        return set()
    done = set(con.execute(
        f"SELECT d.file_path, d.sha256 FROM {_ON_DISK} AS d JOIN raw.ingest_files AS f USING (file_path, sha256)"
        " WHERE NOT (f.status = 'suspect' OR (f.status = 'superseded' AND f.superseded_by = f.file_path))",
        [_version_keys(versions)]).fetchall())
    return {v for v in versions if (v.file_path, v.sha) in done}


def _with_history_to_retire(con, versions: list[_Version]) -> list[_Version]:
    """Those of the unchanged versions whose path has another content to retire (_retire_what_it_replaced):
    usually none, so an unchanged landing costs one query, not one per file."""
    if not versions:
        return []
    paths = {path for (path,) in con.execute(
        f"SELECT DISTINCT d.file_path FROM {_ON_DISK} AS d JOIN raw.ingest_files AS f USING (file_path)"
        " WHERE f.sha256 <> d.sha256 AND f.status IN ('loaded', 'suspect', 'rejected')",
        [_version_keys(versions)]).fetchall()}
    return [v for v in versions if v.file_path in paths]


def _retire_what_it_replaced(con, loader, file_path: str, sha: str) -> None:
    """The version on disk is the one recorded as `sha`. Another content of the same path is history: a later
    suspect or rejected one (a bad export since replaced by the good file again) is no longer a problem of the
    path, and one still loaded (when the content on disk was recorded as another file's twin) leaves the raw
    layer, since the path no longer holds it."""
    history = (" FROM raw.ingest_files WHERE file_path = $path AND sha256 <> $sha AND (status = 'loaded' OR"
               " (status IN ('suspect', 'rejected') AND loaded_at > (SELECT max(loaded_at) FROM raw.ingest_files"
               " WHERE file_path = $path AND sha256 = $sha)))")
    this_path = {"path": file_path, "sha": sha}
    retired = con.execute(f"SELECT sha256, status {history}", this_path).fetchall()
    if not retired:  # the usual case, an unchanged file: no transaction at all
        return
    with transaction(con):
        for stale_sha in (stale for stale, status in retired if status == "loaded"):
            for table in loader.raw_tables:
                con.execute(f"DELETE FROM raw.{table} WHERE _file_sha256 = ? AND _source_file = ?",
                            [stale_sha, file_path])
        con.execute(f"UPDATE raw.ingest_files SET status = 'superseded', superseded_by = $path WHERE (file_path,"
                    f" sha256) IN (SELECT (file_path, sha256) {history})", this_path)


def _forget_earlier_record(con, version: _Version) -> None:
    _forget_earlier_records(con, [version])


def _forget_earlier_records(con, versions: list[_Version]) -> None:
    """A version loaded again (see _already_recorded) starts from a clean slate, recorded as new."""
    keys = _version_keys(versions)
    for table in ("ingest_files", "ingest_rejections", "ingest_flags"):
        con.execute(f"DELETE FROM raw.{table} WHERE (file_path, sha256) IN"
                    " (SELECT (k.file_path, k.sha256) FROM (SELECT unnest(?::STRUCT(file_path VARCHAR,"
                    " sha256 VARCHAR)[]) AS k))", [keys])


def _ingest_one(con, loader: SourceLoader, version: _Version, run_id: str, summary: IngestSummary,
                shrink_tolerance: float) -> None:
    twin = con.execute("SELECT file_path FROM raw.ingest_files WHERE sha256 = ? AND status IN ('loaded', 'superseded')"
                       " AND file_path <> ? LIMIT 1", [version.sha, version.file_path]).fetchone()
    if twin:
        with transaction(con):
            _forget_earlier_record(con, version)  # a suspect or put-back version recorded before
            report = FileReport(entity=None, rows_read=0, rows_loaded=0,
                                warnings=[f"same content as {twin[0]}; not loaded twice"])
            _record(con, loader, version, report, "skipped_duplicate", run_id)
        return
    try:
        with transaction(con):
            _forget_earlier_record(con, version)
            _load_and_record(con, loader, version, run_id, summary, shrink_tolerance)
    except (duckdb.ConversionException, duckdb.InvalidInputException, duckdb.ConstraintException,
            duckdb.OutOfRangeException) as refused:
        # A value no line check foresaw: the file's rows were rolled back; say which file and why, go on.
        cause = str(refused).strip().splitlines()[0]
        _reject(con, loader, version, f"the warehouse refused a value of this file: {cause}", run_id, summary)
    except OSError as error:
        if error.errno not in FILE_READ_ERRNOS:
            raise
        _reject(con, loader, version, f"cannot be read: {error.strerror or error}", run_id, summary)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Reading a file makes a few hundred thousand lists and tuples that hold no cycles (refcounting frees them);
    each batch of them set off a cyclic collection that walked every live object, which cost more than the
    reading itself (read_csv of a 223 000-record file: 0.91 s, 0.39 s with the collector paused)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load_and_record(con, loader, version: _Version, run_id: str, summary: IngestSummary,
                     shrink_tolerance: float) -> None:
    try:
        with cyclic_gc_paused():
            report = loader.load(con, version.path, version.file_path, version.sha)
    except FileRejected as rejected:
        _reject(con, loader, version, str(rejected), run_id, summary, in_transaction=True)
        return
    _record_loaded(con, loader, [(version, report)], run_id, summary, shrink_tolerance)


def _record_loaded(con, loader, recorded: list[tuple[_Version, FileReport]], run_id: str, summary: IngestSummary,
                   shrink_tolerance: float) -> None:
    """Record files whose rows are in the raw layer, then let them supersede older versions (or be held back)."""
    for version, report in recorded:
        if report.rows_read != report.rows_loaded + report.rows_quarantined:
            raise AssertionError(f"{version.file_path}: {report.rows_read} rows read but {report.rows_loaded} "
                                 f"loaded and {report.rows_quarantined} quarantined; refusing to lose lines")
    _record_many(con, loader, [(version, report, "loaded") for version, report in recorded], run_id)
    keys = set()
    for version, report in recorded:
        summary.files_loaded += 1
        summary.rows_loaded += report.rows_loaded
        summary.rows_quarantined += report.rows_quarantined
        summary.problems.extend(f"{version.file_path}, line {r.line_number}: {r.reason}" for r in report.rejections)
        summary.problems.extend(f"{version.file_path}, line {f.line_number}: {f.flag.detail} (kept, flagged)"
                                for f in report.flags)
        if not report.supersede_key:
            continue
        held_back = loader.guards_shrinking and _hold_back_if_shrunk(
            con, loader, version, report, shrink_tolerance)
        if held_back:
            summary.files_suspect += 1
            summary.problems.append(f"{version.file_path}: {held_back}")
        else:
            keys.add(report.supersede_key)
    summary.files_superseded += _apply_supersession(con, loader, sorted(keys))


def _reject(con, loader, version: _Version, reason: str, run_id: str, summary: IngestSummary, *,
            in_transaction: bool = False) -> None:
    report = FileReport(entity=None, rows_read=0, rows_loaded=0, rejections=[Rejection(None, reason)])
    if in_transaction:
        _record(con, loader, version, report, "rejected", run_id)
    else:
        with transaction(con):
            _record(con, loader, version, report, "rejected", run_id)
    summary.files_rejected += 1
    summary.problems.append(f"{version.file_path}: file rejected: {reason}")


def _record(con, loader, version: _Version, report: FileReport, status: str, run_id: str) -> None:
    _record_many(con, loader, [(version, report, status)], run_id)


def _record_many(con, loader, recorded: list[tuple[_Version, FileReport, str]], run_id: str) -> None:
    """One ingest_files row per file version, with its quarantined lines and flags, in a few statements."""
    now = datetime.now()
    insert_rows(con, "raw.ingest_files", INGEST_FILES, (
        [version.file_path, loader.source, report.entity, report.client_id, version.sha, report.supersede_key,
         report.version_rank_key, status, report.rows_read, report.rows_loaded, report.rows_quarantined,
         json.dumps(report.warnings, ensure_ascii=False),
         json.dumps(report.details, ensure_ascii=False, default=str), None, now, run_id]
        for version, report, status in recorded))
    insert_rows(con, "raw.ingest_rejections", INGEST_REJECTIONS, (
        [version.file_path, version.sha, r.line_number, r.reason, r.raw_line, run_id]
        for version, report, _ in recorded for r in report.rejections))
    # flags a loader wrote itself (in SQL, for large files) get the run that recorded them
    con.execute("UPDATE raw.ingest_flags SET run_id = ? WHERE run_id IS NULL AND (file_path, sha256) IN"
                " (SELECT (k.file_path, k.sha256) FROM (SELECT unnest(?::STRUCT(file_path VARCHAR,"
                " sha256 VARCHAR)[]) AS k))",
                [run_id, _version_keys([v for v, _, _ in recorded])])
    insert_rows(con, "raw.ingest_flags", INGEST_FLAGS, (
        [version.file_path, version.sha, f.line_number, f.flag.column_name, f.flag.value, f.flag.rule,
         f.flag.detail, run_id] for version, report, _ in recorded for f in report.flags))
    for version, report, _ in recorded:
        for warning in report.warnings:
            log.debug("%s: %s", version.file_path, warning)


def _hold_back_if_shrunk(con, loader, version: _Version, report: FileReport, tolerance: float) -> str | None:
    """When the new version would replace a populated one but has lost more than `tolerance` of its rows (a
    truncated export, a header-only file), mark it `suspect`, take its rows out again and say why; the version
    in force stays. None when the version may take over."""
    in_force = con.execute(
        "SELECT file_path, rows_loaded, version_rank_key FROM raw.ingest_files WHERE supersede_key = ?"
        " AND source = ? AND status = 'loaded' AND NOT (file_path = ? AND sha256 = ?)"
        " ORDER BY version_rank_key DESC NULLS LAST, loaded_at DESC LIMIT 1",
        [report.supersede_key, loader.source, version.file_path, version.sha]).fetchone()
    if in_force is None:
        return None
    in_force_path, in_force_rows, in_force_rank = in_force
    if (report.version_rank_key or "") < (in_force_rank or "") or in_force_rows == 0:
        return None  # an older export, which supersession leaves aside anyway, or nothing to lose
    if report.rows_loaded >= in_force_rows * (1 - tolerance):
        return None
    for table in loader.raw_tables:
        con.execute(f"DELETE FROM raw.{table} WHERE _file_sha256 = ? AND _source_file = ?",
                    [version.sha, version.file_path])
    reason = (f"suspect version held back: {report.rows_loaded} row(s) where the version in force "
              f"({in_force_path}) has {in_force_rows}; it stays in force until a version with at least "
              f"{1 - tolerance:.0%} of its rows arrives (settings.yml: version_shrink_tolerance_pct)")
    con.execute("UPDATE raw.ingest_files SET status = 'suspect' WHERE file_path = ? AND sha256 = ?",
                [version.file_path, version.sha])
    con.execute("INSERT INTO raw.ingest_rejections (file_path, sha256, line_number, reason, raw_line, run_id)"
                " SELECT file_path, sha256, NULL, ?, NULL, run_id FROM raw.ingest_files"
                " WHERE file_path = ? AND sha256 = ?", [reason, version.file_path, version.sha])
    log.warning("%s: %s", version.file_path, reason)
    return reason


def _apply_supersession(con, loader: SourceLoader, keys: list[str]) -> int:
    """For each supersede key, keep the newest loaded version; mark the others superseded and remove their rows.
    Returns how many versions were superseded."""
    if not keys:
        return 0
    con.execute(
        "CREATE OR REPLACE TEMP TABLE vigie_versions AS SELECT sha256, file_path, supersede_key,"
        " first_value(file_path) OVER newest_first AS newest_path, first_value(sha256) OVER newest_first AS newest_sha,"
        " first_value(version_rank_key) OVER newest_first AS newest_rank, row_number() OVER newest_first AS position"
        " FROM raw.ingest_files WHERE source = ? AND status = 'loaded' AND list_contains(?, supersede_key)"
        " WINDOW newest_first AS (PARTITION BY supersede_key"
        "  ORDER BY version_rank_key DESC NULLS LAST, loaded_at DESC, file_path DESC)", [loader.source, keys])
    older = con.execute("SELECT file_path, newest_path FROM vigie_versions WHERE position > 1").fetchall()
    if older:
        for table in loader.raw_tables:
            con.execute(f"DELETE FROM raw.{table} WHERE _file_sha256 IN"
                        " (SELECT sha256 FROM vigie_versions WHERE position > 1)")
        con.execute("UPDATE raw.ingest_files AS f SET status = 'superseded', superseded_by = v.newest_path"
                    " FROM vigie_versions AS v WHERE v.position > 1 AND f.sha256 = v.sha256"
                    " AND f.file_path = v.file_path")
        for file_path, newest_path in older:
            log.debug("%s superseded by %s", file_path, newest_path)
    # a suspect version older than the one now in force is history, no longer a problem
    con.execute("UPDATE raw.ingest_files AS f SET status = 'superseded', superseded_by = v.newest_path"
                " FROM vigie_versions AS v WHERE v.position = 1 AND f.supersede_key = v.supersede_key"
                " AND f.source = ? AND f.status = 'suspect' AND f.version_rank_key < v.newest_rank",
                [loader.source])
    con.execute("DROP TABLE vigie_versions")
    return len(older)


def current_problems(con, landing: Path) -> list[str]:
    """Rejected files and quarantined lines of the input still in landing/ (exit code 2 when any).

    For each file still present, its latest recorded version counts; superseded versions no longer do.
    """
    present = [landing_path(p, landing) for p in landing.rglob("*") if p.is_file()]
    if not present:
        return []
    rows = con.execute(
        "WITH latest AS (SELECT file_path, arg_max(sha256, loaded_at) AS sha256 FROM raw.ingest_files"
        "                WHERE list_contains(?, file_path) GROUP BY file_path)"
        " SELECT r.file_path, r.line_number, r.reason FROM raw.ingest_rejections r"
        " JOIN latest USING (file_path, sha256)"
        " JOIN raw.ingest_files f USING (file_path, sha256)"
        " WHERE f.status IN ('loaded', 'rejected', 'suspect')"
        " ORDER BY r.file_path, r.line_number NULLS FIRST", [present]).fetchall()
    problems = [f"{path}: file rejected: {reason}" if line is None else f"{path}, line {line}: {reason}"
                for path, line, reason in rows]
    return problems + _flagged_values(con, present)


def _flagged_values(con, present: list[str]) -> list[str]:
    """Values kept but doubtful, as the last dbt build listed them in marts.rpt_data_quality."""
    if not relation_exists(con, "marts", "rpt_data_quality"):
        return []
    rows = con.execute("SELECT file_path, line_number, detail FROM marts.rpt_data_quality"
                       " WHERE list_contains(?, file_path) ORDER BY file_path, line_number, column_name",
                       [present]).fetchall()
    return [f"{path}, line {line}: {detail} (kept, flagged in rpt_data_quality)" for path, line, detail in rows]


def ledger_totals(con) -> dict[str, int]:
    """Counts over the current ledger, for asset metadata and the run summary."""
    files, rejected, superseded, read, loaded, quarantined = con.execute(
        "SELECT count(*), count(*) FILTER (status = 'rejected'), count(*) FILTER (status = 'superseded'),"
        " coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0)"
        " FROM raw.ingest_files").fetchone()
    return {"file_versions": files, "files_rejected": rejected, "files_superseded": superseded,
            "rows_read": int(read), "rows_loaded": int(loaded), "rows_quarantined": int(quarantined)}


def iter_files(directory: Path, suffixes: Iterable[str] | None = None) -> list[Path]:
    """Files under `directory`, sorted, hidden and stray files skipped; optionally only those with the given
    suffixes. Each stray file skipped is logged (info), once per call, that is once per source and run."""
    # Files that are never an export, matched on the lower-cased name. Read as input they would be rejected, and
    # the run would end with exit 2 every day while they stay in landing/:
    stray_files = {
        # written by the system, the file manager or an office suite beside the exports (lock files included)
        "a system file": ("thumbs.db", "desktop.ini", ".ds_store", "~$*", ".~lock.*#"),
        # downloads in progress: the browser or sync client renames them to their real name once complete
        "a download in progress": ("*.crdownload", "*.part", "*.partial", "*.download", "*.tmp"),
        # notes left by a person for the firm's staff
        "a note left by a person": ("readme*", "lisezmoi*", "*.md", "*.pdf"),
    }
    wanted = {s.lower() for s in suffixes} if suffixes else None
    kept = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        name = path.name.lower()
        stray = next((kind for kind, patterns in stray_files.items()
                      if any(fnmatchcase(name, pattern) for pattern in patterns)), None)
        if stray:
            log.info("%s: skipped, %s rather than an export", path.relative_to(directory.parent).as_posix(), stray)
        elif not name.startswith(".") and (wanted is None or path.suffix.lower() in wanted):
            kept.append(path)
    return kept
