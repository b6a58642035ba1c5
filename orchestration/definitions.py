"""The Vigie code location: every asset, check, job, schedule and sensor, composed once."""

import dagster as dg

from orchestration.automation import daily_schedule, landing_files_sensor, pipeline_job
from orchestration.dbt_assets import dbt_resource, vigie_dbt_models, vigie_dbt_outputs
from orchestration.ingest_assets import ingest_assets, ingest_ledger, landing_specs
from orchestration.opportunity_assets import catalogue_spec, evaluate_missions
from orchestration.publish_assets import publish
from orchestration.quality_checks import gx_checks
from orchestration.resources import VigieResource
from orchestration.summary_assets import client_summaries, summaries_grounded

defs = dg.Definitions(
    assets=[*landing_specs, catalogue_spec, *ingest_assets, ingest_ledger, vigie_dbt_models, evaluate_missions,
            client_summaries, vigie_dbt_outputs, publish],
    asset_checks=[*gx_checks, summaries_grounded],
    jobs=[pipeline_job],
    schedules=[daily_schedule],
    sensors=[landing_files_sensor],
    resources={
        "vigie": VigieResource(home=dg.EnvVar("VIGIE_HOME"), as_of=dg.EnvVar("VIGIE_AS_OF")),
        "dbt": dbt_resource(),
    },
)
