"""`vigie-dbt`: dbt's own command line (`dbt build`, `dbt --version`, ...), ended by exit_without_teardown.

The dbt steps run it in place of `dbt` (orchestration/dbt_assets.py):
- during a run, it asks the run's dbt server for a dbt forked from a process that has already imported dbt
  (orchestration/dbt_forkserver.py: about 2.5 s less before each step's first line), and ends as that dbt ended;
- otherwise, it runs dbt itself; each step's dbt spent 0.4 s freeing its objects after its last line, while the run
  waited for it, which exit_without_teardown skips.
Nothing else differs from `dbt`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import NoReturn

from orchestration.process_exit import exit_without_teardown


def main() -> None:
    from orchestration.dbt_forkserver import run_forked

    status = run_forked(sys.argv[1:])
    if status is None:
        run_dbt()
    if status < 0:  # the forked dbt was ended by a signal: end the same way, so the caller sees what it would have
        with contextlib.suppress(OSError, ValueError):  # SIGKILL has no handler to reset
            signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
    os._exit(status)  # nothing to tear down: dbt ran in another process


def run_dbt() -> NoReturn:
    from dbt.cli.main import cli  # what the `dbt` script runs

    try:
        # the name click shows in its messages ("Usage: vigie-dbt ..."), the same whether forked or not
        cli(prog_name=os.path.basename(sys.argv[0]))  # click ends a command with SystemExit, success included
        code: int | str | None = 0
    except SystemExit as end:
        code = end.code
    exit_without_teardown(code)
