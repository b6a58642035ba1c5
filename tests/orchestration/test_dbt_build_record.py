"""The record of a dbt step's last build: its fingerprint moves with every input the step's tables are computed
from, and with nothing else."""

from __future__ import annotations

import dataclasses

import duckdb
import pytest

from assets.ingest.raw_tables import create_raw_schema
from orchestration.dbt_build_record import (
    BuildInputs,
    BuildRecord,
    forget_build,
    last_build,
    missing_relations,
    raw_layer_fingerprint,
    record_build,
)

LEDGER_ROW = ("accounting/552100554FEC20251231.txt", "accounting", "fec", "552100554", "a" * 64, None, None,
              "loaded", 10, 10, 0, None, None, None, "2026-12-01 06:00:00", "run-1")


@pytest.fixture
def con(tmp_path):
    with duckdb.connect(str(tmp_path / "vigie.duckdb")) as con:
        create_raw_schema(con)
        con.execute("INSERT INTO raw.ingest_files VALUES (" + ", ".join("?" * len(LEDGER_ROW)) + ")",
                    list(LEDGER_ROW))
        yield con


def test_the_raw_layer_fingerprint_is_stable_while_nothing_changes(con, tmp_path):
    first = raw_layer_fingerprint(con)
    assert raw_layer_fingerprint(con) == first
    con.close()
    with duckdb.connect(str(tmp_path / "vigie.duckdb"), read_only=True) as again:
        assert raw_layer_fingerprint(again) == first


@pytest.mark.parametrize("change", [
    "UPDATE raw.ingest_files SET status = 'superseded'",  # a version replaced by a newer one
    "UPDATE raw.ingest_files SET rows_quarantined = 1, rows_loaded = 9",
    "INSERT INTO raw.ingest_rejections VALUES ('x', 'b', 3, 'bad date', 'line', 'run-2')",
    "INSERT INTO raw.time_entries (source_format, entry_date, duration_hours, _file_sha256, _source_file,"
    " _line_number) VALUES ('toggl', DATE '2026-01-02', 1, 'c', 'f', 2)",  # a raw table changed by hand
    "DELETE FROM raw.ingest_files",
])
def test_the_raw_layer_fingerprint_moves_with_any_change_of_the_raw_layer(con, change):
    before = raw_layer_fingerprint(con)
    con.execute(change)
    assert raw_layer_fingerprint(con) != before


def test_the_build_fingerprint_moves_with_each_input():
    inputs = BuildInputs(project="p1", dbt_vars="{language: fr}", environment={"VIGIE_AS_OF_DATE": "2026-10-31"},
                         raw_layer="r1")
    assert inputs.fingerprint() == dataclasses.replace(inputs).fingerprint()
    for change in ({"project": "p2"}, {"dbt_vars": "{language: en}"}, {"raw_layer": "r2"},
                   {"environment": {"VIGIE_AS_OF_DATE": "2026-11-01"}}):
        assert dataclasses.replace(inputs, **change).fingerprint() != inputs.fingerprint(), change


def test_a_record_is_kept_per_step_until_forgotten(con):
    assert last_build(con, "models") is None
    forget_build(con, "models")  # no record table yet: nothing to do, no error
    record_build(con, "models", BuildRecord("f1", "run-1"))
    record_build(con, "outputs", BuildRecord("g1", "run-1"))
    record_build(con, "models", BuildRecord("f2", "run-2"))
    assert last_build(con, "models") == BuildRecord("f2", "run-2")
    forget_build(con, "models")
    assert last_build(con, "models") is None
    assert last_build(con, "outputs") == BuildRecord("g1", "run-1")


def test_missing_relations_names_the_tables_and_views_the_warehouse_lost(con):
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.dim_clients (client_id VARCHAR)")
    con.execute("CREATE VIEW marts.v AS SELECT 1 AS x")
    wanted = [("marts", "dim_clients"), ("marts", "v"), ("marts", "fct_indicators_monthly")]
    assert missing_relations(con, wanted) == [("marts", "fct_indicators_monthly")]


def test_the_step_fingerprints_a_home_without_a_warehouse_without_creating_one(tmp_path):
    """The first dbt step selected alone in a new home (from the UI): there is no warehouse to read yet."""
    from assets.home import VigieHome
    from orchestration.dbt_assets import _build_inputs
    from orchestration.resources import VigieResource

    home = VigieHome(tmp_path / "home")
    vigie = VigieResource(home=str(home.root), as_of="2026-10-31")
    assert _build_inputs(vigie) == _build_inputs(vigie)
    assert not home.warehouse_db.exists()
