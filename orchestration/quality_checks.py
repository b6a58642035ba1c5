"""Great Expectations suites of checks/ attached as blocking asset checks to the marts they guard."""

import dagster as dg

from checks.gx_validation import OutcomeCache, validate_frame, validation_key
from checks.suites import SUITES
from orchestration.dbt_assets import DbtSteps
from orchestration.resources import VigieResource

GX_OUTCOMES = "gx_outcomes.json"  # under the home's warehouse/: checks/gx_validation.OutcomeCache


def build_gx_checks(dbt: DbtSteps) -> list[dg.AssetChecksDefinition]:
    return [_gx_check(table, dbt.key_for(table)) for table in SUITES]


def _gx_check(table: str, key: dg.AssetKey) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=key, name=f"gx_{table}", blocking=True,
                    description=f"Great Expectations suite on {table}; a failed critical expectation stops "
                                "publishing, a failed warning one is reported (severity WARN) and does not.")
    def _check(context: dg.AssetCheckExecutionContext, vigie: VigieResource) -> dg.AssetCheckResult:
        with vigie.connect_warehouse(read_only=True) as con:
            frame = con.execute(f'SELECT * FROM {key.path[0]}."{table}"').df()
        cache = OutcomeCache(vigie.vigie_home.warehouse / GX_OUTCOMES)
        validation = validation_key(frame)
        metadata = {}
        if found := cache.outcome(table, validation):
            outcome, run_id = found
            metadata["validated_by_run"] = run_id  # the same rows, the same suite: that run's outcome
        else:
            outcome = validate_frame(frame, table, SUITES[table]())
            cache.record(table, validation, outcome, context.run.run_id)
        # Dagster's blocking checks stop downstream assets only on a failure of severity ERROR.
        severity = dg.AssetCheckSeverity.ERROR if outcome.blocking else dg.AssetCheckSeverity.WARN
        return dg.AssetCheckResult(passed=outcome.passed, severity=severity, metadata={
            "expectations": outcome.evaluated, "failures": outcome.failures, "warnings": outcome.warnings,
            "rows": len(frame), **metadata})

    return _check
