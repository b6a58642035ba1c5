"""The same dbt project on Spark gives the same published marts as on DuckDB (issue 12).

The demo firm goes through the real pipeline (`vigie demo`: ingestion, dbt on DuckDB, the rules engine, the
summaries). Its dbt sources (the raw layer and what the Python steps wrote) are then handed to a Spark Thrift Server
on 127.0.0.1 as Parquet tables (assets/raw_layer.py), `dbt build --target spark` runs the whole project there, and
every published mart is compared with the DuckDB one: the same columns, the same rows, money to the cent, JSON
documents equal once read.

The Spark build runs every data test but dbt's own `not_null` and `unique` (SPARK_SKIPS_TESTS), which hold no SQL of
the project's: a column name each, compiled by dbt-spark's own macros. They were 180 of the build's 435 nodes and
22 % of the Spark server's work. What they say is checked all the same: on DuckDB every build checks it (the test,
or on a published mart the NOT NULL or primary-key constraint that stands for it), and here every published mart's
rows on Spark must equal DuckDB's, so a NULL or a duplicate on Spark fails the comparison. The tests that carry the
project's SQL (accepted values, relationships, expressions, combinations of columns, singular tests) all run on
Spark.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from pyhive import hive

from assets.raw_layer import export_to_parquet, spark_registration
from orchestration.dbt_project import DBT_PROJECT_DIR
from tests.spark.thrift_server import SERVER_FAULTS, build_through_server_faults

VIGIE = Path(sys.executable).parent / "vigie"
SPARK_SKIPS_TESTS = ("not_null", "unique")  # dbt's generic tests that take a column and no SQL (docstring)


@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory) -> tuple[Path, str]:
    """The demo firm's warehouse after a real `vigie demo`, and the reference date of that run."""
    home = tmp_path_factory.mktemp("demo") / "home"
    done = subprocess.run([str(VIGIE), "demo", "--home", str(home)], capture_output=True, text=True, timeout=900)
    assert done.returncode in (0, 2), done.stderr[-3000:]  # 2: the sample firm holds input problems on purpose
    manifest = json.loads(next((home / "audit").glob("run-*[0-9a-f].json")).read_text(encoding="utf-8"))
    return home / "warehouse" / "vigie.duckdb", manifest["settings"]["as_of_date"]


@pytest.fixture(scope="module")
def spark_build(demo_warehouse, spark_port, tmp_path_factory, monkeypatch_module):
    """`dbt build --target spark` on the demo firm's sources: dbt's manifest of that build and the tests it ran."""
    warehouse, as_of = demo_warehouse
    root = tmp_path_factory.mktemp("spark_build")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = export_to_parquet(con, root / "sources")
    connection = hive.connect(host="127.0.0.1", port=spark_port)
    cursor = connection.cursor()
    for statement in spark_registration(tables):
        cursor.execute(statement)
    try:
        connection.close()
    except Exception as error:  # the server's fault closing a session (SERVER_FAULTS): the tables are registered
        if not any(fault in str(error) for fault in SERVER_FAULTS):
            raise
    monkeypatch_module.setenv("VIGIE_SPARK_PORT", str(spark_port))
    monkeypatch_module.setenv("VIGIE_AS_OF_DATE", as_of)
    monkeypatch_module.setenv("DO_NOT_TRACK", "1")
    project = str(DBT_PROJECT_DIR)
    paths = ["--project-dir", project, "--profiles-dir", project, "--target-path", str(root / "target"),
             "--log-path", str(root / "logs")]
    build = ["build", "--target", "spark", "--exclude-resource-type", "unit_test",
             "--exclude", *(f"test_name:{name}" for name in SPARK_SKIPS_TESTS), *paths]
    result, built = build_through_server_faults(build, ["retry", "--target", "spark", *paths])
    tests_run = frozenset(r.node.unique_id for r in (built.result or []) if r.node.resource_type == "test")
    failed = [(r.node.unique_id, r.message) for r in (result.result or []) if r.status in ("error", "fail")]
    assert result.success, (failed, result.exception)
    return SparkBuild(json.loads((root / "target" / "manifest.json").read_text(encoding="utf-8")), tests_run)


