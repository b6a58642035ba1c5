"""Processes a run leaves behind: who a run's process is, and ending the children of a run that died.

A run killed with -9 does not kill its children: a `dbt build` it started keeps writing the working DuckDB file,
and DuckDB lets one process write it, so the next run would fail on a lock. Each run marks the environment its
children inherit with the home and its run id; the next run on the home, holding the home's lock, ends every
process still carrying another run's mark.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import time
from multiprocessing import resource_tracker
from pathlib import Path

log = logging.getLogger("vigie.processes")

RUN_OWNER_ENV = "VIGIE_RUN_OWNER"
PROC = Path("/proc")


def mark_children(home_root: Path, run_id: str) -> None:
    """Every process this run starts from now on carries the mark (read by `end_orphans` of a later run).

    Except multiprocessing's resource tracker, started here first if it is not running: dbt's locks start it
    during a run, and it serves the whole process, not the run. Started marked, a process running several runs
    (a test suite, a notebook) took it for the leftover of a dead run at every later run: 5 s of grace to end it,
    then Python's warning that its tracker died."""
    resource_tracker.ensure_running()
    os.environ[RUN_OWNER_ENV] = f"{home_root}\t{run_id}"


def unmark_children() -> None:
    os.environ.pop(RUN_OWNER_ENV, None)


def end_orphans(home_root: Path, current_run_id: str, *, grace_seconds: float = 5.0) -> list[int]:
    """Terminate, then kill, every process marked for this home by another run. Returns their pids."""
    orphans = [pid for pid, run_id in processes_of(home_root) if run_id != current_run_id and pid != os.getpid()]
    for pid in orphans:
        log.warning("ending process %d left by a run that died (%s)", pid, command_line(pid)[:120] or "?")
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while any(alive(pid) for pid in orphans) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in orphans:
        if alive(pid):
            _signal(pid, signal.SIGKILL)
    return orphans


def processes_of(home_root: Path) -> list[tuple[int, str]]:
    """(pid, run id) of every live process a run of this home started."""
    return [(pid, run_id) for pid, (home, run_id) in _marked_processes() if home == str(home_root) and alive(pid)]


def process_identity(pid: int | None = None) -> str:
    """host:pid:start-time, so a recycled pid is never mistaken for the process that died."""
    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def identity_alive(identity: str) -> bool | None:
    """True or False for a process of this host; None when it ran elsewhere (cannot tell)."""
    host, _, rest = identity.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    pid = int(pid_text)
    return alive(pid) and _start_time(pid) == start


def _marked_processes():
    if not PROC.is_dir():
        return
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue  # vanished, or another user's
        for item in environ.split(b"\0"):
            if item.startswith(RUN_OWNER_ENV.encode() + b"="):
                home, _, run_id = item.split(b"=", 1)[1].decode(errors="replace").partition("\t")
                yield int(entry.name), (home, run_id)


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat from field 3 on (state, ppid, ...): the command name before it may hold spaces."""
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def parent_pid(pid: int) -> int:
    """The pid of the process's parent (0 when it is gone)."""
    fields = _stat_fields(pid)
    return int(fields[1]) if len(fields) > 1 else 0


def _start_time(pid: int) -> str:
    fields = _stat_fields(pid)
    return fields[19] if len(fields) > 19 else ""  # field 22: start time in clock ticks since boot


def alive(pid: int) -> bool:
    """The process exists and has not ended (a zombie is dead for our purpose)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = _stat_fields(pid)
    return not fields or fields[0] != "Z"  # a zombie is dead for our purpose


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def command_line(pid: int) -> str:
    """The process's command line, arguments separated by spaces ("" when it is gone)."""
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
