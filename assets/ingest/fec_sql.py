"""The SQL that turns FEC text lines into typed rows, built once per file from its header.

What is read at once is listed in `vigie_fec_sources` (file_index, path, first_line, header_line): the chunks of
one large file, or many small files of the same layout (one statement for all of them: no fixed cost per file).
It becomes the temporary table `vigie_fec_chunk`: one row per non-blank data line with its file_index, physical
line number, typed fields and `problem` (NULL when the line can be loaded, else why it is quarantined).
Failed lines with more fields than the header get a second chance in `vigie_fec_repaired`: the extra
separators are assumed to sit inside a label, and the first label whose merge reads cleanly wins.
"""

from __future__ import annotations

import re

from assets.ingest.fec_layout import FEC_FIELDS, REPAIRABLE_LABELS, FecLayout
from assets.ingest.raw_tables import FEC_LINES

SOURCES_TABLE = "vigie_fec_sources"
CHUNK_TABLE = "vigie_fec_chunk"
REPAIRED_TABLE = "vigie_fec_repaired"
# Raised (InvalidInputException) by a batch read as is that holds a CR not followed by a LF.
LONE_CR_ERROR = "a CR inside a line: the file must be transcoded"
NO_REPAIR_SQL = f"CREATE OR REPLACE TEMP TABLE {REPAIRED_TABLE} AS FROM {CHUNK_TABLE} LIMIT 0"
LINE_COLUMNS = [c for c in FEC_LINES if c not in ("siren", "closing_date")]  # what a line provides
DATE_COLUMNS = [c for c in LINE_COLUMNS if FEC_LINES[c].startswith("DATE")]
AMOUNT_COLUMNS = [c for c in LINE_COLUMNS if FEC_LINES[c].startswith("DECIMAL")] + ["montant"]
TEXT_COLUMNS = [c for c in LINE_COLUMNS if FEC_LINES[c].startswith("VARCHAR")] + ["sens"]
OPTIONAL_DATES = [c for c in DATE_COLUMNS if c != "ecriture_date"]
# Fields that may be unreadable without losing the line: stored as NULL and counted in a warning.
SOFT_PROBLEMS = [f"bad_{c}" for c in [*OPTIONAL_DATES, "montant_devise"]]
DATE_FORMATS = "['%Y%m%d', '%Y-%m-%d', '%d/%m/%Y']"
# Spaces removed and the decimal comma made a point; sign first or last (`-12.50`, `12.50-`); cents at most
# (zeros beyond the cents are harmless), so the cast to DECIMAL(18,2) never rounds.
SIGN_FIRST = r"[+-]?[0-9]*(\.[0-9]{0,2}0*)?"
SIGN_LAST = r"[0-9]*(\.[0-9]{0,2}0*)?[+-]"
SENS_DEBIT = "('D', 'DEBIT', 'DÉBIT', '+1', '1')"
SENS_CREDIT = "('C', 'CREDIT', 'CRÉDIT', '-1')"


def _literal(text: str) -> str:
    return "chr(9)" if text == "\t" else "'" + text.replace("'", "''") + "'"


def _edge_space_pattern(separator: str) -> str:
    """An RE2 pattern (as a SQL literal) matching a line where some field starts or ends with a space: a Unicode
    space separator (\\p{Zs}, the characters DuckDB's trim removes) at the start or end of the line or beside a
    separator. A line it does not match has no field that trim would change."""
    sep = "\\t" if separator == "\t" else re.escape(separator).replace("'", "''")
    return f"'(?:^|{sep})\\p{{Zs}}|\\p{{Zs}}(?:{sep}|$)'"


