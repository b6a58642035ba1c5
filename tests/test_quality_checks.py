"""Great Expectations suites: a value the contract does not declare is a warning that never blocks publishing;
what makes a published figure wrong still blocks it."""

from __future__ import annotations

import pandas as pd

from checks.gx_validation import validate_frame
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
