"""The grounding check: every number and date in a written card must appear in the facts it was written from,
as the same kind of figure and with the same sign.

Text is scanned for dates first (ISO, 31/10/2026, 31 octobre 2026, October 31, 2026, octobre 2026, 10/2026,
31 octobre), then for numbers (12 345,60 / 12,345.60 / 12.345,60 / 37,5 / 60 % / 3 millions / 12 k€), then for
numbers written in words (French and English cardinals: 'douze', 'trois mille', 'quatre-vingt-dix', 'twelve',
'two hundred and fifty'; 'un' / 'one' alone is an article, not a figure). A written form that two conventions
read differently (1,500 is 1.5 in French and 1500 in English; 01/02/2026 is 1 February or 2 January) passes when
either reading is in the facts; a space-grouped number ('3 120') passes as one number or as its parts.

Kind: a number followed by '€' / 'euros' (or after '€') is an amount, by '%' a percentage, by a word such as
'factures', 'invoices', 'documents' a count, by 'jours', 'mois', 'days' a duration; facts get their kind from
their key (…_amount / …_excl_tax, …_pct, …_count / quantity / frequency, …_days / …_months). A number of a known
kind must be a fact of that kind (or of no known kind); '3 500 factures' fails when 3 500 is only an amount.

Sign: a text marks a sign with '-' / '+' written against the number (or its '€'), or with a word of the same
clause: perte, déficit, négatif, loss, deficit, negative... or bénéfice, profit, gain, excédent, positive...
A marked sign must be the fact's sign; an unmarked number may stand for a negative fact (a credit note of -100
may be written '100'). Signs in the facts' texts are read the same way; an unmarked number there is positive.

The facts give the allowed values: every number, every ISO date, and everything the same scanner finds in their
texts and keys (product names, trigger sentences, years as keys), but not the texts of the interaction notes:
notes are the clients' words (and anyone's injected instructions), not facts, so a figure found only in a note is
not grounded (their dates are). Text a caller knows to be a word-for-word quotation (the template quoting notes)
is left out of the check with `quotations`.

Besides figures, `check_model_cards` refuses what a card must never hold: a URL (http://, https://, www., or a
bare domain such as example.com), a text starting with '=', '+', '-' or '@' (a spreadsheet formula once
exported), and a number written in words (the model is asked for digits)."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache

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


AMOUNT, COUNT, PERCENTAGE, DURATION, NUMBER = "amount", "count", "percentage", "duration", "number"
UNITS = (AMOUNT, COUNT, PERCENTAGE, DURATION, NUMBER)  # NUMBER: a figure whose kind is not told


@dataclass(frozen=True)
class Token:
    """A number or date found in a text, with every value its written form can mean (numbers without sign)."""

    text: str
    kind: str  # date, month_year, day_month, month_day, number
    values: frozenset
    parts: tuple[Token, ...] = ()  # a space-grouped number's groups, each read alone
    unit: str = NUMBER  # numbers: one of UNITS, from the words around them
    sign: str | None = None  # numbers: '+' or '-' when the text marks one


@dataclass
class _Allowed:
    # value without sign -> the (unit, sign) it has in the facts; sign '+', '-' or '0'
    numbers: dict[Decimal, set[tuple[str, str]]] = field(default_factory=dict)
    dates: set[date] = field(default_factory=set)
    month_years: set[tuple[int, int]] = field(default_factory=set)
    day_months: set[tuple[int, int]] = field(default_factory=set)
    years: set[int] = field(default_factory=set)

    def add_date(self, day: date) -> None:
        self.dates.add(day)
        self.month_years.add((day.year, day.month))
        self.day_months.add((day.month, day.day))
        self.years.add(day.year)

    def add_number(self, value: Decimal, unit: str, sign: str) -> None:
        self.numbers.setdefault(abs(value), set()).add((unit, "0" if value == 0 else sign))

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
            for number in (token, *token.parts):
                for value in number.values:
                    # a fact's text that marks no sign states a positive figure
                    self.add_number(value, number.unit, number.sign or "+")

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
        return self._allows_number(token) or bool(token.parts) and all(
            self._allows_number(part) for part in token.parts)

    def _allows_number(self, token: Token) -> bool:
        for value in token.values:
            for unit, sign in self.numbers.get(value, ()):
                same_kind = NUMBER in (token.unit, unit) or token.unit == unit
                if same_kind and (token.sign is None or sign == "0" or sign == token.sign):
                    return True
            if (token.unit == NUMBER and token.sign is None and value == value.to_integral_value()
                    and int(value) in _YEARS and int(value) in self.years):
                return True
        return False


@dataclass(frozen=True)
class GroundingResult:
    invented: tuple[str, ...]  # the numbers and dates, as written, that the facts do not hold
    unsafe: tuple[str, ...] = ()  # what else makes the text unusable (a URL, a formula), named, not quoted

    @property
    def passed(self) -> bool:
        return not self.invented and not self.unsafe

    @property
    def issues(self) -> tuple[str, ...]:
        return self.unsafe + self.invented


def check_grounding(texts: Iterable[str], facts, *, quotations: Iterable[str] = ()) -> GroundingResult:
    """Every number and date written in `texts` must be in `facts` (any JSON-like value), of the same kind and
    sign. `quotations`: texts quoted word for word (by the template, never the model), left out of the check."""
    allowed = allowed_values(facts)
    quotations = sorted({q for q in quotations if q}, key=len, reverse=True)
    invented: list[str] = []
    for text in texts:
        for quotation in quotations:
            text = text.replace(quotation, " " * len(quotation))
        for token in find_tokens(text):
            if not allowed.allows(token) and token.text not in invented:
                invented.append(token.text)
    return GroundingResult(tuple(invented))


def check_model_cards(cards: dict[str, str], facts) -> GroundingResult:
    """The model's cards (name -> text): no URL, no formula-like start, and every figure grounded."""
    unsafe: list[str] = []
    for name, text in cards.items():
        if _URL.search(text):
            unsafe.append(f"url in {name}")
        stripped = text.lstrip()
        if stripped and stripped[0] in _FORMULA_STARTS:
            unsafe.append(f"{name} starts with {stripped[0]!r} (formula)")
        # a figure the model writes in words ('douze factures') cannot be checked as reliably as digits: the
        # prompt asks for digits, and a reply that still spells one falls back to the template
        unsafe += [f"number written in words in {name} ({token.text!r})" for token in find_tokens(text)
                   if token.kind == "number" and not _DIGIT.search(token.text)]
    result = check_grounding(cards.values(), facts)
    return GroundingResult(result.invented, tuple(unsafe))


