"""Housekeeping of a Vigie home: the disk of an unattended server must not grow without limit.

Every morning's run leaves a run log, an audit manifest with its lineage events, dbt logs and one dbt target folder
per dbt invocation (~29 MB each, created by dagster-dbt). Nobody watches the server, so old ones are removed here:
the scratch folder and the dbt invocation folders at the start of a run (under the run lock, so a run killed
halfway leaves nothing behind for long), logs and audit files once older than the firm's retention.

Deleting on a server nobody watches must be boring and safe:
- only the directories of the home layout are touched, and only the entries their patterns name;
- symbolic links are never followed: a link is removed as a link, and a directory reached through a link is skipped,
  so nothing outside the home (or elsewhere in it, such as the landing folders) can be deleted by accident;
- an entry that vanishes meanwhile is simply gone, an unreadable one is logged and skipped: housekeeping never
  fails the run it belongs to for a file it could not remove.

Plain Python without Dagster: the orchestration layer decides when to call these functions.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from assets.home import VigieHome

log = logging.getLogger("vigie.housekeeping")

SECONDS_PER_DAY = 86_400

RUN_LOG_PATTERNS = ("run-*.log",)
AUDIT_PATTERNS = ("run-*.json", "run-*.lineage.jsonl")
# The alerts journal is the firm's record of failed runs: it is never pruned, whatever a pattern might say.
AUDIT_KEPT = frozenset({"alerts.log"})
# dbt writes dbt.log and, once it rotates, dbt.log.1, dbt.log.2...
DBT_LOG_PATTERNS = ("*.log", "*.log.*")

# dagster-dbt names each invocation's target folder "<op name>-<run_id[:7]>-<uuid4[:7]>" (just the uuid part when
# dbt runs outside an op). Op names are [A-Za-z0-9_]+ and both ids are hexadecimal, so dbt's own top-level entries
# (manifest.json, partial_parse.msgpack, graph.gpickle, compiled/, run/) can never match.
INVOCATION_DIR = re.compile(r"(?:[A-Za-z0-9_]+-[0-9a-f]{7}-)?[0-9a-f]{7}")


@dataclass
class PruneReport:
    removed: list[Path] = field(default_factory=list)
    freed_bytes: int = 0  # sizes of the regular files removed (a link frees no data)

    def summary(self) -> str:
        return f"removed {len(self.removed)} item(s), {_human_size(self.freed_bytes)}"

    def _add(self, other: PruneReport) -> None:
        self.removed.extend(other.removed)
        self.freed_bytes += other.freed_bytes


def clear_scratch(home: VigieHome) -> int:
    """Empty `home.scratch` (the folder itself stays); returns the number of top-level entries removed.

    Called at the start of a run, under the run lock: nothing can be using the scratch folder then, and what a killed
    run left behind (transcoded FEC copies, per-file folders) is removed before it piles up."""
    return len(_prune_dir(home, home.scratch, lambda entry: True).removed)


def clear_dbt_invocations(home: VigieHome, *, keep: Iterable[Path] = ()) -> int:
    """Remove every dbt invocation folder of `home.dbt_target` except those in `keep`; returns how many were removed.

    dbt's top-level files (manifest.json, partial_parse.msgpack...) are never touched: they make the next parse fast.
    `keep` holds absolute paths, or paths relative to `home.dbt_target`."""
    kept = {_identity(path if Path(path).is_absolute() else home.dbt_target / path) for path in keep}
    return len(_prune_dir(home, home.dbt_target, _is_invocation_dir, keep=kept).removed)


def prune_home(home: VigieHome, *, retention_days: int, audit_retention_days: int | None = None,
               now: datetime | None = None) -> PruneReport:
    """Remove run logs, dbt logs and dbt invocation folders last modified more than `retention_days` days before
    `now`, and audit files past `audit_retention_days` (default: `retention_days`). The entry's own mtime counts:
    a link is judged by the link, not by its target."""
    audit_retention_days = audit_retention_days or retention_days
    if min(retention_days, audit_retention_days) < 1:
        raise ValueError(f"retention_days must be at least 1, got {retention_days}, {audit_retention_days}")
    moment = (now or datetime.now(UTC)).timestamp()

    def older_than(days: int) -> Callable[[os.DirEntry], bool]:
        return lambda entry: entry.stat(follow_symlinks=False).st_mtime < moment - days * SECONDS_PER_DAY

    report = PruneReport()
    for directory, select, older in (
        (home.run_logs, _is_file_named(RUN_LOG_PATTERNS), older_than(retention_days)),
        (home.audit, _is_file_named(AUDIT_PATTERNS, excluded=AUDIT_KEPT), older_than(audit_retention_days)),
        (home.dbt_logs, _is_file_named(DBT_LOG_PATTERNS), older_than(retention_days)),
        (home.dbt_target, _is_invocation_dir, older_than(retention_days)),
    ):
        report._add(_prune_dir(home, directory,
                               lambda entry, select=select, older=older: select(entry) and older(entry)))
    if report.removed:
        log.info("housekeeping: %s older than %d day(s)", report.summary(), retention_days)
    return report


# --- selection -------------------------------------------------------------------------------------------------


def _is_file_named(patterns: tuple[str, ...], excluded: frozenset[str] = frozenset()) -> Callable[[os.DirEntry], bool]:
    """Regular files and links whose name matches: a directory named like a log is not ours to remove."""

    def select(entry: os.DirEntry) -> bool:
        if entry.name in excluded or entry.is_dir(follow_symlinks=False):
            return False
        return any(fnmatch.fnmatchcase(entry.name, pattern) for pattern in patterns)

    return select


def _is_invocation_dir(entry: os.DirEntry) -> bool:
    # A link named like an invocation folder is selected too: it is removed as a link, never followed.
    is_dir_or_link = entry.is_dir(follow_symlinks=False) or entry.is_symlink()
    return is_dir_or_link and INVOCATION_DIR.fullmatch(entry.name) is not None


# --- removal ---------------------------------------------------------------------------------------------------


def _prune_dir(home: VigieHome, directory: Path, select: Callable[[os.DirEntry], bool],
               keep: frozenset[Path] | set[Path] = frozenset()) -> PruneReport:
    """Remove the entries of `directory` (not recursively: each selected entry goes as a whole) that `select` picks."""
    report = PruneReport()
    real = _real_dir_in_home(home, directory)
    if real is None:
        return report
    for entry in _scan(real):
        path = real / entry.name
        try:
            chosen = path not in keep and select(entry)
        except FileNotFoundError:
            continue  # removed meanwhile (another process, or a run finishing): nothing left to do
        except OSError as exc:
            log.warning("housekeeping: cannot read %s, left in place: %s", path, exc)
            continue
        if chosen:
            removed, freed = _remove(path)
            report.freed_bytes += freed
            if removed:
                report.removed.append(path)
    return report


def _real_dir_in_home(home: VigieHome, directory: Path) -> Path | None:
    """`directory` as a real path, or None (with a warning) when it lies outside the home or is reached through a
    symbolic link: emptying a linked scratch folder could wipe whatever the link points to."""
    root = home.root.resolve()
    try:
        relative = directory.absolute().relative_to(home.root.absolute())
    except ValueError:
        log.warning("housekeeping: %s is outside the home %s, left alone", directory, root)
        return None
    expected = root / relative
    try:
        real = expected.resolve(strict=True)
    except FileNotFoundError:
        return None  # never created on this home: nothing to clean
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symbolic link loop
        log.warning("housekeeping: cannot resolve %s, left alone: %s", expected, exc)
        return None
    if real != expected:
        log.warning("housekeeping: %s is reached through a symbolic link (to %s), left alone", expected, real)
        return None
    return real


def _scan(directory: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(directory) as entries:
            return list(entries)
    except FileNotFoundError:
        return []
    except OSError as exc:
        log.warning("housekeeping: cannot list %s, left in place: %s", directory, exc)
        return []


def _remove(path: Path) -> tuple[bool, int]:
    """Remove one entry without following links; returns (removed, bytes freed)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return False, 0
    except OSError as exc:
        log.warning("housekeeping: cannot read %s, left in place: %s", path, exc)
        return False, 0
    if stat.S_ISDIR(info.st_mode):
        return _remove_tree(path)
    try:
        path.unlink()  # a symbolic link is unlinked itself; its target is untouched
    except FileNotFoundError:
        return False, 0
    except OSError as exc:
        log.warning("housekeeping: cannot remove %s: %s", path, exc)
        return False, 0
    return True, info.st_size if stat.S_ISREG(info.st_mode) else 0


def _remove_tree(path: Path) -> tuple[bool, int]:
    size_before = _tree_size(path)

    def on_error(function, failed_path, exc_info) -> None:
        # shutil.rmtree does not follow links inside the tree; a file vanishing meanwhile is not an error.
        if not isinstance(exc_info[1], FileNotFoundError):
            log.warning("housekeeping: cannot remove %s: %s", failed_path, exc_info[1])

    shutil.rmtree(path, onerror=on_error)
    if not os.path.lexists(path):
        return True, size_before
    # Partly removed: what is gone is freed all the same, but the folder is not reported as removed.
    return False, max(size_before - _tree_size(path), 0)


def _tree_size(path: Path) -> int:
    """Bytes held by the regular files under `path`, links not followed and vanished files ignored."""
    total = 0
    for folder, _dirs, files in os.walk(path, followlinks=False):
        for name in files:
            try:
                info = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
    return total


def _identity(path: Path) -> Path:
    """A path with its folder resolved but not its last component, which may itself be a link we must not follow."""
    path = Path(path)
    return path.parent.resolve() / path.name


def _human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit == "TB":
            break
    return f"{value:.1f} {unit}"
