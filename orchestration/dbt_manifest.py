"""Where the dbt project is, and the parse that must precede loading the Dagster definitions.

Kept apart from dbt_assets.py: that module needs manifest.json at import time, this one writes it.
"""

import csv
from pathlib import Path

DBT_PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"

# Marts that read what Vigie's Python assets write (rules engine, summaries): dbt builds them in a second step.
AFTER_PYTHON_ASSETS = "tag:after_python_assets"


def prepare_dbt_manifest(dbt_vars: str = "{}") -> None:
    """Parse the dbt project so the definitions see the current models (dagster-dbt reads manifest.json).

    Parsing with the run's vars lets `dbt build` reuse this parse instead of starting over.
    """
    from dbt.cli.main import dbtRunner

    project = str(DBT_PROJECT_DIR)
    result = dbtRunner().invoke(["parse", "--project-dir", project, "--profiles-dir", project, "--target-path",
                                 str(DBT_PROJECT_DIR / "target"), "--vars", dbt_vars, "--quiet"])
    if not result.success:
        raise RuntimeError(f"dbt could not parse {DBT_PROJECT_DIR}: {result.exception}")


def seed_threshold_names() -> set[str]:
    """The thresholds the `thresholds` seed defines: what a mission catalogue may refer to."""
    with (DBT_PROJECT_DIR / "seeds" / "thresholds.csv").open(encoding="utf-8", newline="") as seed:
        return {row["threshold_name"] for row in csv.DictReader(seed)}
