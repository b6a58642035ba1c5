"""Reading the small tabular exports (CRM, practice, time tracking): CSV and JSON Lines, record by record.

Every record keeps the physical line where it starts (the header being line 1) and its raw text, so a bad
record can be quarantined with both. These files hold at most a few hundred thousand rows: they are read in
memory with Python's csv/json modules and written to DuckDB in one bulk insert per file.

`ObjectFileLoader` is the loader shared by the two "one file per object" sources (CRM and practice): the
object is recognised from the file name, the key fields of raw_tables are kept as text, the rest is ignored.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from assets.ingest.fec_text import guess_single_byte_encoding
from assets.ingest.raw_tables import LINEAGE_COLUMNS, raw_tables
from assets.ingest.registry import FileRejected, FileReport, LineFlag, Rejection, iter_files
from assets.ingest.values import (
    FIELD_TYPES,
    Flag,
    UnusableLine,
    check_values,
    holds_loud_value,
    loud_values,
    missing_columns,
)

CANDIDATE_DELIMITERS = (",", ";", "\t")
# what a JSON Lines line holds, by the Python type read_jsonl gives it (numbers are read as their text)
JSON_KINDS = {list: "an array", str: "a string or a number", bool: "a boolean", type(None): "null"}


class TextRecord(NamedTuple):  # a tuple: made once per record, a frozen dataclass cost a third of the read
    """One record of a file: where it starts and ends (physical lines, the header being line 1) and its values
    (CSV fields or a JSON object). Its raw text is cut from the file's lines only when asked: most records are
    loaded and never need it, and making it for each of a few hundred thousand records cost more than the
    CSV parsing itself."""

    line_number: int
    values: list[str] | dict
    lines: Sequence[str]  # every physical line of the file, line 1 first
    last_line: int = 0  # the record's last physical line; 0: the record is its first line alone

    @property
    def raw(self) -> str:
        return _raw(self.lines[self.line_number - 1:max(self.line_number, self.last_line)])


@dataclass
class TabularContent:
    """A whole file split into records; `rejections` are the records that could not even be split."""

    header: list[str]
    records: list[TextRecord]
    rejections: list[Rejection] = field(default_factory=list)
    blank_lines: int = 0
    details: dict = field(default_factory=dict)

    @property
    def rows_read(self) -> int:
        return len(self.records) + len(self.rejections)


def decode_file(path: Path) -> tuple[str, str, list[str]]:
    """The file's text, the encoding used and warnings. UTF-8 (with or without BOM) is expected; a
    single-byte file (a spreadsheet re-save or an older tool) is read too, with a warning naming the encoding.

    The single-byte encoding is chosen as for the FEC (fec_text.guess_single_byte_encoding: the one reading
    the high bytes as French letters, not control codes): ISO-8859-15 and Windows-1252 differ where it
    matters, 0xA4 being € in the first and ¤ in the second, 0x80-0x9F C1 controls in the first and letters
    (0x80 €) in the second. A file both read alike is reported as Windows-1252, the usual re-save.
    """
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig"), "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8", []
    except UnicodeDecodeError:
        pass
    if b"\x00" in data:
        raise FileRejected("not UTF-8 text and contains NUL bytes: a binary or UTF-16 file, not a text export")
    encoding = guess_single_byte_encoding(path, 1 << 20)
    text = data.decode(encoding)  # the guess can always decode: ISO-8859-15 and CP850 define every byte
    if encoding != "cp1252" and text == data.decode("cp1252", errors="replace"):
        encoding = "cp1252"
    names = {"cp1252": "Windows-1252", "iso-8859-15": "ISO-8859-15", "cp850": "CP850 (DOS)"}
    return text, encoding, [f"not valid UTF-8; read as {names[encoding]}"]


def _sniff_delimiter(header_line: str) -> str:
    """Exports are comma-separated, but a spreadsheet re-save in a French locale gives ';': the header's most
    frequent candidate wins, a comma on ties."""
    return max(CANDIDATE_DELIMITERS, key=header_line.count)


def read_csv(text: str, max_field_chars: int = 16 * 1024 * 1024) -> TabularContent:
    """Split CSV text (RFC 4180 quoting, quoted fields may span lines) into a header and records.

    A record's line number is the physical line where it starts (header = line 1). Blank lines carry no
    data: they are skipped and counted in `blank_lines`. Records whose field count differs from the
    header's, that hold a field longer than `max_field_chars` (16 Mi characters), or that the csv module
    cannot split, are returned as rejections; nothing in one record fails the file.
    """
    if not text.strip():
        raise FileRejected("empty file: no header line")
    # The csv module stops inside a field longer than its limit (131 072 by default) and then reads the
    # rest of that field's lines as records. No field can be longer than the text: with the limit above it,
    # a long quoted field is read whole, and `max_field_chars` rejects its one record. The limit is
    # process-wide, so it is only ever raised.
    if csv.field_size_limit() <= len(text):
        csv.field_size_limit(len(text) + 1)
    # newline="" splits physical lines on \n, \r\n and \r only (str.splitlines also splits on \x0c, \u2028...)
    lines = list(io.StringIO(text, newline=""))
    delimiter = _sniff_delimiter(next(line for line in lines if line.strip()))  # the header, after blank lines
    # strict: a quote left open swallows the rest of the file into one field; it must end as a quarantined
    # record, not as a record silently holding the lines that follow it. The reader counts the physical lines it
    # consumed (line_num), so each record's lines are lines[start - 1:end].
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    content = TabularContent(header=[], records=[], details={"delimiter": delimiter})
    records, width = content.records, -1  # the header's width, once read
    end = 0
    while True:
        start = end + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except Exception as error:  # csv.Error or anything else: the record is quarantined, the file goes on
            end = reader.line_num
            reason = _csv_error_reason(error, start, end)
            content.rejections.append(Rejection(start, reason, _raw(lines[start - 1:end])))
            continue
        end = reader.line_num
        # a field can only be longer than the limit if the record's text is
        if (end > start or len(lines[start - 1]) > max_field_chars) and fields:
            longest = max(map(len, fields))
            if longest > max_field_chars:
                raw = _raw(lines[start - 1:end])
                reason = f"a field of {longest} characters exceeds the limit of {max_field_chars}"
                if len(raw) > 1000:
                    reason += f"; raw text cut to its first 1000 of {len(raw)} characters"
                content.rejections.append(Rejection(start, reason, raw[:1000]))
                continue
        if len(fields) == width:  # the usual record, placed without a call
            records.append(TextRecord(start, fields, lines, end))
            continue
        _place_csv_record(content, TextRecord(start, fields, lines, end))
        width = len(content.header) or -1
    return content


def _csv_error_reason(error: Exception, start_line: int, last_line: int) -> str:
    if isinstance(error, csv.Error) and "unexpected end of data" in str(error):
        return (f"a quote opened on this line is never closed: lines {start_line} to {last_line} (the end of the "
                "file) are held in this one record")
    return f"unreadable CSV record: {str(error) or type(error).__name__}"


def _place_csv_record(content: TabularContent, record: TextRecord) -> None:
    if not record.values:
        content.blank_lines += 1
    elif not content.header:
        content.header = [name.strip() for name in record.values]
    elif len(record.values) != len(content.header):
        reason = f"{len(record.values)} fields where the header has {len(content.header)}"
        content.rejections.append(Rejection(record.line_number, reason, record.raw))
    else:
        content.records.append(record)


def read_jsonl(text: str) -> TabularContent:
    """Split JSON Lines text into objects, each with its physical line. Numbers keep their written form."""
    content = TabularContent(header=[], records=[])
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # what follows the final newline is not a line
    for line_number, line in enumerate(lines, start=1):
        raw = line.rstrip("\r")
        if not raw.strip():
            content.blank_lines += 1
            continue
        reason = None
        try:
            value = json.loads(raw, parse_float=str, parse_int=str)
            # "\ud800" is valid JSON but no UTF-8 text: DuckDB would refuse it and fail the whole file
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except json.JSONDecodeError as error:
            reason = f"invalid JSON: {error.msg} at column {error.colno}"
        except RecursionError:
            reason = "JSON nested too deeply"
        except UnicodeEncodeError:
            reason = "JSON string with an unpaired surrogate escape (\\ud800-\\udfff): not representable as text"
        except Exception as error:  # nothing in one line fails the file
            reason = f"unreadable JSON line: {type(error).__name__}: {error}"
        else:
            if not isinstance(value, dict):
                reason = f"not a JSON object but {JSON_KINDS.get(type(value), type(value).__name__)}"
        if reason:
            content.rejections.append(Rejection(line_number, reason, raw))
            continue
        content.records.append(TextRecord(line_number, value, lines))
    return content


def _raw(lines: Sequence[str]) -> str:
    return "".join(lines).rstrip("\r\n")


def json_value_as_text(value) -> str | None:
    """Raw layer values are text: JSON strings as they are, numbers as written, booleans as true/false,
    null as NULL, nested objects and arrays as compact JSON (where numbers, read as their exact text by
    `read_jsonl`, appear as strings)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def insert_rows(con, table: str, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Bulk-insert rows (values as text or None, `_line_number` as int) into raw.<table>.

    The rows go to DuckDB as one pandas frame of strings; DuckDB casts each column to its declared type, so
    decimals and dates are parsed exactly by DuckDB, never through floats.
    """
    if not rows:
        return
    declared = raw_tables()[table]
    frame = pd.DataFrame({
        name: pd.Series([row[i] for row in rows], dtype="int64" if name == "_line_number" else "string")
        for i, name in enumerate(columns)
    })
    targets = ", ".join(f'"{name}"' for name in columns)
    casts = ", ".join(f'CAST("{name}" AS {declared[name].replace(" NOT NULL", "")})' for name in columns)
    view = f"_vigie_load_{table}"
    con.register(view, frame)
    # No `finally`: after a failed INSERT the transaction is aborted and unregister() would raise "Current
    # transaction is aborted", hiding the real cause. A view left registered is replaced by the next one.
    con.execute(f"INSERT INTO raw.{table} ({targets}) SELECT {casts} FROM {view}")
    con.unregister(view)


def load_stamp() -> str:
    """The load time to the microsecond, as a version_rank_key part: among versions of one file path, the one
    loaded last is the newest (the registry's own tie-break, loaded_at, only has second precision)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def match_object_name(file_name: str, names: Sequence[str]) -> str | None:
    """The known object a file name is about: `companies.csv`, `Companies.JSONL`,
    `sellsy_companies_2026-10-31.csv`.

    The object's name must appear as a whole word of the file stem (words separated by `_`, `-`, `.` or
    spaces), case-insensitively. None when no name matches; FileRejected when several do.
    """
    stem = re.sub(r"[-. ]", "_", Path(file_name).stem.lower())
    found = [name for name in names if re.search(rf"(?:^|_){re.escape(name)}(?:_|$)", stem)]
    if len(found) > 1:
        raise FileRejected(f"file name names several objects ({', '.join(found)}); expected one per file")
    return found[0] if found else None


class ObjectFileLoader:
    """One file per object, named after it; key fields kept as text in raw.<source>_<object>.

    Subclasses set `source`, `objects` (object name -> key fields, from raw_tables), `object_label` (what
    one kind of file is called in messages), `suffixes` and `raw_tables`.

    Values: CSV fields as written, an empty field as NULL (CSV cannot tell empty from absent); JSON values
    as `json_value_as_text` says. Key fields missing from the file are NULL, with one warning; other fields
    are ignored, with one warning. A record without `id` (for objects that have one) is quarantined; a CSV
    header without `id` rejects the file, since none of its records could be loaded.

    Typed values are checked line by line (assets/ingest/values.py): a line whose amount or document date
    cannot be read is quarantined; other doubtful values, and an id written twice in the file, are kept and
    flagged.

    Versions: several files may hold one object (`invoices_2024.csv` and `invoices_2025.csv` both count); a
    file is replaced only by a newer export of the same file. A file's identity is its path inside the source
    directory with its export dates removed (`sellsy_companies_2026-10-31.csv` and
    `sellsy_companies_2026-09-30.csv` are one file, `exports/2026-10-31/companies.csv` too); its
    version_rank_key is the export date, then the load time. So the latest date wins whatever the files'
    modification times or the order they arrive in, and a re-export under the same path wins over what was
    loaded from that path before. The registry holds back a version that loses most of its rows
    (`guards_shrinking`).
    """

    source: str
    objects: dict[str, list[str]]
    object_label: str
    suffixes: tuple[str, ...]
    raw_tables: tuple[str, ...]
    guards_shrinking = True

    def list_files(self, landing_dir: Path) -> list[Path]:
        return iter_files(landing_dir, self.suffixes)

    def load(self, con, path: Path, file_path: str, sha256: str) -> FileReport:
        name = match_object_name(path.name, list(self.objects))
        if name is None:
            raise FileRejected(f"unknown {self.object_label} in file name {path.name!r}; expected one of "
                               f"{', '.join(self.objects)}")
        text, encoding, warnings = decode_file(path)
        if path.suffix.lower() == ".jsonl":
            content = read_jsonl(text)
            rows, rejections, present = self._rows_from_json(name, content)
        else:
            content = read_csv(text)
            rows, rejections, present = self._rows_from_csv(name, content)
        table, keys = f"{self.source}_{name}", self.objects[name]
        field_warnings = _field_warnings(keys, present) if content.header or content.records else []
        absent = frozenset(keys) - set(present)
        rows, value_rejections, flags = _checked_rows(table, keys, rows, absent)
        if content.records:  # the header (line 1) lacks a column every record needs: said once, there
            flags = [*(LineFlag(1, flag) for flag in missing_columns(table, present)), *flags]
        columns = [*self.objects[name], *LINEAGE_COLUMNS]
        insert_rows(con, table, columns, [(*values, sha256, file_path, line) for line, values in rows])
        identity, export_date = file_identity(file_path.split("/", 1)[-1])
        return FileReport(
            entity=name, rows_read=content.rows_read, rows_loaded=len(rows),
            rejections=sorted([*content.rejections, *rejections, *value_rejections], key=lambda r: r.line_number),
            warnings=[*warnings, *field_warnings], flags=flags,
            supersede_key=f"{self.source}:{identity}",
            version_rank_key=f"{export_date}|{load_stamp()}",
            details={"encoding": encoding, "blank_lines": content.blank_lines, **content.details},
        )

    def _rows_from_csv(self, name: str, content: TabularContent):
        keys = self.objects[name]
        header = [column.lower() for column in content.header]
        if "id" in keys and "id" not in header:
            raise FileRejected(f"no 'id' column in the header of this {self.object_label} ({name})")
        position = {column: header.index(column) for column in keys if column in header}
        rows, rejections = [], []
        for record in content.records:
            values = [(record.values[position[key]] or None) if key in position else None for key in keys]
            self._keep_or_reject(keys, record, values, rows, rejections)
        return rows, rejections, header

    def _rows_from_json(self, name: str, content: TabularContent):
        keys = self.objects[name]
        rows, rejections, seen = [], [], set()
        for record in content.records:
            fields = {key.lower(): value for key, value in record.values.items()}
            seen.update(fields)
            values = [json_value_as_text(fields.get(key)) for key in keys]
            self._keep_or_reject(keys, record, values, rows, rejections)
        return rows, rejections, seen

    @staticmethod
    def _keep_or_reject(keys: list[str], record: TextRecord, values: list, rows: list, rejections: list):
        if "id" in keys and not (values[keys.index("id")] or "").strip():
            rejections.append(Rejection(record.line_number, "record without id", record.raw))
        else:
            rows.append((record.line_number, values))


def _checked_rows(table: str, keys: list[str], rows: list, absent: frozenset[str]
                  ) -> tuple[list, list[Rejection], list[LineFlag]]:
    """The rows whose values can be used, a quarantine reason for the others, and flags for doubtful values
    (values.check_values), including an id already written on an earlier line of the file. Only lines holding a
    value check_values has something to say about are checked (_loud_values)."""
    kept, rejections, flags = [], [], []
    first_line_of_id: dict[str, int] = {}
    loud = _loud_values(table, keys, [values for _, values in rows], absent)
    id_position = keys.index("id") if "id" in keys else None
    for line, values in rows:
        line_flags = []
        if loud is None or holds_loud_value(values, loud):
            try:
                line_flags = check_values(table, dict(zip(keys, values, strict=True)), absent)
            except UnusableLine as unusable:
                rejections.append(Rejection(line, str(unusable), _row_text(keys, values)))
                continue
        record_id = (values[id_position] or "").strip() if id_position is not None else ""
        if record_id and record_id in first_line_of_id:
            line_flags.append(Flag("id", record_id, "duplicate_id",
                                   f"id {record_id!r} already on line {first_line_of_id[record_id]} of this file"))
        elif record_id:
            first_line_of_id[record_id] = line
        kept.append((line, values))
        flags += [LineFlag(line, flag) for flag in line_flags]
    return kept, rejections, flags


def _loud_values(table: str, keys: list[str], lines: list[list], absent: frozenset[str]
                 ) -> list[tuple[int, set]] | None:
    """values.loud_values of every field; None when a typed field has no column among `keys` (check_values then reads
    it as empty on every line)."""
    if not set(FIELD_TYPES.get(table, {})) <= set(keys):
        return None
    return loud_values(table, enumerate(keys), lines, absent)


def _row_text(keys: list[str], values: list) -> str:
    return json.dumps(dict(zip(keys, values, strict=True)), ensure_ascii=False)


EXPORT_DATE = re.compile(r"(?<![0-9])(?P<year>[0-9]{4})[-_.]?(?P<month>[0-9]{2})[-_.]?(?P<day>[0-9]{2})(?![0-9])")
EXPORT_TIME = re.compile(r"[T_-]?(?P<hour>[0-9]{2})[-:h]?(?P<minute>[0-9]{2})(?:[-:]?(?P<second>[0-9]{2}))?"
                         r"(?![0-9])")


def file_identity(relative_path: str) -> tuple[str, str]:
    """A file's identity across exports (its path, lower-cased, without its export date) and that export date as
    YYYYMMDDHHMMSS ('' when none): `crm_2026-10-31/Sellsy_Companies.csv` -> ('crm_/sellsy_companies', '20261031000000').

    Only a name holding exactly one date has an export date (with its time when one follows). A bare year
    (`invoices_2024.csv`) or a range of dates (`invoices_2025-01-01_2025-01-31.csv`) names the period a file
    holds: it is part of the identity, so each period's file counts."""
    lowered = str(Path(relative_path.lower()).with_suffix(""))  # a CSV export may be followed by a JSONL one
    dates = [match for match in EXPORT_DATE.finditer(lowered) if _is_date(match)]
    if len(dates) != 1:
        return lowered, ""
    [day] = dates
    time = EXPORT_TIME.match(lowered, day.end())
    end = time.end() if time and int(time["hour"]) < 24 and int(time["minute"]) < 60 else day.end()
    clock = [time[part] or "00" for part in ("hour", "minute", "second")] if end != day.end() else ["00"] * 3
    return lowered[:day.start()] + lowered[end:], "".join([day["year"], day["month"], day["day"], *clock])


def _is_date(match: re.Match) -> bool:
    return 1990 <= int(match["year"]) <= 2100 and 1 <= int(match["month"]) <= 12 and 1 <= int(match["day"]) <= 31


def _field_warnings(keys: Sequence[str], present) -> list[str]:
    present = set(present)
    missing = [key for key in keys if key not in present]
    extra = sorted(name for name in present - set(keys) if name)  # a trailing separator gives a nameless one
    warnings = []
    if missing:
        warnings.append(f"missing key columns, loaded as empty: {', '.join(missing)}")
    if extra:
        warnings.append(f"extra columns ignored: {', '.join(extra)}")
    return warnings