@dataclass(frozen=True)
class SparkBuild:
    manifest: dict  # dbt's manifest of the Spark build
    tests_run: frozenset[str]  # the unique ids of the data tests the build ran


def _test_names(manifest: dict, test_ids) -> Counter:
    """Generic test name ("singular" for a singular test) -> how many of these tests have it."""
    return Counter((manifest["nodes"][test_id].get("test_metadata") or {}).get("name", "singular")
                   for test_id in test_ids)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _published(manifest: dict) -> list[dict]:
    return sorted((n for n in manifest["nodes"].values()
                   if n["resource_type"] == "model" and "published" in n.get("tags", [])),
                  key=lambda n: n["name"])


def _canonical(value, is_json: bool):
    """A value as both engines must agree on it: numbers exactly (money to the cent), JSON once read, dates as
    text. PyHive gives Spark's dates, timestamps and decimals as text."""
    if value is None:
        return None
    if is_json:
        return json.dumps(json.loads(value), sort_keys=True, default=str,
                          ensure_ascii=False) if isinstance(value, str) else value
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value)).normalize()
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return Decimal(value).normalize() if value.strip() and value.strip() == value else value
        except ArithmeticError:
            return value
    return value


def _rows(rows: list[tuple], json_columns: list[bool]) -> list[tuple]:
    canonical = [tuple(_canonical(v, j) for v, j in zip(row, json_columns, strict=True)) for row in rows]
    return sorted(canonical, key=lambda row: [(v is None, str(v)) for v in row])


def test_every_published_mart_is_the_same_on_spark_and_duckdb(demo_warehouse, spark_build, spark_port):
    warehouse, _ = demo_warehouse
    marts = _published(spark_build.manifest)
    assert len(marts) >= 19
    compared = {}
    with duckdb.connect(str(warehouse), read_only=True) as con, \
            hive.connect(host="127.0.0.1", port=spark_port) as connection:
        cursor = connection.cursor()
        for mart in marts:
            name, schema = mart["alias"], mart["schema"]
            on_duckdb = con.execute(f"SELECT * FROM {schema}.{name}")
            duckdb_columns = [d[0] for d in on_duckdb.description]
            duckdb_rows = on_duckdb.fetchall()
            cursor.execute(f"SELECT * FROM {schema}.{name}")
            spark_columns = [d[0].split(".")[-1] for d in cursor.description]
            spark_rows = cursor.fetchall()
            assert spark_columns == duckdb_columns, name
            types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {schema}.{name})").fetchall())
            json_columns = [types[column] == "JSON" for column in duckdb_columns]
            assert _rows(spark_rows, json_columns) == _rows(duckdb_rows, json_columns), name
            compared[name] = len(duckdb_rows)
    assert compared["fct_indicators_monthly"] > 100 and compared["dim_clients"] >= 40, compared
    print(f"\nparity on {len(compared)} published marts, {sum(compared.values())} rows: {compared}")


def test_the_spark_build_runs_every_test_that_holds_the_projects_sql(spark_build):
    manifest = spark_build.manifest
    in_project = _test_names(manifest, [uid for uid, node in manifest["nodes"].items()
                                        if node["resource_type"] == "test"])
    ran = _test_names(manifest, spark_build.tests_run)
    assert ran == Counter({name: count for name, count in in_project.items() if name not in SPARK_SKIPS_TESTS})
    assert {"accepted_values", "relationships", "expression_is_true", "unique_combination_of_columns",
            "singular"} <= ran.keys(), ran
    assert in_project.keys() >= set(SPARK_SKIPS_TESTS), "the skipped tests are the project's"
