"""Helpers shared by the publish tests: a tiny warehouse, one-line publishes, and what a reader of the stable
paths sees."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from assets.home import VigieHome
from assets.publish import PublishReport, publish_run

REPO_ROOT = Path(__file__).resolve().parents[2]
TABLES = ["fct_demo", "ingest_files"]
T0 = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


def build_warehouse(home: VigieHome) -> None:
    with duckdb.connect(str(home.warehouse_db)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.fct_demo (client_id VARCHAR, month DATE, revenue DECIMAL(18,2))")
        con.execute("INSERT INTO marts.fct_demo VALUES ('123456789', '2026-01-01', 1234.56),"
                    " ('123456789', '2026-02-01', -0.01)")
        con.execute("COMMENT ON TABLE marts.fct_demo IS 'Indicateurs mensuels'")
        con.execute("COMMENT ON COLUMN marts.fct_demo.revenue IS 'Chiffre d''affaires du mois'")
        con.execute("CREATE TABLE marts.ingest_files (file_path VARCHAR, source VARCHAR, sha256 VARCHAR,"
                    " status VARCHAR, rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT,"
                    " loaded_at TIMESTAMP)")
        con.execute("INSERT INTO marts.ingest_files VALUES ('accounting/a.txt', 'accounting', 'ab', 'loaded',"
                    " 3, 2, 1, '2026-01-01 06:00:00')")


def add_revenue(home: VigieHome, revenue: str) -> None:
    """Change the warehouse so the next run publishes different data (and different Parquet bytes)."""
    with duckdb.connect(str(home.warehouse_db)) as con:
        con.execute(f"INSERT INTO marts.fct_demo VALUES ('987654321', '2026-03-01', {revenue})")


def publish(home: VigieHome, run_id: str = "run00001-aaaa", *, hours: int = 0, events=(),
            tables=TABLES) -> PublishReport:
    return publish_run(home, list(tables), run_id=run_id, code_version={"vigie": "0.1.0"}, catalogue_version="c1",
                       settings={"language": "fr"}, lineage_events=events, now=T0 + timedelta(hours=hours))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot_rows(path: Path) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("SELECT * FROM fct_demo ORDER BY month").fetchall()


def published_state(home: VigieHome) -> dict:
    """Everything a reader of the stable paths gets: the run `current` names, the manifest, each Parquet file's
    sha256 and the snapshot's rows."""
    return {
        "current": os.readlink(home.publish / "current"),
        "manifest": (home.publish / "manifest.json").read_text(encoding="utf-8"),
        "parquet": {path.name: sha256(path) for path in sorted(home.parquet.glob("*.parquet"))},
        "rows": snapshot_rows(home.marts_db),
    }


def tree_state(home: VigieHome) -> dict[str, str]:
    """Every entry under publish/ and audit/ (links not followed): its link target, or its content's sha256."""
    state = {}
    for top in (home.publish, home.audit):
        for folder, dirs, files in os.walk(top):
            for name in dirs + files:
                path = Path(folder) / name
                key = path.relative_to(home.root).as_posix()
                if path.is_symlink():
                    state[key] = "-> " + os.readlink(path)
                elif path.is_file():
                    state[key] = sha256(path)
                else:
                    state[key] = "dir"
    return state


def leftovers(home: VigieHome) -> list[str]:
    """Temporary entries of a publish, anywhere under publish/ or audit/."""
    return sorted(key for key in tree_state(home) if ".tmp" in key)


def manifest_of(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


KILL_SCRIPT = """
import os, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
import assets.publish as module
from assets.home import VigieHome
from tests.publish.support import publish
step, nth, calls = sys.argv[3], int(sys.argv[4]), []
original = getattr(module, step)
def killing(*args, **kwargs):
    calls.append(step)
    if len(calls) == nth:
        os.kill(os.getpid(), 9)
    return original(*args, **kwargs)
setattr(module, step, killing)
publish(VigieHome(Path(sys.argv[2])), "killed00", hours=1)
"""


def publish_killed_at(home: VigieHome, step: str, nth: int = 1) -> None:
    """Publish (run id "killed00") in another process that kills itself with SIGKILL when `step` of assets.publish
    is called for the `nth` time."""
    killed = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(REPO_ROOT), str(home.root), step, str(nth)],
                            capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
