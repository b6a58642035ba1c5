"""The record of a dbt step's last build: its fingerprint moves with every input the step's tables are computed
from, and with nothing else; the raw layer's, table by table, so a run builds what reads the tables that changed."""

from __future__ import annotations

import dataclasses

import duckdb
import pytest

from assets.ingest.raw_tables import create_raw_schema
from orchestration.dbt_build_record import (
    RECORD_TABLE,
    BuildInputs,
    BuildRecord,
    changed_raw_tables,
    forget_build,
    last_build,
    missing_relations,
    raw_table_fingerprints,
    record_build,
    table_contents,
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
    first = raw_table_fingerprints(con)
    assert raw_table_fingerprints(con) == first
    con.close()
    with duckdb.connect(str(tmp_path / "vigie.duckdb"), read_only=True) as again:
        assert raw_table_fingerprints(again) == first


@pytest.mark.parametrize("change", [
    "UPDATE raw.ingest_files SET status = 'superseded'",  # a version replaced by a newer one
    "UPDATE raw.ingest_files SET rows_quarantined = 1, rows_loaded = 9",
    "INSERT INTO raw.ingest_rejections VALUES ('x', 'b', 3, 'bad date', 'line', 'run-2')",
    "INSERT INTO raw.time_entries (source_format, entry_date, duration_hours, _file_sha256, _source_file,"
    " _line_number) VALUES ('toggl', DATE '2026-01-02', 1, 'c', 'f', 2)",  # a raw table changed by hand
    "DELETE FROM raw.ingest_files",
])
def test_the_raw_layer_fingerprint_moves_with_any_change_of_the_raw_layer(con, change):
    before = raw_table_fingerprints(con)
    con.execute(change)
    assert raw_table_fingerprints(con) != before


def test_a_new_file_of_one_source_moves_that_source_s_tables_and_the_ledger_not_the_others(con):
    before = raw_table_fingerprints(con)
    con.execute("INSERT INTO raw.ingest_files SELECT * REPLACE ('crm/companies.csv' AS file_path, 'crm' AS source,"
                " 'b' AS sha256) FROM raw.ingest_files")
    after = raw_table_fingerprints(con)
    moved = {table for table in after if after[table] != before[table]}
    # no line of it rejected or flagged: the quarantine tables are as they were
    assert moved == {table for table in after if table.startswith("crm_")} | {"ingest_files"}
    con.execute("INSERT INTO raw.time_entries (source_format, entry_date, duration_hours, _file_sha256, _source_file,"
                " _line_number) VALUES ('toggl', DATE '2026-01-02', 1, 'c', 'f', 2)")  # by hand: the count moves
    assert {table for table, hashed in raw_table_fingerprints(con).items() if hashed != after[table]} == {
        "time_entries"}


@pytest.mark.parametrize(("change", "table"), [
    ("INSERT INTO raw.ingest_rejections VALUES ('x', 'b', 3, 'bad date', 'line', 'run-2')", "ingest_rejections"),
    ("INSERT INTO raw.ingest_flags (file_path, sha256, line_number, column_name, value, rule, detail)"
     " VALUES ('x', 'b', 3, 'EcritureLib', '=1+1', 'formula_like', 'starts like a formula')", "ingest_flags"),
])
def test_a_quarantine_table_moves_with_its_own_rows(con, change, table):
    before = raw_table_fingerprints(con)
    con.execute(change)
    after = raw_table_fingerprints(con)
    assert {name for name in after if after[name] != before[name]} == {table}
    con.execute(f"UPDATE raw.{table} SET line_number = 4")  # a row that differs, the count as it was
    assert raw_table_fingerprints(con)[table] != after[table]


INPUTS = BuildInputs(project="p1", dbt_vars="{language: fr}", environment={"VIGIE_AS_OF_DATE": "2026-10-31"},
                     raw_tables={"fec_lines": "f1", "crm_companies": "c1"})


def test_the_build_fingerprint_moves_with_each_input_but_the_raw_layer():
    assert INPUTS.fingerprint() == dataclasses.replace(INPUTS).fingerprint()
    for change in ({"project": "p2"}, {"dbt_vars": "{language: en}"},
                   {"environment": {"VIGIE_AS_OF_DATE": "2026-11-01"}}):
        assert dataclasses.replace(INPUTS, **change).fingerprint() != INPUTS.fingerprint(), change
    assert dataclasses.replace(INPUTS, raw_tables={}).fingerprint() == INPUTS.fingerprint()


def test_the_changed_raw_tables_are_those_whose_fingerprint_moved_or_none_when_anything_else_did():
    record = BuildRecord(INPUTS.fingerprint(), "run-1", {"fec_lines": "f1", "crm_companies": "c1"})
    assert changed_raw_tables(record, INPUTS) == set()
    moved = dataclasses.replace(INPUTS, raw_tables={"fec_lines": "f2", "crm_companies": "c1", "time_entries": "t1"})
    assert changed_raw_tables(record, moved) == {"fec_lines", "time_entries"}
    assert changed_raw_tables(None, INPUTS) is None
    assert changed_raw_tables(record, dataclasses.replace(INPUTS, project="p2")) is None
    assert changed_raw_tables(dataclasses.replace(record, raw_tables={}), INPUTS) is None


def test_a_record_is_kept_per_step_until_forgotten(con):
    assert last_build(con, "models") is None
    forget_build(con, "models")  # no record table yet: nothing to do, no error
    record_build(con, "models", BuildRecord("f1", "run-1", {"fec_lines": "a"}))
    record_build(con, "outputs", BuildRecord("g1", "run-1"))
    record_build(con, "models", BuildRecord("f2", "run-2", {"fec_lines": "b"}))
    assert last_build(con, "models") == BuildRecord("f2", "run-2", {"fec_lines": "b"})
    forget_build(con, "models")
    assert last_build(con, "models") is None
    assert last_build(con, "outputs") == BuildRecord("g1", "run-1")


def test_a_record_written_before_the_raw_layer_was_kept_per_table_is_no_record(con):
    """A warehouse of an earlier Vigie: its next run builds everything once, then records per table."""
    con.execute("CREATE SCHEMA vigie_state")
    con.execute(f"CREATE TABLE {RECORD_TABLE} (step VARCHAR PRIMARY KEY, inputs_fingerprint VARCHAR NOT NULL,"
                " run_id VARCHAR NOT NULL, recorded_at TIMESTAMP NOT NULL)")
    con.execute(f"INSERT INTO {RECORD_TABLE} VALUES ('models', 'f1', 'run-1', current_timestamp)")
    assert last_build(con, "models") is None
    record_build(con, "models", BuildRecord("f2", "run-2", {"fec_lines": "a"}))
    assert last_build(con, "models") == BuildRecord("f2", "run-2", {"fec_lines": "a"})


def test_missing_relations_names_the_tables_and_views_the_warehouse_lost(con):
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.dim_clients (client_id VARCHAR)")
    con.execute("CREATE VIEW marts.v AS SELECT 1 AS x")
    wanted = [("marts", "dim_clients"), ("marts", "v"), ("marts", "fct_indicators_monthly")]
    assert missing_relations(con, wanted) == [("marts", "fct_indicators_monthly")]


def test_a_table_s_content_hash_moves_with_its_rows_and_not_with_their_order(con):
    """What a build gate compares before and after it is built."""
    con.execute("CREATE SCHEMA intermediate")
    con.execute("CREATE TABLE intermediate.keys AS SELECT * FROM (VALUES ('fec_ledger', '552100554', NULL),"
                " ('crm_company', '7', '552100554')) AS t(key_source, key_value, siren)")
    keys = ("intermediate", "keys")
    first = table_contents(con, [keys])
    con.execute("CREATE OR REPLACE TABLE intermediate.keys AS SELECT * FROM intermediate.keys ORDER BY key_value DESC")
    assert table_contents(con, [keys]) == first  # rebuilt with the same rows, in another order
    for change in ["UPDATE intermediate.keys SET siren = '552100554' WHERE key_value = '552100554'",  # a NULL filled
                   "INSERT INTO intermediate.keys SELECT * FROM intermediate.keys LIMIT 1"]:  # a row twice
        before = table_contents(con, [keys])
        con.execute(change)
        assert table_contents(con, [keys]) != before, change
    assert table_contents(con, [("intermediate", "gone")]) == {("intermediate", "gone"): ""}


def test_the_step_fingerprints_a_home_without_a_warehouse_without_creating_one(tmp_path):
    """The first dbt step selected alone in a new home (from the UI): there is no warehouse to read yet."""
    from assets.home import VigieHome
    from orchestration.dbt_assets import _build_inputs
    from orchestration.resources import VigieResource

    home = VigieHome(tmp_path / "home")
    vigie = VigieResource(home=str(home.root), as_of="2026-10-31")
    assert _build_inputs(vigie) == _build_inputs(vigie)
    assert not home.warehouse_db.exists()
