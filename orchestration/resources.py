"""The one resource every Vigie asset receives: where the home is and what this run is about.

Its values come from environment variables that the `vigie` command line sets from its options, so the same
definitions serve `vigie run`, the schedule and the UI.
"""

from __future__ import annotations

import json
from datetime import date

import dagster as dg
import duckdb

from assets.home import VigieHome
from assets.settings import Settings, ensure_settings_file, load_settings


class VigieResource(dg.ConfigurableResource):
    home: str
    as_of: str = ""  # YYYY-MM-DD; empty: settings.yml, then today
    refresh_summaries: bool = False  # send every client to the LLM again, ignoring the summary cache

    @property
    def vigie_home(self) -> VigieHome:
        return VigieHome.resolve(self.home)

    def settings(self) -> Settings:
        home = self.vigie_home
        ensure_settings_file(home.settings_file)
        return load_settings(home.settings_file)

    def as_of_date(self) -> date:
        return self.settings().as_of(date.fromisoformat(self.as_of) if self.as_of else None)

    def connect_warehouse(self) -> duckdb.DuckDBPyConnection:
        """Open the working DuckDB for writing; callers hold it only inside a `warehouse` pool step."""
        home = self.vigie_home
        home.ensure()
        return duckdb.connect(str(home.warehouse_db))

    def dbt_vars(self) -> str:
        settings = self.settings()
        return json.dumps({
            "as_of_date": self.as_of_date().isoformat(),
            "language": settings.language,
            "practice_inactive_drop_pct": settings.practice_inactive_drop_pct,
        })
