"""Loaders that bring landing files into the raw schema of the working DuckDB, one per source."""

from __future__ import annotations

from pathlib import Path

from assets.ingest.crm import CrmLoader
from assets.ingest.fec import FecLoader
from assets.ingest.practice import PracticeLoader
from assets.ingest.registry import SourceLoader
from assets.ingest.timetracking import TimeTrackingLoader

# One loader per landing source; only the FEC loader needs room for transcoded copies of its inputs.
LOADERS = {
    "accounting": lambda scratch_dir: FecLoader(scratch_dir=scratch_dir),
    "crm": lambda scratch_dir: CrmLoader(),
    "timetracking": lambda scratch_dir: TimeTrackingLoader(),
    "practice": lambda scratch_dir: PracticeLoader(),
}


def build_loader(source: str, scratch_dir: Path | None = None) -> SourceLoader:
    """The loader of one landing source; `scratch_dir` holds transcoded copies of large inputs."""
    try:
        return LOADERS[source](scratch_dir)
    except KeyError:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(LOADERS)}") from None
