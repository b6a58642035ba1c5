"""Asset keys and names shared across the Dagster wiring, declared once.

Keys of the dbt side (models, seeds, and the sources Vigie's Python assets write) are not spelled here: they are
derived from the dbt manifest with dagster-dbt's `get_asset_key_for_model` / `get_asset_key_for_source`, through the
translator in dbt_assets.py and the `meta.dagster.asset_key` of the source YAML.
"""

import dagster as dg

PIPELINE_JOB = "vigie_pipeline"

# Runs of one home never overlap: the home's file lock (assets/run_lock.py) for every launcher, and this limit on
# Dagster's run queue so the daemon does not even start a second run (the home's dagster.yaml, see runner.py).
MAX_CONCURRENT_RUNS = 1

# Tag recording which process runs a run, so a run whose process died can be told from one still working.
PROCESS_TAG = "vigie/process"
# cli, schedule or sensor (a launch from the UI has none).
LAUNCHED_BY_TAG = "vigie/launched_by"

# dbt sources the Python assets write between the two dbt steps (rules engine, summaries).
PYTHON_OUTPUT_SOURCES = ("opportunities", "summaries")

CATALOGUE_KEY = dg.AssetKey(["config", "missions"])


def landing_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["landing", source])


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


def published_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["published", table])
