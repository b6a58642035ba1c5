"""Synthetic sample data behind `vigie generate` and `vigie demo`: a fictional French accounting firm.

`generate_landing(out_dir)` writes `out_dir/landing/{accounting,crm,timetracking,practice}/` (so `out_dir` can
serve as a Vigie home) and returns a `GenerationReport`. The same arguments always give byte-identical files.

The story: ~40 client companies (scaling with `clients`) over three fiscal years, each with a sector and a
profile. Scenario profiles make one starter rule of the mission catalogue fire on the latest month (cash
falling, DSO above 60 days, equity below half of capital...); healthy controls make none fire. Which client
is built for which indicator property is in `GenerationReport.scenarios` (SIREN -> tags); the tags are
explained in `SCENARIO_DESCRIPTIONS`. Only real-looking exports go into landing/.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from assets.generate.crm_writer import build_crm, write_crm
from assets.generate.fec_writer import FecFile, write_client_files
from assets.generate.firm import DEFAULT_AS_OF, SCENARIO_DESCRIPTIONS, Client, build_firm, client_rng
from assets.generate.ledger import build_ledger
from assets.generate.practice_writer import build_practice, write_practice
from assets.generate.profiles import plan_for
from assets.generate.timetracking_writer import build_time_entries, write_time_entries

PARALLEL_FROM_LINES = 2_000_000  # below this many FEC lines, worker processes cost more than they save

__all__ = ["DEFAULT_AS_OF", "SCENARIO_DESCRIPTIONS", "GenerationReport", "generate_landing"]


@dataclass(frozen=True)
class GenerationReport:
    out_dir: Path
    as_of: date
    seed: int
    clients: int  # client companies with a ledger
    crm_companies: (
        int  # every CRM account: clients, prospects, group, competitor, partner, suppliers, internal
    )
    fec_files: int
    fec_lines: int  # data lines, headers excluded, re-exports included
    files: int  # every file written under landing/
    bytes_written: int
    time_entries: int
    documents: int  # practice documents
    scenarios: dict[str, list[str]]  # SIREN -> indicator tags the client is built to show ([] for ordinary)

    def summary(self) -> str:
        return (f"{self.clients} clients, {self.fec_files} FEC files with {self.fec_lines:,} lines, "
                f"{self.time_entries:,} time entries, {self.documents:,} practice documents, "
                f"{self.files} files, {self.bytes_written / 1e6:.1f} MB")


def generate_landing(
    out_dir: Path,
    *,
    clients: int = 40,
    lines_per_client: int | None = None,
    months: int = 36,
    seed: int = 42,
    as_of: date | None = None,
    workers: int | None = None,
) -> GenerationReport:
    """Write a synthetic landing/ under `out_dir`; refuses a landing/ that already holds files.

    lines_per_client: about how many FEC lines each client gets across its files (None: 1 800-3 000 each).
    months: history depth; the ledger covers ceil(months / 12) fiscal years (at least 2), the last current.
    as_of: reference date (default 2026-10-31); current clients' ledgers end with its month.
    workers: processes writing FEC files (default: 1 for small data sets, up to 2 beyond 2 M lines). Worker
    processes are spawned, so a script calling this needs the usual `if __name__ == "__main__":` guard.
    """
    as_of = as_of or DEFAULT_AS_OF
    landing = Path(out_dir) / "landing"
    if landing.exists() and any(p.is_file() for p in landing.rglob("*")):
        raise FileExistsError(f"{landing} already holds files; generate into an empty directory")
    firm = build_firm(clients, months=months, seed=seed, as_of=as_of, lines_per_client=lines_per_client)
    accounting = landing / "accounting"
    accounting.mkdir(parents=True, exist_ok=True)
    fec = _write_ledgers(firm.clients, seed, accounting, workers, sum(c.lines_target for c in firm.clients))
    crm = build_crm(firm)
    others = write_crm(crm, landing / "crm")
    entries = build_time_entries(firm, crm.deals)
    others += write_time_entries(firm, entries, landing / "timetracking")
    practice = build_practice(firm)
    others += write_practice(practice, landing / "practice")
    return GenerationReport(
        out_dir=Path(out_dir),
        as_of=as_of,
        seed=seed,
        clients=len(firm.clients),
        crm_companies=len(crm.rows["companies"]),
        fec_files=len(fec),
        fec_lines=sum(f.lines for f in fec),
        files=len(fec) + len(others),
        bytes_written=sum(f.bytes for f in fec) + sum(p.stat().st_size for p in others),
        time_entries=len(entries),
        documents=len(practice["documents"]),
        scenarios={c.siren: list(c.tags) for c in firm.clients},
    )


def write_client_ledger(client: Client, seed: int, directory: Path) -> list[FecFile]:
    """Plan, simulate and write one client's FEC files (a worker's unit of work)."""
    plan = plan_for(client, client_rng(seed, 1, client))
    ledger = build_ledger(client, plan, client_rng(seed, 2, client))
    return write_client_files(ledger, directory)


def _write_ledgers(
    clients: list[Client], seed: int, directory: Path, workers: int | None, expected_lines: int
) -> list[FecFile]:
    if workers is None:
        workers = min(2, multiprocessing.cpu_count()) if expected_lines >= PARALLEL_FROM_LINES else 1
    if workers <= 1:
        return [f for client in clients for f in write_client_ledger(client, seed, directory)]
    # spawn: safe whatever threads the caller runs (Dagster, a test runner); each client is independent.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = pool.map(
            write_client_ledger, clients, [seed] * len(clients), [directory] * len(clients), chunksize=16
        )
        return [f for files in results for f in files]
