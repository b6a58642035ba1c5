"""`vigie-dbt`: dbt's own command line (`dbt build`, `dbt --version`, ...), ended by exit_without_teardown.

The dbt steps run it in place of `dbt` (orchestration/dbt_assets.py):
- during a run, it asks the run's dbt server for a dbt forked from a process that has already imported dbt
  (orchestration/dbt_forkserver.py: about 2.5 s less before each step's first line), and ends as that dbt ended;
- otherwise, it runs dbt itself; each step's dbt spent 0.4 s freeing its objects after its last line, while the run
  waited for it, which exit_without_teardown skips.
Nothing else differs from `dbt`, but that the events no logger writes are dropped before dbt formats them
(drop_events_below_level): the same lines are written.
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

    drop_events_below_level()
    try:
        # the name click shows in its messages ("Usage: vigie-dbt ..."), the same whether forked or not
        cli(prog_name=os.path.basename(sys.argv[0]))  # click ends a command with SystemExit, success included
        code: int | str | None = 0
    except SystemExit as end:
        code = end.code
    exit_without_teardown(code)


# Python's logging levels of dbt's event levels (dbt_common.events.logger._log_level_map), as ranks
_LEVEL_RANKS = {"debug": 0, "test": 0, "info": 1, "warn": 2, "error": 3}


def drop_events_below_level() -> None:
    """Make dbt drop the events no logger writes before it formats them, not after.

    dbt turns every event into a message, then into a log line for each logger, and only then does Python's logging
    drop the lines below the logger's level. Under dagster-dbt, stdout is JSON at the info level: each debug event
    (every SQL query, every connection opened) was turned into a message and into JSON, then thrown away.

    - A debug event that no logger's level writes is not fired at all, unless something else listens to events (dbt
      registers one listener of its own, for behaviour-change warnings).
    - Each logger's filter also asks for the level its Python logger would ask for, so a line below it is not
      formatted. Print events pass at any level, as dbt sends them as errors.

    The lines written are the same. Profile (py-spy, a three-file home): 3.0 s of the dbt steps' CPU in firing
    events; a first dbt step fires about 6 800 debug events against 640 written. Per SQL query event: 373 µs of CPU,
    268 µs with the loggers filtering first, 128 µs not fired (dbt's own building of the event)."""
    from dbt.tracking import track_behavior_change_warn
    from dbt_common.events.event_manager import EventManager
    from dbt_common.events.logger import PRINT_EVENT_NAMES

    add_logger, fire_event = EventManager.add_logger, EventManager.fire_event
    if getattr(add_logger, "drops_events_below_level", False):
        return

    def add_logger_dropping_events_below_level(manager, config) -> None:
        if config.logger is None:  # dbt's own loggers; one given ready-made keeps the level its owner set
            lowest, keeps = _LEVEL_RANKS[config.level.value], config.filter
            config.filter = lambda msg: (_LEVEL_RANKS.get(msg.info.level, lowest) >= lowest
                                         or msg.info.name in PRINT_EVENT_NAMES) and keeps(msg)
        add_logger(manager, config)

    def fire_event_if_written(manager, event, level=None, node=None, force_warn_or_error_handling=False) -> None:
        unheard = (level is None and _LEVEL_RANKS.get(event.level_tag().value) == 0
                   and all(_LEVEL_RANKS[logger.level.value] > 0 for logger in manager.loggers)
                   and all(listener is track_behavior_change_warn for listener in manager.callbacks)
                   and type(event).__name__ not in PRINT_EVENT_NAMES)
        if not unheard:
            fire_event(manager, event, level, node, force_warn_or_error_handling)

    add_logger_dropping_events_below_level.drops_events_below_level = True
    EventManager.add_logger = add_logger_dropping_events_below_level
    EventManager.fire_event = fire_event_if_written
