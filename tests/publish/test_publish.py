"""Publishing: snapshot readable by DuckDB 1.4 clients, comments carried over, Parquet per table, manifest and
lineage of the run, all under the stable paths of the contract."""

from __future__ import annotations

import os
import stat
import subprocess
from decimal import Decimal

import duckdb

from tests.publish.support import add_revenue, manifest_of, publish, sha256, snapshot_rows

EVENTS = [{"eventType": "COMPLETE", "job": {"name": "marts/fct_demo"}, "inputs": [{"name": "raw/fec"}]},
          {"eventType": "COMPLETE", "job": {"name": "marts/ingest_files"}, "inputs": []}]


def test_snapshot_has_tables_values_and_comments(home):
    report = publish(home)
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


def test_republishing_replaces_the_snapshot_whole(home):
    publish(home)
    with duckdb.connect(str(home.warehouse_db)) as con:
        con.execute("DELETE FROM marts.fct_demo WHERE revenue < 0")
    report = publish(home, hours=1)
    assert report.row_counts["fct_demo"] == 1
    assert len(snapshot_rows(home.marts_db)) == 1
    assert duckdb.sql(f"SELECT count(*) FROM '{home.parquet / 'fct_demo.parquet'}'").fetchall() == [(1,)]


def test_the_run_folder_holds_snapshot_parquet_manifest_and_lineage(home):
    report = publish(home, "abcdef1234567890", events=EVENTS)
    run_dir = home.publish / "runs" / "20260301T060000Z-abcdef12"
    assert report.run_dir == run_dir
    assert sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*")) == [
        "lineage.jsonl", "manifest.json", "marts.duckdb", "parquet", "parquet/fct_demo.parquet",
        "parquet/ingest_files.parquet"]
    assert stat.S_IMODE((run_dir / "marts.duckdb").stat().st_mode) == 0o444
    # Relative links, so the home can be moved or mounted elsewhere.
    assert {name: os.readlink(home.publish / name) for name in ("current", "marts.duckdb", "parquet",
                                                                  "manifest.json")} == {
        "current": "runs/20260301T060000Z-abcdef12", "marts.duckdb": "current/marts.duckdb",
        "parquet": "current/parquet", "manifest.json": "current/manifest.json"}
    assert report.marts_db == home.marts_db
    assert report.parquet_files == {t: home.parquet / f"{t}.parquet" for t in ("fct_demo", "ingest_files")}
    assert report.manifest == home.audit / "run-20260301T060000Z-abcdef12.json"
    assert report.lineage == home.audit / "run-20260301T060000Z-abcdef12.lineage.jsonl"


def test_manifest_lists_inputs_code_and_outputs(home):
    report = publish(home, "run-1234abcd")
    manifest = manifest_of(report.manifest)
    assert manifest["run_id"] == "run-1234abcd"
    assert manifest["written_at"] == "2026-03-01T06:00:00+00:00"
    assert manifest["run_dir"] == "publish/runs/20260301T060000Z-run-1234"
    assert manifest["inputs"] == [{"file_path": "accounting/a.txt", "source": "accounting", "sha256": "ab",
                                   "status": "loaded", "rows_read": 3, "rows_loaded": 2, "rows_quarantined": 1}]
    assert manifest["outputs"]["fct_demo"] == {
        "rows": 2, "parquet": "publish/parquet/fct_demo.parquet",
        "parquet_sha256": sha256(home.parquet / "fct_demo.parquet")}
    assert manifest["code_version"] == {"vigie": "0.1.0"}
    assert manifest["catalogue_version"] == "c1"
    assert manifest["settings"] == {"language": "fr"}


def test_manifest_inputs_come_from_the_new_snapshot(home):
    publish(home)
    with duckdb.connect(str(home.warehouse_db)) as con:
        con.execute("INSERT INTO marts.ingest_files VALUES ('crm/b.csv', 'crm', 'cd', 'loaded', 1, 1, 0,"
                    " '2026-01-02 06:00:00')")
    report = publish(home, hours=1)
    assert [i["file_path"] for i in manifest_of(report.manifest)["inputs"]] == ["accounting/a.txt", "crm/b.csv"]


def test_without_ingest_files_the_manifest_has_no_inputs(home):
    report = publish(home, tables=["fct_demo"])
    assert manifest_of(report.manifest)["inputs"] == []


def test_without_lineage_events_no_lineage_file_is_written(home):
    report = publish(home)
    assert report.lineage is None
    assert not (report.run_dir / "lineage.jsonl").exists()
    assert not list(home.audit.glob("*.lineage.jsonl"))


def test_the_same_run_published_twice_in_a_second_gets_two_folders(home):
    first = publish(home)
    add_revenue(home, "5.00")
    second = publish(home)
    assert second.run_dir.name == first.run_dir.name + "-2"
    assert second.manifest != first.manifest and first.manifest.exists()
    assert len(snapshot_rows(home.marts_db)) == 3


def test_a_duckdb_1_4_client_opens_the_snapshot(home, duckdb14_python):
    """BI drivers embed DuckDB 1.x: the snapshot must use a storage version they can read, through the link."""
    publish(home)
    script = ("import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True);"
              "print(duckdb.__version__, con.execute('SELECT sum(revenue) FROM fct_demo').fetchone()[0])")
    out = subprocess.run([str(duckdb14_python), "-c", script, str(home.marts_db)], check=True,
                         capture_output=True, text=True).stdout.split()
    assert out[0].startswith("1.4.")
    assert out[1] == "1234.55"