def chunk_sql(layout: FecLayout) -> str:
    """Parameter: $paths, the paths of vigie_fec_sources (read_text takes a constant list). A line end's CR (a
    CRLF file read as is) is dropped; files with any other CR are transcoded first (fec_text), and one found
    here (past the part of the file fec_text.quick_text_format looked at) stops the statement, so the files are
    read again on their own. A UTF-8 BOM can only sit on the first line, which is the header or blank: never
    read as data."""
    sep = _literal(layout.separator)
    # Blank: nothing but spaces, separators and the DOS end-of-file mark (Ctrl-Z) that old exports append.
    blank = r"\s\x1a" + ("" if layout.separator == "\t" else "\\" + layout.separator)
    # text_lines is MATERIALIZED so that every core types lines: read_text yields one row per file (a single row
    # for a chunk of a large file), too few for DuckDB to share out, and the split, typing and checks of a whole
    # batch ran on one thread (200 000 lines, two threads: 0.66 s streamed, 0.41 s materialized).
    # The lines are numbered by unnest and generate_subscripts side by side in one select list (unnested together,
    # position by position), not by a lateral `unnest(...) WITH ORDINALITY`: DuckDB planned that as a join of the
    # files with their own lines (a hash aggregate, a window and two hash joins per batch). One batch of 457 000
    # lines: 0.80 to 0.87 s -> 0.58 to 0.60 s; the 10 M-line bench's parse statements 18.6 s -> 14.4 s.
    lines = f"""
    text_lines AS MATERIALIZED (
        SELECT file_index, header_line, line_number,
               CASE WHEN contains(line, chr(13)) THEN error('{LONE_CR_ERROR}: ' || path) ELSE line END AS line
        FROM (SELECT file_index, header_line, path, first_line + i - 1 AS line_number,
                     CASE WHEN ends_with(raw_line, chr(13)) THEN left(raw_line, -1) ELSE raw_line END AS line
              FROM (SELECT file_index, first_line, header_line, path,
                           unnest(parts) AS raw_line, generate_subscripts(parts, 1) AS i
                    FROM (SELECT s.file_index, s.first_line, s.header_line, s.path,
                                 string_split(t.content, chr(10)) AS parts
                          FROM read_text($paths) AS t JOIN {SOURCES_TABLE} AS s ON s.path = t.filename)))
    ),
    candidates AS (
        SELECT file_index, line_number, line, string_split(line, {sep}) AS fields, 0 AS attempt,
               NULL::VARCHAR AS merged_into, regexp_matches(line, {_edge_space_pattern(layout.separator)}) AS padded
        FROM text_lines
        WHERE line_number > header_line AND regexp_matches(line, '[^{blank}]')
    ),"""
    return (f"CREATE OR REPLACE TEMP TABLE {CHUNK_TABLE} AS WITH {lines} {_typing_ctes(layout)} "
            "SELECT * FROM checked")


def repair_sql(layout: FecLayout) -> str:
    """Merge the extra fields of failed lines into the first label (REPAIRABLE_LABELS) that reads cleanly."""
    sep = _literal(layout.separator)
    labels = [(rank, layout.positions[c], FEC_FIELDS[c])
              for rank, c in enumerate(REPAIRABLE_LABELS, start=1) if c in layout.positions]
    if not labels:
        return NO_REPAIR_SQL
    label_rows = ", ".join(f"({rank}, {position}, '{name}')" for rank, position, name in labels)
    tries = f"""
    failing AS (
        SELECT file_index, line_number, line, string_split(line, {sep}) AS split_fields, field_count
        FROM {CHUNK_TABLE} WHERE problem IS NOT NULL AND field_count > {layout.field_count}
    ),
    tries AS (
        SELECT failing.*, label.rank, label.position, label.name,
               unnest(range(1, field_count - {layout.field_count} + 1)) AS extra
        FROM failing CROSS JOIN (VALUES {label_rows}) AS label(rank, position, name)
    ),
    candidates AS (
        SELECT file_index, line_number, line,
               list_concat(split_fields[1:position - 1],
                           [array_to_string(split_fields[position:position + extra], {sep})],
                           split_fields[position + extra + 1:]) AS fields,
               rank * 1000 + extra AS attempt, name AS merged_into, true AS padded
        FROM tries
    ),"""
    return (f"CREATE OR REPLACE TEMP TABLE {REPAIRED_TABLE} AS WITH {tries} {_typing_ctes(layout)} "
            "SELECT * FROM checked WHERE reads_cleanly"
            " QUALIFY row_number() OVER (PARTITION BY file_index, line_number ORDER BY attempt) = 1")


