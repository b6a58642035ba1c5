"""The run's dbt server (orchestration/dbt_forkserver.py): a dbt step asks it for a dbt forked from a process that
has already imported dbt. The dbt it forks must behave as a dbt `vigie-dbt` started itself: same output, same exit
codes, signals passed on, gone when `vigie-dbt` is killed; and without a server, `vigie-dbt` runs dbt itself."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from assets.processes import alive
from orchestration import dbt_forkserver
from orchestration.dbt_assets import DBT_EXECUTABLE
from tests.e2e.small_home import wait_until
from tests.orchestration.test_dbt_command import DBT, tiny_project

# A model that runs for minutes unless interrupted.
SLOW_MODEL = "{{ config(materialized='table') }}\nselect sum(i) as total from range(100000000000) as t(i)\n"


@pytest.fixture
def server(monkeypatch):
    """A dbt server started as a run starts it; its address is in this process's environment."""
    monkeypatch.delenv(dbt_forkserver.ADDRESS_ENV, raising=False)
    dbt_forkserver.start()
    yield dbt_forkserver._server
    dbt_forkserver.stop()


def _environment() -> dict[str, str]:
    env = {"DO_NOT_TRACK": "1", "PATH": "/usr/bin:/bin", "PYTHONPATH": os.pathsep.join(sys.path)}
    if dbt_forkserver.ADDRESS_ENV in os.environ:
        env[dbt_forkserver.ADDRESS_ENV] = os.environ[dbt_forkserver.ADDRESS_ENV]
    return env


