"""The words a mission condition may use (domain.md §3): indicators, aggregations, operators.

Every indicator is a column of `marts.fct_indicators_monthly` (or a per-client fact computed by the evaluator);
the compiler only ever writes identifiers taken from this table, never text from the catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Indicator:
    unit: str  # eur, days, share, count, months: how a value is written in a trigger sentence
    components: tuple[str, ...] = ()  # account-mapping components it is built from (evidence: which accounts)
    per_month: bool = True  # False: one value per client (evaluated month), not a monthly column
    sum_of_lines: bool = True  # the month's value is the components' ledger lines added up (vigie explain)
    minus: tuple[str, ...] = ()  # components subtracted in that sum, as int_fec__file_indicators_monthly does


INDICATORS: dict[str, Indicator] = {
    "revenue": Indicator("eur", ("revenue",)),
    "purchases_consumed": Indicator("eur", ("purchases_consumed",)),
    "external_charges": Indicator("eur", ("external_charges",)),
    "value_added": Indicator("eur", ("gross_margin_goods", "production", "third_party_consumption"),
                             minus=("third_party_consumption",)),
    "payroll": Indicator("eur", ("payroll",)),
    "ebitda": Indicator("eur", ("gross_margin_goods", "production", "third_party_consumption",
                                "operating_subsidies", "taxes", "staff_costs"),
                        minus=("third_party_consumption", "taxes", "staff_costs")),
    "net_result": Indicator("eur", ("net_result",)),
    "net_result_fiscal_ytd": Indicator("eur", ("net_result",), sum_of_lines=False),
    "total_charges": Indicator("eur", ("total_charges",)),
    "cash_net": Indicator("eur", ("cash_net",)),
    "receivables": Indicator("eur", ("receivables",)),
    "payables": Indicator("eur", ("payables",)),
    "vat_collected": Indicator("eur", ("vat_collected",)),
    "vat_deductible": Indicator("eur", ("vat_deductible",)),
    "dso_days": Indicator("days", ("receivables", "revenue", "vat_collected"), sum_of_lines=False),
    "dpo_days": Indicator("days", ("payables", "purchases_consumed", "external_charges", "vat_deductible"),
                          sum_of_lines=False),
    "revenue_rolling_12m": Indicator("eur", ("revenue",), sum_of_lines=False),
    "payroll_rolling_12m": Indicator("eur", ("payroll",), sum_of_lines=False),
    "estimated_headcount": Indicator("count", ("payroll",), sum_of_lines=False),
    "top_customer_share_12m": Indicator("share", ("receivables",), sum_of_lines=False),
    "equity": Indicator("eur", ("equity",)),
    "share_capital": Indicator("eur", ("share_capital",)),
    "suspense_471_balance": Indicator("eur", ("suspense_471",)),
    "balance_sheet_total": Indicator("eur", ("balance_sheet_total",)),
    "ledger_age_months": Indicator("months", per_month=False, sum_of_lines=False),
}

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
