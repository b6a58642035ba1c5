"""`vigie-dbt` (orchestration/dbt_command.py), the dbt the dbt steps run: dbt's command line, ended without the
interpreter's teardown. It must answer as `dbt` does, keep dbt's exit codes, and still close the warehouse."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.dbt_assets import DBT_EXECUTABLE
from orchestration.dbt_command import drop_events_below_level

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


def _run(executable: str, project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([executable, *args, "--project-dir", str(project), "--profiles-dir", str(project)],
                          capture_output=True, text=True, timeout=300, cwd=project,
                          env={"DO_NOT_TRACK": "1", "PATH": "/usr/bin:/bin", **(env or {})})


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


@pytest.fixture
def event_manager_restored(monkeypatch):
    """drop_events_below_level replaces two methods of dbt's EventManager: put back after the test."""
    from dbt_common.events.event_manager import EventManager

    for name in ("add_logger", "fire_event"):
        monkeypatch.setattr(EventManager, name, getattr(EventManager, name))


@pytest.mark.usefixtures("event_manager_restored")
@pytest.mark.parametrize("level", ["info", "error"])  # error: `--quiet`, where only print events reach stdout
def test_dbt_makes_lines_only_of_the_events_its_level_writes(monkeypatch, level):
    """dbt made a message of every event, and a JSON line for dagster-dbt, before logging dropped those below the
    logger's level."""
    import dbt_common.events.event_manager as event_manager
    from dbt.adapters.events.types import SQLQuery
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.event_manager import EventManager
    from dbt_common.events.logger import LineFormat, LoggerConfig, _JsonLogger
    from dbt_common.events.types import Note, PrintEvent

    made, formatted = [], []
    make, create_line = event_manager.msg_from_base_event, _JsonLogger.create_line
    monkeypatch.setattr(event_manager, "msg_from_base_event", lambda event, level=None: made.append(
        type(event).__name__) or make(event, level))
    monkeypatch.setattr(_JsonLogger, "create_line", lambda self, msg: formatted.append(msg.info.name)
                        or create_line(self, msg))
    events = [SQLQuery(conn_name="model.vigie.x", sql="select 1", node_info={}), Note(msg="built"),
              PrintEvent(msg="printed")]

    def written(listener=None) -> list[str]:
        stream, manager = io.StringIO(), EventManager()
        manager.add_logger(LoggerConfig(name="vigie_test_stdout", line_format=LineFormat.Json,
                                        level=EventLevel(level), output_stream=stream))
        if listener:
            manager.add_callback(listener)
        for event in events:
            manager.fire_event(event)
        return [json.loads(line)["info"]["name"] for line in stream.getvalue().splitlines()]

    as_dbt_writes = written()
    assert made == formatted == ["SQLQuery", "Note", "PrintEvent"]  # all three made and formatted, whatever is written
    made.clear(), formatted.clear()
    drop_events_below_level()
    assert written() == as_dbt_writes == (["Note", "PrintEvent"] if level == "info" else ["PrintEvent"])
    assert made == ["Note", "PrintEvent"] and formatted == as_dbt_writes
    heard = []  # a listener of dbt's events still hears the debug ones
    made.clear()
    assert written(listener=lambda msg: heard.append(msg.info.name)) == as_dbt_writes
    assert heard == made == ["SQLQuery", "Note", "PrintEvent"]


def test_a_json_build_writes_the_lines_dbt_writes(tmp_path):
    """The events dagster-dbt reads from stdout (one result per node) are all there, and nothing more."""
    env = {"DBT_LOG_FORMAT": "json"}
    ours = _run(str(DBT_EXECUTABLE), tiny_project(tmp_path / "ours"), "build", env=env)
    theirs = _run(DBT, tiny_project(tmp_path / "theirs"), "build", env=env)
    assert ours.returncode == theirs.returncode == 0, ours.stdout + ours.stderr

    def names(result) -> list[str]:
        return [json.loads(line)["info"]["name"] for line in result.stdout.splitlines()]

    assert "LogModelResult" in names(ours) and names(ours) == names(theirs)


@pytest.mark.usefixtures("event_manager_restored")
def test_vigie_dbt_runs_dbt_with_its_loggers_dropping_events_below_level(monkeypatch):
    import dbt.cli.main
    from dbt_common.events.event_manager import EventManager

    import orchestration.dbt_command as dbt_command

    class Ended(Exception):
        pass

    def ended(code):
        raise Ended(code)

    monkeypatch.setattr(dbt.cli.main, "cli", lambda prog_name: None)
    monkeypatch.setattr(dbt_command, "exit_without_teardown", ended)
    assert not getattr(EventManager.add_logger, "drops_events_below_level", False)
    with pytest.raises(Ended):
        dbt_command.run_dbt()
    assert EventManager.add_logger.drops_events_below_level
