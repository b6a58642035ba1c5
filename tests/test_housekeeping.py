"""Housekeeping: old logs, audit files and dbt folders go, recent ones and everything else stay, links are never
followed out of the home."""

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assets import housekeeping
from assets.home import VigieHome
from assets.housekeeping import PruneReport, clear_dbt_invocations, clear_scratch, prune_home

NOW = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
RETENTION = 30
OLD = 45  # days: past the retention
RECENT = 3  # days: within it

INVOCATION_OLD = "vigie_dbt_models-3f2a9c1-8b7e6d5"
INVOCATION_RECENT = "vigie_dbt_outputs-a1b2c3d-0f9e8d7"


@pytest.fixture
def home(tmp_path) -> VigieHome:
    home = VigieHome(tmp_path / "home")
    home.ensure()
    for folder in (home.run_logs, home.dbt_target, home.dbt_logs):
        folder.mkdir(parents=True, exist_ok=True)
    return home


def age(path: Path, days: float) -> Path:
    """Set the mtime of `path` itself (a link, not its target) to `days` before NOW."""
    stamp = (NOW - timedelta(days=days)).timestamp()
    os.utime(path, (stamp, stamp), follow_symlinks=False)
    return path


def write(path: Path, days: float, size: int = 10) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return age(path, days)


def invocation(home: VigieHome, name: str, days: float, sizes: tuple[int, ...] = (10,)) -> Path:
    """A dbt invocation folder as dagster-dbt leaves it: artefacts at the top and in nested folders."""
    folder = home.dbt_target / name
    write(folder / "manifest.json", days, sizes[0])
    for number, size in enumerate(sizes[1:]):
        write(folder / "compiled" / "vigie" / f"model_{number}.sql", days, size)
    for sub in sorted(folder.rglob("*"), reverse=True):  # writing a file touched its folders' mtimes
        age(sub, days)
    return age(folder, days)


def test_prune_home_removes_old_entries_of_each_category_and_keeps_recent_ones(home):
    old = [
        write(home.run_logs / "run-20260401T060000.log", OLD),
        write(home.audit / "run-20260401T060000-abcd1234.json", OLD),
        write(home.audit / "run-20260401T060000-abcd1234.lineage.jsonl", OLD),
        write(home.dbt_logs / "dbt.log.1", OLD),
        write(home.dbt_logs / "dbt.log", OLD),
        invocation(home, INVOCATION_OLD, OLD),
    ]
    recent = [
        write(home.run_logs / "run-20260529T060000.log", RECENT),
        write(home.audit / "run-20260529T060000-ef567890.json", RECENT),
        write(home.audit / "run-20260529T060000-ef567890.lineage.jsonl", RECENT),
        write(home.dbt_logs / "dbt.log.2", RECENT),
        invocation(home, INVOCATION_RECENT, RECENT),
    ]

    report = prune_home(home, retention_days=RETENTION, now=NOW)

    assert sorted(report.removed) == sorted(old)
    assert not any(os.path.lexists(path) for path in old)
    assert all(path.exists() for path in recent)
    assert (home.dbt_target / INVOCATION_RECENT / "manifest.json").exists()


def test_prune_home_keeps_alerts_log_dbt_top_level_files_and_unknown_entries(home):
    kept = [
        write(home.audit / "alerts.log", OLD),
        write(home.dbt_target / "manifest.json", OLD),
        write(home.dbt_target / "partial_parse.msgpack", OLD),
        write(home.dbt_target / "graph.gpickle", OLD),
        age(_mkdir(home.dbt_target / "compiled"), OLD),  # dbt's own folder, not an invocation
        write(home.run_logs / "notes.txt", OLD),  # not a run log
        age(_mkdir(home.run_logs / "run-folder.log"), OLD),  # a directory named like a log is not a log
        write(home.landing_dir("accounting") / "run-1.log", OLD),  # outside the pruned folders
        write(home.scratch / "run-2.log", OLD),  # scratch is cleared at run start, not pruned by age
    ]

    report = prune_home(home, retention_days=RETENTION, now=NOW)

    assert report.removed == []
    assert all(path.exists() for path in kept)


def test_prune_home_counts_freed_bytes_and_summarises(home):
    write(home.run_logs / "run-a.log", OLD, size=1_000)
    write(home.audit / "run-a.json", OLD, size=500)
    invocation(home, INVOCATION_OLD, OLD, sizes=(3_000, 4_000))  # nested files count too
    write(home.dbt_logs / "dbt.log", RECENT, size=99_999)  # kept: not counted

    report = prune_home(home, retention_days=RETENTION, now=NOW)

    assert report.freed_bytes == 8_500
    assert report.summary() == "removed 3 item(s), 8.3 KB"


def test_prune_report_summary_uses_readable_units():
    assert PruneReport([], 0).summary() == "removed 0 item(s), 0 B"
    assert PruneReport([Path("a")] * 12, int(340.2 * 1024 * 1024)).summary() == "removed 12 item(s), 340.2 MB"


def test_symlink_pointing_outside_the_home_is_removed_as_a_link_and_its_target_kept(home, tmp_path):
    outside_file = tmp_path / "elsewhere" / "precious.txt"
    outside_file.parent.mkdir()
    outside_file.write_text("keep me")  # recent mtime: the link is judged by its own mtime, not by its target's
    outside_dir = tmp_path / "elsewhere" / "folder"
    (outside_dir / "inner").mkdir(parents=True)
    (outside_dir / "inner" / "data.bin").write_bytes(b"y" * 50)

    log_link = home.run_logs / "run-20260401T060000.log"
    log_link.symlink_to(outside_file)
    age(log_link, OLD)
    dbt_link = home.dbt_target / INVOCATION_OLD
    dbt_link.symlink_to(outside_dir, target_is_directory=True)
    age(dbt_link, OLD)

    report = prune_home(home, retention_days=RETENTION, now=NOW)

    assert sorted(report.removed) == sorted([log_link, dbt_link])
    assert not os.path.lexists(log_link) and not os.path.lexists(dbt_link)
    assert outside_file.read_text() == "keep me"
    assert (outside_dir / "inner" / "data.bin").read_bytes() == b"y" * 50
    assert report.freed_bytes == 0  # removing a link frees none of its target's data


