"""`vigie-dbt` (orchestration/dbt_command.py), the dbt the dbt steps run: dbt's command line, ended without the
interpreter's teardown. It must answer as `dbt` does, keep dbt's exit codes, and still close the warehouse."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from orchestration.dbt_assets import DBT_EXECUTABLE

DBT = str(Path(sys.executable).with_name("dbt"))


def tiny_project(root: Path) -> Path:
    (root / "models").mkdir(parents=True)
    (root / "dbt_project.yml").write_text("name: tiny\nversion: '1.0'\nprofile: tiny\nconfig-version: 2\n",
                                          encoding="utf-8")
    (root / "models" / "numbers.sql").write_text("{{ config(materialized='table') }}\n"
                                                 "select range as n from range(1000)\n", encoding="utf-8")
    (root / "profiles.yml").write_text(
        f"tiny:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: {root / 'tiny.duckdb'}\n",
        encoding="utf-8")
    return root


def _run(executable: str, project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([executable, *args, "--project-dir", str(project), "--profiles-dir", str(project)],
                          capture_output=True, text=True, timeout=300, cwd=project,
                          env={"DO_NOT_TRACK": "1", "PATH": "/usr/bin:/bin"})


def test_the_dbt_steps_run_vigie_dbt():
    assert DBT_EXECUTABLE.name == "vigie-dbt" and DBT_EXECUTABLE.is_file()


def test_it_answers_as_dbt_does():
    ours = subprocess.run([str(DBT_EXECUTABLE), "--version"], capture_output=True, text=True, timeout=120)
    theirs = subprocess.run([DBT, "--version"], capture_output=True, text=True, timeout=120)
    assert ours.returncode == theirs.returncode == 0
    assert "installed:" in ours.stdout and ours.stdout.splitlines()[:3] == theirs.stdout.splitlines()[:3]


def test_a_build_writes_its_table_and_closes_the_warehouse(tmp_path):
    project = tiny_project(tmp_path / "tiny")
    result = _run(str(DBT_EXECUTABLE), project, "build")
    assert result.returncode == 0, result.stdout + result.stderr
    # dbt-duckdb closes the database in an exit handler, which checkpoints it: no write-ahead log is left behind
    assert not (project / "tiny.duckdb.wal").exists()
    with duckdb.connect(str(project / "tiny.duckdb"), read_only=True) as con:
        assert con.execute("select count(*), sum(n) from main.numbers").fetchone() == (1000, 499500)


def test_a_failing_build_keeps_dbts_exit_code(tmp_path):
    project = tiny_project(tmp_path / "tiny")
    (project / "models" / "broken.sql").write_text("select * from no_such_table\n", encoding="utf-8")
    ours, theirs = _run(str(DBT_EXECUTABLE), project, "build"), _run(DBT, project, "build")
    assert theirs.returncode == 1
    assert ours.returncode == theirs.returncode, ours.stdout + ours.stderr
    assert "no_such_table" in ours.stdout


def test_an_unknown_command_keeps_dbts_exit_code(tmp_path):
    ours = subprocess.run([str(DBT_EXECUTABLE), "no-such-command"], capture_output=True, text=True, timeout=120)
    theirs = subprocess.run([DBT, "no-such-command"], capture_output=True, text=True, timeout=120)
    assert theirs.returncode != 0
    assert ours.returncode == theirs.returncode and "no-such-command" in ours.stderr
