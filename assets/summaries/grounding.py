"""The grounding check: every number and date in a written card must appear in the facts it was written from.

Text is scanned for dates first (ISO, 31/10/2026, 31 octobre 2026, October 31, 2026, octobre 2026, 10/2026,
31 octobre), then for numbers (12 345,60 / 12,345.60 / 12.345,60 / 37,5 / 60 %). A written form that two
conventions read differently (1,500 is 1.5 in French and 1500 in English; 01/02/2026 is 1 February or 2 January)
passes when either reading is in the facts; a space-grouped number ('3 120') passes as one number or as its
parts. Signs are ignored: a credit note of -100 may be written '100'. The facts give the allowed values: every
number, every ISO date, and everything the same scanner finds in their texts and keys (notes, product names,
trigger sentences, years as keys)."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

_MONTHS = {
    "janvier": 1, "janv": 1, "février": 2, "fevrier": 2, "févr": 2, "fevr": 2, "mars": 3, "avril": 4, "avr": 4,
    "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "août": 8, "aout": 8, "septembre": 9, "sept": 9,
    "octobre": 10, "novembre": 11, "décembre": 12, "decembre": 12, "déc": 12,
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sep": 9, "october": 10,
    "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}
# longest names first, so 'septembre' is not read as 'sept'; a month name is a whole word. The lookahead on
# the initials lets the scan skip most positions at once (the alternation is slow to try everywhere).
_MONTH_INITIALS = "".join(sorted({name[0] + name[0].upper() for name in _MONTHS}))
_MONTH_NAMES = "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True))
_MONTH = rf"(?=[{_MONTH_INITIALS}])(?<![^\W\d_])(?P<month>{_MONTH_NAMES})(?![^\W\d_])\.?"
_DAY = r"(?<!\d)(?P<day>\d{1,2})(?:er|re|e|st|nd|rd|th)?"
_YEAR = r"(?P<year>\d{4})(?!\d)"
_SPACE = r"[\s\u00a0\u202f]+"

_ISO_DATE = re.compile(r"(?<!\d)(?P<year>\d{4})([-/])(?P<month>\d{1,2})\2(?P<day>\d{1,2})(?!\d)")
# not inside a longer run of numbers and separators; a sentence's full stop may follow
_NUMERIC_DATE = re.compile(
    r"(?<![\d/])(?<!\d[.-])(?P<a>\d{1,2})([/.-])(?P<b>\d{1,2})\2(?P<year>\d{4})(?!\d|[/.-]\d)")
_DAY_MONTH_YEAR = re.compile(_DAY + _SPACE + r"(?:de" + _SPACE + r")?" + _MONTH + r",?" + _SPACE + _YEAR,
                             re.IGNORECASE)
_MONTH_DAY_YEAR = re.compile(_MONTH + _SPACE + _DAY + r",?" + _SPACE + _YEAR, re.IGNORECASE)
_MONTH_YEAR = re.compile(_MONTH + _SPACE + r"(?:(?:de|of)" + _SPACE + r")?" + _YEAR, re.IGNORECASE)
_NUMERIC_MONTH_YEAR = re.compile(r"(?<![\d/.-])(?P<month>\d{1,2})/(?P<year>\d{4})(?![\d/])")
_DAY_MONTH = re.compile(_DAY + _SPACE + r"(?:de" + _SPACE + r")?" + _MONTH, re.IGNORECASE)
_MONTH_DAY = re.compile(_MONTH + _SPACE + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?(?!\d)", re.IGNORECASE)
_NUMBER = re.compile(
    r"(?<!\d)(?:"
    r"\d{1,3}(?:[\x20\u00a0\u202f]\d{3})+(?:[.,]\d+)?"  # 12 345,60
    r"|\d{1,3}(?:,\d{3})+(?:\.\d+)?"  # 12,345.60
    r"|\d{1,3}(?:\.\d{3})+(?:,\d+)?"  # 12.345,60
    r"|\d+(?:[.,]\d+)?"
    r")(?!\d)"
)
_DIGIT = re.compile(r"\d")
_GROUP_SPACE = re.compile(r"[\x20\u00a0\u202f]")
_ISO_VALUE = re.compile(r"\d{4}-\d{2}-\d{2}")
# four-digit whole numbers in this range read as years
_YEARS = range(1900, 2101)


@dataclass(frozen=True)
class Token:
    """A number or date found in a text, with every value its written form can mean."""

    text: str
    kind: str  # date, month_year, day_month, month_day, number
    values: frozenset
    parts: tuple[frozenset, ...] = ()  # a space-grouped number's groups, each read alone


@dataclass
class _Allowed:
    numbers: set[Decimal] = field(default_factory=set)
    dates: set[date] = field(default_factory=set)
    month_years: set[tuple[int, int]] = field(default_factory=set)
    day_months: set[tuple[int, int]] = field(default_factory=set)
    years: set[int] = field(default_factory=set)

    def add_date(self, day: date) -> None:
        self.dates.add(day)
        self.month_years.add((day.year, day.month))
        self.day_months.add((day.month, day.day))
        self.years.add(day.year)

    def add(self, token: Token) -> None:
        if token.kind == "date":
            for day in token.values:
                self.add_date(day)
        elif token.kind == "month_year":
            self.month_years.update(token.values)
            self.years.update(year for year, _ in token.values)
        elif token.kind in ("day_month", "month_day"):
            self.day_months.update(token.values)
        else:
            self.numbers.update(token.values)
            for part in token.parts:
                self.numbers.update(part)

    def allows(self, token: Token) -> bool:
        if token.kind == "date":
            return bool(token.values & self.dates)
        if token.kind == "month_year":
            return bool(token.values & self.month_years)
        if token.kind == "day_month":
            return bool(token.values & self.day_months)
        if token.kind == "month_day":
            # 'in March 12 invoices' reads as a date too: the number alone may be the fact
            return bool(token.values & self.day_months) or any(Decimal(d) in self.numbers for _, d in token.values)
        return self._allows_number(token.values) or bool(token.parts) and all(
            self._allows_number(part) for part in token.parts)

    def _allows_number(self, values: frozenset) -> bool:
        return any(v in self.numbers or (v == v.to_integral_value() and int(v) in _YEARS and int(v) in self.years)
                   for v in values)


@dataclass(frozen=True)
class GroundingResult:
    invented: tuple[str, ...]  # the numbers and dates, as written, that the facts do not hold

    @property
    def passed(self) -> bool:
        return not self.invented


def check_grounding(texts: Iterable[str], facts) -> GroundingResult:
    """Every number and date written in `texts` must be in `facts` (any JSON-like value)."""
    allowed = allowed_values(facts)
    invented: list[str] = []
    for text in texts:
        for token in find_tokens(text):
            if not allowed.allows(token) and token.text not in invented:
                invented.append(token.text)
    return GroundingResult(tuple(invented))


def allowed_values(facts) -> _Allowed:
    allowed = _Allowed()
    _collect(facts, allowed)
    return allowed


def _collect(value, allowed: _Allowed) -> None:
    # concrete types, most frequent first: this runs over every value of every client's facts
    if isinstance(value, str):
        if _ISO_VALUE.fullmatch(value) and (day := _date(int(value[:4]), int(value[5:7]), int(value[8:]))):
            allowed.add_date(day)
            return
        for token in find_tokens(value):
            allowed.add(token)
    elif isinstance(value, dict):
        for key, item in value.items():
            _collect(str(key), allowed)
            _collect(item, allowed)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, allowed)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float | Decimal):
        allowed.numbers.add(abs(Decimal(str(value))))
    elif isinstance(value, date):
        allowed.add_date(value)


def find_tokens(text: str) -> list[Token]:
    """The dates and numbers written in `text`, in reading order. Dates are found first and blanked out (same
    length, so positions hold) before numbers are read."""
    if not _DIGIT.search(text):
        return []  # every date and number form has a digit: most fact texts are skipped at once
    found_at: list[tuple[int, Token]] = []
    for pattern, kind, values in _DATE_PATTERNS:
        def blank(match: re.Match, kind=kind, values=values) -> str:
            found = values(match)
            if not found:
                return match.group(0)  # not a real date (month 13...): its digits are read as numbers
            # an abbreviated month's dot is part of the match, a full stop after a month name is not the date's
            found_at.append((match.start(), Token(match.group(0).rstrip("."), kind, frozenset(found))))
            return " " * len(match.group(0))
        text = pattern.sub(blank, text)
    for match in _NUMBER.finditer(text):
        written = match.group(0)
        groups = _GROUP_SPACE.split(written)
        parts = tuple(frozenset(_number_values(group)) for group in groups) if len(groups) > 1 else ()
        found_at.append((match.start(), Token(written, "number", frozenset(_number_values(written)), parts)))
    return [token for _, token in sorted(found_at, key=lambda item: item[0])]


def _number_values(written: str) -> set[Decimal]:
    """Every value a written number can mean: '1,500' is 1.5 (French) or 1500 (English)."""
    compact = _GROUP_SPACE.sub("", written)
    separators = [s for s in ",." if s in compact]
    readings: list[str] = []
    if len(separators) == 2:
        decimal_mark = compact[max(compact.rfind(","), compact.rfind("."))]
        grouping = "," if decimal_mark == "." else "."
        readings.append(compact.replace(grouping, "").replace(decimal_mark, "."))
    elif separators:
        pieces = compact.split(separators[0])
        if len(pieces) == 2:
            readings.append(f"{pieces[0]}.{pieces[1]}")
        if all(len(piece) == 3 for piece in pieces[1:]):
            readings.append("".join(pieces))
    else:
        readings.append(compact)
    values = set()
    for reading in readings:
        try:
            values.add(Decimal(reading))
        except InvalidOperation:
            continue
    return values


def _date(year: int, month: int, day: int) -> date | None:
    if 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1] and year >= 1:
        return date(year, month, day)
    return None


def _month(match: re.Match) -> int:
    return _MONTHS[match.group("month").lower()]


def _iso(match: re.Match) -> set:
    found = _date(int(match.group("year")), int(match.group("month")), int(match.group("day")))
    return {found} if found else set()


def _numeric(match: re.Match) -> set:
    a, b, year = int(match.group("a")), int(match.group("b")), int(match.group("year"))
    return {d for d in (_date(year, b, a), _date(year, a, b)) if d}  # day/month, or month/day in English


def _worded(match: re.Match) -> set:
    found = _date(int(match.group("year")), _month(match), int(match.group("day")))
    return {found} if found else set()


def _month_year(match: re.Match) -> set:
    return {(int(match.group("year")), _month(match))}


def _numeric_month_year(match: re.Match) -> set:
    month = int(match.group("month"))
    return {(int(match.group("year")), month)} if 1 <= month <= 12 else set()


def _day_month(match: re.Match) -> set:
    day = int(match.group("day"))
    return {(_month(match), day)} if 1 <= day <= 31 else set()


_DATE_PATTERNS = (
    (_ISO_DATE, "date", _iso),
    (_NUMERIC_DATE, "date", _numeric),
    (_DAY_MONTH_YEAR, "date", _worded),
    (_MONTH_DAY_YEAR, "date", _worded),
    (_MONTH_YEAR, "month_year", _month_year),
    (_NUMERIC_MONTH_YEAR, "month_year", _numeric_month_year),
    (_DAY_MONTH, "day_month", _day_month),
    (_MONTH_DAY, "month_day", _day_month),
)
