"""A home published by the previous layout (a regular publish/marts.duckdb, a real publish/parquet/ folder) moves to
the run folders on its first publish; old run folders are pruned, never the current one nor the newest two."""

from __future__ import annotations

import os
from datetime import timedelta

import duckdb
import pytest

from assets.publish import prune_published_runs
from tests.publish.support import T0, add_revenue, leftovers, manifest_of, publish, sha256, snapshot_rows

DAY = 24


def _legacy_publish(home) -> None:
    """What the previous code left: a regular snapshot file with a stale WAL (a client opened it read-write), a real
    parquet folder, and the temporary files of a publish killed halfway."""
    with duckdb.connect(str(home.marts_db)) as con:
        con.execute(f"ATTACH '{home.warehouse_db}' AS wh (READ_ONLY)")
        con.execute("CREATE TABLE fct_demo AS SELECT * FROM wh.marts.fct_demo")
        con.execute(f"COPY fct_demo TO '{home.parquet / 'fct_demo.parquet'}' (FORMAT parquet)")
    with duckdb.connect(str(home.marts_db)) as con:
        con.execute("PRAGMA disable_checkpoint_on_shutdown")
        con.execute("INSERT INTO fct_demo VALUES ('999999999', '2026-12-01', 999.99)")
    assert (home.publish / "marts.duckdb.wal").exists()
    (home.publish / ".marts.4242.duckdb.tmp").write_bytes(b"partial")
    (home.parquet / ".fct_demo.parquet.tmp").write_bytes(b"partial")


def test_the_first_publish_migrates_a_legacy_home(home):
    _legacy_publish(home)
    legacy_parquet = sha256(home.parquet / "fct_demo.parquet")
    add_revenue(home, "10.00")

    report = publish(home)
    assert {name: os.readlink(home.publish / name) for name in ("marts.duckdb", "parquet", "manifest.json")} == {
        "marts.duckdb": "current/marts.duckdb", "parquet": "current/parquet", "manifest.json": "current/manifest.json"}
    assert not (home.publish / "marts.duckdb.wal").exists()
    assert leftovers(home) == []
    # The new run under the stable paths, all of it.
    assert len(snapshot_rows(home.marts_db)) == 3
    assert manifest_of(home.publish / "manifest.json")["outputs"]["fct_demo"]["parquet_sha256"] \
        == sha256(home.parquet / "fct_demo.parquet")
    # The legacy run set aside whole, not mixed with the new one.
    legacy = home.publish / "runs" / "legacy-20260301T060000Z"
    assert sha256(legacy / "parquet" / "fct_demo.parquet") == legacy_parquet
    assert len(snapshot_rows(legacy / "marts.duckdb")) == 2
    assert sorted(p.name for p in (home.publish / "runs").iterdir()) == sorted([legacy.name, report.run_dir.name])

    # The stable links are created once: the next publishes only switch `current`.
    links = {name: os.lstat(home.publish / name).st_ino for name in ("marts.duckdb", "parquet", "manifest.json")}
    publish(home, hours=1)
    assert {name: os.lstat(home.publish / name).st_ino for name in links} == links


def test_prune_keeps_the_current_run_the_newest_two_and_those_within_retention(home):
    runs = {age: publish(home, hours=-age * DAY).run_dir for age in (40, 30, 20)}
    runs[50] = publish(home, "current0", hours=-50 * DAY).run_dir  # current, though the oldest (clock set back)
    legacy = home.publish / "runs" / "legacy-20260101T000000Z"  # stamp in the name: 59 days old
    (legacy / "parquet").mkdir(parents=True)
    unstamped_old, unstamped_new = home.publish / "runs" / "by-hand-old", home.publish / "runs" / "by-hand-new"
    for folder, age in ((unstamped_old, 100), (unstamped_new, 44)):  # no stamp in the name: judged by mtime
        folder.mkdir()
        mtime = (T0 - timedelta(days=age)).timestamp()
        os.utime(folder, (mtime, mtime))
    in_progress = home.publish / "runs" / ".20250101T000000Z-building.tmp"  # a publish under way: not a run
    in_progress.mkdir()

    # 45 days: only what is older goes (the current run is older, but stays).
    assert sorted(prune_published_runs(home, retention_days=45, now=T0)) == sorted([legacy, unstamped_old])
    # 7 days: every run is older, yet the newest two (20 and 30 days) and the current one (50 days) stay.
    assert sorted(prune_published_runs(home, retention_days=7, now=T0)) == sorted([runs[40], unstamped_new])
    remaining = sorted(p.name for p in (home.publish / "runs").iterdir())
    assert remaining == sorted([in_progress.name, runs[20].name, runs[30].name, runs[50].name])
    assert manifest_of(home.publish / "manifest.json")["run_id"] == "current0"
    assert len(snapshot_rows(home.marts_db)) == 2


def test_prune_refuses_a_retention_under_one_day(home):
    with pytest.raises(ValueError, match="at least 1"):
        prune_published_runs(home, retention_days=0)
