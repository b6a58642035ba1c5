"""Figures written the way the firm reads them, in French or English, by DuckDB macros: trigger sentences are
built in the compiled query, so a hundred thousand sentences cost one vectorised pass, not a Python loop.

`12345.6` reads `12 346 €` (fr) or `12,346 €` (en); shares and percentages `12 %` / `12.3%`; days and months
`45 jours`; dates `1er mars 2026`; months `mars 2026`; a missing value `—` (fr) or `n/a` (en). Rounding is half
away from zero on the exact decimal value, as an accountant rounds.
"""

from __future__ import annotations

import string

from assets.opportunities.catalogue import Operand, Reported
from assets.opportunities.vocabulary import INDICATORS

MONTHS = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}
UNIT_WORDS = {"fr": {"days": "jours", "months": "mois"}, "en": {"days": "days", "months": "months"}}
NO_VALUE = {"fr": "—", "en": "n/a"}
LANGUAGES = tuple(MONTHS)


def _list(words) -> str:
    return "[" + ", ".join("'" + w + "'" for w in words) + "]"  # our constants above, never catalogue text


def _by_language(words: dict[str, str]) -> str:
    return "CASE lang " + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in words.items()) + " END"


# `v` is the value as text (DuckDB's shortest exact rendering of a decimal, double, integer or date), `lang` fr or
# en. The number is read back as DECIMAL so rounding happens on the written digits, never on a binary double, and
# it is printed as integers (format() would print a decimal through a double: `3,000.0`). TRY_CAST because DuckDB
# may fold a constant through every branch; the value is typed by the compiled query, so it always reads.
WORDING_MACROS = f"""
CREATE OR REPLACE TEMP MACRO vigie_grouped_en(d, digits) AS (
    CASE WHEN digits = 0 THEN format('{{:,}}', CAST(round(d, 0) AS HUGEINT))
         ELSE CASE WHEN round(d, 1) < 0 THEN '-' ELSE '' END
              || format('{{:,}}', CAST(trunc(abs(round(d, 1))) AS HUGEINT))
              || '.' || CAST(CAST(abs(round(d, 1)) * 10 AS HUGEINT) % 10 AS VARCHAR) END);
CREATE OR REPLACE TEMP MACRO vigie_grouped(d, digits, lang) AS (
    CASE WHEN lang = 'fr'
         THEN replace(replace(vigie_grouped_en(d, digits), ',', chr(160)), '.', ',')
         ELSE vigie_grouped_en(d, digits) END);
CREATE OR REPLACE TEMP MACRO vigie_write_month(m, lang) AS (
    CASE lang WHEN 'fr' THEN {_list(MONTHS['fr'])}[month(m)] ELSE {_list(MONTHS['en'])}[month(m)] END
    || ' ' || year(m));
CREATE OR REPLACE TEMP MACRO vigie_write_date(d, lang) AS (
    CASE WHEN lang = 'fr' AND day(d) = 1 THEN '1er' ELSE CAST(day(d) AS VARCHAR) END
    || ' ' || vigie_write_month(d, lang));
CREATE OR REPLACE TEMP MACRO vigie_write_number(d, unit, lang) AS (
    CASE WHEN unit = 'eur' THEN vigie_grouped(d, 0, lang) || ' €'
         WHEN unit IN ('share', 'pct')
         THEN vigie_grouped(d * 100, CASE unit WHEN 'share' THEN 0 ELSE 1 END, lang)
              || CASE lang WHEN 'fr' THEN ' %' ELSE '%' END
         WHEN unit = 'days' THEN vigie_grouped(d, 0, lang) || ' ' || {_by_language({k: v['days'] for k, v in
                                                                                       UNIT_WORDS.items()})}
         WHEN unit = 'months' THEN vigie_grouped(d, 0, lang) || ' ' || {_by_language({k: v['months'] for k, v in
                                                                                         UNIT_WORDS.items()})}
         ELSE vigie_grouped(d, CASE WHEN d = round(d, 0) THEN 0 ELSE 1 END, lang) END);
CREATE OR REPLACE TEMP MACRO vigie_write_value(v, unit, lang) AS (
    CASE WHEN v IS NULL THEN {_by_language(NO_VALUE)}
         WHEN unit = 'date' THEN vigie_write_date(TRY_CAST(v AS DATE), lang)
         ELSE vigie_write_number(TRY_CAST(v AS DECIMAL(38, 10)), unit, lang) END);
"""


def unit_of(reported: Reported) -> str | None:
    """eur, days, share, pct, count, months, number or date: how a reported value is written. None for a
    threshold's own value, whose unit the `thresholds` seed gives (see compiler.unit_sql)."""
    if reported.kind == "indicator":
        return INDICATORS[reported.node].unit
    if reported.kind == "threshold":
        return None
    if reported.kind == "months":
        return "count"
    if reported.kind == "deadline":
        return "date"
    operand: Operand = reported.node
    if operand.change == "pct":
        return "pct"
    if operand.threshold:
        return None
    return INDICATORS[operand.indicator].unit if operand.indicator else "number"


def template_parts(template: str) -> list[tuple[str, str | None]]:
    """(literal text, field name or None) pairs of a trigger sentence; the catalogue checked the fields."""
    return [(literal, name) for literal, name, _, _ in string.Formatter().parse(template)]
