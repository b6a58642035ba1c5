"""Running the real dbt project in-process against a test warehouse, each test with its own target and logs."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
from dbt.cli.main import dbtRunner, dbtRunnerResult

from assets.warehouse import fetch_dicts
from orchestration.dbt_project import DBT_PROJECT_DIR as PROJECT_DIR

__all__ = ["build_models", "fetch_dicts", "run_dbt"]


def run_dbt(args: list[str], root: Path) -> dbtRunnerResult:
    """`dbt <args>` on the project, writing target/ and logs/ under `root` (never the pipeline's target/)."""
    return dbtRunner().invoke([*args, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
                               "--target-path", str(root / "target"), "--log-path", str(root / "logs")])


def build_models(warehouse: Path, root: Path, models: Iterable[str], as_of: str) -> dbtRunnerResult:
    """Build `models` and everything upstream; only the tests whose models are all selected run (cautious)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("VIGIE_WAREHOUSE_DB", str(warehouse))
        env.setenv("DO_NOT_TRACK", "1")
        return run_dbt(["build", "--select", *(f"+{model}" for model in models), "--indirect-selection",
                        "cautious", "--vars", f"{{as_of_date: '{as_of}'}}"], root)
