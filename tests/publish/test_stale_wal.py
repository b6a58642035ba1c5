"""A WAL left beside the published snapshot by a BI client that opened it read-write never breaks a publish and is
never replayed onto the new snapshot: DuckDB 1.4 writes it beside the link (publish/marts.duckdb.wal) and would
replay it onto whatever file the link names next; newer versions write it beside the resolved file."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from tests.publish.support import add_revenue, publish, publish_killed_at, snapshot_rows

WRITER = """
import os, sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("PRAGMA disable_checkpoint_on_shutdown")
con.execute("INSERT INTO fct_demo VALUES ('999999999', '2026-12-01', 999.99)")
con.execute("CREATE TABLE junk (x INTEGER)")
if sys.argv[2] == "kill":
    os.kill(os.getpid(), 9)
con.close()
"""

READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
rows = con.execute("SELECT count(*), max(revenue) FROM fct_demo").fetchone()
tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
print(rows[0], rows[1], ",".join(tables))
"""


def _wals(home) -> list:
    return [wal for wal in (home.publish / "marts.duckdb.wal", home.publish / "current" / "marts.duckdb.wal")
            if os.path.lexists(wal)]


def test_a_garbage_wal_beside_the_snapshot_is_removed(home, caplog):
    publish(home)
    for wal in (home.publish / "marts.duckdb.wal", home.publish / "current" / "marts.duckdb.wal"):
        wal.write_bytes(b"not a write-ahead log" * 100)
    add_revenue(home, "10.00")
    with caplog.at_level(logging.WARNING, logger="vigie.publish"):
        publish(home, hours=1)
    assert _wals(home) == []
    assert "stale" in caplog.text
    assert len(snapshot_rows(home.marts_db)) == 3


@pytest.mark.parametrize("client", ["project duckdb", "duckdb 1.4"])
@pytest.mark.parametrize("ending", ["close without checkpoint", "kill"])
def test_a_real_wal_of_a_read_write_client_is_not_replayed_onto_the_new_snapshot(home, request, client, ending):
    python = sys.executable if client == "project duckdb" else str(request.getfixturevalue("duckdb14_python"))
    publish(home)
    # The snapshot is 0444; a client with write access (root, or a changed mode) can still open it read-write.
    os.chmod(home.marts_db.resolve(), 0o644)
    writer = subprocess.run([python, "-c", WRITER, str(home.marts_db), "kill" if ending == "kill" else "close"],
                            capture_output=True, text=True)
    assert writer.returncode == (-9 if ending == "kill" else 0), writer.stderr
    assert _wals(home), "the client left a WAL beside the snapshot"

    add_revenue(home, "10.00")
    publish(home, hours=1)
    out = subprocess.run([python, "-c", READER, str(home.marts_db)], check=True, capture_output=True,
                         text=True).stdout.split()
    # The new run only: its 3 rows, no 999.99 row, no junk table from the old snapshot's WAL.
    assert out == ["3", "1234.56", "fct_demo,ingest_files"]
    assert _wals(home) == []


def test_a_publish_killed_right_after_the_switch_leaves_no_wal_to_replay(home, duckdb14_python):
    """The WAL goes before the switch: from the moment `current` names the new run, no DuckDB 1.4 reader can find the
    old snapshot's WAL beside the link, even if the publish dies right then."""
    publish(home)
    os.chmod(home.marts_db.resolve(), 0o644)
    subprocess.run([str(duckdb14_python), "-c", WRITER, str(home.marts_db), "close"], check=True)
    assert (home.publish / "marts.duckdb.wal").exists()  # DuckDB 1.4 writes it beside the link
    add_revenue(home, "10.00")

    publish_killed_at(home, "_ensure_stable_links")  # the step right after the switch
    assert os.readlink(home.publish / "current").endswith("-killed00")
    out = subprocess.run([str(duckdb14_python), "-c", READER, str(home.marts_db)], check=True, capture_output=True,
                         text=True).stdout.split()
    assert out == ["3", "1234.56", "fct_demo,ingest_files"]
