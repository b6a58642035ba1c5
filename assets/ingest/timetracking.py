"""Time-tracking exports (contract §2): Clockify, Toggl Track and Harvest CSV files, told apart by header.

Each tool's detailed export is normalised to raw.time_entries (one row per time entry): who, for which
client, project and task, on which date, how long (hours as DECIMAL), billable or not, at which billable
rate. Header names are matched case-insensitively and without their currency suffix ("Billable Rate (EUR)").

Per tool (detailed exports, as the tools write them):
- Clockify: Start Date in the workspace's date format (MM/DD/YYYY by default, DD/MM/YYYY or ISO elsewhere),
  "Duration (h)" as HH:MM:SS or decimal hours, "Duration (decimal)", "Billable Rate (XXX)".
- Toggl Track: "Start date" YYYY-MM-DD, "Duration" HH:MM:SS, "Amount (XXX)" but no rate column: the rate
  is derived as amount / duration, rounded to the cent.
- Harvest: "Date" YYYY-MM-DD, "Hours" decimal (or H:MM), "First Name" + "Last Name" for the user, no
  e-mail, a "Currency" column ("Euro - EUR").
Slash dates are read day-first when some first part of the file's dates exceeds 12, month-first when some
second part does, and otherwise month-first (Clockify's documented default), with a warning saying so.

One bad value never fails a file, let alone a run: each line is checked in Python before the bulk insert, and a
line that cannot be a usable time entry is quarantined with its physical line and the reason. Numbers are
written plainly (`1234.50`, `1 234,50`, `95,00 €`), never in scientific notation; a date lies in 1990..2100; a
duration is 0 to 24 hours (an entry longer than a day is not a time entry); a billable rate is 0 to
100 000 per hour, an amount 0 to 10 000 000. These bounds also keep every value inside its raw column
(DECIMAL(12,4) hours, DECIMAL(18,2) rate).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

from assets.ingest.raw_tables import LINEAGE_COLUMNS, TIME_ENTRIES
from assets.ingest.registry import FileRejected, FileReport, LineFlag, Rejection, iter_files
from assets.ingest.tabular import decode_file, insert_rows, load_stamp, read_csv
from assets.ingest.values import check_values, holds_loud_value, loud_values

HOURS_QUANTUM = Decimal("0.0001")  # scale of time_entries.duration_hours
CENTS = Decimal("0.01")
CURRENCY_SUFFIX = re.compile(r"\s*\((?P<code>[a-z]{3})?\)$")
ISO_DATE = re.compile(r"^(?P<year>\d{4})[-/.](?P<month>\d{1,2})[-/.](?P<day>\d{1,2})(?!\d)")
SLASHED_DATE = re.compile(r"^(?P<first>\d{1,2})[/.\-](?P<second>\d{1,2})[/.\-](?P<year>\d{4})(?!\d)")
CLOCK_DURATION = re.compile(r"^(?P<hours>\d+):(?P<minutes>[0-5]\d)(?::(?P<seconds>[0-5]\d))?$")
PLAIN_NUMBER = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")
MAX_HOURS = Decimal(24)  # one entry; longer is not a time entry but a typo or an export bug
MAX_RATE = Decimal(100_000)  # per hour
MAX_AMOUNT = Decimal(10_000_000)  # one entry: 24 hours at the highest rate is 2.4 million
EARLIEST_YEAR, LATEST_YEAR = 1990, 2100  # dates outside are typos, not time entries
TRUE_WORDS = {"yes", "y", "true", "1", "oui", "o", "x"}
FALSE_WORDS = {"no", "n", "false", "0", "non"}


@dataclass(frozen=True)
class ToolFormat:
    """How one tool's export is recognised and where each normalised field comes from."""

    name: str  # the value of time_entries.source_format
    label: str
    signatures: tuple[frozenset[str], ...]  # the header holds all columns of one of these sets
    columns: dict[str, tuple[str, ...]]  # normalised field -> header names; the first one present is used

    def recognises(self, header: set[str]) -> bool:
        return any(signature <= header for signature in self.signatures)

    def positions(self, header: list[str]) -> dict[str, int]:
        found = {}
        for field_name, candidates in self.columns.items():
            present = [header.index(name) for name in candidates if name in header]
            if present:
                found[field_name] = present[0]
        return found


