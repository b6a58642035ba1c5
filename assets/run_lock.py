"""One run at a time per home: an OS file lock held for the whole length of a run, whatever launched it.

Why a file lock: the kernel releases it when its process dies, so a run killed with -9 or by the OOM killer can
never block the next one (unlike a slot recorded in a database). The lock file also says who holds it (run id, pid,
start time), so a second run can name the run it is waiting for.

The lock is reentrant within a process: `vigie run` takes it before Dagster starts, and the run's resource takes
it again inside the same process. flock() locks belong to the open file, so one file per process is kept open.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


class HomeBusy(Exception):
    """Another run holds the home; the message names it in one line."""


@dataclass(frozen=True)
class Holder:
    run_id: str
    pid: int
    host: str
    started_at: str

    def describe(self) -> str:
        return f"run {self.run_id or '(starting)'} (pid {self.pid} on {self.host}, started {self.started_at})"


@dataclass
class _Held:
    handle: object
    depth: int
    holder: Holder


_held: dict[Path, _Held] = {}
_guard = threading.Lock()


@contextmanager
def hold_home(lock_file: Path, *, run_id: str, wait: bool, timeout_seconds: float | None = None,
              on_wait=None) -> Iterator[Holder]:
    """Hold the home's lock for the block. Raises HomeBusy at once when `wait` is false and another process holds
    it; with `wait`, polls until it is free (or `timeout_seconds` pass), calling `on_wait(holder)` once."""
    holder = acquire(lock_file, run_id=run_id, wait=wait, timeout_seconds=timeout_seconds, on_wait=on_wait)
    try:
        yield holder
    finally:
        release(lock_file)


def acquire(lock_file: Path, *, run_id: str, wait: bool, timeout_seconds: float | None = None,
            on_wait=None) -> Holder:
    key = lock_file.resolve()
    with _guard:
        if key in _held:
            _held[key].depth += 1
            return _held[key].holder
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    handle = open(key, "a+", encoding="utf-8")  # noqa: SIM115 - kept open for the length of the run
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    announced = False
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            other = read_holder(key)
            if not wait or (deadline is not None and time.monotonic() > deadline):
                handle.close()
                raise HomeBusy(f"{key.parent}: another Vigie run is in progress: "
                               f"{other.describe() if other else 'holder unknown'}; "
                               f"{'try again when it ends, or use --wait' if not wait else 'gave up waiting'}"
                               ) from None
            if not announced and on_wait:
                on_wait(other)
                announced = True
            time.sleep(0.5)
    holder = Holder(run_id=run_id, pid=os.getpid(), host=socket.gethostname(),
                    started_at=datetime.now(UTC).isoformat(timespec="seconds"))
    _write_holder(handle, holder)
    with _guard:
        _held[key] = _Held(handle=handle, depth=1, holder=holder)
    return holder


def release(lock_file: Path) -> None:
    key = lock_file.resolve()
    with _guard:
        held = _held.get(key)
        if held is None:
            return
        held.depth -= 1
        if held.depth > 0:
            return
        del _held[key]
    handle = held.handle
    handle.truncate(0)  # a free lock names nobody
    handle.flush()
    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    handle.close()


def set_run_id(lock_file: Path, run_id: str) -> None:
    """Name the run in the lock once Dagster gave it an id (a schedule's run is locked by its own process)."""
    key = lock_file.resolve()
    with _guard:
        held = _held.get(key)
        if held is None or held.holder.run_id == run_id:
            return
        held.holder = Holder(run_id=run_id, pid=held.holder.pid, host=held.holder.host,
                             started_at=held.holder.started_at)
        _write_holder(held.handle, held.holder)


def held_here(lock_file: Path) -> Holder | None:
    """The holder when this process holds the lock, else None."""
    with _guard:
        held = _held.get(lock_file.resolve())
        return held.holder if held else None


def read_holder(lock_file: Path) -> Holder | None:
    try:
        data = json.loads(lock_file.read_text(encoding="utf-8") or "null")
        return Holder(**data) if data else None
    except (OSError, ValueError, TypeError):
        return None


def _write_holder(handle, holder: Holder) -> None:
    handle.seek(0)
    handle.truncate(0)
    handle.write(json.dumps(holder.__dict__))
    handle.flush()
