"""The one resource every Vigie asset receives: where the home is and what this run is about.

Every field has a default, so any launcher works without run config (the UI's "Materialize all", a schedule or
sensor tick, `dagster job execute`): the home is the one the code location was loaded for, the reference date comes
from settings.yml, then today. `vigie run` passes its options as run config.

When a run starts, the resource takes the home's run lock for the whole run (orchestration/run_guard.py) and reads
settings.yml once; every step then uses that one reading.
"""

from __future__ import annotations

from datetime import date

import dagster as dg
import duckdb
from pydantic import Field, PrivateAttr

from assets.home import VigieHome
from assets.settings import Settings, ensure_settings_file, load_settings
from assets.warehouse import connect, duckdb_config
from orchestration.dbt_project import reference_date_environment, run_vars


class VigieResource(dg.ConfigurableResource):
    home: str = Field(default="", description="Vigie home directory; empty: $VIGIE_HOME, then ./vigie_home.")
    as_of: str = Field(default="", description="Reference date YYYY-MM-DD; empty: settings.yml, then today.")
    full_refresh: bool = Field(default=False, description="Build every dbt model again from the raw layer, the "
                                                     "incremental ledger models included, even when nothing the "
                                                     "models read has changed.")
    refresh_summaries: bool = Field(default=False, description="Write every client summary again, ignoring the "
                                                               "summary cache.")

    _settings: Settings | None = PrivateAttr(default=None)
    _holds_run: bool = PrivateAttr(default=False)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._settings = self._read_settings()
        run = context.run
        if run is not None and context.instance is not None:  # a run, not a sensor or schedule evaluation
            from orchestration.run_guard import begin_run

            begin_run(self.vigie_home, run_id=run.run_id, instance=context.instance, settings=self._settings)
            self._holds_run = True

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._holds_run:
            from orchestration.run_guard import end_run

            end_run(self.vigie_home)
            self._holds_run = False

    @property
    def vigie_home(self) -> VigieHome:
        return VigieHome.resolve(self.home or None)

    def settings(self) -> Settings:
        return self._settings or self._read_settings()

    def _read_settings(self) -> Settings:
        home = self.vigie_home
        ensure_settings_file(home.settings_file)
        return load_settings(home.settings_file)

    def as_of_date(self) -> date:
        return self.settings().as_of(date.fromisoformat(self.as_of) if self.as_of else None)

    def duckdb_config(self) -> dict[str, str]:
        return duckdb_config(self.settings(), self.vigie_home)

    def dbt_environment(self) -> dict[str, str]:
        """The run's values dbt reads with env_var() beside the home's: the reference date."""
        return reference_date_environment(self.as_of_date())

    def connect_warehouse(self, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """Open the working DuckDB with the run's resource limits; the run lock makes this process its only user."""
        home = self.vigie_home
        home.ensure()
        return connect(home.warehouse_db, self.duckdb_config(), read_only=read_only)

    def dbt_vars(self) -> str:
        """The run's settings dbt reads with var()."""
        return run_vars(self.settings())
