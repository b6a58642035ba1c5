"""Landing folders and the ingest assets that bring them into the raw layer (one asset per source)."""

import logging

import dagster as dg

from assets.home import SOURCES
from assets.ingest import build_loader
from assets.ingest.raw_tables import create_raw_schema
from assets.ingest.registry import ingest_source, ledger_totals
from orchestration.keys import landing_key, raw_key
from orchestration.resources import VigieResource
from orchestration.retries import retry_transient

log = logging.getLogger("vigie.ingest")

LANDING_DESCRIPTIONS = {
    "accounting": "FEC files of the client companies, any legal variant (landing/accounting).",
    "crm": "CRM export in the style of the Sellsy API v2, CSV or JSON Lines (landing/crm).",
    "timetracking": "Clockify, Toggl Track and Harvest CSV exports (landing/timetracking).",
    "practice": "Practice-management export: collaborators, client files, documents, supplier rules "
                "(landing/practice).",
}


landing_specs = [
    dg.AssetSpec(landing_key(source), description=LANDING_DESCRIPTIONS[source], group_name="landing",
                 kinds={"file"}, metadata={"path": f"landing/{source}"})
    for source in SOURCES
]


def _table_metadata(con, table: str) -> dict:
    rows = con.execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0]
    columns = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'raw'"
                          " AND table_name = ? ORDER BY column_index", [table]).fetchall()
    return {
        "dagster/row_count": rows,
        "dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(name, dtype) for name, dtype in columns]),
        "dagster/table_name": f"warehouse.raw.{table}",
    }


def build_ingest_asset(source: str) -> dg.AssetsDefinition:
    loader_tables = build_loader(source).raw_tables

    @dg.multi_asset(
        name=f"ingest_{source}",
        specs=[dg.AssetSpec(raw_key(t), deps=[landing_key(source)], group_name="raw", kinds={"duckdb"},
                            description=f"Raw rows of {t}, one per input line, with file and line number.")
               for t in loader_tables],
        description=f"Load new {source} files from landing/{source} into the raw layer (idempotent by sha256).",
    )
    @retry_transient
    def _ingest(context: dg.AssetExecutionContext, vigie: VigieResource):
        home = vigie.vigie_home
        with vigie.connect_warehouse() as con:
            create_raw_schema(con)
            loader = build_loader(source, scratch_dir=home.scratch)
            summary = ingest_source(con, home.landing, loader, run_id=context.run.run_id, on_progress=log.info,
                                    shrink_tolerance=vigie.settings().version_shrink_tolerance_pct / 100)
            for problem in summary.problems:
                context.log.warning(problem)
            log.info("ingest %s: %d file(s) seen, %d loaded, %d unchanged, %d rejected, %d superseded, "
                     "%d suspect; %d rows loaded, %d quarantined", source, summary.files_seen, summary.files_loaded,
                     summary.files_unchanged, summary.files_rejected, summary.files_superseded,
                     summary.files_suspect, summary.rows_loaded, summary.rows_quarantined)
            for table in loader_tables:
                yield dg.MaterializeResult(asset_key=raw_key(table), metadata={
                    **_table_metadata(con, table),
                    "files_seen": summary.files_seen, "files_loaded": summary.files_loaded,
                    "files_unchanged": summary.files_unchanged, "files_rejected": summary.files_rejected,
                    "files_suspect": summary.files_suspect,
                    "rows_quarantined_this_run": summary.rows_quarantined,
                })

    return _ingest


ingest_assets = [build_ingest_asset(source) for source in SOURCES]

LEDGER_DESCRIPTIONS = {
    "ingest_files": "One row per input file version seen, with its line counts and status.",
    "ingest_rejections": "One row per rejected file or quarantined line, with the reason and the raw text.",
    "ingest_flags": "One row per value kept but doubtful, with its file, line, field and the rule it breaks.",
}


@dg.multi_asset(
    name="ingest_ledger",
    specs=[dg.AssetSpec(raw_key(table), description=description, group_name="raw", kinds={"duckdb"},
                        deps=[spec.key for asset in ingest_assets for spec in asset.specs])
           for table, description in LEDGER_DESCRIPTIONS.items()],
    check_specs=[dg.AssetCheckSpec("every_line_loaded_or_quarantined", asset=raw_key("ingest_files"),
                                   description="rows_read = rows_loaded + rows_quarantined for every file.")],
    description="The ingestion ledger that every ingest asset writes: what became of each file version.",
)
@retry_transient
def ingest_ledger(vigie: VigieResource):
    with vigie.connect_warehouse() as con:
        create_raw_schema(con)
        totals = ledger_totals(con)
        for table in LEDGER_DESCRIPTIONS:
            yield dg.MaterializeResult(asset_key=raw_key(table), metadata={**_table_metadata(con, table), **totals})
        broken = con.execute("SELECT file_path FROM raw.ingest_files"
                             " WHERE rows_read <> rows_loaded + rows_quarantined").fetchall()
    yield dg.AssetCheckResult(check_name="every_line_loaded_or_quarantined", asset_key=raw_key("ingest_files"),
                              passed=not broken, metadata={"files_breaking_identity": [p for (p,) in broken]})
