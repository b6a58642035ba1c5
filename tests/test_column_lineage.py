"""Column lineage read from a model's compiled SQL (assets/column_lineage.py): `select *` through CTEs resolves
with the warehouse's schemas, each column names the input columns it is computed from, and the cache parses a
model again only when its SQL or the schemas it reads change."""

from __future__ import annotations

import logging

import duckdb
import pytest

from assets import column_lineage
from assets.column_lineage import ColumnLineageCache, column_sources, warehouse_schemas

# written the way Vigie's models are: stars through CTEs, a join on a seed, an aggregate, a literal, a filter
MODEL = """
with source as (
    select * from "vigie"."raw"."fec_lines"
),
renamed as (
    select trim(compte_num) as account_number, debit - credit as amount, 'ledger' as origin, ecriture_date
    from source
    where ecriture_date <= date '2026-03-31'
),
mapped as (
    select renamed.*, mapping.component
    from renamed
    inner join "vigie"."reference"."account_mapping" as mapping
        on starts_with(renamed.account_number, mapping.prefix)
),
final as (
    select component, sum(amount) as total, count(*) as line_count, max(origin) as origin
    from mapped
    group by component
)
select * from final
"""


@pytest.fixture
def schemas(tmp_path):
    con = duckdb.connect(str(tmp_path / "vigie.duckdb"))
    con.execute("CREATE SCHEMA raw; CREATE SCHEMA reference")
    con.execute("CREATE TABLE raw.fec_lines (compte_num VARCHAR, debit DECIMAL(18,2), credit DECIMAL(18,2),"
                " ecriture_date DATE, journal_code VARCHAR)")
    con.execute("CREATE TABLE reference.account_mapping (prefix VARCHAR, component VARCHAR)")
    found = warehouse_schemas(con)
    con.close()
    return found


def test_each_column_names_the_columns_it_is_computed_from_through_star_selects(schemas):
    assert list(schemas[("vigie", "raw", "fec_lines")]) == [
        "compte_num", "debit", "credit", "ecriture_date", "journal_code"]
    assert column_sources(MODEL, schemas) == {
        "component": [("reference", "account_mapping", "component")],
        "total": [("raw", "fec_lines", "credit"), ("raw", "fec_lines", "debit")],
        "line_count": [],
        "origin": [],  # a literal comes from no table
    }


def test_the_cache_parses_a_model_again_only_when_its_sql_or_the_tables_it_reads_change(
        schemas, tmp_path, monkeypatch):
    path = tmp_path / "column_lineage.json"
    cache = ColumnLineageCache(path)
    first = cache.sources("model.vigie.m", MODEL, schemas)
    cache.save()

    def no_parse(*args):
        raise AssertionError("parsed again")

    monkeypatch.setattr(column_lineage, "column_sources", no_parse)
    reloaded = ColumnLineageCache(path)
    # another reference date is another literal, not another lineage
    assert reloaded.sources("model.vigie.m", MODEL.replace("2026-03-31", "2026-04-01"), schemas) == first
    with pytest.raises(AssertionError, match="parsed again"):
        reloaded.sources("model.vigie.m", MODEL.replace("debit - credit", "debit"), schemas)
    renamed = {**schemas, ("vigie", "reference", "account_mapping"): {"prefix": "VARCHAR", "block": "VARCHAR"}}
    with pytest.raises(AssertionError, match="parsed again"):
        reloaded.sources("model.vigie.m", MODEL, renamed)


def test_sql_the_parser_cannot_read_gives_no_lineage_and_a_warning(schemas, tmp_path, caplog):
    cache = ColumnLineageCache(tmp_path / "column_lineage.json")
    with caplog.at_level(logging.WARNING, logger="vigie.lineage"):
        assert cache.sources("model.vigie.broken", "select from where (", schemas) is None
    assert "column lineage of model.vigie.broken not read" in caplog.text


def test_a_damaged_cache_file_is_read_as_empty(schemas, tmp_path):
    path = tmp_path / "column_lineage.json"
    path.write_text('{"model.vigie.m": {"key": ', encoding="utf-8")  # cut short
    assert ColumnLineageCache(path).sources("model.vigie.m", MODEL, schemas) == column_sources(MODEL, schemas)
