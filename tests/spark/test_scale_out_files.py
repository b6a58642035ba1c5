"""The configuration files of docs/scale-out.md are ones their tools accept: dbt-spark reads both outputs of the
shipped profile, and the project parses against each (no cluster is contacted to parse)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from dbt.cli.main import dbtRunner

from orchestration.dbt_project import DBT_PROJECT_DIR

SCALE_OUT = Path(__file__).resolve().parents[2] / "deploy" / "scale-out"


@pytest.mark.parametrize("target", ["cluster", "cluster_http"])
def test_the_shipped_spark_profile_parses_the_project(target, tmp_path, monkeypatch):
    for name, value in {"VIGIE_SPARK_HOST": "spark.example.org", "VIGIE_SPARK_CLUSTER": "0123-vigie",
                        "VIGIE_SPARK_TOKEN": "not-a-secret", "DO_NOT_TRACK": "1"}.items():
        monkeypatch.setenv(name, value)
    result = dbtRunner().invoke(["parse", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(SCALE_OUT),
                                 "--target", target, "--target-path", str(tmp_path / "target"),
                                 "--log-path", str(tmp_path / "logs")])
    assert result.success, result.exception
    manifest = (tmp_path / "target" / "manifest.json").read_text(encoding="utf-8")
    assert '"adapter_type": "spark"' in manifest


def test_the_dagster_files_are_yaml_with_the_kubernetes_run_launcher():
    instance = yaml.safe_load((SCALE_OUT / "dagster.yaml").read_text(encoding="utf-8"))
    values = yaml.safe_load((SCALE_OUT / "values.yaml").read_text(encoding="utf-8"))
    assert instance["run_launcher"]["class"] == "K8sRunLauncher"
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["dagster-user-deployments"]["deployments"][0]["dagsterApiGrpcArgs"] == [
        "-m", "orchestration.definitions"]
