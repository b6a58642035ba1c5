"""What ran: the code version and the mission-catalogue version recorded in every audit manifest."""

from __future__ import annotations

import subprocess
from importlib.metadata import version
from pathlib import Path

from assets.home import VigieHome
from assets.ingest.registry import file_sha256

REPOSITORY = Path(__file__).resolve().parent.parent


def code_version() -> dict:
    return {"vigie": version("vigie"), "git_commit": _git(["rev-parse", "HEAD"]),
            "git_dirty": bool(_git(["status", "--porcelain", "--untracked-files=no"]))}


def catalogue_version(home: VigieHome) -> str | None:
    """sha256 of config/missions.yml, so an auditor knows exactly which rules ran."""
    return file_sha256(home.missions_file) if home.missions_file.exists() else None


def _git(args: list[str]) -> str | None:
    try:
        result = subprocess.run(["git", *args], cwd=REPOSITORY, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None
