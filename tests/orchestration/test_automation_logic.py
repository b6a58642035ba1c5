"""The landing sensor waits until an export has stopped changing; transient failures are told from real ones."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from orchestration.automation import landing_decision
from orchestration.retries import backoff_seconds, is_transient, retry_transient

FILES = [("accounting/FEC.txt", 1000, 1_000_000_000_000)]  # mtime 1000 s after the epoch


def test_a_new_file_is_run_only_after_it_settled():
    now = 1000.0 + 5
    run_on, cursor = landing_decision(FILES, None, settle_seconds=60, now=now)
    assert run_on is None, "modified 5 s ago: maybe still being copied"
    growing = [("accounting/FEC.txt", 2000, 1_030_000_000_000)]
    run_on, cursor = landing_decision(growing, cursor, settle_seconds=60, now=1031.0)
    assert run_on is None
    run_on, cursor = landing_decision(growing, cursor, settle_seconds=60, now=1031.0 + 59)
    assert run_on is None, "not yet 60 s without change"
    run_on, cursor = landing_decision(growing, cursor, settle_seconds=60, now=1031.0 + 61)
    assert run_on is not None
    again, _ = landing_decision(growing, cursor, settle_seconds=60, now=5000.0)
    assert again is None, "the same files are run once"


def test_a_file_copied_with_an_old_mtime_still_waits_for_its_size_to_hold():
    """cp -p keeps an old mtime: the sensor must also see the same fingerprint for the settle time."""
    run_on, cursor = landing_decision(FILES, None, settle_seconds=60, now=10_000.0)
    assert run_on is None
    assert json.loads(cursor)["seen_at"] == 10_000.0
    run_on, _ = landing_decision(FILES, cursor, settle_seconds=60, now=10_061.0)
    assert run_on is not None


@pytest.mark.parametrize(("message", "transient"), [
    ('IO Error: Could not set lock on file "vigie.duckdb": Conflicting lock is held', True),
    ("No space left on device", True),
    ("Binder Error: column revenue not found", False),
])
def test_transient_errors_are_recognised(message, transient):
    assert is_transient(RuntimeError(message)) is transient


def test_a_transient_failure_asks_dagster_for_a_retry_with_growing_delay():
    class Context:
        retry_number = 2

    @retry_transient
    def step(context):
        raise OSError("No space left on device")

    with pytest.raises(dg.RetryRequested) as retry:
        step(Context())
    assert retry.value.seconds_to_wait == backoff_seconds(2) == 20

    @retry_transient
    def broken(context):
        raise ValueError("Binder Error")

    with pytest.raises(ValueError):
        broken(Context())


def test_a_cursor_written_by_an_older_vigie_is_read_as_the_files_last_run():
    """Older versions stored the bare fingerprint; the same files must not be run again after an upgrade."""
    from orchestration.automation import fingerprint

    run_on, cursor = landing_decision(FILES, fingerprint(FILES), settle_seconds=0, now=5000.0)
    assert run_on is None
    assert json.loads(cursor)["requested"] == fingerprint(FILES)


def test_dbt_errors_are_retried_when_transient_and_a_final_failure_is_not():
    """dagster-dbt reports dbt's errors as a Failure that allows retries; a refused catalogue forbids them."""

    class Context:
        retry_number = 0

    @retry_transient
    def dbt_step(context):
        raise dg.Failure('dbt build failed: IO Error: Could not set lock on file "vigie.duckdb"')

    with pytest.raises(dg.RetryRequested):
        dbt_step(Context())

    @retry_transient
    def refused(context):
        raise dg.Failure("missions.yml, line 3: could not set lock", allow_retries=False)

    with pytest.raises(dg.Failure):
        refused(Context())