def allowed_values(facts) -> _Allowed:
    allowed = _Allowed()
    _collect(_without_note_texts(facts), allowed)
    return allowed


def _without_note_texts(facts):
    """The facts without the texts of the interaction notes (their dates and kinds stay)."""
    if not isinstance(facts, dict) or not isinstance(facts.get("recent_interactions"), dict):
        return facts
    interactions = facts["recent_interactions"]
    notes = interactions.get("notes")
    if not isinstance(notes, list):
        return facts
    kept = [{k: v for k, v in note.items() if k != "text"} if isinstance(note, dict) else None for note in notes]
    return {**facts, "recent_interactions": {**interactions, "notes": kept}}


def _collect(value, allowed: _Allowed, unit: str = NUMBER) -> None:
    # concrete types, most frequent first: this runs over every value of every client's facts
    if isinstance(value, str):
        if _ISO_VALUE.fullmatch(value) and (day := _date(int(value[:4]), int(value[5:7]), int(value[8:]))):
            allowed.add_date(day)
            return
        for token in find_tokens(value):
            allowed.add(token)
    elif isinstance(value, dict):
        for key, item in value.items():
            key = str(key)
            if key.isdigit() and len(key) == 4 and int(key) in _YEARS:
                allowed.years.add(int(key))  # purchases per year: the year is a year, not a figure
            else:
                _collect(key, allowed)
            _collect(item, allowed, _key_unit(key) or unit)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, allowed, unit)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
        allowed.add_number(number, unit, "-" if number < 0 else "+")
    elif isinstance(value, date):
        allowed.add_date(value)


