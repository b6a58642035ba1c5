"""A view that reads a changed raw table is reported again, not created again (orchestration/dbt_assets.py): its
materialisation names the run that created it, however many mornings it was reported again since."""

from __future__ import annotations

import dagster as dg

from orchestration.dbt_assets import BUILT_BY_RUN, VIEW_DEFINED_BY_RUN, _as_view_read_again


def test_a_view_read_again_names_the_run_that_created_it_and_drops_what_described_that_build():
    created = dg.Output(None, output_name="staging__stg_ingest__files",
                        metadata={"unique_id": "model.vigie.stg_ingest__files", "Execution Duration": 0.2,
                                  BUILT_BY_RUN: "run-1"})
    again = _as_view_read_again(created)
    assert again.output_name == "staging__stg_ingest__files"
    assert again.metadata[VIEW_DEFINED_BY_RUN].value == "run-1"
    assert again.metadata["unique_id"].value == "model.vigie.stg_ingest__files"
    assert BUILT_BY_RUN not in again.metadata and "Execution Duration" not in again.metadata


def test_a_view_read_again_twice_still_names_the_run_that_created_it():
    # the next morning's latest materialisation is the one reported by run-2, which names run-2 as its maker
    reported = dg.Output(None, output_name="staging__stg_ingest__files",
                         metadata={"unique_id": "model.vigie.stg_ingest__files", VIEW_DEFINED_BY_RUN: "run-1",
                                   BUILT_BY_RUN: "run-2"})
    assert _as_view_read_again(reported).metadata[VIEW_DEFINED_BY_RUN].value == "run-1"
