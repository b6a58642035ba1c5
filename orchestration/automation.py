"""When the pipeline runs: one job for everything, a daily schedule, and a sensor on new landing files."""

import hashlib

import dagster as dg

from orchestration.resources import VigieResource

pipeline_job = dg.define_asset_job(
    "vigie_pipeline", selection=dg.AssetSelection.all(),
    description="Ingest every landing source, build the dbt models, check them and publish the marts.")

daily_schedule = dg.ScheduleDefinition(
    name="vigie_daily", job=pipeline_job, cron_schedule="0 6 * * *", execution_timezone="Europe/Paris",
    description="Every morning at 06:00 (Paris), before the firm opens its BI tools.")


def landing_fingerprint(vigie: VigieResource) -> str:
    """Hash of every landing file's path, size and modification time: changes when an export lands."""
    landing = vigie.vigie_home.landing
    digest = hashlib.sha256()
    for path in sorted(p for p in landing.rglob("*") if p.is_file()) if landing.is_dir() else []:
        stat = path.stat()
        digest.update(f"{path.relative_to(landing)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


@dg.sensor(job=pipeline_job, minimum_interval_seconds=60,
           description="Starts the pipeline when files are added to or changed in landing/.")
def landing_files_sensor(context: dg.SensorEvaluationContext, vigie: VigieResource):
    fingerprint = landing_fingerprint(vigie)
    if fingerprint == context.cursor:
        return dg.SkipReason("no new or changed file in landing/")
    context.update_cursor(fingerprint)
    return dg.RunRequest(run_key=fingerprint)
