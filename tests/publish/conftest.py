from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assets.home import VigieHome
from tests.publish.support import build_warehouse


@pytest.fixture
def home(tmp_path):
    home = VigieHome(tmp_path / "home")
    home.ensure()
    build_warehouse(home)
    return home


@pytest.fixture(scope="session")
def duckdb14_python(tmp_path_factory) -> Path:
    """A Python with DuckDB 1.4, the version BI drivers embed; created once per session."""
    uv = shutil.which("uv", path=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    assert uv, "uv is a dev dependency of the project; run make install"
    venv = tmp_path_factory.mktemp("duckdb14")
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), "duckdb==1.4.*"],
                   check=True)
    return venv / "bin" / "python"