CLOCKIFY = ToolFormat(
    "clockify", "a Clockify detailed report",
    (frozenset({"start date", "duration (h)"}), frozenset({"start date", "duration (decimal)"})),
    {"user_name": ("user",), "user_email": ("email",), "client_name": ("client",),
     "project_name": ("project",), "task": ("task",), "description": ("description",),
     "date": ("start date",), "duration": ("duration (h)", "duration (decimal)"), "billable": ("billable",),
     "billable_rate": ("billable rate",), "amount": ("billable amount",)},
)
TOGGL = ToolFormat(
    "toggl", "a Toggl Track detailed export", (frozenset({"start date", "duration"}),),
    {"user_name": ("user", "member"), "user_email": ("email",), "client_name": ("client",),
     "project_name": ("project",), "task": ("task",), "description": ("description",),
     "date": ("start date",), "duration": ("duration",), "billable": ("billable",),
     "billable_rate": ("billable rate", "rate"), "amount": ("amount", "billable amount")},
)
HARVEST = ToolFormat(
    "harvest", "a Harvest detailed time report", (frozenset({"date", "hours"}),),
    {"first_name": ("first name",), "last_name": ("last name",), "client_name": ("client",),
     "project_name": ("project",), "project_code": ("project code",), "task": ("task",),
     "description": ("notes",), "date": ("date",), "duration": ("hours",), "billable": ("billable?",),
     "billable_rate": ("billable rate",), "amount": ("billable amount",), "currency": ("currency",)},
)
TOOL_FORMATS = (CLOCKIFY, TOGGL, HARVEST)  # Clockify before Toggl: both have "Start Date"
TEXT_FIELDS = ("user_name", "user_email", "client_name", "project_name", "project_code", "task",
               "description")
# the free texts checked for formula-like starts (values.check_values)
FLAGGED_TEXTS = (*TEXT_FIELDS, "first_name", "last_name")
# The parsers below are pure, and a report writes the same dates, durations and rates on many lines.
_per_distinct_text = lru_cache(maxsize=65536)


class TimeTrackingLoader:
    """SourceLoader for landing/timetracking/*.csv.

    Each file is its own set of entries (different files add up); a re-export under the same path replaces
    the previous version: supersede_key is "timetracking:<file path>" and version_rank_key the load time.
    """

    source = "timetracking"
    raw_tables = ("time_entries",)
    guards_shrinking = True  # a re-export of the same report that lost most of its entries is held back

    def list_files(self, landing_dir: Path) -> list[Path]:
        return iter_files(landing_dir, [".csv"])

    def load(self, con, path: Path, file_path: str, sha256: str) -> FileReport:
        text, encoding, warnings = decode_file(path)
        content = read_csv(text)
        header, currencies = _normalise_header(content.header)
        tool = detect_tool(header)
        positions = tool.positions(header)
        day_first, order_warning = slash_date_order([r.values[positions["date"]] for r in content.records])
        rows, rejections, flags = [], [], []
        loud_texts = _loud_texts(content.header, positions, content.records)
        for record in content.records:
            try:
                entry = _entry(tool, positions, record.values, day_first)
            except ValueError as problem:
                rejections.append(Rejection(record.line_number, str(problem), record.raw))
                continue
            except ArithmeticError as problem:  # decimal traps: no value of one line may fail the file
                reason = f"number out of range in this line ({type(problem).__name__})"
                rejections.append(Rejection(record.line_number, reason, record.raw))
                continue
            rows.append((*entry, sha256, file_path, record.line_number))
            if holds_loud_value(record.values, loud_texts):
                flags += _text_flags(content.header, positions, record)
            if "currency" in positions:
                currencies.add(_currency_code(record.values[positions["currency"]]))
        insert_rows(con, "time_entries", [*TIME_ENTRIES, *LINEAGE_COLUMNS], rows)
        currencies = sorted(currencies - {None})
        warnings += [order_warning] if order_warning else []
        warnings += _currency_warning(currencies)
        return FileReport(
            entity=tool.name, rows_read=content.rows_read, rows_loaded=len(rows),
            rejections=sorted([*content.rejections, *rejections], key=lambda r: r.line_number),
            warnings=warnings, flags=flags, supersede_key=f"timetracking:{file_path}", version_rank_key=load_stamp(),
            details={"tool": tool.name, "encoding": encoding, "blank_lines": content.blank_lines,
                     "date_order": "DD/MM/YYYY" if day_first else "MM/DD/YYYY", "currencies": currencies,
                     **content.details},
        )


