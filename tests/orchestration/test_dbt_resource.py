"""Vigie's dbt resource skips two of dagster-dbt's start-up costs (orchestration/dbt_assets.py): the `dbt --version`
subprocess and the in-process adapter. Both overrides replace private members of dagster-dbt: these tests fail if
an upgrade renames them, or if the version Vigie gives differs from what the dbt executable says."""

from __future__ import annotations

import re
import subprocess

import pytest
from dagster_dbt import DbtCliResource
from dagster_dbt.core import resource as dagster_dbt_resource

from orchestration.dbt_assets import DBT_EXECUTABLE, VigieDbtCliResource, dbt_resource
from orchestration.dbt_project import DBT_PROJECT_DIR


def test_the_overridden_members_are_still_dagster_dbts_own():
    for name in ("_cli_version", "_initialize_dbt_core_adapter"):
        assert name in vars(DbtCliResource), f"dagster-dbt no longer has {name}: review VigieDbtCliResource"
        assert name in vars(VigieDbtCliResource)


def test_the_version_is_the_one_the_dbt_executable_reports_without_running_it(monkeypatch):
    reported = subprocess.check_output([str(DBT_EXECUTABLE), "--version"], text=True)
    installed = re.search(r"installed:\s*(\d+\.\d+\.\d+)", reported).group(1)

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"dbt run as a subprocess: {args}")

    monkeypatch.setattr(dagster_dbt_resource, "check_output", no_subprocess)
    resource = dbt_resource(DBT_PROJECT_DIR)
    assert isinstance(resource, VigieDbtCliResource)
    assert str(resource._cli_version) == installed
    assert resource._cli_version.major < 2  # dbt Core, not the Fusion engine: dagster-dbt's dbt Core path
    with pytest.raises(AssertionError, match="subprocess"):  # the guard itself works on dagster-dbt's resource
        _ = DbtCliResource(project_dir=str(DBT_PROJECT_DIR), dbt_executable=str(DBT_EXECUTABLE))._cli_version


def test_no_adapter_is_built_in_the_orchestrating_process():
    assert dbt_resource(DBT_PROJECT_DIR)._initialize_dbt_core_adapter(["build"]) is None
