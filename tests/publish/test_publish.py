"""Publishing: snapshot readable by DuckDB 1.4 clients, comments carried over, Parquet per table, audit manifest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from assets.home import VigieHome
from assets.publish import publish_marts, write_audit_manifest


@pytest.fixture
def home(tmp_path):
    home = VigieHome(tmp_path / "home")
    home.ensure()
    with duckdb.connect(str(home.warehouse_db)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.fct_demo (client_id VARCHAR, month DATE, revenue DECIMAL(18,2))")
        con.execute("INSERT INTO marts.fct_demo VALUES ('123456789', '2026-01-01', 1234.56),"
                    " ('123456789', '2026-02-01', -0.01)")
        con.execute("COMMENT ON TABLE marts.fct_demo IS 'Indicateurs mensuels'")
        con.execute("COMMENT ON COLUMN marts.fct_demo.revenue IS 'Chiffre d''affaires du mois'")
        con.execute("CREATE TABLE marts.ingest_files (file_path VARCHAR, source VARCHAR, sha256 VARCHAR,"
                    " status VARCHAR, rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT,"
                    " loaded_at TIMESTAMP)")
        con.execute("INSERT INTO marts.ingest_files VALUES ('accounting/a.txt', 'accounting', 'ab', 'loaded',"
                    " 3, 2, 1, '2026-01-01 06:00:00')")
    return home


def test_snapshot_has_tables_values_and_comments(home):
    report = publish_marts(home, ["fct_demo", "ingest_files"])
    assert report.row_counts == {"fct_demo": 2, "ingest_files": 1}
    with duckdb.connect(str(home.marts_db), read_only=True) as con:
        assert con.execute("SELECT sum(revenue) FROM fct_demo").fetchone()[0] == Decimal("1234.55")
        assert con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'fct_demo'").fetchone()[0] \
            == "Indicateurs mensuels"
        assert con.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 'fct_demo'"
                           " AND column_name = 'revenue'").fetchone()[0] == "Chiffre d'affaires du mois"
    parquet = duckdb.sql(f"SELECT * FROM '{home.parquet / 'fct_demo.parquet'}'")
    assert parquet.columns == ["client_id", "month", "revenue"]
    assert parquet.aggregate("sum(revenue)").fetchall()[0][0] == Decimal("1234.55")
    assert not list(home.publish.glob(".*tmp")), "no temporary file may stay behind"


def test_republishing_replaces_the_snapshot_whole(home):
    publish_marts(home, ["fct_demo"])
    with duckdb.connect(str(home.warehouse_db)) as con:
        con.execute("DELETE FROM marts.fct_demo WHERE revenue < 0")
    report = publish_marts(home, ["fct_demo"])
    assert report.row_counts["fct_demo"] == 1
    with duckdb.connect(str(home.marts_db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM fct_demo").fetchone()[0] == 1


def test_audit_manifest_lists_inputs_code_and_outputs(home):
    report = publish_marts(home, ["fct_demo", "ingest_files"])
    path = write_audit_manifest(home, run_id="run-1234abcd", report=report, code_version={"vigie": "0.1.0"},
                                catalogue_version=None, settings={"language": "fr"})
    manifest = json.loads(path.read_text(encoding="utf-8"))
    assert manifest["inputs"][0]["file_path"] == "accounting/a.txt"
    assert manifest["inputs"][0]["rows_read"] == 3
    assert manifest["outputs"]["fct_demo"]["rows"] == 2
    assert len(manifest["outputs"]["fct_demo"]["parquet_sha256"]) == 64
    assert manifest["code_version"] == {"vigie": "0.1.0"}


def test_a_duckdb_1_4_client_opens_the_snapshot(home, tmp_path):
    """BI drivers embed DuckDB 1.x: the snapshot must use a storage version they can read."""
    uv = shutil.which("uv", path=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    assert uv, "uv is a dev dependency of the project; run make install"
    publish_marts(home, ["fct_demo"])
    venv = tmp_path / "duckdb14"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "duckdb==1.4.*"],
                   check=True)
    script = ("import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True);"
              "print(duckdb.__version__, con.execute('SELECT sum(revenue) FROM fct_demo').fetchone()[0])")
    out = subprocess.run([str(venv / "bin" / "python"), "-c", script, str(home.marts_db)], check=True,
                         capture_output=True, text=True).stdout.split()
    assert out[0].startswith("1.4.")
    assert out[1] == "1234.55"
