"""Malformed settings.yml and missions.yml (issue 9): every bad value is refused with one line naming the file, the
line and the reason, never a traceback.

The corpus is tests/fixtures/malformed/config/{settings,missions}/*.yml; next to each file, `<file>.expected.yml`
gives the line the message must name and a part of the reason (`reason_contains`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from assets.home import VigieHome
from assets.opportunities.catalogue import CatalogueError, load_catalogue
from assets.settings import SettingsError, load_settings
from orchestration.dbt_project import seed_threshold_names

CORPUS = Path(__file__).parent / "fixtures" / "malformed" / "config"
VIGIE = str(Path(sys.executable).with_name("vigie"))


def _corpus(kind: str) -> list[Path]:
    return sorted(p for p in (CORPUS / kind).glob("*.yml") if not p.name.endswith(".expected.yml"))


def _load_settings(path: Path) -> None:
    load_settings(path)


def _load_missions(path: Path) -> None:
    load_catalogue(path, seed_threshold_names())


LOADERS = {"settings": (_load_settings, SettingsError), "missions": (_load_missions, CatalogueError)}
CASES = [pytest.param(kind, path, id=f"{kind}/{path.name}") for kind in LOADERS for path in _corpus(kind)]


def test_the_corpus_covers_both_files():
    assert len(_corpus("settings")) >= 10 and len(_corpus("missions")) >= 10
    for kind in LOADERS:
        for path in _corpus(kind):
            assert path.with_name(f"{path.name}.expected.yml").is_file(), f"{path} has no expected outcome"


@pytest.mark.parametrize(("kind", "path"), CASES)
def test_a_malformed_file_is_refused_with_its_file_line_and_reason(kind, path, tmp_path):
    expected = yaml.safe_load(path.with_name(f"{path.name}.expected.yml").read_text(encoding="utf-8"))
    copy = tmp_path / "config" / f"{kind}.yml"  # under the name the pipeline reads
    copy.parent.mkdir()
    shutil.copyfile(path, copy)
    load, error_type = LOADERS[kind]
    with pytest.raises(error_type) as error:
        load(copy)
    message = str(error.value)
    assert message.startswith(f"{copy}, line {expected['line']}: "), message
    assert expected["reason_contains"] in message, message
    assert "\n" not in message and "Traceback" not in message
    assert "secret-token" not in message, "a webhook URL carries a token and is never echoed"


def test_vigie_run_refuses_a_bad_settings_file_in_one_line_before_anything_runs(tmp_path):
    home = VigieHome(tmp_path / "home")
    home.landing.mkdir(parents=True)
    home.config.mkdir()
    shutil.copyfile(CORPUS / "settings" / "reference_date_2025_02_30.yml", home.settings_file)
    env = {k: v for k, v in os.environ.items() if k not in ("VIGIE_HOME", "DAGSTER_HOME", "OPENAI_API_KEY")}
    result = subprocess.run([VIGIE, "run", "--home", str(home.root)], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"vigie: {home.settings_file}, line 4: reference_date: '2025-02-30' is not a valid date "
        "(day is out of range for month)"]
    assert not home.warehouse_db.exists() and not (home.root / ".dagster").exists(), "nothing may run"