def _loud_texts(header: list[str], positions: dict[str, int], records) -> list[tuple[int, set]]:
    """values.loud_values of the free texts: only the records holding one are checked."""
    columns = [(positions[name], header[positions[name]]) for name in FLAGGED_TEXTS if name in positions]
    return loud_values("time_entries", columns, [record.values for record in records])


def _text_flags(header: list[str], positions: dict[str, int], record) -> list[LineFlag]:
    """Free-text cells that a spreadsheet would run as a formula: kept as written, flagged (values.check_values),
    under the column name the export uses."""
    texts = {header[positions[name]]: record.values[positions[name]] for name in FLAGGED_TEXTS if name in positions}
    return [LineFlag(record.line_number, flag) for flag in check_values("time_entries", texts)]


def _normalise_header(names: list[str]) -> tuple[list[str], set[str | None]]:
    """Lower-case, single-spaced names without their currency suffix, and the currencies the suffixes name."""
    header, currencies = [], set()
    for name in names:
        cleaned = " ".join(name.lower().split())
        suffix = CURRENCY_SUFFIX.search(cleaned)
        if suffix:
            cleaned = cleaned[:suffix.start()]
            currencies.add(suffix["code"].upper() if suffix["code"] else None)
        header.append(cleaned)
    return header, currencies


def detect_tool(header: list[str]) -> ToolFormat:
    """The tool whose export this (normalised) header is; FileRejected naming the expected tools otherwise."""
    present = set(header)
    for tool in TOOL_FORMATS:
        if tool.recognises(present):
            return tool
    expected = ", ".join(tool.label for tool in TOOL_FORMATS)
    raise FileRejected(f"header matches no known time-tracking export (expected {expected}); "
                       f"it starts with: {', '.join(header[:6])}")


def slash_date_order(values: list[str]) -> tuple[bool, str | None]:
    """Whether this file's slash dates are day-first, and a warning when the file alone cannot tell."""
    parts = [match for value in values if (match := SLASHED_DATE.match(value.strip()))]
    day_first = any(int(m["first"]) > 12 for m in parts)
    month_first = any(int(m["second"]) > 12 for m in parts)
    if day_first and not month_first:
        return True, None
    if day_first and month_first:
        return False, "dates mix day-first and month-first orders; read as MM/DD/YYYY, the others quarantined"
    if parts and not month_first:
        return False, "slash dates with no part above 12 are ambiguous; read as MM/DD/YYYY (Clockify default)"
    return False, None


def _entry(tool: ToolFormat, positions: dict[str, int], fields: list[str], day_first: bool) -> tuple:
    """The time_entries values of one record, in TIME_ENTRIES order; ValueError saying what is unreadable."""

    def value(name: str) -> str | None:
        return (fields[positions[name]].strip() or None) if name in positions else None

    texts = {name: value(name) for name in TEXT_FIELDS}
    if texts["user_name"] is None:
        texts["user_name"] = " ".join(filter(None, (value("first_name"), value("last_name")))) or None
    entry_date = parse_date(value("date"), day_first)
    hours = parse_duration_hours(value("duration"))
    billable = parse_billable(value("billable"))
    rate = parse_amount(value("billable_rate"), "billable rate", MAX_RATE)
    amount = parse_amount(value("amount"), "amount", MAX_AMOUNT)
    if rate is None and amount is not None and hours > 0:
        rate = amount / hours
        if rate > MAX_RATE:
            raise ValueError(f"billable rate of {_shown(rate)} per hour (amount {_shown(amount)} over "
                             f"{_shown(hours)} hours) exceeds {_shown(MAX_RATE)}")
    return (tool.name, *texts.values(), entry_date.isoformat(),
            str(hours.quantize(HOURS_QUANTUM, ROUND_HALF_UP)),
            None if billable is None else str(billable).lower(),
            None if rate is None else str(rate.quantize(CENTS, ROUND_HALF_UP)))