def test_symlink_inside_a_removed_folder_is_not_followed(home, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "ledger.csv").write_text("precious")
    (home.scratch / "fec_1").mkdir()
    (home.scratch / "fec_1" / "link").symlink_to(outside, target_is_directory=True)

    assert clear_scratch(home) == 1

    assert (outside / "ledger.csv").read_text() == "precious"


def test_a_folder_reached_through_a_symlink_is_left_alone(home, tmp_path, caplog):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    write(outside / "run-20260401T060000.log", OLD)
    write(outside / "important.xlsx", OLD)
    home.scratch.rmdir()
    home.scratch.symlink_to(outside, target_is_directory=True)
    home.run_logs.rmdir()
    home.run_logs.symlink_to(outside, target_is_directory=True)

    with caplog.at_level(logging.WARNING, logger="vigie.housekeeping"):
        assert clear_scratch(home) == 0
        assert prune_home(home, retention_days=RETENTION, now=NOW).removed == []

    assert sorted(p.name for p in outside.iterdir()) == ["important.xlsx", "run-20260401T060000.log"]
    assert "symbolic link" in caplog.text


def test_clear_scratch_empties_nested_folders_and_keeps_the_folder(home):
    write(home.scratch / "fec_a1b2" / "chunks" / "part-0001.csv", RECENT, size=100)
    write(home.scratch / "fec_a1b2" / "transcoded.txt", RECENT)
    write(home.scratch / "leftover.tmp", RECENT)
    _mkdir(home.scratch / "empty_dir")

    assert clear_scratch(home) == 3

    assert home.scratch.is_dir()
    assert list(home.scratch.iterdir()) == []


def test_clear_scratch_on_a_home_without_scratch_folder_does_nothing(tmp_path):
    assert clear_scratch(VigieHome(tmp_path / "never_run")) == 0


def test_clear_dbt_invocations_honours_keep_and_never_touches_top_level_files(home):
    current = invocation(home, "vigie_dbt_models-0123456-89abcde", RECENT)
    invocation(home, INVOCATION_OLD, RECENT)
    invocation(home, INVOCATION_RECENT, RECENT)
    invocation(home, "abcdef0", RECENT)  # dagster-dbt's name when dbt runs outside an op
    top = [write(home.dbt_target / name, OLD) for name in ("manifest.json", "partial_parse.msgpack", "graph.gpickle")]

    assert clear_dbt_invocations(home, keep=[current]) == 3

    assert sorted(p.name for p in home.dbt_target.iterdir()) == sorted([current.name, *(p.name for p in top)])
    assert (current / "manifest.json").exists()


def test_clear_dbt_invocations_accepts_keep_relative_to_the_target(home):
    kept = invocation(home, INVOCATION_RECENT, RECENT)
    invocation(home, INVOCATION_OLD, RECENT)

    assert clear_dbt_invocations(home, keep=[Path(INVOCATION_RECENT)]) == 1
    assert kept.exists()


def test_retention_days_must_be_at_least_one(home):
    with pytest.raises(ValueError, match="retention_days"):
        prune_home(home, retention_days=0, now=NOW)


def test_an_entry_vanishing_during_the_prune_is_skipped_quietly(home, monkeypatch, caplog):
    vanishing = write(home.run_logs / "run-vanishing.log", OLD)
    other = write(home.run_logs / "run-other.log", OLD)
    real_scan = housekeeping._scan

    def scan_then_lose_one(directory):
        entries = real_scan(directory)
        if directory == home.run_logs:
            vanishing.unlink()  # another process removes it between the listing and the removal
        return entries

    monkeypatch.setattr(housekeeping, "_scan", scan_then_lose_one)

    with caplog.at_level(logging.WARNING, logger="vigie.housekeeping"):
        report = prune_home(home, retention_days=RETENTION, now=NOW)

    assert report.removed == [other]
    assert not other.exists()
    assert caplog.records == []  # a file already gone is not a problem worth a warning


def test_an_entry_that_cannot_be_removed_is_logged_and_the_rest_goes_on(home, monkeypatch, caplog):
    stuck = write(home.run_logs / "run-stuck.log", OLD)
    other = write(home.run_logs / "run-other.log", OLD)
    real_unlink = Path.unlink

    def refuse_stuck(self, missing_ok=False):
        if self.name == stuck.name:  # the tests run as root: permissions cannot make a file unremovable
            raise PermissionError(13, "Permission denied", str(self))
        return real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", refuse_stuck)

    with caplog.at_level(logging.WARNING, logger="vigie.housekeeping"):
        report = prune_home(home, retention_days=RETENTION, now=NOW)

    assert report.removed == [other]
    assert stuck.exists() and not other.exists()
    assert "run-stuck.log" in caplog.text and "Permission denied" in caplog.text


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_audit_files_follow_their_own_longer_retention(home):
    """The audit record outlives the logs: an auditor may ask years later where a figure came from."""
    log_file = write(home.run_logs / "run-20260401T060000.log", OLD)
    manifest = write(home.audit / "run-20260401T060000-abcd1234.json", OLD)
    report = prune_home(home, retention_days=RETENTION, audit_retention_days=3650, now=NOW)
    assert report.removed == [log_file]
    assert manifest.exists()
