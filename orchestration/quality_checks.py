"""Great Expectations suites of checks/ attached as blocking asset checks to the marts they guard."""

import dagster as dg
import duckdb

from checks.gx_validation import validate_frame
from checks.suites import SUITES
from orchestration.ingest_assets import WAREHOUSE_POOL
from orchestration.resources import VigieResource


def build_gx_check(table: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=dg.AssetKey(["marts", table]), name=f"gx_{table}", blocking=True, pool=WAREHOUSE_POOL,
                    description=f"Great Expectations suite on marts.{table}; a failure stops publishing.")
    def _check(vigie: VigieResource) -> dg.AssetCheckResult:
        with duckdb.connect(str(vigie.vigie_home.warehouse_db), read_only=True) as con:
            frame = con.execute(f'SELECT * FROM marts."{table}"').df()
        outcome = validate_frame(frame, table, SUITES[table]())
        return dg.AssetCheckResult(passed=outcome.passed, metadata={
            "expectations": outcome.evaluated, "failures": outcome.failures, "rows": len(frame)})

    return _check


gx_checks = [build_gx_check(table) for table in SUITES]