@_per_distinct_text
def parse_date(text: str | None, day_first: bool) -> date:
    """ISO (YYYY-MM-DD, also with a time part) or slash/dot dates in the file's order; else ValueError."""
    if text is None:
        raise ValueError("no date")
    iso = ISO_DATE.match(text)
    slashed = SLASHED_DATE.match(text)
    parsed = None
    try:
        if iso:
            parsed = date(int(iso["year"]), int(iso["month"]), int(iso["day"]))
        elif slashed:
            first, second = int(slashed["first"]), int(slashed["second"])
            day, month = (first, second) if day_first else (second, first)
            parsed = date(int(slashed["year"]), month, day)
    except ValueError:
        pass
    if parsed is None:
        raise ValueError(f"unreadable date {_quoted(text)}")
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        raise ValueError(f"implausible date {_quoted(text)} (outside {EARLIEST_YEAR}..{LATEST_YEAR})")
    return parsed


@_per_distinct_text
def parse_duration_hours(text: str | None) -> Decimal:
    """Exact hours from HH:MM:SS, H:MM or decimal hours (point or comma), 0 to 24; ValueError otherwise."""
    if text is None:
        raise ValueError("no duration")
    clock = CLOCK_DURATION.match(text)
    if clock:
        seconds = int(clock["minutes"]) * 60 + int(clock["seconds"] or 0)
        hours = Decimal(clock["hours"]) + Decimal(seconds) / Decimal(3600)
    else:
        hours = parse_decimal(text, "duration")
        if hours < 0:
            raise ValueError(f"negative duration {_quoted(text)}")
    if hours > MAX_HOURS:
        raise ValueError(f"duration of {_shown(hours)} hours exceeds {MAX_HOURS} hours")
    return hours


def parse_decimal(text: str | None, what: str) -> Decimal | None:
    """A number as the tools write it: `1234.50`, `1,234.50`, `1 234,50`, `95,00 €`. None when empty."""
    if text is None:
        return None
    cleaned = re.sub(r"[\s\u00a0\u202f€$£]", "", text)
    if "," in cleaned and "." in cleaned:
        thousands = "," if cleaned.rfind(".") > cleaned.rfind(",") else "."
        cleaned = cleaned.replace(thousands, "").replace(",", ".")
    elif cleaned.count(",") == 1:
        cleaned = cleaned.replace(",", ".")
    if not PLAIN_NUMBER.match(cleaned):  # also NaN, Infinity, 1e30, 1_000 that Decimal would take
        scientific = re.fullmatch(r"[+-]?[0-9.]+[eE][+-]?[0-9]+", cleaned)
        raise ValueError(f"unreadable {what} {_quoted(text)}" + (" (scientific notation)" if scientific else ""))
    return Decimal(cleaned)


@_per_distinct_text
def parse_amount(text: str | None, what: str, bound: Decimal) -> Decimal | None:
    """A rate or an amount: a plain number from 0 to `bound`; None when empty; ValueError otherwise."""
    number = parse_decimal(text, what)
    if number is None:
        return None
    if number < 0:
        raise ValueError(f"negative {what} {_quoted(text)}")
    if number > bound:
        raise ValueError(f"{what} of {_shown(number)} exceeds {_shown(bound)}")
    return number


def _quoted(text: str, limit: int = 40) -> str:
    """A value as written, for a reason: repr, cut when long (a reason is one readable line)."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} characters)"


def _shown(number: Decimal) -> str:
    """A number for a reason: plain notation, at most four decimals, trailing zeros dropped."""
    try:
        number = number.quantize(HOURS_QUANTUM, ROUND_HALF_UP) if number.adjusted() < 20 else number
        text = format(number, "f")
    except ArithmeticError:
        return "a number too large to show"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if len(text) <= 40 else f"a number of {len(text)} digits"


def parse_billable(text: str | None) -> bool | None:
    if text is None:
        return None
    word = text.lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"unreadable billable flag {_quoted(text)}")


def _currency_code(text: str) -> str | None:
    """Harvest writes currencies as "Euro - EUR"; the code is the last three-letter word."""
    codes = re.findall(r"\b[A-Za-z]{3}\b", text)
    return codes[-1].upper() if codes else None


def _currency_warning(currencies: list[str]) -> list[str]:
    foreign = [code for code in currencies if code != "EUR"]
    if not foreign:
        return []
    return [f"amounts in {', '.join(foreign)}, not euros: billable rates loaded unconverted"]
