"""Typed values of the CRM and practice exports: the loader's readers agree with dbt staging's, a value that a
figure needs and cannot be read quarantines its line, any other doubtful value is kept and flagged."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import duckdb
import jinja2
import pytest

from assets.ingest.crm import CrmLoader
from assets.ingest.practice import PracticeLoader
from assets.ingest.registry import ingest_source
from assets.ingest.values import UnusableLine, check_values, read_boolean, read_date, read_decimal, read_integer

# its own connection: the module's default one is shared with other tests of the same worker
SQL = duckdb.connect()
MACROS = Path(__file__).resolve().parents[2] / "dbt_project" / "macros" / "parsing.sql"


def _render(macro: str, args) -> str:
    """The DuckDB body of one staging macro of dbt_project/macros/parsing.sql, applied to the parameter $1. The
    dialect macros it calls (vigie.matches_fully...) are their DuckDB implementations in cross_database.sql."""
    environment = jinja2.Environment()
    dialect = environment.from_string((MACROS.parent / "cross_database.sql").read_text(encoding="utf-8")).module
    environment.globals["vigie"] = SimpleNamespace(**{
        name.removeprefix("duckdb__"): getattr(dialect, name) for name in dir(dialect) if name.startswith("duckdb__")})
    module = environment.from_string(MACROS.read_text(encoding="utf-8")).module
    return str(getattr(module, f"default__{macro}")("$1", *args))


STAGING_SQL = {
    "decimal": _render("parse_decimal", (18, 2)),
    "decimal4": _render("parse_decimal", (18, 4)),
    "percentage": _render("parse_decimal", (5, 2)),
    "date": _render("parse_date", ()),
    "integer": _render("parse_integer", ()),
}
TRICKY_NUMBERS = ["12", "12.5", "1 234,50", " -3.2 ", "+4", ".5", "5.", "1e3", "1E-2", "abc", "12,3,4", "1.2.3",
                  "nan", "inf", "Infinity", "-", "", "0x10", "9999999999999999.99", "10000000000000000",
                  "100\t", "\t100", "100\r", "100\n", "\u00a0100",
                  "99999999999999999999", "1.005", "999.999", "999.99", "1000", "12€", "１２"]
TRICKY_DATES = ["2025-02-28", "2025-02-30", "2025-2-3", "2025-13-01", "2025-03-01T10:00:00+01:00",
                "31/12/2025", "2025/03/01", "20250301", "0001-01-01", "2025-03-01 10:00", "abc", "2025-00-10",
                "\t2025-01-15", "2025-01-15\r", " 2025-01-15 "]
TRICKY_INTEGERS = ["1", "-1", "+2", " 3 ", "3\t", "1.0", "1e2", "9223372036854775807", "9223372036854775808", "x",
                   "1" * 5000]


@pytest.mark.parametrize("text", TRICKY_NUMBERS)
@pytest.mark.parametrize("kind, precision, scale", [("decimal", 18, 2), ("decimal4", 18, 4),
                                                    ("percentage", 5, 2)])
def test_decimal_reader_reads_exactly_what_staging_reads(text, kind, precision, scale):
    staged = SQL.execute(f"SELECT {STAGING_SQL[kind]}", [text]).fetchall()[0][0]
    assert read_decimal(text, precision, scale) == staged


@pytest.mark.parametrize("text", TRICKY_DATES)
def test_date_reader_reads_exactly_what_staging_reads(text):
    staged = SQL.execute(f"SELECT {STAGING_SQL['date']}", [text]).fetchall()[0][0]
    assert read_date(text) == staged


@pytest.mark.parametrize("text", TRICKY_INTEGERS)
def test_integer_reader_reads_exactly_what_staging_reads(text):
    staged = SQL.execute(f"SELECT {STAGING_SQL['integer']}", [text]).fetchall()[0][0]
    assert read_integer(text) == staged


@pytest.mark.parametrize("text", ["true", "Oui", "0", "FAUX", "n", "maybe", "2", " oui ", "oui\t", "Oui\r"])
def test_boolean_reader_reads_exactly_what_staging_reads(text):
    staged = SQL.execute(f"SELECT {_render('parse_boolean', ())}", [text]).fetchall()[0][0]
    assert read_boolean(text) == staged


# --- through the loaders ----------------------------------------------------------------------------------

@pytest.fixture
def landing(tmp_path: Path) -> Path:
    for source in ("crm", "practice"):
        (tmp_path / source).mkdir()
    return tmp_path


def write(landing: Path, name: str, text: str) -> None:
    (landing / name).write_text(text, encoding="utf-8")


def rejections(con, file_path: str) -> list[tuple]:
    return con.execute("SELECT line_number, reason FROM raw.ingest_rejections WHERE file_path = ?"
                       " ORDER BY line_number", [file_path]).fetchall()


def flags(con, file_path: str) -> list[tuple]:
    return con.execute("SELECT line_number, column_name, value, rule FROM raw.ingest_flags WHERE file_path = ?"
                       " ORDER BY line_number, column_name", [file_path]).fetchall()


def counts(con, file_path: str) -> tuple:
    return con.execute("SELECT rows_read, rows_loaded, rows_quarantined FROM raw.ingest_files WHERE file_path = ?",
                       [file_path]).fetchone()


INVOICES_HEADER = "id,company_id,deal_id,number,date,due_date,status,total_excl_tax,total_incl_tax,paid_date\n"


def test_an_invoice_whose_amount_or_date_cannot_be_read_is_quarantined_with_its_line(con, landing):
    write(landing, "crm/invoices.csv", INVOICES_HEADER
          + "i1,c1,,F1,2025-03-01,,paid,100.00,120.00,\n"
          + "i2,c1,,F2,2025-02-30,,paid,100.00,120.00,\n"
          + "i3,c1,,F3,2025-03-02,,paid,1e30,120.00,\n"
          + "i4,c1,,F4,2025-03-02,,paid,10000000000000000,120.00,\n"
          + "i5,c1,,F5,2025-03-03,,paid,douze,120.00,\n")
    summary = ingest_source(con, landing, CrmLoader(), "run-1")

    reasons = dict(rejections(con, "crm/invoices.csv"))
    assert sorted(reasons) == [3, 4, 5, 6]
    assert "impossible date '2025-02-30' in date" in reasons[3]
    assert "unreadable number '1e30' in total_excl_tax" in reasons[4]
    assert "out of range" in reasons[5] and "total_excl_tax" in reasons[5]
    assert "'douze'" in reasons[6]
    assert counts(con, "crm/invoices.csv") == (5, 1, 4)
    assert con.execute("SELECT id FROM raw.crm_invoices").fetchall() == [("i1",)]
    assert any(problem.startswith("crm/invoices.csv, line 4: ") for problem in summary.problems)


def test_doubtful_secondary_values_are_kept_and_flagged(con, landing):
    write(landing, "crm/invoices.csv", INVOICES_HEADER
          + "i1,c1,,F1,2025-03-01,2025-02-30,paid,100.00,120.00,\n"  # impossible due date: kept, flagged
          + "i2,c1,,F2,1899-03-01,,paid,100.00,120.00,\n"  # implausible document date: kept, flagged
          + "i3,c1,,=HYPERLINK(\"http://x\"),2025-03-01,,paid,-100.00,120.00,\n"  # formula-like number
          + "i1,c1,,F4,2025-03-04,,paid,100.00,120.00,\n")  # id written twice in the file
    ingest_source(con, landing, CrmLoader(), "run-1")

    assert counts(con, "crm/invoices.csv") == (4, 4, 0)
    assert flags(con, "crm/invoices.csv") == [
        (2, "due_date", "2025-02-30", "unreadable_value"),
        (3, "date", "1899-03-01", "implausible_date"),
        (4, "number", '=HYPERLINK("http://x")', "formula_like"),
        (5, "id", "i1", "duplicate_id"),
    ]
    # the negative amount is a number, not a formula
    assert not [f for f in flags(con, "crm/invoices.csv") if f[1] == "total_excl_tax"]


def test_undeclared_practice_code_is_loaded_not_rejected(con, landing):
    write(landing, "practice/client_files.csv",
          "company_id,siren,collaborator_id,bookkeeping_by,frequency,deactivated\n"
          "c1,552100554,u1,cabinet,monthly,peut-être\n")
    ingest_source(con, landing, PracticeLoader(), "run-1")
    assert counts(con, "practice/client_files.csv") == (1, 1, 0)
    # the code is dbt's to flag (rpt_data_quality); the unreadable flag is the loader's
    assert flags(con, "practice/client_files.csv") == [(2, "deactivated", "peut-être", "unreadable_value")]


def test_flags_of_a_superseded_version_stay_with_that_version(con, landing):
    write(landing, "crm/invoices_2026-01-31.csv", INVOICES_HEADER + "i1,c1,,F1,2025-03-01,2025-02-30,paid,1,1,\n")
    ingest_source(con, landing, CrmLoader(), "run-1")
    write(landing, "crm/invoices_2026-02-28.csv", INVOICES_HEADER + "i1,c1,,F1,2025-03-01,2025-03-30,paid,1,1,\n")
    ingest_source(con, landing, CrmLoader(), "run-2")
    current = con.execute("SELECT count(*) FROM raw.ingest_flags JOIN raw.ingest_files USING (file_path, sha256)"
                          " WHERE status = 'loaded'").fetchone()[0]
    assert current == 0


def test_a_missing_column_is_said_once_and_a_missing_value_on_its_line(con, landing):
    write(landing, "crm/invoices.csv", "id,company_id,number,date,status,total_excl_tax\n"
          "i1,c1,F1,2025-03-01,paid,100\n"
          "i2,c1,F2,,paid,100\n"
          "i3,c1,F3,2025-03-02,,\n")
    ingest_source(con, landing, CrmLoader(), "run-1")
    assert counts(con, "crm/invoices.csv") == (3, 3, 0)
    assert flags(con, "crm/invoices.csv") == [
        (1, "total_incl_tax", None, "missing_column"),  # said once, on the header line
        (3, "date", None, "missing_value"),
        (4, "status", None, "missing_value"),
        (4, "total_excl_tax", None, "missing_value"),
    ]


def test_a_file_gets_the_flags_and_quarantine_check_values_gives_line_by_line(con, landing):
    # The loader judges each distinct value once (values.loud_values) and checks only the lines holding one it
    # has something to say about: the outcome must be check_values' on every line, a value repeated or not.
    pool = {"date": ["2025-03-01", "2025-02-30", "1899-01-01", "", "2025-03-02"],
            "due_date": ["", "2025-04-01", "soon", "2025-04-01"],
            "status": ["paid", "", "=cmd", "draft"],
            "total_excl_tax": ["100.00", "1 234.50", "", "douze", "-5", "20000000000"],
            "number": ["F1", "+33 6", "@SUM(A1)", "- note", "F2"]}
    header = ["id", "company_id", "number", "date", "due_date", "status", "total_excl_tax"]  # no total_incl_tax
    lines = [{"id": f"i{n}", "company_id": "c1", **{name: values[(n * (k + 2)) % len(values)]
                                                   for k, (name, values) in enumerate(pool.items())}}
             for n in range(60)]
    write(landing, "crm/invoices.csv", ",".join(header) + "\n"
          + "".join(",".join(line[c] for c in header) + "\n" for line in lines))
    ingest_source(con, landing, CrmLoader(), "run-1")

    absent = frozenset({"deal_id", "total_incl_tax", "paid_date"})
    expected_flags, expected_quarantine = [(1, "total_incl_tax", None, "missing_column")], []
    for number, line in enumerate(lines, start=2):
        values = {c: line.get(c) or None for c in ["id", "company_id", "deal_id", "number", "date", "due_date",
                                                     "status", "total_excl_tax", "total_incl_tax", "paid_date"]}
        try:
            expected_flags += [(number, f.column_name, f.value, f.rule)
                               for f in check_values("crm_invoices", values, absent)]
        except UnusableLine:
            expected_quarantine.append(number)
    assert 10 < len(expected_quarantine) < 50 and len(expected_flags) > 20  # both outcomes, many times over
    assert flags(con, "crm/invoices.csv") == sorted(expected_flags, key=lambda f: (f[0], f[1]))
    assert [number for number, _ in rejections(con, "crm/invoices.csv")] == expected_quarantine
    assert counts(con, "crm/invoices.csv") == (60, 60 - len(expected_quarantine), len(expected_quarantine))


def test_a_semicolon_file_starting_with_a_blank_line_is_read_with_its_own_separator(con, landing):
    write(landing, "practice/offices.csv", "\nid;name\no1;Annecy\n")
    ingest_source(con, landing, PracticeLoader(), "run-1")
    assert con.execute("SELECT id, name, _line_number FROM raw.practice_offices").fetchall() == [("o1", "Annecy", 3)]


def test_the_trimmed_characters_are_the_space_separators_duckdb_trims():
    import sys
    import unicodedata

    from assets.ingest.values import SQL_TRIM

    separators = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if unicodedata.category(c) == "Zs")
    assert separators == SQL_TRIM
    assert all(SQL.execute("SELECT trim(?)", [f"{c}1{c}"]).fetchall()[0][0] == "1" for c in separators)
    assert SQL.execute("SELECT trim(?)", ["\t1\n"]).fetchall()[0][0] == "\t1\n"


def test_a_long_formula_like_note_is_flagged_by_its_start_only(con, landing):
    note = "=HYPERLINK(\"http://x\") rappeler M. Martin au sujet du contrat de maintenance annuel"
    write(landing, "crm/interactions.jsonl", json.dumps({"id": "n1", "company_id": "c1", "kind": "call",
                                                          "date": "2025-03-01", "text": note}) + "\n"
          + json.dumps({"id": "n2", "company_id": "c1", "kind": "call", "date": "2025-03-01",
                        "text": "- rappeler le client"}) + "\n")
    ingest_source(con, landing, CrmLoader(), "run-1")
    assert flags(con, "crm/interactions.jsonl") == [(1, "text", note[:40] + "…", "formula_like")]


def test_an_invoice_without_its_company_is_flagged_and_a_file_without_the_column_once(con, landing):
    write(landing, "crm/invoices.csv", INVOICES_HEADER + "i1,,,F1,2025-03-01,,paid,100,120,\n")
    write(landing, "crm/deals.csv", "id,name,status,budget_labour,budget_purchases,budget_sales\n"
                                    "d1,Bilan,done,1,1,1\nd2,Paie,done,1,1,1\n")
    ingest_source(con, landing, CrmLoader(), "run-1")
    assert flags(con, "crm/invoices.csv") == [(2, "company_id", None, "missing_value")]
    assert flags(con, "crm/deals.csv") == [(1, "company_id", None, "missing_column")]
