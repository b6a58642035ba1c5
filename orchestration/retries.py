"""Transient step failures are retried with backoff; everything else fails at once.

A blanket retry policy would run a failing dbt test or a refused catalogue three times for nothing. What is worth
another try is what another process or the machine caused and may have stopped causing: a DuckDB file lock held by a
BI tool that opened the working file, a full disk or exhausted memory that a cleanup may free.
"""

from __future__ import annotations

import functools
import inspect
import logging

import dagster as dg

log = logging.getLogger("vigie.retries")

MAX_RETRIES = 3
FIRST_DELAY_SECONDS = 5
TRANSIENT_MARKERS = ("could not set lock", "conflicting lock", "no space left", "resource temporarily unavailable",
                     "out of memory", "database is locked")


def is_transient(error: BaseException) -> bool:
    text = f"{type(error).__name__}: {error}".lower()
    return any(marker in text for marker in TRANSIENT_MARKERS)


def backoff_seconds(retry_number: int) -> int:
    """5, 10, 20 s: long enough for a BI tool's query to end, short enough for a morning run."""
    return FIRST_DELAY_SECONDS * 2 ** retry_number


def _retry_or_raise(error: Exception, args: tuple):
    # dagster-dbt reports dbt's own errors (a lock held on the warehouse among them) as a Failure that allows
    # retries: only a Failure that forbids them (a refused catalogue) is final by nature.
    final = isinstance(error, dg.RetryRequested) or (isinstance(error, dg.Failure) and not error.allow_retries)
    if final or not is_transient(error):
        raise error
    retry_number = next((a.retry_number for a in args if hasattr(a, "retry_number")), 0)
    log.warning("transient failure (attempt %d), retried in %d s: %s", retry_number + 1,
                backoff_seconds(retry_number), str(error).splitlines()[0][:200])
    raise dg.RetryRequested(max_retries=MAX_RETRIES, seconds_to_wait=backoff_seconds(retry_number)) from error


def retry_transient(step):
    """Decorate a Dagster step body (function or generator) so transient errors become RetryRequested."""
    if inspect.isgeneratorfunction(step):
        @functools.wraps(step)
        def generator_step(*args, **kwargs):
            try:
                yield from step(*args, **kwargs)
            except Exception as error:  # noqa: BLE001 - sorted by _retry_or_raise
                _retry_or_raise(error, args)
        return generator_step

    @functools.wraps(step)
    def function_step(*args, **kwargs):
        try:
            return step(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - sorted by _retry_or_raise
            _retry_or_raise(error, args)
    return function_step
