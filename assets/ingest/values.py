"""Checking the typed values of the CRM and practice exports, line by line, before they reach the raw layer.

Readers trim what DuckDB's trim() trims, the Unicode space separators (a no-break space included), and not
tabs or line breaks: a value is readable on both sides or on neither.

The raw layer keeps these values as text and dbt staging types them with `try_cast`-style macros
(dbt_project/macros/parsing.sql), which return NULL for what they cannot read. So that no value turns into a
NULL without a word, every typed field is checked here with the same reading rules:

- a value that a figure is computed from (amounts, the date a document counts on) and cannot be read, or is
  out of the range its column holds, makes the line unusable: the line is quarantined with the reason;
- any other doubtful value (an unreadable secondary date or flag, a required value left empty, a date outside
  any plausible range, a cell a spreadsheet would run as a formula, an id written twice) is kept and flagged:
  it lands in raw.ingest_flags and in the published rpt_data_quality; a file without a column every line needs
  is flagged once, on its header line.

tests/ingest/test_values.py checks that these readers accept exactly what the staging macros read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

# what SQL's trim() removes around a value in DuckDB: the space separators (Unicode category Zs; test_values.py
# checks this list against unicodedata and against DuckDB)
SQL_TRIM = " \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
PLAUSIBLE_YEARS = range(1990, 2101)  # the oldest client file to the longest contract end a firm writes
DECIMAL_TEXT = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")
ISO_DATE_TEXT = re.compile(r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$")
BOOLEAN_WORDS = {"true", "t", "1", "yes", "y", "oui", "vrai", "false", "f", "0", "no", "n", "non", "faux"}
# '=' or '@' anywhere at the start; '+' or '-' only when glued to what follows ("- relance" is a bullet)
FORMULA_START = re.compile(r"^\s*(?:[=@]|[+\-](?!\s))")
NUMBER_LIKE = re.compile(r"^\s*[+-]?[0-9\s.,]+%?\s*$")
# What exports almost always write: at most ten digits and two decimals, nothing around them. Such a text reads
# as itself, below PLAUSIBLE_AMOUNT and in every DECIMAL column here, so it needs no Decimal (values.py's
# hot path: a few hundred thousand amounts per file).
PLAIN_AMOUNT = re.compile(r"-?[0-9]{1,10}(?:\.[0-9]{1,2})?")


@dataclass(frozen=True)
class FieldType:
    """How staging types one raw field: `kind` (decimal, integer, date, boolean, siren, or code for a text that
    must be there), the DECIMAL precision and scale, and whether a figure needs it (`required`: unreadable, the
    line is quarantined; empty, it is flagged)."""

    kind: str
    required: bool = False
    precision: int = 18
    scale: int = 2
    limit: int | None = None  # a number at or above it in size is implausible, even when its column holds it


# A firm's invoice, budget or price above ten billion euros is a broken cell, and summed with others it would no
# longer fit the marts' DECIMAL(18,2): such a line cannot be used.
PLAUSIBLE_AMOUNT = 10**10

AMOUNT = FieldType("decimal", required=True, limit=PLAUSIBLE_AMOUNT)
QUANTITY = FieldType("decimal", required=True, precision=18, scale=4, limit=PLAUSIBLE_AMOUNT)
PERCENTAGE = FieldType("decimal", precision=5, scale=2)
DOCUMENT_DATE = FieldType("date", required=True)
SECONDARY_DATE = FieldType("date")
INTEGER = FieldType("integer")
FLAG = FieldType("boolean")
SIREN = FieldType("siren")
CODE = FieldType("code", required=True)  # a status or type: whether it is declared is dbt's to say
LINK = FieldType("code", required=True)  # the id of what the record belongs to: without it, it belongs nowhere

# raw table -> typed field -> how staging reads it (the parse_* macro of each stg_ model)
FIELD_TYPES: dict[str, dict[str, FieldType]] = {
    "crm_companies": {"siren": SIREN, "type": CODE, "created": SECONDARY_DATE},
    "crm_opportunities": {"company_id": LINK, "amount": AMOUNT, "probability": PERCENTAGE, "status": CODE,
                          "created": SECONDARY_DATE, "due_date": SECONDARY_DATE, "closed_date": SECONDARY_DATE},
    "crm_deals": {"company_id": LINK, "budget_labour": AMOUNT, "budget_purchases": AMOUNT,
                  "budget_sales": AMOUNT, "status": CODE, "start_date": SECONDARY_DATE, "end_date": SECONDARY_DATE},
    "crm_estimates": {"company_id": LINK, "total_excl_tax": AMOUNT, "total_incl_tax": AMOUNT, "status": CODE,
                      "date": DOCUMENT_DATE, "expiry_date": SECONDARY_DATE},
    "crm_invoices": {"company_id": LINK, "total_excl_tax": AMOUNT, "total_incl_tax": AMOUNT, "status": CODE,
                     "date": DOCUMENT_DATE, "due_date": SECONDARY_DATE, "paid_date": SECONDARY_DATE},
    "crm_credit_notes": {"company_id": LINK, "total_excl_tax": AMOUNT, "total_incl_tax": AMOUNT, "status": CODE,
                         "date": DOCUMENT_DATE},
    "crm_document_lines": {"document_id": LINK, "document_type": CODE, "line_no": INTEGER, "quantity": QUANTITY,
                           "unit_amount": QUANTITY, "total_excl_tax": AMOUNT},
    "crm_purchases": {"deal_id": LINK, "total_excl_tax": AMOUNT, "date": DOCUMENT_DATE},
    "crm_interactions": {"company_id": LINK, "kind": CODE, "date": DOCUMENT_DATE},
    "practice_collaborators": {"hourly_cost": AMOUNT, "active": FLAG},
    "practice_client_files": {"company_id": LINK, "siren": SIREN, "bookkeeping_by": CODE, "frequency": CODE,
                              "deactivated": FLAG},
    "practice_documents": {"company_id": LINK, "method": CODE, "kind": CODE, "status": CODE,
                           "received_at": DOCUMENT_DATE, "processed_at": SECONDARY_DATE, "auto_rule": FLAG},
    "practice_supplier_rules": {"created_at": SECONDARY_DATE, "active": FLAG},
}


@dataclass(frozen=True)
class Flag:
    """A value kept but doubtful: which field, the value as written, the rule it breaks, and a sentence."""

    column_name: str
    value: str | None
    rule: str  # unreadable_value | missing_value | missing_column | implausible_date | formula_like | duplicate_id
    detail: str


class UnusableLine(ValueError):
    """The line cannot be used: the message is the quarantine reason."""


def read_decimal(text: str, precision: int = 18, scale: int = 2) -> Decimal | None:
    """The value `parse_decimal` gives in staging (spaces removed, comma as decimal point), or None when it
    cannot read it or it does not fit DECIMAL(precision, scale)."""
    cleaned = text.strip(SQL_TRIM).replace(" ", "").replace(",", ".")
    if not DECIMAL_TEXT.fullmatch(cleaned):
        return None
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        return None
    rounded = number.quantize(Decimal(1).scaleb(-scale), ROUND_HALF_UP) if number.adjusted() < precision else number
    return rounded if abs(rounded) < Decimal(10) ** (precision - scale) else None


def read_date(text: str) -> date | None:
    """The date `parse_date` gives in staging: the first ten characters as an ISO date, or None."""
    return _read_day(text.strip(SQL_TRIM)[:10])


# Cached by the day, not by the text: a timestamp (`2026-07-06T07:46:00+02:00`) is written once per line, but a file
# holds a few thousand distinct days. The 10 M-line bench's practice documents: 61 692 distinct received_at texts.
@lru_cache(maxsize=65536)
def _read_day(text: str) -> date | None:
    match = ISO_DATE_TEXT.fullmatch(text)
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def read_integer(text: str) -> int | None:
    cleaned = text.strip(SQL_TRIM)
    if not re.fullmatch(r"[+-]?[0-9]{1,19}", cleaned):  # more digits never fit BIGINT (and int() refuses 4300+)
        return None
    number = int(cleaned)
    return number if -(2**63) <= number < 2**63 else None


def read_boolean(text: str) -> bool | None:
    word = text.strip(SQL_TRIM).lower()
    return word in {"true", "t", "1", "yes", "y", "oui", "vrai"} if word in BOOLEAN_WORDS else None


def missing_columns(table: str, present) -> list[Flag]:
    """One flag per required field the file has no column for (every line then lacks it: said once)."""
    return [Flag(name, None, "missing_column", f"the file has no {name} column; every line is loaded without it")
            for name, field_type in FIELD_TYPES.get(table, {}).items() if field_type.required and name not in present]


def check_values(table: str, values: dict[str, str | None], absent=frozenset()) -> list[Flag]:
    """Flags for one line's values (field -> text as written); UnusableLine when a required value cannot be
    read or does not fit its column. Fields in `absent` have no column in the file (see missing_columns)."""
    flags = []
    for name, field_type in FIELD_TYPES.get(table, {}).items():
        flags += _typed_flags(name, values.get(name), field_type, absent)
    flags += [Flag(name, _excerpt(text), "formula_like", "starts like a spreadsheet formula (=, +, - or @)")
              for name, text in values.items() if _formula_like(name, text, table)]
    return flags


def loud_values(table: str, columns, lines, absent=frozenset()) -> list[tuple[int, set]]:
    """(position, the distinct values there that check_values says something about) for each of `columns`, pairs of
    (position in a line, field name), that holds any. Lines holding none of them need no check.

    check_values judges each field on its own, so a file can judge each distinct value once instead of every value
    of every line. Profile: the CRM, practice and time exports of the 10 M-line bench firm (377 000 lines) took 9 s
    to load, most of it check_values line by line."""
    loud = []
    for position, name in columns:
        distinct = {line[position] for line in lines}
        said = {text for text in distinct if not _is_silent(table, name, text, absent)}
        if said:
            loud.append((position, said))
    return loud


def holds_loud_value(line, loud: list[tuple[int, set]]) -> bool:
    return any(line[position] in said for position, said in loud)


def _is_silent(table: str, name: str, text: str | None, absent) -> bool:
    """check_values says nothing about this value of this field: no flag, no quarantine."""
    if _formula_like(name, text, table):
        return False
    field_type = FIELD_TYPES.get(table, {}).get(name)
    try:
        return field_type is None or not _typed_flags(name, text, field_type, absent)
    except UnusableLine:
        return False


def _typed_flags(name: str, text: str | None, field_type: FieldType, absent) -> list[Flag]:
    if text is None or not text.strip():
        if field_type.required and name not in absent:
            return [Flag(name, text, "missing_value", f"no {name} on this line; loaded without it")]
        return []
    return _check_typed(name, text, field_type)


def _check_typed(name: str, text: str, field_type: FieldType) -> list[Flag]:
    if field_type.kind == "decimal":
        if PLAIN_AMOUNT.fullmatch(text) and field_type.precision - field_type.scale > 10:
            return []
        number = read_decimal(text, field_type.precision, field_type.scale)
        if number is None:
            return _unreadable(name, text, field_type, _decimal_problem(name, text, field_type))
        if field_type.limit and abs(number) >= field_type.limit:
            return _unreadable(name, text, field_type, f"number {text!r} in {name} is out of range (its size "
                                                       f"must stay below {field_type.limit:,})")
        return []
    if field_type.kind == "date":
        parsed = read_date(text)
        if parsed is None:
            return _unreadable(name, text, field_type, f"unreadable or impossible date {text!r} in {name}")
        if parsed.year not in PLAUSIBLE_YEARS:
            return [Flag(name, text, "implausible_date",
                         f"date {parsed.isoformat()} in {name} is outside {PLAUSIBLE_YEARS[0]}-"
                         f"{PLAUSIBLE_YEARS[-1]}")]
        return []
    if field_type.kind == "code":
        return []
    if field_type.kind == "siren":
        if re.fullmatch(r"[0-9]{9}", re.sub(r"[ .]", "", text.strip(SQL_TRIM))):
            return []
        return [Flag(name, text, "unreadable_value", f"{text!r} in {name} is not a 9-digit SIREN; the company "
                                                     "is matched by its id only")]
    reader = read_integer if field_type.kind == "integer" else read_boolean
    if reader(text) is None:
        return _unreadable(name, text, field_type, f"unreadable {field_type.kind} {text!r} in {name}")
    return []


def _decimal_problem(name: str, text: str, field_type: FieldType) -> str:
    cleaned = text.strip(SQL_TRIM).replace(" ", "").replace(",", ".")
    if DECIMAL_TEXT.fullmatch(cleaned):
        limit = 10 ** (field_type.precision - field_type.scale)
        return f"number {text!r} in {name} is out of range (its size must stay below {limit:,})"
    return f"unreadable number {text!r} in {name}"


def _unreadable(name: str, text: str, field_type: FieldType, reason: str) -> list[Flag]:
    if field_type.required:
        raise UnusableLine(reason)
    return [Flag(name, text, "unreadable_value", f"{reason}; loaded as empty")]


def _excerpt(text: str, length: int = 40) -> str:
    """Enough of a flagged free text to find it: rpt_data_quality is published, a client's note need not be."""
    return text if len(text) <= length else text[:length] + "…"


def _formula_like(name: str, text: str | None, table: str) -> bool:
    """A text cell a spreadsheet opening the published tables would run as a formula. Signed numbers and
    ISO dates are data, not formulas."""
    if not text or (text[0] not in "=@+-" and not text[0].isspace()):  # the usual case, without a regex
        return False
    if len(text.strip()) < 2 or not FORMULA_START.match(text):
        return False
    return not (name in FIELD_TYPES.get(table, {}) or NUMBER_LIKE.match(text))
