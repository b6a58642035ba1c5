"""The SQL macros that write figures in trigger sentences, checked against the rules written plainly in Python.

The oracle below is the way Vigie wrote figures before sentences moved into the compiled query: exact decimal
rounding half away from zero, thousands grouped with a no-break space (fr) or a comma (en).
"""

import random
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest

from assets.opportunities.wording import MONTHS, NO_VALUE, UNIT_WORDS, WORDING_MACROS

UNITS = ("eur", "share", "pct", "days", "months", "count", "number")


def grouped(number: Decimal, digits: int, language: str) -> str:
    rounded = number.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    rounded = abs(rounded) if rounded == 0 else rounded  # never "-0"
    text = f"{rounded:,.{digits}f}"
    return text.replace(",", "\u00a0").replace(".", ",") if language == "fr" else text


def write_value(value, unit: str, language: str) -> str:
    if value is None:
        return NO_VALUE[language]
    if unit == "date":
        day = date.fromisoformat(str(value))
        first = "1er" if language == "fr" and day.day == 1 else str(day.day)
        return f"{first} {MONTHS[language][day.month - 1]} {day.year}"
    number = Decimal(str(value))
    if unit == "eur":
        return f"{grouped(number, 0, language)} €"
    if unit in ("share", "pct"):
        text = grouped(number * 100, 0 if unit == "share" else 1, language)
        return f"{text} %" if language == "fr" else f"{text}%"
    if unit in UNIT_WORDS["fr"]:
        return f"{grouped(number, 0, language)} {UNIT_WORDS[language][unit]}"
    return grouped(number, 0 if number == number.to_integral_value() else 1, language)


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    connection.execute(WORDING_MACROS)
    yield connection
    connection.close()


def values() -> list[Decimal | None]:
    rng = random.Random(20261205)
    edge = ["0", "0.5", "-0.5", "2.5", "-2.5", "0.04", "-0.04", "0.05", "-0.05", "999.5", "999999.95", "1000",
            "-1234567.89", "12345678901234.56", "0.125", "0.0049", "-0.0051", "7", "1.25", "1.35"]
    drawn = [Decimal(rng.randint(-10**12, 10**12)) / Decimal(10) ** rng.randint(0, 4) for _ in range(400)]
    return [None, *(Decimal(v) for v in edge), *drawn]


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("unit", UNITS)
def test_sql_writes_every_figure_as_the_rules_say(con, unit, language):
    numbers = values()
    written = con.execute("SELECT vigie_write_value(CAST(v AS VARCHAR), $unit, $lang) FROM unnest($values) AS t(v)",
                          {"unit": unit, "lang": language, "values": [None if v is None else str(v)
                                                                       for v in numbers]}).fetchall()
    assert [w for (w,) in written] == [write_value(v, unit, language) for v in numbers]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_dates_and_months_are_written_in_words(con, language):
    days = [date(2026, 3, 1), date(2025, 12, 31), date(2024, 2, 29), date(2026, 8, 15)]
    written = con.execute("SELECT vigie_write_value(CAST(d AS VARCHAR), 'date', $lang), vigie_write_month(d, $lang)"
                          " FROM unnest($days) AS t(d)", {"lang": language, "days": days}).fetchall()
    assert [w for w, _ in written] == [write_value(d, "date", language) for d in days]
    assert [m for _, m in written] == [f"{MONTHS[language][d.month - 1]} {d.year}" for d in days]
    if language == "fr":
        assert written[0] == ("1er mars 2026", "mars 2026")


def test_a_double_is_rounded_on_its_written_digits(con):
    # 0.1 + 0.2 is 0.30000000000000004 as a double: 30 %, never a binary artefact
    assert con.execute("SELECT vigie_write_value(CAST(0.1::DOUBLE + 0.2::DOUBLE AS VARCHAR), 'share', 'fr')"
                       ).fetchone()[0] == "30 %"
    assert con.execute("SELECT vigie_write_value(CAST(0.0125::DOUBLE AS VARCHAR), 'pct', 'en')").fetchone()[0] == "1.3%"
