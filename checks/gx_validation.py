"""Run a Great Expectations 1.x suite on a pandas frame and report failures as readable sentences."""

from __future__ import annotations

import importlib
import logging
import os
import threading
from dataclasses import dataclass, field

import pandas as pd


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
