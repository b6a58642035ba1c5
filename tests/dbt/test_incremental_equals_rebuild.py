"""The ledger's incremental models, built morning after morning, give the tables a rebuild on the final files gives.

Four mornings of a generated firm, each ingested by the real loaders and built by the real dbt project on one
warehouse: the first with half the ledgers; the second with the other half (new files), a re-export of a ledger
under its own name (the path's version changes) and a monthly re-export under a new name (supersession by SIREN and
closing date); the third with the first export put back; the fourth with nothing new. A fresh warehouse then
ingests the final landing/ once and builds from scratch. Every mart and intermediate table must hold the same rows,
except the ingestion ledger, which rightly remembers the versions seen on the way.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import duckdb
import pytest

from assets.generate import generate_landing
from assets.ingest import LOADERS, build_loader
from assets.ingest.raw_tables import create_raw_schema
from assets.ingest.registry import ingest_source
from tests.dbt.dbt_runner import run_dbt

AS_OF = "2026-10-31"
# what the ingestion ledger says about versions seen on the way; not a figure of the business
HISTORY_TABLES = {("marts", "ingest_files"), ("marts", "ingest_rejections")}
INCREMENTAL_MODELS = ("int_fec__account_monthly", "int_fec__customer_monthly", "int_fec__file_components_monthly",
                      "int_fec__file_conformity", "int_fec__customer_concentration")
# The first dbt step: everything the rules engine reads, without the marts fed by Python outputs.
SELECTION = ["--select", "fqn:*", "--exclude", "source:opportunities+", "source:summaries+"]


def ingest(landing: Path, warehouse: Path, run_id: str) -> None:
    with duckdb.connect(str(warehouse)) as con:
        create_raw_schema(con)
        for source in LOADERS:
            ingest_source(con, landing, build_loader(source), run_id=run_id)


def build(warehouse: Path, root: Path) -> None:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("VIGIE_WAREHOUSE_DB", str(warehouse))
        env.setenv("DO_NOT_TRACK", "1")
        result = run_dbt(["build", *SELECTION, "--exclude-resource-type", "test", "unit_test",
                          "--vars", f"{{as_of_date: '{AS_OF}'}}"], root)
    assert result.success, result.exception


def tables(warehouse: Path) -> dict[tuple[str, str], list[tuple]]:
    # dbt-duckdb keeps its DuckDB instance open in this process: only a connection with the default
    # configuration may share it (a read_only one would be refused)
    with duckdb.connect(str(warehouse)) as con:
        names = con.execute("SELECT schema_name, table_name FROM duckdb_tables()"
                            " WHERE schema_name IN ('marts', 'intermediate')").fetchall()
        return {(schema, table): sorted(con.execute(f'SELECT * FROM {schema}."{table}"').fetchall(), key=repr)
                for schema, table in names if (schema, table) not in HISTORY_TABLES}


def rewrite(path: Path, text: str, mtime: float) -> None:
    path.write_text(text, encoding=_encoding(path))
    os.utime(path, (mtime, mtime))


def _encoding(path: Path) -> str:
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "iso-8859-15"
    return "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"


def test_three_mornings_of_loads_give_what_one_rebuild_gives(tmp_path):
    generate_landing(tmp_path / "firm", clients=3, lines_per_client=300, months=14, seed=5)
    pool = tmp_path / "firm" / "landing"
    landing = tmp_path / "home" / "landing"
    shutil.copytree(pool, landing, ignore=shutil.ignore_patterns("accounting"))
    ledgers = sorted((pool / "accounting").iterdir())
    (landing / "accounting").mkdir()
    first_half, second_half = ledgers[: len(ledgers) // 2], ledgers[len(ledgers) // 2:]
    for path in first_half:
        shutil.copy2(path, landing / "accounting" / path.name)
    warehouse, root = tmp_path / "home" / "vigie.duckdb", tmp_path / "home" / "dbt"

    # morning 1: half the ledgers
    ingest(landing, warehouse, "morning-1")
    build(warehouse, root)

    # morning 2: new files, a re-export under the same path, a re-export under a new name
    for path in second_half:
        shutil.copy2(path, landing / "accounting" / path.name)
    reexported = landing / "accounting" / first_half[0].name
    original = reexported.read_text(encoding=_encoding(reexported))
    lines = original.splitlines(keepends=True)
    rewrite(reexported, "".join(lines[:-6]), reexported.stat().st_mtime + 3600)  # a corrected, shorter export
    renamed = landing / "accounting" / (first_half[1].stem + "_export-corrige.txt")
    shutil.copy2(first_half[1], renamed)
    text = renamed.read_text(encoding=_encoding(renamed)).splitlines(keepends=True)
    rewrite(renamed, "".join(text[:-4]), first_half[1].stat().st_mtime + 7200)
    ingest(landing, warehouse, "morning-2")
    build(warehouse, root)
    with duckdb.connect(str(warehouse)) as con:
        superseded = con.execute("SELECT count(*) FROM raw.ingest_files WHERE status = 'superseded'").fetchone()[0]
    assert superseded >= 2, "the second morning must supersede versions"

    # morning 3: the first export is put back, and another client's ledgers are all re-exported without their
    # customer accounts (411): that client has no customer figure left anywhere
    rewrite(reexported, original, reexported.stat().st_mtime + 3600)
    siren = second_half[-1].name[:9]  # a FEC file name starts with the company's SIREN
    assert not reexported.name.startswith(siren) and not renamed.name.startswith(siren)
    for path in (landing / "accounting").glob(f"{siren}*"):
        kept = [line for line in path.read_text(encoding=_encoding(path)).splitlines(keepends=True)
                if not re.split(r"[\t|]", line)[4].startswith("411")]
        rewrite(path, "".join(kept), path.stat().st_mtime + 3600)
    ingest(landing, warehouse, "morning-3")
    build(warehouse, root)

    # morning 4: nothing new. The incremental models read no ledger line (macros/current_file_versions.sql) and
    # keep what they have.
    ingest(landing, warehouse, "morning-4")
    build(warehouse, root)
    compiled = root / "target" / "compiled" / "vigie" / "models" / "intermediate" / "accounting"
    # (int_fec__customer_monthly has no row for a version without customer lines, so such a version stays new)
    for model in ("int_fec__account_monthly", "int_fec__file_conformity"):
        text = (compiled / f"{model}.sql").read_text(encoding="utf-8")
        assert re.search(r"where\s+false", text), f"{model} read the ledger with no new version"

    rebuilt, rebuilt_root = tmp_path / "rebuild" / "vigie.duckdb", tmp_path / "rebuild" / "dbt"
    rebuilt.parent.mkdir()
    ingest(landing, rebuilt, "rebuild")
    build(rebuilt, rebuilt_root)

    incremental, expected = tables(warehouse), tables(rebuilt)
    assert set(incremental) == set(expected)
    assert all(("intermediate", m) in expected and expected[("intermediate", m)] for m in INCREMENTAL_MODELS)
    assert expected[("marts", "fct_indicators_monthly")]
    for key in sorted(expected):
        assert incremental[key] == expected[key], f"{key[0]}.{key[1]} differs from a rebuild"


def test_no_ledger_line_is_in_the_raw_layer_twice(tmp_path):
    """What the dbt staging tests no longer re-check over the whole ledger each morning: one row per physical line
    of each file version, even after a version is loaded again."""
    generate_landing(tmp_path / "firm", clients=2, lines_per_client=200, months=8, seed=3)
    landing, warehouse = tmp_path / "firm" / "landing", tmp_path / "vigie.duckdb"
    ingest(landing, warehouse, "first")
    ledger = sorted((landing / "accounting").iterdir())[0]
    content = ledger.read_bytes()
    ledger.write_bytes(content[: len(content) // 2])  # a truncated export, then the good one put back
    ingest(landing, warehouse, "second")
    ledger.write_bytes(content)
    ingest(landing, warehouse, "third")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows, distinct = con.execute("SELECT count(*), count(DISTINCT (_file_sha256, _source_file, _line_number))"
                                     " FROM raw.fec_lines").fetchone()
        nulls = con.execute("SELECT count(*) FROM raw.fec_lines WHERE ecriture_date IS NULL OR compte_num IS NULL"
                            " OR debit IS NULL OR credit IS NULL").fetchone()[0]
    assert rows == distinct > 0 and nulls == 0


def test_a_change_to_the_dbt_project_rebuilds_the_incremental_models(tmp_path, monkeypatch):
    """The incremental tables keep what older SQL computed: a new version of the project must rebuild them."""
    from assets.home import VigieHome
    from orchestration import dbt_project

    project = tmp_path / "dbt_project"
    shutil.copytree(dbt_project.DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    monkeypatch.setattr(dbt_project, "DBT_PROJECT_DIR", project)
    home = VigieHome(tmp_path / "home")
    home.dbt_target.mkdir(parents=True)
    assert dbt_project.needs_full_refresh(home)  # never built
    dbt_project.record_incremental_build(home)
    assert not dbt_project.needs_full_refresh(home)
    model = project / "models" / "intermediate" / "accounting" / "int_fec__account_monthly.sql"
    model.write_text(model.read_text(encoding="utf-8") + "\n-- a fix\n", encoding="utf-8")
    assert dbt_project.needs_full_refresh(home)
