"""The home's run lock: one holder at a time, named in the refusal, released by the kernel when its process dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from assets import run_lock
from assets.run_lock import HomeBusy, hold_home


def _hold_in_subprocess(lock_file, run_id: str) -> subprocess.Popen:
    """A process that takes the lock, prints 'held', and sleeps until killed."""
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from assets.run_lock import acquire
        acquire(Path({str(lock_file)!r}), run_id={run_id!r}, wait=False)
        print("held", flush=True)
        time.sleep(600)
    """)
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_second_holder_is_refused_with_the_run_pid_and_start_time(tmp_path):
    lock_file = tmp_path / ".vigie.lock"
    other = _hold_in_subprocess(lock_file, "run-aaaa")
    try:
        with pytest.raises(HomeBusy) as refused, hold_home(lock_file, run_id="run-bbbb", wait=False):
            pass
        message = str(refused.value)
        assert "run-aaaa" in message and f"pid {other.pid}" in message and "started 20" in message
        assert "\n" not in message
    finally:
        other.kill()
        other.wait()


def test_a_killed_holder_releases_the_lock_at_once(tmp_path):
    lock_file = tmp_path / ".vigie.lock"
    other = _hold_in_subprocess(lock_file, "run-killed")
    os.kill(other.pid, signal.SIGKILL)
    other.wait()
    started = time.monotonic()
    with hold_home(lock_file, run_id="run-next", wait=False) as holder:
        assert holder.run_id == "run-next"
        assert run_lock.read_holder(lock_file).pid == os.getpid()
    assert time.monotonic() - started < 2
    assert run_lock.read_holder(lock_file) is None, "a released lock names nobody"


def test_waiting_takes_the_lock_when_the_other_run_ends(tmp_path):
    lock_file = tmp_path / ".vigie.lock"
    other = _hold_in_subprocess(lock_file, "run-first")
    waited_for = []
    # the other run dies in a second, killed -9 from this process: once in the full suite, a SIGTERM sent through
    # `sh -c "sleep 1; kill"` did not end the holder within the 30 s (cause not found), and SIGKILL cannot be
    # caught or ignored
    killer = threading.Timer(1.0, other.kill)
    killer.start()
    with hold_home(lock_file, run_id="run-second", wait=True, timeout_seconds=30, on_wait=waited_for.append):
        assert run_lock.read_holder(lock_file).run_id == "run-second"
    other.wait()
    assert [h.run_id for h in waited_for] == ["run-first"]


def test_the_lock_is_reentrant_within_a_process(tmp_path):
    """`vigie run` holds it before Dagster starts; the run's resource takes it again in the same process."""
    lock_file = tmp_path / ".vigie.lock"
    with hold_home(lock_file, run_id="outer", wait=False):
        with hold_home(lock_file, run_id="inner", wait=False):
            run_lock.set_run_id(lock_file, "dagster-run-id")
        assert run_lock.held_here(lock_file) is not None, "the inner release must not free the outer hold"
        assert run_lock.read_holder(lock_file).run_id == "dagster-run-id"
    assert run_lock.held_here(lock_file) is None