def _typing_ctes(layout: FecLayout) -> str:
    """From `candidates(file_index, line_number, line, fields, attempt, merged_into, padded)` to `checked`, one row per
    line. `padded`: some field of the line may start or end with a space (_edge_space_pattern); only those lines'
    fields are trimmed. Trimming every text and date field was a fifth of the statement's CPU time (EXPLAIN ANALYZE,
    457 000 lines: 0.30 of 1.33 s); one pattern on the line costs less than the trims it spares (up to twenty)."""
    width = layout.field_count
    picked = ", ".join(_pick(layout, c) for c in [*TEXT_COLUMNS, *DATE_COLUMNS, *AMOUNT_COLUMNS])
    cleaned = ", ".join([*("nullif(" + _trimmed(f"f_{c}") + f", '') AS t_{c}" for c in TEXT_COLUMNS),
                         *(_trimmed(f"coalesce(f_{c}, '')") + f" AS d_{c}" for c in DATE_COLUMNS),
                         *(f"replace(replace(coalesce(f_{c}, ''), ' ', ''), ',', '.') AS a_{c}"
                           for c in AMOUNT_COLUMNS)])
    typed = ", ".join([*(_date(c) for c in DATE_COLUMNS), *(_amount(c) for c in AMOUNT_COLUMNS)])
    return f"""
    picked AS (SELECT file_index, line_number, line, attempt, merged_into, padded, len(fields) AS field_count,
                      CASE WHEN len(fields) > {width}
                           THEN trim(array_to_string(fields[{width + 1}:], ''), ' ') <> ''
                           ELSE false END AS has_extra_data,
                      {picked}
               FROM candidates),
    cleaned AS (SELECT *, {cleaned} FROM picked),
    typed AS (SELECT *, {typed} FROM cleaned),
    flagged AS (SELECT file_index, line_number, field_count, attempt, merged_into, has_extra_data,
                       {_problem(layout)} AS problem, {_amounts_given(layout)} AS amounts_given,
                       {_soft_problems()}, {_line_values(layout)}, line
                FROM typed),
    checked AS (SELECT * REPLACE (CASE WHEN problem IS NOT NULL OR {" OR ".join(SOFT_PROBLEMS)} THEN line END
                                  AS line),
                       problem IS NULL AND amounts_given
                       AND NOT ({" OR ".join(SOFT_PROBLEMS)}) AS reads_cleanly
                FROM flagged)"""


def _trimmed(value: str) -> str:
    """trim(value), on the lines where a field may need it (`padded`)."""
    return f"CASE WHEN padded THEN trim({value}) ELSE {value} END"


def _pick(layout: FecLayout, column: str) -> str:
    position = layout.positions.get(column)
    return f"fields[{position}] AS f_{column}" if position else f"NULL::VARCHAR AS f_{column}"


def _date(column: str) -> str:
    """NULL when blank or unreadable; a time part (`2023-01-31 00:00:00`, `2023-01-31T00:00`) is dropped."""
    d = f"d_{column}"
    text = f"CASE WHEN length({d}) > 10 THEN regexp_extract({d}, '^[^ T]*') ELSE {d} END"
    return f"CASE WHEN {d} <> '' THEN try_strptime({text}, {DATE_FORMATS})::DATE END AS v_{column}"


# A ledger line of a thousand billion euros or more is a broken cell, not an entry: DECIMAL(18,2) would hold it,
# but a month's sum of a few of them would no longer fit the marts.
TOO_LARGE = r"[+-]?0*[1-9][0-9]{12,}([.][0-9]*)?[+-]?"
TOO_LARGE_MIN_LENGTH = 13  # what TOO_LARGE can match is at least this long: shorter amounts skip the regex