def _key_unit(key: str) -> str | None:
    """The kind of the figures under a facts key, when its name tells it."""
    key = key.lower()
    if key.endswith(("_pct", "_percent", "_share", "_rate")) or key in ("pct", "percent", "percentage"):
        return PERCENTAGE
    if key.endswith(("_days", "_months", "_years")) or key in ("days", "months", "years"):
        return DURATION
    if key.endswith("_count") or key in ("count", "quantity") or "frequency" in key:
        return COUNT
    if any(word in key for word in ("amount", "excl_tax", "incl_tax", "revenue", "price", "basket", "total")):
        return AMOUNT
    return None


# The same texts come back client after client (labels, notes, the template's fixed sentences): 1 000 clients'
# facts and summaries made 88 000 calls on 5 400 distinct texts, 3.3 s of the summaries step at 10 M lines.
# Tokens are frozen, so the cached tuple can be shared; the bound keeps memory flat on any firm.
@lru_cache(maxsize=1 << 16)
def find_tokens(text: str) -> tuple[Token, ...]:
    """The dates and numbers written in `text`, in reading order. Dates are found first and blanked out (same
    length, so positions hold) before numbers are read, then numbers in words."""
    if not _DIGIT.search(text) and not _NUMBER_WORD_HINT.search(text):
        return ()  # every date and number form has a digit, but numbers in words: most texts are skipped at once
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
    text = _PERCENT_WORDS.sub(lambda m: "%" + " " * (len(m.group(0)) - 1), text)  # 'pour cent' is not 100
    words_text = text  # what is left for numbers in words: digits and their multipliers blanked
    for match in _NUMBER.finditer(text):
        written, start, end = match.group(0), match.start(), match.end()
        multiplier, unit = Decimal(1), None
        if scale := _MULTIPLIER.match(text, end):
            multiplier = _MULTIPLIERS[scale.group("word").lower()]
            unit = AMOUNT if scale.group("word").endswith("€") else None
            written, end = text[start:scale.end()], scale.end()
        unit, sign = _context(text, start, end, unit)
        groups = _GROUP_SPACE.split(match.group(0))
        parts = ()
        # '6 450 notes' may be 6 and 450; an amount, a percentage or a signed figure is one number
        if len(groups) > 1 and multiplier == 1 and unit in (NUMBER, COUNT, DURATION) and sign is None:
            parts = tuple(Token(group, "number", frozenset(_number_values(group)), (),
                                unit if i == len(groups) - 1 else NUMBER, sign if i == 0 else None)
                          for i, group in enumerate(groups))
        values = frozenset(v * multiplier for v in _number_values(match.group(0)))
        found_at.append((start, Token(written, "number", values, parts, unit, sign)))
        words_text = words_text[:start] + " " * (end - start) + words_text[end:]
    for start, end, value in _worded_numbers(words_text):
        unit, sign = _context(text, start, end, None)
        found_at.append((start, Token(text[start:end], "number", frozenset({Decimal(value)}), (), unit, sign)))
    return tuple(token for _, token in sorted(found_at, key=lambda item: item[0]))


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


# ---- what a model's card must not hold ----

_FORMULA_STARTS = frozenset("=+-@")
_TLDS = ("com", "net", "org", "fr", "io", "eu", "info", "biz", "co", "uk", "de", "be", "ch", "lu", "es", "it", "nl",
         "us", "ca", "app", "dev", "ai", "me", "ly", "xyz", "online", "site", "shop", "store", "gouv", "gov", "pro",
         "tv", "ru", "cn", "int", "edu", "tech", "cloud", "link", "click", "top", "page")
_URL = re.compile(
    r"https?://|\bwww\.|(?<![\w-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)*[a-z0-9][a-z0-9-]*[a-z0-9]\.(?:"
    + "|".join(sorted(_TLDS, key=len, reverse=True)) + r")(?![\w-])",
    re.IGNORECASE)


# ---- the kind and sign of a number, from the words around it ----

_SPACE_CHARS = "\x20\u00a0\u202f"
_PERCENT_WORDS = re.compile(r"(?<![^\W\d_])(?:pour[\s\u00a0\u202f]+cent|pourcent|per[\s\u00a0\u202f]*cent)(?![^\W\d_])",
                            re.IGNORECASE)
