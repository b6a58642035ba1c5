"""Figures written the way the firm reads them, in French or English: trigger sentences use these forms."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from assets.opportunities.catalogue import Operand, Reported
from assets.opportunities.vocabulary import INDICATORS

MONTHS = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}
UNIT_WORDS = {"fr": {"days": "jours", "months": "mois"}, "en": {"days": "days", "months": "months"}}


def unit_of(reported: Reported, threshold_units: dict[str, str]) -> str:
    """eur, days, share, pct, count, months, number or date: how a reported value is written."""
    if reported.kind == "indicator":
        return INDICATORS[reported.node].unit
    if reported.kind == "threshold":
        return threshold_units.get(reported.node, "number")
    if reported.kind == "months":
        return "count"
    if reported.kind == "deadline":
        return "date"
    operand: Operand = reported.node
    if operand.change == "pct":
        return "pct"
    if operand.threshold:
        return threshold_units.get(operand.threshold, "number")
    return INDICATORS[operand.indicator].unit if operand.indicator else "number"


def write_value(value, unit: str, language: str) -> str:
    if value is None:
        return "—" if language == "fr" else "n/a"
    if unit == "date":
        return write_date(date.fromisoformat(str(value)), language)
    number = Decimal(str(value))
    if unit == "eur":
        return f"{_grouped(number, 0, language)} €"
    if unit in ("share", "pct"):
        digits = 0 if unit == "share" else 1
        return f"{_grouped(number * 100, digits, language)} %" if language == "fr" else \
            f"{_grouped(number * 100, digits, language)}%"
    if unit in UNIT_WORDS["fr"]:
        return f"{_grouped(number, 0, language)} {UNIT_WORDS[language][unit]}"
    digits = 0 if number == number.to_integral_value() else 1
    return _grouped(number, digits, language)


def write_month(month: date, language: str) -> str:
    return f"{MONTHS[language][month.month - 1]} {month.year}"


def write_date(day: date, language: str) -> str:
    if language == "fr":
        return f"{'1er' if day.day == 1 else day.day} {MONTHS['fr'][day.month - 1]} {day.year}"
    return f"{day.day} {MONTHS['en'][day.month - 1]} {day.year}"


def _grouped(number: Decimal, digits: int, language: str) -> str:
    """Thousands grouped and decimals shown the national way: 12 345,6 (fr), 12,345.6 (en)."""
    rounded = number.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    text = f"{rounded:,.{digits}f}"
    if language == "fr":
        text = text.replace(",", "\u00a0").replace(".", ",")
    return text