def _amount(column: str) -> str:
    """DECIMAL(18,2); 0 when blank, NULL when not an amount in cents or implausibly large."""
    a = f"a_{column}"
    return (f"CASE WHEN {a} = '' THEN 0::DECIMAL(18,2)"
            f" WHEN length({a}) >= {TOO_LARGE_MIN_LENGTH} AND regexp_full_match({a}, '{TOO_LARGE}') THEN NULL"
            f" WHEN regexp_full_match({a}, '{SIGN_FIRST}') THEN try_cast({a} AS DECIMAL(18,2))"
            f" WHEN regexp_full_match({a}, '{SIGN_LAST}')"
            f" THEN try_cast(right({a}, 1) || left({a}, -1) AS DECIMAL(18,2))"
            f" END AS v_{column}")


def _problem(layout: FecLayout) -> str:
    """Why the line cannot be loaded, or NULL. Only key fields and amounts make a line unreadable."""
    checks = [
        (f"field_count < {layout.min_field_count}",
         f"'line has ' || field_count || ' fields, the header has {layout.field_count}'"),
        ("t_compte_num IS NULL", "'CompteNum is empty'"),
        ("d_ecriture_date = ''", "'EcritureDate is empty'"),
        ("v_ecriture_date IS NULL", "'EcritureDate \"' || trim(f_ecriture_date) || '\" is not a date'"),
    ]
    checks += [(f"v_{c} IS NULL", _amount_problem(c)) for c in ("debit", "credit", "montant")
               if c in layout.required_fields]
    if layout.amount_layout == "montant_sens":
        checks.append((f"NOT (upper(coalesce(t_sens, '')) IN {SENS_DEBIT} OR upper(t_sens) IN {SENS_CREDIT})",
                       "'Sens \"' || coalesce(t_sens, '') || '\" is neither D/C nor +1/-1'"))
    return "CASE " + " ".join(f"WHEN {condition} THEN {reason}" for condition, reason in checks) + " END"


def _amount_problem(column: str) -> str:
    """Written as an amount but implausibly large, or not an amount at all: two different fixes."""
    a, name = f"a_{column}", FEC_FIELDS[column]
    return (f"CASE WHEN regexp_full_match({a}, '{TOO_LARGE}')"
            f" THEN '{name} \"' || trim(f_{column}) || '\" is out of range (a ledger line stays below"
            f" 1 000 000 000 000)'"
            f" ELSE '{name} \"' || trim(f_{column}) || '\" is not an amount with at most two decimals' END")


def _soft_problems() -> str:
    """Optional dates and Montantdevise written but unreadable (blank and all-zero dates are fine)."""
    dates = [f"CASE WHEN v_{c} IS NOT NULL OR d_{c} = '' THEN false"
             f" ELSE NOT regexp_full_match(d_{c}, '[0/: T-]*') END AS bad_{c}" for c in OPTIONAL_DATES]
    return ", ".join([*dates, "a_montant_devise <> '' AND v_montant_devise IS NULL AS bad_montant_devise"])


def _amounts_given(layout: FecLayout) -> str:
    """A repaired line must show its amounts: an empty amount reads as zero and would accept a wrong merge."""
    if layout.amount_layout == "debit_credit":
        return "a_debit <> '' AND a_credit <> ''"
    return "a_montant <> '' AND t_sens IS NOT NULL"


def _line_values(layout: FecLayout) -> str:
    """The raw.fec_lines columns (lineage aside) under their own names."""
    values = {c: f"t_{c}" for c in TEXT_COLUMNS} | {c: f"v_{c}" for c in DATE_COLUMNS}
    values["montant_devise"] = "v_montant_devise"
    if layout.amount_layout == "debit_credit":
        values |= {"debit": "v_debit", "credit": "v_credit"}
    else:
        values |= {c: f"CASE WHEN upper(t_sens) IN {sens} THEN v_montant ELSE 0 END::DECIMAL(18,2)"
                   for c, sens in (("debit", SENS_DEBIT), ("credit", SENS_CREDIT))}
    return ", ".join(f"{values[c]} AS {c}" for c in LINE_COLUMNS)
