"""The Vigie home directory (contract §1): where inputs, configuration, working files and outputs live.

Every stage receives a `VigieHome` instead of building paths itself, so the layout is declared once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SOURCES = ("accounting", "crm", "timetracking", "practice")


@dataclass(frozen=True)
class VigieHome:
    root: Path

    @classmethod
    def resolve(cls, home: str | os.PathLike | None = None) -> VigieHome:
        """`--home` wins, then `VIGIE_HOME`, then `./vigie_home`."""
        chosen = home or os.environ.get("VIGIE_HOME") or "vigie_home"
        return cls(Path(chosen).expanduser().resolve())

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    def landing_dir(self, source: str) -> Path:
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
        return self.landing / source

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def settings_file(self) -> Path:
        return self.config / "settings.yml"

    @property
    def missions_file(self) -> Path:
        return self.config / "missions.yml"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse"

    @property
    def warehouse_db(self) -> Path:
        return self.warehouse / "vigie.duckdb"

    @property
    def scratch(self) -> Path:
        """Temporary files of a run (transcoded inputs); safe to delete between runs."""
        return self.warehouse / "tmp"

    @property
    def run_logs(self) -> Path:
        """One detailed log file per `vigie run`."""
        return self.warehouse / "logs"

    @property
    def dbt_target(self) -> Path:
        """dbt's target path for this home (manifest, partial parse, per-step artefacts): never the source tree,
        which may be read-only and is shared by every home."""
        return self.warehouse / "dbt" / "target"

    @property
    def dbt_logs(self) -> Path:
        return self.warehouse / "dbt" / "logs"

    @property
    def run_lock(self) -> Path:
        """Held by the one run allowed at a time on this home (see assets/run_lock.py)."""
        return self.root / ".vigie.lock"

    @property
    def spill(self) -> Path:
        """Where DuckDB spills what does not fit in its memory limit (inside scratch: cleared at each run start)."""
        return self.scratch / "spill"

    @property
    def publish(self) -> Path:
        return self.root / "publish"

    @property
    def marts_db(self) -> Path:
        return self.publish / "marts.duckdb"

    @property
    def parquet(self) -> Path:
        return self.publish / "parquet"

    @property
    def audit(self) -> Path:
        return self.root / "audit"

    @property
    def dagster_home(self) -> Path:
        return Path(os.environ.get("DAGSTER_HOME") or self.root / ".dagster")

    def ensure(self) -> None:
        for path in (self.config, self.warehouse, self.scratch, self.publish, self.parquet, self.audit,
                     *(self.landing_dir(s) for s in SOURCES)):
            path.mkdir(parents=True, exist_ok=True)
