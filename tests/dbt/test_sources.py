"""The dbt sources declare exactly the raw layer the loaders write (assets/ingest/raw_tables.py), each table
under its raw name: the Dagster translator keys a source as raw/<name>, like the ingest assets."""

from pathlib import Path

import yaml

from assets.ingest.raw_tables import raw_tables

SOURCES_YML = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "staging" / "_sources.yml"


def _declared_sources() -> list[dict]:
    return yaml.safe_load(SOURCES_YML.read_text(encoding="utf-8"))["sources"]


def test_sources_list_exactly_the_raw_tables_and_columns():
    declared = {
        table["name"]: {column["name"]: column["data_type"] for column in table["columns"]}
        for source in _declared_sources()
        for table in source["tables"]
    }
    expected = {
        table: {name: ddl.removesuffix(" NOT NULL").lower() for name, ddl in columns.items()}
        for table, columns in raw_tables().items()
    }
    assert declared == expected


def test_every_source_reads_the_raw_schema():
    assert {source["schema"] for source in _declared_sources()} == {"raw"}
