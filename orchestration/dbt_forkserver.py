"""The run's dbt server: a process that imports dbt once and forks a ready dbt for each dbt step (`vigie-dbt`).

Profile (py-spy, an empty `dbt build` on the demo project): a dbt step started as a new process spends about 2.8 s
importing dbt before its first line, most of it mashumaro compiling the (de)serialisers of every dbt dataclass.
The same build forked from a process that has already imported dbt took 1.65 s, against 3.7 to 4.8 s as a new
process. A run has two dbt steps.

How it works:
- Each run starts one server when it takes its home (orchestration/run_guard.py), once the run has marked the
  environment: the server, and every dbt it forks, carry the run's mark, so a later run ends them if this one is
  killed (assets/processes.py). The server listens on an abstract Unix socket named in the environment
  (VIGIE_DBT_FORKSERVER) and answers only processes of its own user.
- `vigie-dbt` hands the server its arguments, environment, working directory and its three standard streams
  (SCM_RIGHTS), then waits. The server forks; the child takes the streams, the environment and the directory and
  runs dbt's command line as `vigie-dbt` would. The server reports how the child ended, and `vigie-dbt` ends the
  same way: dagster-dbt sees the same exit codes and the same output as from a dbt it started itself.
- A signal `vigie-dbt` receives (dagster-dbt's SIGINT when a run is cancelled, a SIGTERM) is passed to the child;
  if `vigie-dbt` is killed, the child kills itself, as a dbt in that process would have died with it.
- When no server answers, `vigie-dbt` runs dbt itself, as before.

The server has one thread (forking a threaded process may copy a lock another thread holds) and ends when the run
ends, or when the run's process dies: its stdin is a pipe from the run, which then reads end-of-file.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import BinaryIO

ADDRESS_ENV = "VIGIE_DBT_FORKSERVER"
# How long `vigie-dbt` waits for the fork (the server may still be importing dbt when the first step starts) before
# it runs dbt itself.
FORK_TIMEOUT_SECONDS = 120.0
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
_HEADER = struct.Struct("!I")  # the request's length, sent with the three file descriptors
_server: subprocess.Popen | None = None


# -------------------------------------------------------------------- the run's side


def start() -> None:
    """Start this process's server, unless one is running; the environment must already carry the run's mark."""
    global _server
    if _server is not None and _server.poll() is None:
        return
    address = f"vigie-dbt-{uuid.uuid4().hex}"
    # Listening before the server process even starts: a step that asks while the server still imports dbt waits
    # in the backlog; once the server is gone, nothing listens and `vigie-dbt` runs dbt itself at once.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind("\0" + address)
        listener.listen(16)
        # -P: the current directory is not put on sys.path (dbt imports every dbt_* module it finds there)
        _server = subprocess.Popen([sys.executable, "-P", "-m", __name__, str(listener.fileno())],
                                   pass_fds=[listener.fileno()], stdin=subprocess.PIPE,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ[ADDRESS_ENV] = address


def stop() -> None:
    """End the server once the run no longer needs it, even midway through its imports. SIGKILL: the server holds
    nothing to clean up, and a signal the run's process ignores stays ignored across exec (SIGTERM under
    pytest-xdist). A dbt it forked is a process of its own, left to end by itself."""
    global _server
    os.environ.pop(ADDRESS_ENV, None)
    server, _server = _server, None
    if server is None:
        return
    server.kill()
    server.wait()
    server.stdin.close()


# -------------------------------------------------------------------- `vigie-dbt`'s side


def run_forked(argv: list[str]) -> int | None:
    """Run `vigie-dbt argv` in a child of the run's server. Returns how it ended, as subprocess reports it (a
    negative number is the signal that ended it), or None when no server answered (the caller runs dbt itself)."""
    address = os.environ.get(ADDRESS_ENV)
    if not address:
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # A signal that comes before the child's pid is known waits, blocked, and is passed on to the child once it is
    # known; without a server it reaches this process as if nothing had been blocked.
    signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED_SIGNALS)
    try:
        replies = _ask_for_a_fork(connection, address, argv)
        pid = int(replies.readline())
        for signum in FORWARDED_SIGNALS:
            signal.signal(signum, lambda received, _frame: _send_signal(pid, received))
    except (OSError, ValueError):  # no server, or it ended or stalled before forking
        connection.close()
        return None
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED_SIGNALS)
    connection.settimeout(None)
    kind, _, number = replies.readline().decode().strip().partition(" ")  # "" when the server ended first
    if kind == "exit" and number.isdigit():
        return int(number)
    if kind == "signal" and number.isdigit():
        return -int(number)
    print(f"vigie-dbt: the run's dbt server ended before dbt (pid {pid}) did", file=sys.stderr)
    return 1


def _ask_for_a_fork(connection: socket.socket, address: str, argv: list[str]) -> BinaryIO:
    """Send the request and the three standard streams; returns the server's replies (first, the child's pid)."""
    connection.settimeout(FORK_TIMEOUT_SECONDS)
    connection.connect("\0" + address)
    request = json.dumps({"argv": [sys.argv[0], *argv], "env": dict(os.environ), "cwd": os.getcwd()}).encode()
    socket.send_fds(connection, [_HEADER.pack(len(request))], [0, 1, 2])
    connection.sendall(request)
    return connection.makefile("rb")


def _send_signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


# -------------------------------------------------------------------- the server


def serve(listener_fd: int) -> None:
    listener = socket.socket(fileno=listener_fd)
    _import_dbt()
    children: dict[int, socket.socket] = {}
    stdin = sys.stdin.fileno()
    while True:
        readable, _, _ = select.select([listener, stdin], [], [], 0.1)
        if stdin in readable and not os.read(stdin, 4096):
            break  # the run ended, or its process died
        if listener in readable:
            connection, _ = listener.accept()
            pid = _fork_for(connection, listener)
            if pid is None:
                connection.close()
            else:
                children[pid] = connection
        _report_ended(children)


def _import_dbt() -> None:
    """What every dbt step does before its first line and keeps for the rest of the process: imports (dbt's
    command line, the DuckDB adapter), the JSON schemas dbt validates the project and profile with (built once per
    class, lru_cache), and mashumaro's readers of the partial parse (compiled on first use). Forked steps find them
    done: an empty `dbt build` of the demo project, forked, 1.74-1.93 s without the last two, 0.98-1.42 s with."""
    import dbt.adapters.duckdb  # noqa: F401  the plugin dbt imports once it has read the profile
    import dbt.cli.main  # noqa: F401

    import orchestration.dbt_command  # noqa: F401

    with contextlib.suppress(Exception):  # a cache left cold costs time, never a result
        _warm_caches()


def _warm_caches() -> None:
    from dbt.adapters.duckdb.credentials import DuckDBCredentials
    from dbt.contracts.graph.manifest import Manifest
    from dbt.contracts.project import Configuration, PackageConfig, ProfileConfig, Project, ProjectFlags
    from dbt.contracts.selection import SelectorFile

    for validated in (Project, ProjectFlags, ProfileConfig, PackageConfig, Configuration, SelectorFile,
                      DuckDBCredentials):
        validated.json_schema()
    partial_parse = Path(os.environ.get("DBT_TARGET_PATH", "")) / "partial_parse.msgpack"
    Manifest.from_msgpack(partial_parse.read_bytes() if partial_parse.is_file() else Manifest().to_msgpack())


def peer_credentials(connection: socket.socket) -> tuple[int, int, int]:
    """The pid, uid and gid of the process at the other end of a Unix socket (SO_PEERCRED)."""
    return struct.unpack("3i", connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))


def _fork_for(connection: socket.socket, listener: socket.socket) -> int | None:
    """Read a request and fork its dbt; returns the child's pid, or None for a request refused or cut short."""
    try:
        _, uid, _ = peer_credentials(connection)
        if uid != os.getuid():
            return None
        connection.settimeout(10)
        header, fds, _, _ = socket.recv_fds(connection, _HEADER.size, 3)
    except OSError:
        return None
    try:
        header += _read_exactly(connection, _HEADER.size - len(header))
        request = json.loads(_read_exactly(connection, _HEADER.unpack(header)[0]))
        if len(fds) != 3:
            return None
        pid = os.fork()
        if pid == 0:
            _become_dbt(connection, listener, fds, request)
        connection.settimeout(None)
        with contextlib.suppress(OSError):  # `vigie-dbt` gone already: the child sees it and ends
            connection.sendall(f"{pid}\n".encode())
        return pid
    except (OSError, ValueError, struct.error):
        return None
    finally:
        for fd in fds:
            os.close(fd)


