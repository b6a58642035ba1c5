"""The Vigie code location: every asset, check, job, schedule and sensor, composed once.

Nothing is read at import: Dagster's tools (`dagster dev -m orchestration.definitions`, `dg check defs`) call the
`defs` factory, which parses dbt into the home's target path when its manifest is missing or stale.
"""

from __future__ import annotations

from functools import cache

import dagster as dg

from assets.home import VigieHome
from orchestration.automation import daily_schedule, landing_files_sensor, pipeline_job, run_failure_alert
from orchestration.dbt_assets import build_dbt_steps, dbt_resource
from orchestration.dbt_project import prepare_manifest, project_for
from orchestration.ingest_assets import ingest_assets, ingest_ledger, landing_specs
from orchestration.opportunity_assets import build_evaluate_missions, catalogue_spec
from orchestration.publish_assets import build_publish
from orchestration.quality_checks import build_gx_checks
from orchestration.resources import VigieResource
from orchestration.summary_assets import build_client_summaries


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(VigieHome.resolve())


@cache
def build_definitions(home: VigieHome) -> dg.Definitions:
    prepare_manifest(home, only_if_stale=True)
    project = project_for(home)
    dbt = build_dbt_steps(project)
    summaries, summaries_grounded = build_client_summaries(dbt)
    return dg.Definitions(
        assets=[*landing_specs, catalogue_spec, *ingest_assets, ingest_ledger, *dbt.both,
                build_evaluate_missions(dbt), summaries, build_publish(dbt, project)],
        asset_checks=[*build_gx_checks(dbt), summaries_grounded],
        jobs=[pipeline_job],
        schedules=[daily_schedule],
        sensors=[landing_files_sensor, run_failure_alert],
        # "Materialize all" in the UI runs the implicit asset job: one process too, like vigie_pipeline.
        executor=dg.in_process_executor,
        resources={"vigie": VigieResource(home=str(home.root)), "dbt": dbt_resource(project)},
    )
