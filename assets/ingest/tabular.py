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

import pandas as pd

from assets.ingest.raw_tables import LINEAGE_COLUMNS, raw_tables
from assets.ingest.registry import FileRejected, FileReport, Rejection, iter_files

CANDIDATE_DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class TextRecord:
    """One record of a file: where it starts, its raw text, and its values (CSV fields or a JSON object)."""

    line_number: int
    raw: str
    values: list[str] | dict


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
    Windows-1252 file (a spreadsheet re-save) is read too, with a warning."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig"), "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8", []
    except UnicodeDecodeError as utf8_error:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise FileRejected(f"not UTF-8 text (byte {utf8_error.start} cannot be decoded)") from None
        return text, "cp1252", ["not valid UTF-8; read as Windows-1252"]


def _sniff_delimiter(header_line: str) -> str:
    """Exports are comma-separated, but a spreadsheet re-save in a French locale gives ';': the header's most
    frequent candidate wins, a comma on ties."""
    return max(CANDIDATE_DELIMITERS, key=header_line.count)


def read_csv(text: str) -> TabularContent:
    """Split CSV text (RFC 4180 quoting, quoted fields may span lines) into a header and records.

    A record's line number is the physical line where it starts (header = line 1). Blank lines carry no
    data: they are skipped and counted in `blank_lines`. Records whose field count differs from the
    header's, or that the csv module cannot split, are returned as rejections.
    """
    if not text.strip():
        raise FileRejected("empty file: no header line")
    # newline="" splits physical lines on \n, \r\n and \r only (str.splitlines also splits on \x0c, \u2028...)
    lines = list(io.StringIO(text, newline=""))
    consumed: list[str] = []

    def physical_lines():
        for line in lines:
            consumed.append(line)
            yield line

    delimiter = _sniff_delimiter(lines[0])
    reader = csv.reader(physical_lines(), delimiter=delimiter)
    content = TabularContent(header=[], records=[], details={"delimiter": delimiter})
    while True:
        start_line = reader.line_num + 1
        consumed.clear()
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            reason = f"unreadable CSV record: {error}"
            content.rejections.append(Rejection(start_line, reason, _raw(consumed)))
            continue
        _place_csv_record(content, TextRecord(start_line, _raw(consumed), fields))
    return content


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
        try:
            value = json.loads(raw, parse_float=str, parse_int=str)
        except json.JSONDecodeError as error:
            reason = f"invalid JSON: {error.msg} at column {error.colno}"
            content.rejections.append(Rejection(line_number, reason, raw))
            continue
        if not isinstance(value, dict):
            reason = f"not a JSON object but {type(value).__name__}"
            content.rejections.append(Rejection(line_number, reason, raw))
            continue
        content.records.append(TextRecord(line_number, raw, value))
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
    try:
        con.execute(f"INSERT INTO raw.{table} ({targets}) SELECT {casts} FROM {view}")
    finally:
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

    Versions: a newer export of an object replaces the previous one. supersede_key is "<source>:<object>";
    version_rank_key is the file's path inside the source directory, lower-cased, then the load time: with
    dated names (`sellsy_companies_2026-10-31.csv` after `sellsy_companies_2026-09-30.csv`) or dated
    sub-folders the latest date wins, whatever the files' modification times or the order they arrive in;
    a re-export under the same path wins over what was loaded from that path before.
    """

    source: str
    objects: dict[str, list[str]]
    object_label: str
    suffixes: tuple[str, ...]
    raw_tables: tuple[str, ...]

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
            rows, rejections, field_warnings = self._rows_from_json(name, content)
        else:
            content = read_csv(text)
            rows, rejections, field_warnings = self._rows_from_csv(name, content)
        columns = [*self.objects[name], *LINEAGE_COLUMNS]
        insert_rows(con, f"{self.source}_{name}", columns,
                    [(*values, sha256, file_path, line) for line, values in rows])
        return FileReport(
            entity=name, rows_read=content.rows_read, rows_loaded=len(rows),
            rejections=sorted([*content.rejections, *rejections], key=lambda r: r.line_number),
            warnings=[*warnings, *field_warnings],
            supersede_key=f"{self.source}:{name}",
            version_rank_key=f"{file_path.split('/', 1)[-1].lower()}|{load_stamp()}",
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
        return rows, rejections, _field_warnings(keys, header)

    def _rows_from_json(self, name: str, content: TabularContent):
        keys = self.objects[name]
        rows, rejections, seen = [], [], set()
        for record in content.records:
            fields = {key.lower(): value for key, value in record.values.items()}
            seen.update(fields)
            values = [json_value_as_text(fields.get(key)) for key in keys]
            self._keep_or_reject(keys, record, values, rows, rejections)
        return rows, rejections, _field_warnings(keys, seen) if content.records else []

    @staticmethod
    def _keep_or_reject(keys: list[str], record: TextRecord, values: list, rows: list, rejections: list):
        if "id" in keys and not (values[keys.index("id")] or "").strip():
            rejections.append(Rejection(record.line_number, "record without id", record.raw))
        else:
            rows.append((record.line_number, values))


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
