"""Ending a command without tearing the interpreter down, for `vigie` and for the dbt it starts (`vigie-dbt`).

The exit handlers still run (logging flushes its files, temporary folders go, dbt-duckdb closes the warehouse,
which checkpoints it), then os._exit. Freeing one by one the millions of objects Dagster, dbt and pandas made took
1 to 2 s at the end of every `vigie` command and 0.4 s at the end of each dbt step. Skipping it loses nothing:
whatever a run leaves is committed as it goes, since a run may be killed with -9 at any moment
(tests/e2e/test_kill_and_restart.py).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from typing import NoReturn


def exit_without_teardown(code: int | str | None) -> NoReturn:
    """End the process as sys.exit(code) would: None is success, a text is printed and fails."""
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`vigie explain | head`) has nothing to flush
            stream.flush()
    os._exit(code or 0)
