"""Loaders that bring landing files into the raw schema of the working DuckDB, one per source."""

from __future__ import annotations

from pathlib import Path

from assets.ingest.registry import SourceLoader


def build_loader(source: str, scratch_dir: Path | None = None) -> SourceLoader:
    """The loader of one landing source; `scratch_dir` holds transcoded copies of large inputs."""
    if source == "accounting":
        from assets.ingest.fec import FecLoader
        return FecLoader(scratch_dir=scratch_dir)
    if source == "crm":
        from assets.ingest.crm import CrmLoader
        return CrmLoader()
    if source == "timetracking":
        from assets.ingest.timetracking import TimeTrackingLoader
        return TimeTrackingLoader()
    if source == "practice":
        from assets.ingest.practice import PracticeLoader
        return PracticeLoader()
    raise ValueError(f"unknown source {source!r}")