def _read_exactly(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise ValueError("the request was cut short")
        data += chunk
    return data


def _become_dbt(connection: socket.socket, listener: socket.socket, fds: list[int], request: dict) -> None:
    """In the child: take `vigie-dbt`'s streams, environment and directory, then run dbt. Never returns."""
    try:
        listener.close()
        for stream, fd in enumerate(fds):
            os.dup2(fd, stream)
            os.close(fd)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in any new Python process
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = request["argv"]
        threading.Thread(target=_die_with_client, args=(connection,), name="vigie-dbt-client", daemon=True).start()
        from orchestration.dbt_command import run_dbt

        run_dbt()
    except BaseException as error:  # noqa: BLE001  nothing may return into the server's loop
        with contextlib.suppress(Exception):
            print(f"vigie-dbt: the forked dbt could not start: {error!r}", file=sys.stderr, flush=True)
    os._exit(1)


def _die_with_client(connection: socket.socket) -> None:
    """`vigie-dbt` sends nothing after its request: end-of-file means it is gone, and this dbt goes with it."""
    connection.settimeout(None)  # the server's 10 s for reading the request does not apply here
    with contextlib.suppress(OSError):
        while connection.recv(64):
            pass
    os.kill(os.getpid(), signal.SIGKILL)


def _report_ended(children: dict[int, socket.socket]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        connection = children.pop(pid, None)
        if connection is None:
            continue
        report = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"
        with contextlib.suppress(OSError):
            connection.sendall(f"{report}\n".encode())
        connection.close()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