def _start(executable: str, project: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([executable, *args, "--project-dir", str(project), "--profiles-dir", str(project),
                             "--log-format", "json"], cwd=project, env=_environment(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _dbt_pids(stdout: str) -> set[int]:
    """The process ids dbt names in its JSON log lines: the process that ran dbt."""
    return {json.loads(line)["info"]["pid"] for line in stdout.splitlines() if line.startswith("{")}


class DbtEvents:
    """dbt's JSON log lines, read on a thread as dbt writes them, so a test can wait for one without blocking."""

    def __init__(self, process: subprocess.Popen):
        self.events: list[dict] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._read, args=(process,), daemon=True).start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:
            if line.startswith("{"):
                with self._changed:
                    self.events.append(json.loads(line))
                    self._changed.notify_all()

    def wait_for(self, name: str, timeout: float = 120, **data: str) -> dict:
        """The first event of that name whose data has these values."""
        def matching() -> list[dict]:
            return [e for e in self.events
                    if e["info"]["name"] == name and all(e["data"].get(k) == v for k, v in data.items())]

        with self._changed:
            found = self._changed.wait_for(matching, timeout)
        assert found, f"dbt wrote no {name} {data} in {timeout} s: {[e['info']['name'] for e in self.events]}"
        return found[0]


def _wait_for_dbt_to_run_the_model(process: subprocess.Popen) -> tuple[int, DbtEvents]:
    """Wait until dbt starts the model; returns the pid of the process running dbt, and its events."""
    events = DbtEvents(process)
    return events.wait_for("LogStartLine")["info"]["pid"], events


def test_a_build_runs_in_a_forked_dbt_and_writes_its_table(server, tmp_path):
    project = tiny_project(tmp_path / "tiny")
    process = _start(str(DBT_EXECUTABLE), project, "build")
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stdout + stderr
    (pid,) = _dbt_pids(stdout)
    assert pid != process.pid, "dbt ran in vigie-dbt's own process, not in a fork of the server"
    # dbt-duckdb's exit handler ran in the forked dbt: the database is checkpointed, no write-ahead log is left
    assert not (project / "tiny.duckdb.wal").exists()
    with duckdb.connect(str(project / "tiny.duckdb"), read_only=True) as con:
        assert con.execute("select count(*), sum(n) from main.numbers").fetchone() == (1000, 499500)


def test_a_forked_dbt_keeps_dbts_exit_codes_and_messages(server, tmp_path):
    project = tiny_project(tmp_path / "tiny")
    (project / "models" / "broken.sql").write_text("select * from no_such_table\n", encoding="utf-8")
    messages = {}
    for args in (["build"], ["no-such-command"]):  # one after the other: both write the same database
        ours = _start(str(DBT_EXECUTABLE), project, *args)
        our_out, our_err = ours.communicate(timeout=300)
        theirs = _start(DBT, project, *args)
        theirs.communicate(timeout=300)
        assert theirs.returncode != 0
        assert ours.returncode == theirs.returncode, our_err[-2000:]
        messages[args[0]] = (" ".join(json.loads(line)["info"]["msg"] for line in our_out.splitlines()
                                      if line.startswith("{")), our_err)
    assert "no_such_table" in messages["build"][0]
    assert "No such command 'no-such-command'" in messages["no-such-command"][1]
    assert "Usage: vigie-dbt" in messages["no-such-command"][1]


def test_without_a_server_vigie_dbt_runs_dbt_itself(monkeypatch, tmp_path):
    monkeypatch.setenv(dbt_forkserver.ADDRESS_ENV, "vigie-dbt-no-such-server")
    project = tiny_project(tmp_path / "tiny")
    process = _start(str(DBT_EXECUTABLE), project, "build")
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stdout + stderr
    assert _dbt_pids(stdout) == {process.pid}


def test_killing_vigie_dbt_with_9_ends_the_dbt_it_asked_for(server, tmp_path):
    project = tiny_project(tmp_path / "tiny")
    (project / "models" / "numbers.sql").write_text(SLOW_MODEL, encoding="utf-8")
    process = _start(str(DBT_EXECUTABLE), project, "build")
    dbt, _ = _wait_for_dbt_to_run_the_model(process)
    assert dbt != process.pid and alive(dbt)
    process.kill()
    process.wait()
    wait_until(lambda: not alive(dbt), 30, "the forked dbt to end with the vigie-dbt that asked for it")


def test_an_interrupt_reaches_the_forked_dbt(server, tmp_path):
    """dagster-dbt sends SIGINT to the dbt process of a cancelled step: the forked dbt must get it and start
    cancelling. (How soon dbt then ends is dbt-duckdb's business: a query it cannot cancel runs to its end, with or
    without the server.)"""
    project = tiny_project(tmp_path / "tiny")
    (project / "models" / "numbers.sql").write_text(SLOW_MODEL, encoding="utf-8")
    process = _start(str(DBT_EXECUTABLE), project, "build", "--log-level", "debug")
    dbt, events = _wait_for_dbt_to_run_the_model(process)
    # dbt names in its cancel only the connections its threads hold: wait until the model's holds one and queries
    events.wait_for("SQLQuery", conn_name="model.tiny.numbers")
    process.send_signal(signal.SIGINT)
    assert events.wait_for("LogCancelLine", conn_name="model.tiny.numbers")["info"]["pid"] == dbt
    process.kill()
    process.wait()
    wait_until(lambda: not alive(dbt), 30, "the forked dbt to end with the vigie-dbt that asked for it")


def test_a_forked_dbt_ended_by_a_signal_ends_vigie_dbt_by_the_same_signal(server, tmp_path):
    project = tiny_project(tmp_path / "tiny")
    (project / "models" / "numbers.sql").write_text(SLOW_MODEL, encoding="utf-8")
    process = _start(str(DBT_EXECUTABLE), project, "build")
    dbt, _ = _wait_for_dbt_to_run_the_model(process)
    process.send_signal(signal.SIGTERM)  # passed on to the forked dbt, which SIGTERM ends
    process.wait(timeout=120)
    assert process.returncode == -signal.SIGTERM
    assert not alive(dbt)


def test_a_signal_that_comes_while_vigie_dbt_waits_for_its_fork_reaches_the_forked_dbt():
    """A stand-in server interrupts `vigie-dbt` after it has asked for a fork and before it knows the forked pid; the
    interrupt must reach that process (a `sleep` here), not end `vigie-dbt` and leave its dbt running alone."""
    address = f"vigie-dbt-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind("\0" + address)
        listener.listen(1)
        vigie_dbt = subprocess.Popen([str(DBT_EXECUTABLE), "build"], stderr=subprocess.PIPE, text=True,
                                     env={**_environment(), dbt_forkserver.ADDRESS_ENV: address})
        listener.settimeout(60)
        connection, _ = listener.accept()
        with connection:
            assert dbt_forkserver.peer_credentials(connection)[0] == vigie_dbt.pid
            vigie_dbt.send_signal(signal.SIGINT)
            time.sleep(0.5)  # delivered, had it not been held back
            forked = _stand_in_for_a_forked_dbt()
            connection.sendall(f"{forked.pid}\n".encode())
            try:
                forked.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pytest.fail(_why_no_signal_came(forked, vigie_dbt))
            finally:
                forked.kill()
            connection.sendall(f"signal {-forked.returncode}\n".encode())
            vigie_dbt.wait(timeout=30)
    assert forked.returncode == -signal.SIGINT
    assert vigie_dbt.returncode == -signal.SIGINT, vigie_dbt.stderr.read()


def _stand_in_for_a_forked_dbt() -> subprocess.Popen:
    """`sleep 600`, with SIGINT at its default as the server's forked dbt has it (`_become_dbt` sets it), whatever
    this process inherited: a suite started in the background of a script ignores SIGINT, and `sleep` would too."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # a handled signal is reset by exec
    try:
        return subprocess.Popen(["sleep", "600"])
    finally:
        signal.signal(signal.SIGINT, previous)


def _why_no_signal_came(forked: subprocess.Popen, vigie_dbt: subprocess.Popen) -> str:
    """What a failure must say: the stand-in's signal masks, and how `vigie-dbt` stands."""
    status = Path(f"/proc/{forked.pid}/status").read_text(encoding="utf-8").splitlines()
    masks = [line for line in status if line.startswith(("SigBlk", "SigIgn", "SigCgt"))]
    if vigie_dbt.poll() is None:
        vigie_dbt.kill()
        vigie_dbt.wait()
        return f"no SIGINT reached the stand-in in 30 s; {masks}; vigie-dbt was still running (killed now)"
    return (f"no SIGINT reached the stand-in in 30 s; {masks}; vigie-dbt ended ({vigie_dbt.returncode}): "
            f"{vigie_dbt.stderr.read()[-2000:]}")


def test_the_server_ends_with_its_run_even_killed_with_9(tmp_path):
    """A run killed with -9 cannot stop its server: the server sees its stdin, a pipe from the run, close."""
    script = ("import time\nfrom orchestration import dbt_forkserver\n"
              "dbt_forkserver.start()\nprint(dbt_forkserver._server.pid, flush=True)\ntime.sleep(600)")
    run = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                           env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    server = int(run.stdout.readline())
    time.sleep(5)  # past its imports, in its loop
    assert alive(server)
    run.kill()
    run.wait()
    wait_until(lambda: not alive(server), 30, "the server to end with its run")


def test_stop_ends_the_server_at_once_and_forgets_its_address(monkeypatch):
    """Even when the run's process ignores SIGTERM, which the server then ignores too (an ignored signal stays
    ignored across exec)."""
    monkeypatch.delenv(dbt_forkserver.ADDRESS_ENV, raising=False)
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        dbt_forkserver.start()
    finally:
        signal.signal(signal.SIGTERM, previous)
    server = dbt_forkserver._server
    assert dbt_forkserver.ADDRESS_ENV in os.environ
    started = time.monotonic()
    dbt_forkserver.stop()  # while it still imports dbt
    assert server.returncode is not None and time.monotonic() - started < 5
    assert dbt_forkserver.ADDRESS_ENV not in os.environ


def test_the_server_warms_what_every_dbt_step_would_build_again(tmp_path):
    """The caches the server fills before forking (orchestration/dbt_forkserver.py, _warm_caches): a dbt upgrade
    that renames what they name must fail here, not leave every step slower without a word."""
    script = ("from orchestration import dbt_forkserver\n"
              "from dbt_common.dataclass_schema import dbtClassMixin\n"
              "dbt_forkserver._warm_caches()\n"
              "print(dbtClassMixin.__dict__['json_schema'].__func__.cache_info().currsize)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path),
                               "DBT_TARGET_PATH": str(tmp_path / "no-parse-yet")})
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) >= 7, "the JSON schemas of the project, profile and adapter are built"
