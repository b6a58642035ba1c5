"""Opportunity rules (domain.md §3): the firm's mission catalogue evaluated on every client's indicators."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from assets.opportunities.catalogue import Catalogue, CatalogueError, ensure_catalogue_file, load_catalogue
from assets.opportunities.evaluate import evaluate_catalogue
from assets.opportunities.lifecycle import OpportunityReport, write_opportunities

__all__ = ["CatalogueError", "OpportunityReport", "load_warehouse_catalogue", "run_opportunities"]


def load_warehouse_catalogue(con: duckdb.DuckDBPyConnection, missions_file: Path) -> Catalogue:
    """The firm's catalogue (the starter one on first run), checked against the thresholds the warehouse knows."""
    ensure_catalogue_file(missions_file)
    thresholds = {row[0] for row in con.execute("select distinct threshold_name from reference.thresholds").fetchall()}
    return load_catalogue(missions_file, thresholds)


def run_opportunities(con: duckdb.DuckDBPyConnection, missions_file: Path, reference_date: date, language: str,
                      catalogue_version: str | None = None) -> OpportunityReport:
    catalogue = load_warehouse_catalogue(con, missions_file)
    evaluate_catalogue(con, catalogue, reference_date, language, catalogue_version)
    return write_opportunities(con, reference_date, language)