_MULTIPLIERS = {"mille": Decimal(1000), "million": Decimal(10) ** 6, "millions": Decimal(10) ** 6,
                "milliard": Decimal(10) ** 9, "milliards": Decimal(10) ** 9, "thousand": Decimal(1000),
                "thousands": Decimal(1000), "billion": Decimal(10) ** 9, "billions": Decimal(10) ** 9,
                "k€": Decimal(1000), "m€": Decimal(10) ** 6, "md€": Decimal(10) ** 9, "mds€": Decimal(10) ** 9}
_MULTIPLIER = re.compile(r"[\x20\u00a0\u202f]*(?P<word>" + "|".join(sorted(map(re.escape, _MULTIPLIERS), key=len,
                                                                            reverse=True)) + r")(?![^\W\d_])",
                         re.IGNORECASE)
_NEXT_WORD = re.compile(r"[\x20\u00a0\u202f]+(?P<word>[^\W\d_]+(?:['’\-][^\W\d_]+)*)(?:\(s\))?")
_AMOUNT_WORDS = frozenset({"euro", "euros", "eur"})


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())



_COUNT_WORDS = _word_set("""
    facture factures invoice invoices devis quote quotes document documents note notes opportunité opportunités
    opportunity opportunities commande commandes order orders produit produits product products client clients
    relance relances reminder reminders rendez-vous meeting meetings appel appels call calls mission missions
    avoir avoirs pièce pièces bulletin bulletins payslip payslips salarié salariés employee employees achat achats
    purchase purchases paiement paiements payment payments unité unités unit units fois times lettre lettres
    courrier courriers mail mails e-mail e-mails dossier dossiers contrat contrats contract contracts
""")
_DURATION_WORDS = _word_set("""
    jour jours day days mois month months semaine semaines week weeks an ans année années year years heure heures
    hour hours minute minutes trimestre trimestres quarter quarters
""")
_NEGATIVE_WORDS = _word_set("""
    perte pertes déficit déficits déficitaire déficitaires négatif négative négatifs négatives découvert
    loss losses deficit deficits negative overdraft overdrawn
""")
_POSITIVE_WORDS = _word_set("""
    bénéfice bénéfices bénéficiaire bénéficiaires profit profits gain gains excédent excédents excédentaire
    excédentaires positif positive positifs positives surplus earnings
""")
_CLAUSE_END = re.compile(r"[.;:!?,()\[\]«»\"“”\d]")  # where the words that give a number its sign stop
_WORDS = re.compile(r"[^\W\d_]+")
_SIGN_WORDS_BEFORE, _SIGN_WORDS_AFTER = 4, 3


def _context(text: str, start: int, end: int, unit: str | None) -> tuple[str, str | None]:
    """The kind and the marked sign of the number written at text[start:end]."""
    before, sign = start, None
    if text[max(0, before - 4):before] in ("EUR ", "EUR\u00a0"):
        before, unit = before - 4, unit or AMOUNT
    elif before >= 1 and text[before - 1] == "€":
        before, unit = before - 1, unit or AMOUNT
    elif before >= 2 and text[before - 1] in _SPACE_CHARS and text[before - 2] == "€":
        before, unit = before - 2, unit or AMOUNT
    if before >= 1 and text[before - 1] in "+-\u2212" and (before == 1 or not text[before - 2].isalnum()):
        sign = "+" if text[before - 1] == "+" else "-"
    after = end
    if unit is None:
        rest = text[end:end + 3].lstrip(_SPACE_CHARS)
        if rest.startswith("€"):
            unit, after = AMOUNT, end + text[end:].index("€") + 1
        elif rest.startswith("%"):
            unit, after = PERCENTAGE, end + text[end:].index("%") + 1
    if unit is None:
        unit, after = _unit_from_words(text, end)
    if sign is None and unit in (AMOUNT, NUMBER):
        sign = _sign_from_words(text, before, after)
    return unit, sign


