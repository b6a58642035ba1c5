"""The words a mission condition may use (domain.md §3): indicators, aggregations, operators.

Every indicator is a column of `marts.fct_indicators_monthly` (or a per-client fact computed by the evaluator),
read from that mart's YAML; the compiler only ever writes identifiers taken from this table, never text from the
catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Indicator:
    unit: str  # eur, days, share, count, months: how a value is written in a trigger sentence
    components: tuple[str, ...] = ()  # account-mapping components it is built from (evidence: which accounts)
    per_month: bool = True  # False: one value per client (evaluated month), not a monthly column
    sum_of_lines: bool = True  # the month's value is the components' ledger lines added up (vigie explain)
    minus: tuple[str, ...] = ()  # components subtracted in that sum, as int_fec__file_indicators_monthly does


# The list of indicators has one owner: the YAML of the mart they are columns of, where each carries its unit, its
# components and how it adds up (its `indicator` meta), with the per-client ones in the model's meta.
INDICATORS_YAML = (Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "marts" / "accounting"
                   / "fct_indicators_monthly.yml")


def load_indicators(path: Path = INDICATORS_YAML) -> dict[str, Indicator]:
    """Every indicator of the mart's YAML, monthly columns first (in column order), then the per-client ones."""
    (model,) = (m for m in yaml.safe_load(path.read_text(encoding="utf-8"))["models"]
                if m["name"] == "fct_indicators_monthly")
    indicators = {}
    for column in model["columns"]:
        if spec := column.get("config", {}).get("meta", {}).get("indicator"):
            indicators[column["name"]] = _indicator(spec, per_month=True)
    for name, spec in model["config"]["meta"]["indicators_per_client"].items():
        indicators[name] = _indicator(spec, per_month=False)
    return indicators


def _indicator(spec: dict, per_month: bool) -> Indicator:
    return Indicator(unit=spec["unit"], components=tuple(spec.get("components", ())), per_month=per_month,
                     sum_of_lines=per_month and spec.get("sum_of_lines", True), minus=tuple(spec.get("minus", ())))


INDICATORS: dict[str, Indicator] = load_indicators()

AGGREGATIONS = ("sum", "avg", "min", "max")
CHANGES = ("abs", "pct")  # change over N months: difference, or relative difference (share of the old value)
OPERATORS = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "=": "=", "!=": "<>"}
DIRECTIONS = ("rising", "falling")
KINDS = ("trigger", "attention_point")
MAX_MONTHS = 60  # the longest window a condition may look back over


def known(words, what: str, value) -> str:
    """`value` if it is one of `words`, else a ValueError that lists them."""
    if value in words:
        return value
    raise ValueError(f"unknown {what} {value!r}; known: {', '.join(words)}")
