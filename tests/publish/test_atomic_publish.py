"""A run's snapshot, Parquet files, manifest and lineage appear together or not at all: after a failure or a kill -9
at any point the stable paths still give the whole previous run, and the next publish cleans up and succeeds."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import assets.publish as publish_module
from tests.publish.support import (
    add_revenue,
    leftovers,
    manifest_of,
    publish,
    publish_killed_at,
    published_state,
    sha256,
    snapshot_rows,
    tree_state,
)

EVENTS = [{"eventType": "COMPLETE", "job": {"name": "marts/fct_demo"}}]

# Steps where a publish is interrupted: in the middle of building (second table), after the rename of the run folder
# but before its audit copies, and after those but before `current` is switched.
MIDDLE_STEPS = [("_write_parquet", 2), ("_copy_table", 2), ("_write_audit_copies", 1), ("_switch_current", 1)]


def test_snapshot_parquet_manifest_and_lineage_come_from_the_same_run(home):
    first = publish(home, "first000", events=EVENTS)
    add_revenue(home, "10.00")
    second = publish(home, "second00", hours=1, events=EVENTS + EVENTS)

    assert os.readlink(home.publish / "current") == f"runs/{second.run_dir.name}"
    stable = (home.publish / "manifest.json").read_bytes()
    assert stable == (second.run_dir / "manifest.json").read_bytes() == second.manifest.read_bytes()
    manifest = json.loads(stable)
    assert manifest["run_id"] == "second00"
    assert manifest["run_dir"] == f"publish/runs/{second.run_dir.name}"
    for table, output in manifest["outputs"].items():
        assert output["parquet_sha256"] == sha256(home.parquet / f"{table}.parquet")
        assert output["parquet_sha256"] == sha256(second.run_dir / "parquet" / f"{table}.parquet")
    assert manifest["outputs"]["fct_demo"]["rows"] == len(snapshot_rows(home.marts_db)) == 3
    assert second.lineage.read_bytes() == (second.run_dir / "lineage.jsonl").read_bytes()
    assert [json.loads(line) for line in second.lineage.read_text(encoding="utf-8").splitlines()] == EVENTS * 2

    # The previous run stays whole in its own folder: its manifest describes its own files.
    old = manifest_of(first.run_dir / "manifest.json")
    assert old["run_id"] == "first000"
    assert old["outputs"]["fct_demo"]["parquet_sha256"] == sha256(first.run_dir / "parquet" / "fct_demo.parquet")
    assert len(snapshot_rows(first.run_dir / "marts.duckdb")) == 2
    assert leftovers(home) == []


@pytest.mark.parametrize(("step", "nth"), MIDDLE_STEPS)
def test_a_failure_midway_leaves_everything_as_it_was(home, monkeypatch, step, nth):
    publish(home, events=EVENTS)
    add_revenue(home, "10.00")
    before = tree_state(home)
    original, calls = getattr(publish_module, step), []

    def failing(*args, **kwargs):
        calls.append(step)
        if len(calls) == nth:
            raise RuntimeError(f"injected failure in {step}")
        return original(*args, **kwargs)

    monkeypatch.setattr(publish_module, step, failing)
    with pytest.raises(RuntimeError, match="injected failure"):
        publish(home, "failing0", hours=1, events=EVENTS)
    assert len(calls) == nth
    # Byte for byte: same links, same snapshot, Parquet, manifest and audit files; no temporary file, no new run.
    assert tree_state(home) == before


@pytest.mark.parametrize(("step", "nth"), MIDDLE_STEPS)
def test_a_publish_killed_midway_leaves_the_previous_run_whole(home, step, nth):
    publish(home, events=EVENTS)
    add_revenue(home, "10.00")
    before = published_state(home)

    publish_killed_at(home, step, nth)
    assert published_state(home) == before
    if step in ("_write_parquet", "_copy_table"):
        assert leftovers(home), "the kill happened while the run was being built"

    report = publish(home, "next0000", hours=2)
    assert leftovers(home) == []
    assert os.readlink(home.publish / "current") == f"runs/{report.run_dir.name}"
    assert len(snapshot_rows(home.marts_db)) == 3
    manifest = manifest_of(home.publish / "manifest.json")
    assert manifest["run_id"] == "next0000"
    assert manifest["outputs"]["fct_demo"]["parquet_sha256"] == sha256(home.parquet / "fct_demo.parquet")


READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
for _ in range(2):
    print(*con.execute("SELECT count(*), sum(revenue) FROM fct_demo").fetchone(), flush=True)
    sys.stdin.readline()
"""


def test_a_reader_of_the_previous_snapshot_keeps_reading_it(home):
    publish(home)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(home.marts_db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().split() == ["2", "1234.55"]
        add_revenue(home, "10.00")
        publish(home, hours=1)
        assert len(snapshot_rows(home.marts_db)) == 3  # new readers get the new run...
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().split() == ["2", "1234.55"]  # ...the open one still reads the old one
    finally:
        reader.stdin.close()
        assert reader.wait(timeout=30) == 0