def _unit_from_words(text: str, end: int) -> tuple[str, int]:
    """The kind a number gets from the next word, or from the word after an adjective or 'de' / 'of'."""
    position = end
    for attempt in range(2):
        match = _NEXT_WORD.match(text, position)
        if not match:
            break
        word = match.group("word").lower()
        if word.startswith(("d'", "d’")):
            word = word[2:]
        if word in _AMOUNT_WORDS:
            return AMOUNT, match.end()
        if word in _COUNT_WORDS:
            return COUNT, match.end()
        if word in _DURATION_WORDS:
            return DURATION, match.end()
        if attempt == 0 and word not in _WORD_VALUES and word not in _NEGATIVE_WORDS | _POSITIVE_WORDS:
            position = match.end()
            continue
        break
    return NUMBER, end


def _sign_from_words(text: str, before: int, after: int) -> str | None:
    """'-' or '+' when the number's clause says loss or profit (and not both)."""
    head = text[max(0, before - 80):before]
    cut = max((m.end() for m in _CLAUSE_END.finditer(head)), default=0)
    words = [w.lower() for w in _WORDS.findall(head[cut:])][-_SIGN_WORDS_BEFORE:]
    tail = text[after:after + 60]
    stop = _CLAUSE_END.search(tail)
    words += [w.lower() for w in _WORDS.findall(tail[:stop.start() if stop else len(tail)])][:_SIGN_WORDS_AFTER]
    negative = any(w in _NEGATIVE_WORDS for w in words)
    positive = any(w in _POSITIVE_WORDS for w in words)
    if negative != positive:
        return "-" if negative else "+"
    return None


# ---- numbers in words ----

_WORD_VALUES = {
    # French
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8, "neuf": 9,
    "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16, "vingt": 20,
    "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60, "cent": 100, "cents": 100,
    "mille": 1000, "million": 10 ** 6, "millions": 10 ** 6, "milliard": 10 ** 9, "milliards": 10 ** 9,
    # English
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000, "billion": 10 ** 9,
    "billions": 10 ** 9, "thousands": 1000, "hundreds": 100,
}
_ARTICLES = frozenset({"un", "une", "one"})  # alone, an article ('un client'), not a figure
_CONNECTORS = frozenset({"et", "and"})
_NUMBER_WORD_HINT = re.compile(
    r"(?<![^\W\d_])(?:" + "|".join(sorted((w for w in _WORD_VALUES if w not in _ARTICLES), key=len, reverse=True))
    + r")(?![^\W\d_])", re.IGNORECASE)


def _worded_numbers(text: str) -> list[tuple[int, int, int]]:
    """(start, end, value) of every number written in words: runs of number words joined by spaces or hyphens,
    'et' / 'and' inside a run."""
    found: list[tuple[int, int, int]] = []
    run: list[re.Match] = []

    def close() -> None:
        while run and run[-1].group(0).lower() in _CONNECTORS:
            run.pop()
        words = [m.group(0).lower() for m in run]
        if words and not (len(words) == 1 and words[0] in _ARTICLES):
            found.append((run[0].start(), run[-1].end(), _words_value(words)))
        run.clear()

    for match in _WORDS.finditer(text):
        word = match.group(0).lower()
        joined = bool(run) and text[run[-1].end():match.start()].strip(_SPACE_CHARS + "-") == "" \
            and "\n" not in text[run[-1].end():match.start()]
        if word in _WORD_VALUES or (word in _CONNECTORS and run):
            if not joined:
                close()
                if word in _CONNECTORS:
                    continue
            run.append(match)
        else:
            close()
    close()
    return found


def _words_value(words: list[str]) -> int:
    total, current, i = 0, 0, 0
    while i < len(words):
        word = words[i]
        if word in _CONNECTORS:
            i += 1
            continue
        if word == "quatre" and i + 1 < len(words) and words[i + 1] in ("vingt", "vingts"):
            current, i = current + 80, i + 2  # quatre-vingt(s): 80, quatre-vingt-dix: 90
            continue
        value = _WORD_VALUES[word]
        if value == 100:
            current = (current or 1) * 100
        elif value >= 1000:
            total, current = total + (current or 1) * value, 0
        else:
            current += value
        i += 1
    return total + current
