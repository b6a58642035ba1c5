"""The dialect macros of macros/cross_database.sql give the same values on DuckDB and on Spark: the same probe
model, built by dbt-duckdb and by dbt-spark (thrift) against a Spark Thrift Server on 127.0.0.1. `make test-spark`
runs these tests alone."""

from __future__ import annotations

import shutil

import duckdb
import pytest
from pyhive import hive

from orchestration.dbt_project import DBT_PROJECT_DIR
from tests.spark.thrift_server import build_through_server_faults

# each macro, on values chosen where the engines could differ: ties and order of fields, a 30 February, a
# partial match, the end of a month
PROBE = """
select
    max_by(label, {{ row_of(['day', 'amount']) }}) as latest_label,
    max(case when {{ try_parse_compact_date("'20230230'") }} is null then 1 else 0 end) as refuses_30_february,
    max(case when {{ try_parse_compact_date("'20230228'") }} is not null then 1 else 0 end) as reads_28_february,
    max(case when {{ matches_fully("'4110000'", '4110*') }} then 1 else 0 end) as collective_matches,
    max(case when {{ matches_fully("'411000C1'", '4110*') }} then 1 else 0 end) as sub_account_matches,
    max(case when {{ matches_fully("'411'", '[0-9]{3}.*') }} then 1 else 0 end) as three_digits_match,
    max(cast({{ dbt.dateadd('month', -1, "cast('2026-03-31' as date)") }} as date)) as month_before
from (
    select 'first' as label, cast('2026-01-31' as date) as day, 10 as amount
    union all select 'tie, smaller amount', cast('2026-02-28' as date), 5
    union all select 'latest', cast('2026-02-28' as date), 7
) as rows_to_probe
"""

PROFILES = """
probe:
  target: duckdb
  outputs:
    duckdb:
      type: duckdb
      path: "{duckdb_path}"
      threads: 1
    spark:
      type: spark
      method: thrift
      host: 127.0.0.1
      port: {port}
      schema: probe
      threads: 1
      connect_retries: 5
      connect_timeout: 10
"""


@pytest.fixture(scope="module")
def probe_project(tmp_path_factory, spark_port):
    root = tmp_path_factory.mktemp("probe")
    (root / "models").mkdir()
    (root / "macros").mkdir()
    shutil.copy(DBT_PROJECT_DIR / "macros" / "cross_database.sql", root / "macros")
    (root / "models" / "probe.sql").write_text(PROBE, encoding="utf-8")
    (root / "dbt_project.yml").write_text(
        "name: vigie\nversion: '0.1.0'\nconfig-version: 2\nprofile: probe\n"
        "models:\n  vigie:\n    +materialized: table\n", encoding="utf-8")
    (root / "profiles.yml").write_text(
        PROFILES.format(duckdb_path=root / "probe.duckdb", port=spark_port), encoding="utf-8")
    return root


def _build(root, target: str) -> None:
    paths = ["--project-dir", str(root), "--profiles-dir", str(root), "--target", target,
             "--target-path", str(root / f"target-{target}"), "--log-path", str(root / "logs")]
    result, _ = build_through_server_faults(["build", *paths], ["retry", *paths])
    assert result.success, result.exception


def test_every_dialect_macro_gives_the_same_value_on_duckdb_and_spark(probe_project, spark_port):
    _build(probe_project, "duckdb")
    # dbt-duckdb keeps its instance open in this process: only a connection with the default configuration shares it
    with duckdb.connect(str(probe_project / "probe.duckdb")) as con:
        on_duckdb = con.execute("SELECT * FROM main.probe").fetchone()
    _build(probe_project, "spark")
    with hive.connect(host="127.0.0.1", port=spark_port) as connection:
        cursor = connection.cursor()
        cursor.execute("SELECT * FROM probe.probe")
        on_spark = cursor.fetchone()
    assert on_duckdb[0] == "latest" and on_duckdb[1:6] == (1, 1, 1, 0, 1)
    assert str(on_duckdb[6]) == "2026-02-28"
    assert on_spark[:6] == on_duckdb[:6]
    assert str(on_spark[6]) == str(on_duckdb[6])
