"""Great Expectations suites: a value the contract does not declare is a warning that never blocks publishing;
what makes a published figure wrong still blocks it."""

from __future__ import annotations

import pandas as pd

from checks.gx_validation import OutcomeCache, validate_frame, validation_key
from checks.suites import dim_clients_expectations


def clients(bookkeeping_by: list[str | None], client_ids: list[str] | None = None) -> pd.DataFrame:
    count = len(bookkeeping_by)
    return pd.DataFrame({
        "client_id": client_ids or [f"c{i}" for i in range(count)],
        "siren": ["552100554"] * count,
        "bookkeeping_by": bookkeeping_by,
        "bookkeeping_frequency": ["monthly"] * count,
    })


def test_one_undeclared_value_passes_the_suite_it_is_rpt_data_quality_that_lists_it():
    outcome = validate_frame(clients(["firm"] * 39 + ["cabinet"]), "dim_clients", dim_clients_expectations())
    assert outcome.passed


def test_many_undeclared_values_are_a_warning_not_a_blocking_failure():
    outcome = validate_frame(clients(["firm"] * 30 + ["cabinet"] * 10), "dim_clients", dim_clients_expectations())
    assert not outcome.passed and not outcome.blocking
    assert outcome.failures == []
    assert [warning.split(" on ")[1].split(":")[0] for warning in outcome.warnings] == ["bookkeeping_by"]


def test_a_duplicate_client_still_blocks_publishing():
    outcome = validate_frame(clients(["firm", "firm"], ["c1", "c1"]), "dim_clients", dim_clients_expectations())
    assert outcome.blocking
    assert any("client_id" in failure for failure in outcome.failures)


def test_a_clean_frame_passes():
    outcome = validate_frame(clients(["firm", "client"]), "dim_clients", dim_clients_expectations())
    assert outcome.passed and not outcome.blocking


def test_the_validation_key_follows_the_rows_not_their_order():
    frame = clients(["firm", "client", None])
    same_rows = frame.iloc[[2, 0, 1]].reset_index(drop=True)
    one_value_changed = frame.assign(bookkeeping_by=["firm", "client", "firm"])
    other_type = frame.assign(siren=frame["siren"].astype("category"))
    assert validation_key(frame) == validation_key(same_rows)
    assert validation_key(frame) != validation_key(one_value_changed)
    assert validation_key(frame) != validation_key(other_type)
    assert validation_key(frame.assign(tags=[["a"], [], ["b"]])) is None  # unhashable: always validated


def test_an_outcome_is_reused_only_for_the_rows_and_suite_it_was_computed_on(tmp_path):
    frame = clients(["firm", "firm"], ["c1", "c1"])
    outcome = validate_frame(frame, "dim_clients", dim_clients_expectations())
    cache = OutcomeCache(tmp_path / "gx_outcomes.json")
    key = validation_key(frame)
    cache.record("dim_clients", key, outcome, "run-1")
    # a new cache on the same file: what the next run reads
    assert OutcomeCache(tmp_path / "gx_outcomes.json").outcome("dim_clients", key) == (outcome, "run-1")
    assert cache.outcome("ingest_files", key) is None
    assert cache.outcome("dim_clients", validation_key(clients(["firm", "firm"]))) is None
    assert cache.outcome("dim_clients", None) is None
    (tmp_path / "gx_outcomes.json").write_text("{truncated", encoding="utf-8")  # a disk that filled up mid-write
    assert cache.outcome("dim_clients", key) is None
    cache.record("dim_clients", key, outcome, "run-2")
    assert cache.outcome("dim_clients", key) == (outcome, "run-2")
    assert outcome.blocking  # the outcome kept is the failing one, not a pass


def test_an_outcome_that_cannot_be_written_fails_nothing(tmp_path, caplog):
    (tmp_path / "warehouse").write_text("a file where the folder should be", encoding="utf-8")
    cache = OutcomeCache(tmp_path / "warehouse" / "gx_outcomes.json")
    frame = clients(["firm"])
    outcome = validate_frame(frame, "dim_clients", dim_clients_expectations())
    cache.record("dim_clients", validation_key(frame), outcome, "run-1")
    assert cache.outcome("dim_clients", validation_key(frame)) is None
    assert "not kept for the next run" in caplog.text
