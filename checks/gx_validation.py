"""Run a Great Expectations 1.x suite on a pandas frame and report failures as readable sentences."""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import threading
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd

from assets.atomic_files import write_text_atomically

CHECKS_DIR = Path(__file__).resolve().parent
log = logging.getLogger("vigie.checks")


@dataclass(frozen=True)
class ValidationOutcome:
    """`failures` break a blocking (critical) expectation; `warnings` break one of severity warning or info."""

    suite: str
    evaluated: int
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures and not self.warnings

    @property
    def blocking(self) -> bool:
        return bool(self.failures)


def load_great_expectations() -> None:
    """Import the GX package (about 3 s) in a background thread: a run starts it while it waits for dbt, so the
    quality checks after dbt find it loaded. An import already under way makes the checks wait for it, never
    import twice (Python's import lock)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    threading.Thread(target=importlib.import_module, args=("great_expectations",), name="load-gx",
                     daemon=True).start()


def validate_frame(frame: pd.DataFrame, suite_name: str, expectations: list) -> ValidationOutcome:
    """Validate `frame` against `expectations` (GX expectation objects) in an ephemeral GX context."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # GX pins some of its loggers to INFO on import; their chatter belongs in debug logs, not the run's output.
    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.WARNING)

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (context.data_sources.add_pandas(suite_name)
             .add_dataframe_asset(suite_name)
             .add_batch_definition_whole_dataframe("whole")
             .get_batch(batch_parameters={"dataframe": frame}))
    suite = gx.ExpectationSuite(name=suite_name, expectations=expectations)
    result = batch.validate(suite)
    failed = [r for r in result.results if not r.success]
    critical = [_describe(r) for r in failed if _is_critical(r)]
    return ValidationOutcome(suite_name, len(result.results), critical,
                             [_describe(r) for r in failed if not _is_critical(r)])


def _is_critical(result) -> bool:
    return str(getattr(result.expectation_config, "severity", "critical")).lower().endswith("critical")


def _describe(result) -> str:
    config = result.expectation_config
    column = config.kwargs.get("column", "")
    examples = result.result.get("partial_unexpected_list") or []
    count = result.result.get("unexpected_count")
    detail = f"{count} unexpected value(s), e.g. {examples[:3]}" if count is not None else "failed"
    return f"{config.type} on {column or 'table'}: {detail}"


class OutcomeCache:
    """The outcome of each suite on the content it last validated, so that a morning whose table came out as the
    day before reports that outcome without loading GX: importing it was 3 to 4 s of a 20 s unchanged run, the
    validation itself a tenth of that. GX is deterministic on a frame, so the outcome is the one a new validation
    would give. Written whole (assets/atomic_files.py): a run killed while writing leaves the previous cache, and an
    unreadable one only means validating again."""

    def __init__(self, path: Path):
        self.path = path

    def outcome(self, table: str, key: str | None) -> tuple[ValidationOutcome, str] | None:
        """The outcome recorded for this table and key, with the run that validated it."""
        entry = self._entries().get(table) if key else None
        if not entry or entry.get("key") != key:
            return None
        try:
            return ValidationOutcome(**entry["outcome"]), entry["run_id"]
        except (KeyError, TypeError):
            return None

    def record(self, table: str, key: str | None, outcome: ValidationOutcome, run_id: str) -> None:
        if not key:
            return
        entries = self._entries()  # read again: each check of a run records its own table
        entries[table] = {"key": key, "outcome": asdict(outcome), "run_id": run_id}
        try:
            write_text_atomically(self.path, json.dumps(entries, sort_keys=True))
        except OSError as error:  # a full disk: the outcome stands, the next run validates again
            log.warning("the outcome of the %s suite is not kept for the next run: %s", table, error)

    def _entries(self) -> dict:
        try:
            entries = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return entries if isinstance(entries, dict) else {}


def validation_key(frame: pd.DataFrame) -> str | None:
    """What a suite's outcome depends on: the frame's columns, types and rows (in any order: every expectation
    of checks/suites.py is about values, none about their order), the suites' code, and the versions of GX and of
    the pandas it runs on. None when a column's values cannot be hashed (the frame is then always validated)."""
    digest = hashlib.sha256()
    for name in ("suites.py", "gx_validation.py"):
        digest.update((CHECKS_DIR / name).read_bytes())
    try:
        digest.update(f"{version('great_expectations')} {pd.__version__}".encode())
    except PackageNotFoundError:
        return None
    digest.update(json.dumps([[str(c), str(t)] for c, t in frame.dtypes.items()]).encode())
    try:
        rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    except TypeError:  # unhashable values (lists, dicts)
        return None
    digest.update(np.sort(rows).tobytes())
    return digest.hexdigest()
