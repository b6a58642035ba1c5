"""The FEC reader: every legal variant and real-world quirk of domain.md §1, each on a tiny file."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from assets.ingest.fec import FecLoader
from assets.ingest.fec_layout import parse_file_name
from assets.ingest.fec_text import sniff_text_format
from assets.ingest.raw_tables import create_raw_schema
from assets.ingest.registry import FileRejected, FileReport, file_sha256, ingest_source

REPO_ROOT = Path(__file__).resolve().parents[2]
REAL_FEC = REPO_ROOT.parent / "shared" / "realdata" / "fec"

FIELDS_18 = ["JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib",
             "CompAuxNum", "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit",
             "EcritureLet", "DateLet", "ValidDate", "Montantdevise", "Idevise"]
FIELDS_BA = [*FIELDS_18, "DateRglt", "ModeRglt", "NatOp"]
FIELDS_BNC = [*FIELDS_BA, "IdClient"]
NAME = "123456789FEC20231231.txt"


def entry(**values: str) -> dict[str, str]:
    """One FEC line as field name -> text, with plausible defaults."""
    line = {"JournalCode": "VT", "JournalLib": "Ventes", "EcritureNum": "1", "EcritureDate": "20230131",
            "CompteNum": "411000", "CompteLib": "Clients", "CompAuxNum": "", "CompAuxLib": "",
            "PieceRef": "F1", "PieceDate": "20230131", "EcritureLib": "Facture 1", "Debit": "120,00",
            "Credit": "0,00", "EcritureLet": "", "DateLet": "", "ValidDate": "20230205", "Montantdevise": "",
            "Idevise": ""}
    return line | values


def sale(number: int, amount: str, day: str = "20230131") -> list[dict[str, str]]:
    """A balanced sale: customer debit, revenue credit."""
    common = {"EcritureNum": str(number), "EcritureDate": day, "PieceRef": f"F{number}", "PieceDate": day,
              "EcritureLib": f"Facture {number} réglée"}
    return [entry(**common, CompteNum="411000", Debit=amount, Credit="0,00"),
            entry(**common, CompteNum="706000", CompteLib="Prestations", Debit="0,00", Credit=amount)]


def fec_text(rows: list[dict[str, str] | str], header: list[str] = FIELDS_18, sep: str = "\t",
             newline: str = "\n") -> str:
    """Header then rows; a row given as a string is written as is (for malformed lines)."""
    lines = [sep.join(header)]
    lines += [row if isinstance(row, str) else sep.join(row.get(name, "") for name in header) for row in rows]
    return newline.join(lines) + newline


@dataclass
class Loaded:
    report: FileReport
    rows: list[dict]

    def column(self, name: str) -> list:
        return [row[name] for row in self.rows]


def write(tmp_path: Path, content: str | bytes, name: str = NAME, encoding: str = "utf-8") -> Path:
    path = tmp_path / "landing" / "accounting" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def load(tmp_path: Path, content: str | bytes, name: str = NAME, encoding: str = "utf-8",
         chunk_bytes: int = 1 << 20) -> Loaded:
    path = write(tmp_path, content, name, encoding)
    con = duckdb.connect()
    create_raw_schema(con)
    loader = FecLoader(scratch_dir=tmp_path / "scratch", chunk_bytes=chunk_bytes)
    report = loader.load(con, path, f"accounting/{name}", file_sha256(path))
    cursor = con.execute("SELECT * FROM raw.fec_lines ORDER BY _line_number")
    names = [d[0] for d in cursor.description]
    return Loaded(report, [dict(zip(names, row, strict=True)) for row in cursor.fetchall()])


def ingest(con, landing: Path, run_id: str = "run-1"):
    return ingest_source(con, landing, FecLoader(scratch_dir=landing.parent / "scratch"), run_id)


# --- separators, encodings, line ends -----------------------------------------------------------------------

def test_tab_separated_file_reads_every_field(tmp_path):
    line = entry(CompAuxNum="C001", CompAuxLib="Client Martin", EcritureLet="AA", DateLet="20230210",
                 Montantdevise="130,50", Idevise="USD")
    loaded = load(tmp_path, fec_text([line, *sale(2, "10,00")[1:]]))
    first = loaded.rows[0]
    assert first == first | {
        "siren": "123456789", "closing_date": date(2023, 12, 31), "journal_code": "VT",
        "journal_lib": "Ventes", "ecriture_num": "1", "ecriture_date": date(2023, 1, 31),
        "compte_num": "411000", "compte_lib": "Clients", "comp_aux_num": "C001",
        "comp_aux_lib": "Client Martin", "piece_ref": "F1", "piece_date": date(2023, 1, 31),
        "ecriture_lib": "Facture 1", "debit": Decimal("120.00"), "credit": Decimal("0.00"),
        "ecriture_let": "AA", "date_let": date(2023, 2, 10), "valid_date": date(2023, 2, 5),
        "montant_devise": Decimal("130.50"), "idevise": "USD", "date_rglt": None, "mode_rglt": None,
        "nat_op": None, "id_client": None, "_source_file": f"accounting/{NAME}", "_line_number": 2}
    assert loaded.report.details["separator"] == "tab"
    assert loaded.report.details["layout"] == "debit_credit"
    assert loaded.report.details["column_count"] == 18


def test_pipe_separated_file(tmp_path):
    loaded = load(tmp_path, fec_text(sale(1, "99,90"), sep="|"))
    assert loaded.column("compte_num") == ["411000", "706000"]
    assert loaded.column("credit") == [Decimal("0.00"), Decimal("99.90")]
    assert loaded.report.details["separator"] == "|"


def test_semicolon_separator_is_read_with_a_warning(tmp_path):
    loaded = load(tmp_path, fec_text(sale(1, "8,40"), sep=";"))
    assert loaded.column("debit") == [Decimal("8.40"), Decimal("0.00")]
    assert ("the separator is a semicolon, which the FEC format does not allow (tab or '|'); read anyway"
            in loaded.report.warnings)


def test_utf8_bom_does_not_hide_the_first_header_field(tmp_path):
    text = fec_text([entry(JournalCode="AN", EcritureLib="Report à nouveau")])
    loaded = load(tmp_path, b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert loaded.column("journal_code") == ["AN"]
    assert loaded.column("ecriture_lib") == ["Report à nouveau"]
    assert loaded.report.details["encoding"] == "utf-8"
    assert loaded.report.details["bom"] is True


def test_iso_8859_15_reads_byte_a4_as_euro(tmp_path):
    text = fec_text([entry(EcritureLib="Frais 12 € bancaires", CompteLib="Crédit à l'État")])
    assert "€".encode("iso-8859-15") == b"\xa4"
    loaded = load(tmp_path, text, encoding="iso-8859-15")
    assert loaded.column("ecriture_lib") == ["Frais 12 € bancaires"]
    assert loaded.column("compte_lib") == ["Crédit à l'État"]
    assert loaded.report.details["encoding"] == "iso-8859-15"
    assert not any("encoded" in w for w in loaded.report.warnings)


def test_cp850_bytes_are_read_as_dos_french(tmp_path):
    text = fec_text([entry(EcritureLib="Réglement reçu à échéance", CompteLib="Clients créditeurs")])
    assert "é".encode("cp850") == b"\x82"
    loaded = load(tmp_path, text, encoding="cp850")
    assert loaded.column("ecriture_lib") == ["Réglement reçu à échéance"]
    assert loaded.report.details["encoding"] == "cp850"
    assert any("cp850" in w and "does not allow" in w for w in loaded.report.warnings)


def test_dos_end_of_file_mark_is_not_a_line(tmp_path):
    loaded = load(tmp_path, fec_text(sale(1, "1,00"), sep="|", newline="\r\n") + "\x1a", encoding="cp850")
    assert (loaded.report.rows_read, loaded.report.rows_loaded, loaded.report.rejections) == (2, 2, [])


def test_windows_1252_quote_and_euro_are_read(tmp_path):
    text = fec_text([entry(EcritureLib="Note d’honoraires 50 € œuvre")])
    loaded = load(tmp_path, text, encoding="cp1252")
    assert loaded.column("ecriture_lib") == ["Note d’honoraires 50 € œuvre"]
    assert loaded.report.details["encoding"] == "cp1252"


@pytest.mark.parametrize(("newline", "name"), [("\r\n", "CRLF"), ("\r\r\n", "CRCRLF"), ("\r", "CR")])
def test_line_endings_give_the_same_rows_and_line_numbers(tmp_path, newline, name):
    rows = [*sale(1, "10,00"), *sale(2, "20,00")]
    expected = load(tmp_path / "lf", fec_text(rows))
    loaded = load(tmp_path / "other", fec_text(rows, newline=newline))
    assert loaded.report.details["line_ending"] == name
    assert loaded.report.rows_read == 4
    assert [{k: v for k, v in r.items() if k != "_file_sha256"} for r in loaded.rows] == [
        {k: v for k, v in r.items() if k != "_file_sha256"} for r in expected.rows]
    assert loaded.column("_line_number") == [2, 3, 4, 5]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r\r\n", "\r"])
def test_line_ends_split_across_chunks_keep_line_numbers_exact(tmp_path, newline):
    rows = [row for number in range(1, 31) for row in sale(number, f"{number},{number:02d}")]
    # 97 bytes, a prime: block ends fall inside line ends and inside the two bytes of `é`.
    loaded = load(tmp_path, fec_text(rows, newline=newline), chunk_bytes=97)
    assert loaded.report.details["chunks"] > 40
    assert loaded.report.rows_read == loaded.report.rows_loaded == 60
    assert loaded.column("_line_number") == list(range(2, 62))
    assert loaded.column("ecriture_num")[-1] == "30"
    assert sum(loaded.column("debit")) == sum(Decimal(f"{n}.{n:02d}") for n in range(1, 31))
    assert set(loaded.column("ecriture_lib")) == {f"Facture {n} réglée" for n in range(1, 31)}
    assert not list((tmp_path / "scratch").glob("*")), "chunk files are removed"


@pytest.mark.parametrize(("data", "block", "line_ending", "only_crlf"), [
    (b"a\r\nb\r\n", 64, "CRLF", True),
    (b"a\r\nb\r\n", 2, "CR", False),  # the first CR LF cut by the block's end: read as a lone CR, to be safe
    (b"a\r\nb\r\n", 3, "CRLF", True),
    (b"a\r\r\nb", 64, "CRCRLF", False),
    (b"a\rb\rc", 64, "CR", False),
    (b"a\nbc\rd", 4, "LF", False),  # a CR past the first block: LF ends, but transcoded all the same
    (b"a\nb\n", 64, "LF", True),
])
def test_line_ends_are_sniffed_block_by_block(tmp_path, data, block, line_ending, only_crlf):
    path = tmp_path / NAME
    path.write_bytes(data)
    sniffed = sniff_text_format(path, block)
    assert (sniffed.line_ending, sniffed.only_crlf) == (line_ending, only_crlf)


def test_encoding_is_chosen_over_the_whole_file(tmp_path):
    rows = [*sale(1, "10,00"), *sale(2, "20,00"), entry(EcritureLib="Dépôt")]
    text = fec_text(rows).replace("réglée", "reglee")  # ASCII until the last line
    loaded = load(tmp_path, text, encoding="iso-8859-15", chunk_bytes=64)
    assert loaded.report.details["encoding"] == "iso-8859-15"
    assert loaded.column("ecriture_lib")[-1] == "Dépôt"


# --- field shapes -------------------------------------------------------------------------------------------

def test_trailing_separator_on_every_line(tmp_path):
    text = fec_text([*sale(1, "15,00"), entry(Credit="x")]).replace("\n", "\t\n")
    loaded = load(tmp_path, text)
    assert loaded.report.rows_loaded == 2
    assert loaded.report.details["column_count"] == 18
    assert loaded.column("idevise") == [None, None]
    assert [r.reason for r in loaded.report.rejections] == [
        'Credit "x" is not an amount with at most two decimals']
    assert not loaded.report.warnings


def test_fixed_width_padding_inside_a_delimited_file(tmp_path):
    padded = "\t".join(["VT    ", "Ventes          ", "     1", "20230131", "411000    ", "Clients      ",
                        "          ", "     ", "F1        ", "20230131", "Facture 1           ",
                        "      120,00", "        0,00", "  ", "        ", "20230205", "        ", "   "])
    loaded = load(tmp_path, fec_text([padded]))
    row = loaded.rows[0]
    assert (row["journal_code"], row["journal_lib"], row["ecriture_num"], row["compte_num"]) == (
        "VT", "Ventes", "1", "411000")
    assert row["comp_aux_num"] is None
    assert (row["debit"], row["credit"]) == (Decimal("120.00"), Decimal("0.00"))


# Unicode space separators, which DuckDB's trim removes like the ASCII space: a no-break space, a narrow no-break
# space (French thousands), an ideographic space.
NBSP, NNBSP, IDEOGRAPHIC_SPACE = "\u00a0", "\u202f", "\u3000"


@pytest.mark.parametrize("sep", ["\t", "|"])
def test_unicode_spaces_padding_a_field_are_trimmed_wherever_the_field_sits(tmp_path, sep):
    """Only the lines where a field may start or end with a space have their fields trimmed (fec_sql): a space at
    the start of the line, at its end, or on either side of a separator. Each line below has one such space, and only
    one, so a check that missed one place would load that field with its space."""
    lines = [
        entry(JournalCode=NBSP + "VT"),  # the line's first character
        entry(Idevise="EUR" + IDEOGRAPHIC_SPACE),  # its last
        entry(CompteLib=NNBSP + "Clients"),  # right after a separator
        entry(CompteLib="Clients" + NBSP),  # right before one
        entry(PieceDate=IDEOGRAPHIC_SPACE + "20230131"),  # a date, after a separator
        entry(EcritureLib="Facture" + NBSP + "1"),  # inside a field: kept
        entry(CompAuxNum=NBSP + IDEOGRAPHIC_SPACE),  # a field of spaces alone is empty
    ]
    loaded = load(tmp_path, fec_text(lines, sep=sep))
    assert not loaded.report.rejections
    assert loaded.column("journal_code")[0] == "VT"
    assert loaded.column("idevise")[1] == "EUR"
    assert loaded.column("compte_lib")[2:4] == ["Clients", "Clients"]
    assert loaded.column("piece_date")[4] == date(2023, 1, 31)
    assert loaded.column("ecriture_lib")[5] == "Facture" + NBSP + "1"
    assert loaded.column("comp_aux_num")[6] is None


def test_zero_padded_amounts(tmp_path):
    loaded = load(tmp_path, fec_text([entry(Debit="0000000069,60", Credit=" 000000000003000,00")]))
    assert (loaded.rows[0]["debit"], loaded.rows[0]["credit"]) == (Decimal("69.60"), Decimal("3000.00"))


@pytest.mark.parametrize(("text", "amount"), [("-12,50", "-12.50"), ("12,50-", "-12.50"), ("+12,50", "12.50"),
                                              ("12,50+", "12.50"), ("12.5", "12.50"), ("7", "7.00"),
                                              ("1234567,8900", "1234567.89"), ("", "0.00")])
def test_amount_signs_and_decimal_marks(tmp_path, text, amount):
    loaded = load(tmp_path, fec_text([entry(Debit=text)]))
    assert loaded.rows[0]["debit"] == Decimal(amount)


@pytest.mark.parametrize("text", ["12,345", "1 234,5x", "abc", "1e5", "12,50-+", "-"])
def test_unreadable_amounts_are_quarantined(tmp_path, text):
    loaded = load(tmp_path, fec_text([*sale(1, "5,00"), entry(Credit=text, Debit="0,00")]))
    assert loaded.report.rows_loaded == 2
    [rejection] = loaded.report.rejections
    assert rejection.line_number == 4
    assert rejection.reason == f'Credit "{text.strip()}" is not an amount with at most two decimals'


@pytest.mark.parametrize(("text", "out_of_range"), [
    ("1000000000000", True), ("-1000000000000", True), ("1000000000000-", True), ("1 000 000 000 000,00", True),
    ("00999999999999,99", False), ("999999999999,99", False), ("-999999999999", False)])
def test_a_thousand_billion_euros_is_out_of_range_and_a_cent_less_is_not(tmp_path, text, out_of_range):
    """The bound sits at 13 digits, where the length test that spares shorter amounts the regex stops."""
    loaded = load(tmp_path, fec_text([entry(Debit=text, Credit="0,00")]))
    if out_of_range:
        [rejection] = loaded.report.rejections
        assert rejection.reason.startswith(f'Debit "{text}" is out of range'), rejection.reason
    else:
        assert loaded.report.rejections == []
        assert abs(loaded.rows[0]["debit"]) < Decimal("1000000000000")


def test_montant_and_sens_become_debit_and_credit(tmp_path):
    header = [f for f in FIELDS_18 if f not in ("Debit", "Credit")]
    header[header.index("EcritureLib") + 1:header.index("EcritureLib") + 1] = ["Montant", "Sens"]
    rows = [entry(Montant="100,00", Sens="D"), entry(Montant="100,00", Sens="C"),
            entry(Montant="40,00", Sens="+1"), entry(Montant="40,00", Sens="-1"),
            entry(Montant="3,00", Sens="d"), entry(Montant="3,00", Sens="X")]
    loaded = load(tmp_path, fec_text(rows, header=header))
    assert loaded.report.details["layout"] == "montant_sens"
    assert [(r["debit"], r["credit"]) for r in loaded.rows] == [
        (Decimal("100.00"), 0), (0, Decimal("100.00")), (Decimal("40.00"), 0), (0, Decimal("40.00")),
        (Decimal("3.00"), 0)]
    [rejection] = loaded.report.rejections
    assert (rejection.line_number, rejection.reason) == (7, 'Sens "X" is neither D/C nor +1/-1')
    assert not any("Debit" in w for w in loaded.report.warnings)


def test_ba_layout_with_21_columns(tmp_path):
    loaded = load(tmp_path, fec_text([entry(DateRglt="2023-02-15", ModeRglt="CB", NatOp="Recette")],
                                     header=FIELDS_BA))
    row = loaded.rows[0]
    assert (row["date_rglt"], row["mode_rglt"], row["nat_op"], row["id_client"]) == (
        date(2023, 2, 15), "CB", "Recette", None)
    assert (loaded.report.details["column_count"], loaded.report.details["regime"]) == (21, "ba")


def test_bnc_layout_with_22_columns(tmp_path):
    loaded = load(tmp_path, fec_text([entry(DateRglt="20230215", ModeRglt="VIR", NatOp="", IdClient="CL42")],
                                     header=FIELDS_BNC))
    row = loaded.rows[0]
    assert (row["date_rglt"], row["mode_rglt"], row["nat_op"], row["id_client"]) == (
        date(2023, 2, 15), "VIR", None, "CL42")
    assert (loaded.report.details["column_count"], loaded.report.details["regime"]) == (22, "bnc")


def test_unknown_extra_columns_are_ignored(tmp_path):
    header = [*FIELDS_18[:5], "Analytique", *FIELDS_18[5:], "Commentaire"]
    row = entry(Analytique="AX1", Commentaire="vu", CompteNum="512000")
    loaded = load(tmp_path, fec_text([row], header=header))
    row = loaded.rows[0]
    assert (row["compte_num"], row["compte_lib"], row["debit"]) == ("512000", "Clients", Decimal("120.00"))
    assert loaded.report.details["extra_columns"] == ["Analytique", "Commentaire"]
    assert loaded.report.details["column_count"] == 20


def test_header_typos_and_case_are_recognised(tmp_path):
    header = ["journalcode", "JOURNALLIB", "EcritureNum", "ecritureDate", "CompteNum", "CompteLib",
              "CompAuxNum", "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "DEBIT", "credit",
              "EcrtureLet", "DateLet", "ValidDate", "MontantDevise", "IdDevise"]
    values = entry(EcritureLet="X1", Montantdevise="5,00", Idevise="CHF").values()
    row = dict(zip(header, values, strict=True))
    loaded = load(tmp_path, fec_text([row], header=header))
    first = loaded.rows[0]
    assert (first["journal_code"], first["ecriture_let"], first["montant_devise"], first["idevise"]) == (
        "VT", "X1", Decimal("5.00"), "CHF")
    assert loaded.report.details["columns"]["EcritureLet"] == "EcrtureLet"
    assert "header field 'EcrtureLet' read as EcritureLet" in loaded.report.warnings
    assert "header field 'IdDevise' read as Idevise" in loaded.report.warnings
    assert not any("journalcode" in w or "MontantDevise" in w for w in loaded.report.warnings)


def test_missing_optional_mandatory_columns_are_warned_and_read_as_empty(tmp_path):
    header = [f for f in FIELDS_18 if f not in ("JournalLib", "ValidDate")]
    loaded = load(tmp_path, fec_text([entry()], header=header))
    assert loaded.rows[0]["journal_lib"] is None
    assert "the header lacks the mandatory field(s) JournalLib, ValidDate; read as empty" in (
        loaded.report.warnings)


@pytest.mark.parametrize(("text", "expected"), [
    ("20230131", date(2023, 1, 31)), ("2023-01-31", date(2023, 1, 31)), ("31/01/2023", date(2023, 1, 31)),
    ("20230131 00:00:00", date(2023, 1, 31)), ("2023-01-31 00:00:00", date(2023, 1, 31)),
    ("2023-01-31T13:45:00", date(2023, 1, 31)), ("31/01/2023 08:00", date(2023, 1, 31)),
])
def test_date_formats(tmp_path, text, expected):
    loaded = load(tmp_path, fec_text([entry(EcritureDate=text, PieceDate=text, ValidDate=text)]))
    row = loaded.rows[0]
    assert (row["ecriture_date"], row["piece_date"], row["valid_date"]) == (expected, expected, expected)


@pytest.mark.parametrize("text", ["", "   ", "00000000", "0000-00-00", "00/00/0000", "0000-00-00 00:00:00"])
def test_blank_or_zero_optional_dates_are_null_without_warning(tmp_path, text):
    dates = {"PieceDate": text, "DateLet": text, "ValidDate": text}
    loaded = load(tmp_path, fec_text([row | dates for row in sale(1, "10,00")]))
    dates_read = [(r["piece_date"], r["date_let"], r["valid_date"]) for r in loaded.rows]
    assert dates_read == [(None, None, None)] * 2
    assert loaded.report.rows_loaded == 2
    assert not loaded.report.warnings


def test_unreadable_optional_date_is_null_and_warned(tmp_path):
    rows = [entry(PieceDate="hier"), entry(PieceDate="20231345", DateLet="2023-02-30")]
    loaded = load(tmp_path, fec_text(rows))
    assert loaded.column("piece_date") == [None, None]
    assert "2 line(s) have an unreadable PieceDate; stored as empty" in loaded.report.warnings
    assert "1 line(s) have an unreadable DateLet; stored as empty" in loaded.report.warnings


@pytest.mark.parametrize(("text", "reason"), [("", "EcritureDate is empty"),
                                              ("00000000", 'EcritureDate "00000000" is not a date'),
                                              ("2023-13-01", 'EcritureDate "2023-13-01" is not a date')])
def test_entry_date_must_be_a_date(tmp_path, text, reason):
    loaded = load(tmp_path, fec_text([entry(), entry(EcritureDate=text)]))
    assert [(r.line_number, r.reason) for r in loaded.report.rejections] == [(3, reason)]


def test_missing_account_number_is_quarantined(tmp_path):
    loaded = load(tmp_path, fec_text([entry(CompteNum="   "), entry()]))
    assert [(r.line_number, r.reason) for r in loaded.report.rejections] == [(2, "CompteNum is empty")]
    assert loaded.column("_line_number") == [3]


def test_lower_case_journal_codes_zero_entry_numbers_and_blank_valid_date_are_kept(tmp_path):
    loaded = load(tmp_path, fec_text([entry(JournalCode="ac", EcritureNum="0", ValidDate="")]))
    row = loaded.rows[0]
    assert (row["journal_code"], row["ecriture_num"], row["valid_date"]) == ("ac", "0", None)


def test_account_numbers_are_trimmed_text(tmp_path):
    accounts = ["40100000", "120/129", " 411000 ", "0000411", "401ABC"]
    loaded = load(tmp_path, fec_text([entry(CompteNum=a) for a in accounts]))
    assert loaded.column("compte_num") == ["40100000", "120/129", "411000", "0000411", "401ABC"]


def test_pipe_inside_a_label_is_merged_back(tmp_path):
    rows = [entry(EcritureLib="Facture A|B"), entry(CompteLib="Clients|douteux"),
            entry(JournalLib="Ventes | export | web")]
    loaded = load(tmp_path, fec_text(rows, sep="|"))
    assert loaded.report.rows_loaded == 3
    assert loaded.column("ecriture_lib") == ["Facture A|B", "Facture 1", "Facture 1"]
    assert loaded.column("compte_lib") == ["Clients", "Clients|douteux", "Clients"]
    assert loaded.column("journal_lib") == ["Ventes", "Ventes", "Ventes | export | web"]
    assert loaded.column("ecriture_date") == [date(2023, 1, 31)] * 3
    assert loaded.column("debit") == [Decimal("120.00")] * 3
    assert loaded.report.details["repaired_lines"] == {"EcritureLib": 1, "CompteLib": 1, "JournalLib": 1}
    assert "1 line(s) had a separator inside CompteLib; the extra fields were merged back into it" in (
        loaded.report.warnings)


def test_pipe_inside_a_label_with_a_trailing_separator(tmp_path):
    text = fec_text([entry(EcritureLib="Loyer|janvier", ValidDate="")], sep="|").replace("\n", "|\n")
    loaded = load(tmp_path, text)
    assert loaded.column("ecriture_lib") == ["Loyer|janvier"]
    assert loaded.column("debit") == [Decimal("120.00")]


def test_line_with_extra_fields_that_fit_no_label_is_quarantined(tmp_path):
    bad = "|".join(entry(EcritureDate="2023|01|31").values())
    loaded = load(tmp_path, fec_text([entry(), bad], sep="|"))
    [rejection] = loaded.report.rejections
    assert rejection.line_number == 3
    assert rejection.reason == ("line has 20 fields, the header has 18, and no label could take the extra "
                                """'|' (EcritureDate "2023" is not a date)""")
    assert rejection.raw_line == bad


def test_short_lines_are_read_with_empty_trailing_fields(tmp_path):
    short = "\t".join(list(entry().values())[:13])
    too_short = "\t".join(list(entry().values())[:12])
    loaded = load(tmp_path, fec_text([short, too_short]))
    assert loaded.column("valid_date") == [None]
    assert "1 line(s) have fewer fields than the header; the missing trailing fields were read as empty" in (
        loaded.report.warnings)
    assert [(r.line_number, r.reason) for r in loaded.report.rejections] == [
        (3, "line has 12 fields, the header has 18")]


def test_data_beyond_the_last_named_column_is_ignored_and_warned(tmp_path):
    loaded = load(tmp_path, fec_text(["\t".join([*entry().values(), "surplus"])]))
    assert loaded.report.rows_loaded == 1
    assert "1 line(s) have data beyond the last named column; it was ignored" in loaded.report.warnings


# --- counting lines -----------------------------------------------------------------------------------------

def test_every_line_is_loaded_or_quarantined_with_its_physical_line_number(tmp_path):
    bad = entry(Debit="douze")
    rows = [*sale(1, "10,00"), "", *sale(2, "20,00")[:1], bad, "   ", "\t\t\t", *sale(2, "20,00")[1:]]
    loaded = load(tmp_path, fec_text(rows))
    report = loaded.report
    assert report.rows_read == 5
    assert report.rows_read == report.rows_loaded + report.rows_quarantined
    assert [(r.line_number, r.reason, r.raw_line) for r in report.rejections] == [
        (6, 'Debit "douze" is not an amount with at most two decimals', "\t".join(bad.values()))]
    assert loaded.column("_line_number") == [2, 3, 5, 9]


def test_blank_lines_before_the_header_still_count(tmp_path):
    loaded = load(tmp_path, "\r\n\r\n" + fec_text(sale(1, "10,00"), newline="\r\n"))
    assert loaded.column("_line_number") == [4, 5]


def test_unbalanced_entries_are_a_warning(tmp_path):
    rows = [*sale(1, "10,00"), *sale(2, "20,00")[:1], entry(EcritureNum="3", Debit="5,00"),
            entry(EcritureNum="3", Debit="0,00", Credit="4,00")]
    loaded = load(tmp_path, fec_text(rows))
    assert loaded.report.rows_loaded == 5
    assert "2 entries (JournalCode + EcritureNum) do not balance" in loaded.report.warnings
    assert "the file does not balance: total debit 35.00, total credit 14.00" in loaded.report.warnings


# --- file names ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "siren", "closing"), [
    ("123456789FEC20231231.txt", "123456789", date(2023, 12, 31)),
    ("123456789FEC20231231_export-2023-10.txt", "123456789", date(2023, 12, 31)),
    ("export_123456789fec20230630.csv", "123456789", date(2023, 6, 30)),
    ("123456789FEC20221231", "123456789", date(2022, 12, 31)),
])
def test_siren_and_closing_date_come_from_the_file_name(name, siren, closing):
    parsed = parse_file_name(name)
    assert (parsed.siren, parsed.closing_date, parsed.warnings) == (siren, closing, [])


def test_siren_of_the_wrong_length_is_kept_with_a_warning():
    parsed = parse_file_name("0000000001FEC20220831.txt")
    assert (parsed.siren, parsed.closing_date) == ("0000000001", date(2022, 8, 31))
    assert parsed.warnings == ["the SIREN 0000000001 in the file name has 10 digits instead of 9; kept as is"]


def test_siren_missing_from_the_name_is_taken_from_its_digits_or_left_to_the_content():
    from_digits = parse_file_name("grand_livre_552100554_2023.txt")
    from_siret = parse_file_name("grand_livre_55210055400013.txt")
    missing = parse_file_name("grand livre.txt")
    assert (from_digits.siren, from_siret.siren) == ("552100554", "552100554")
    assert (missing.siren, missing.closing_date, missing.warnings) == (None, None, [])


def test_closing_date_missing_from_the_name_ends_twelve_months_after_the_first_entry_month(tmp_path):
    rows = [*sale(1, "10,00", "20230405"), *sale(2, "20,00", "20230630"), *sale(3, "5,00", "20230102")]
    loaded = load(tmp_path, fec_text(rows), name="123456789FEC.txt")
    assert loaded.report.supersede_key == "123456789:2023-12-31"
    assert set(loaded.column("closing_date")) == {date(2023, 12, 31)}
    assert ("the file name has no closing date; the entries open a fiscal year on 2023-01-01 (first entry in "
            "2023-01, no opening entries), so used 2023-12-31, 12 months later") in loaded.report.warnings


def test_invalid_closing_date_in_the_name_falls_back_to_the_entries(tmp_path):
    loaded = load(tmp_path, fec_text(sale(1, "10,00")), name="123456789FEC20231331.txt")
    assert loaded.report.supersede_key == "123456789:2023-12-31"
    assert "the closing date 20231331 in the file name is not a valid date" in loaded.report.warnings


def test_entries_after_the_closing_date_are_warned(tmp_path):
    loaded = load(tmp_path, fec_text(sale(1, "10,00", day="20240105")))
    assert "2 line(s) are dated after the closing date 2023-12-31" in loaded.report.warnings


# --- whole-file rejections ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "reason"), [
    (b"", "the file is empty"),
    (b" \r\n\n\t\n", "the file is empty"),
    (b"\xef\xbb\xbf\n", "the file is empty"),
    (b"PK\x03\x04\x00\x00binary", "the file contains NUL bytes"),
    ("Compte;Libellé;Solde\n411000;Clients;12,00\n".encode(), "no FEC header"),
    ("\t".join(f for f in FIELDS_18 if f != "Credit").encode() + b"\n", "no FEC header"),
])
def test_unreadable_files_are_rejected_whole(tmp_path, content, reason):
    with pytest.raises(FileRejected, match=reason):
        load(tmp_path, content)
    assert not list((tmp_path / "scratch").glob("*"))  # nothing left behind


def test_header_without_entries_loads_nothing_and_says_so(tmp_path):
    loaded = load(tmp_path, fec_text([]))
    assert (loaded.report.rows_read, loaded.report.rows_loaded) == (0, 0)
    assert "the file has a header but no entry line" in loaded.report.warnings


# --- real exports and the ingestion ledger ------------------------------------------------------------------

@pytest.mark.parametrize(("name", "rows", "total", "columns", "regime"), [
    ("0000000001FEC20220831.txt", 5422, Decimal("10186219.81"), 18, "standard"),
    ("000000000FEC20231231.txt", 2102, Decimal("1265350.82"), 22, "bnc"),
])
def test_real_exports_load_whole(tmp_path, name, rows, total, columns, regime):
    path = REAL_FEC / name
    con = duckdb.connect()
    create_raw_schema(con)
    report = FecLoader(scratch_dir=tmp_path).load(con, path, f"accounting/{name}", file_sha256(path))
    assert (report.rows_read, report.rows_loaded, report.rejections) == (rows, rows, [])
    assert (report.details["column_count"], report.details["regime"]) == (columns, regime)
    sums = con.execute("SELECT sum(debit), sum(credit), count(*) FROM raw.fec_lines").fetchone()
    assert sums == (total, total, rows)


def test_real_export_quirks_are_kept(tmp_path):
    path = REAL_FEC / "000000000FEC20231231.txt"
    con = duckdb.connect()
    create_raw_schema(con)
    FecLoader(scratch_dir=tmp_path).load(con, path, "accounting/x.txt", file_sha256(path))
    journals, blank_valid, accounts = con.execute(
        "SELECT list(DISTINCT journal_code ORDER BY journal_code), count(*) FILTER (valid_date IS NULL),"
        " count(*) FILTER (length(compte_num) = 8) FROM raw.fec_lines").fetchone()
    assert "ac" in journals
    assert blank_valid == accounts == 2102


def test_ingest_source_records_counts_and_rejections(tmp_path):
    landing = tmp_path / "landing"
    write(tmp_path, fec_text([*sale(1, "10,00"), entry(EcritureDate="31/02/2023")]))
    write(tmp_path, b"", name="987654321FEC20231231.txt")
    con = duckdb.connect()
    create_raw_schema(con)
    summary = ingest(con, landing)
    counts = (summary.files_loaded, summary.files_rejected, summary.rows_loaded, summary.rows_quarantined)
    assert counts == (1, 1, 2, 1)
    files = con.execute("SELECT file_path, status, client_id, rows_read, rows_loaded, rows_quarantined,"
                        " details FROM raw.ingest_files ORDER BY file_path").fetchall()
    assert [f[:6] for f in files] == [
        (f"accounting/{NAME}", "loaded", "123456789", 3, 2, 1),
        ("accounting/987654321FEC20231231.txt", "rejected", None, 0, 0, 0)]
    assert json.loads(files[0][6])["period_last"] == "2023-01-31"
    rejections = con.execute("SELECT file_path, line_number, reason FROM raw.ingest_rejections"
                             " ORDER BY file_path").fetchall()
    assert rejections == [(f"accounting/{NAME}", 4, 'EcritureDate "31/02/2023" is not a date'),
                          ("accounting/987654321FEC20231231.txt", None, "the file is empty")]


def test_same_file_twice_is_loaded_once(tmp_path):
    landing = tmp_path / "landing"
    write(tmp_path, fec_text(sale(1, "10,00")))
    con = duckdb.connect()
    create_raw_schema(con)
    ingest(con, landing)
    again = ingest(con, landing, "run-2")
    assert (again.files_seen, again.files_unchanged, again.files_loaded) == (1, 1, 0)
    assert con.execute("SELECT count(*) FROM raw.fec_lines").fetchone()[0] == 2


@pytest.mark.parametrize("newer_first", [False, True])
def test_newer_monthly_export_supersedes_the_older(tmp_path, newer_first):
    landing = tmp_path / "landing"
    october = fec_text([*sale(1, "10,00", "20230115"), *sale(2, "20,00", "20231031")])
    november = fec_text([*sale(1, "10,00", "20230115"), *sale(2, "20,00", "20231031"),
                         *sale(3, "30,00", "20231130")])
    con = duckdb.connect()
    create_raw_schema(con)
    exports = [("123456789FEC20231231_export-2023-10.txt", october, 1_698_796_800),  # exported 2023-11-01
               ("123456789FEC20231231_export-2023-11.txt", november, 1_701_388_800)]  # and 2023-12-01
    for run, (name, text, exported) in enumerate(reversed(exports) if newer_first else exports):
        os.utime(write(tmp_path, text, name=name), (exported, exported))  # newer_first: october as by `cp -p`
        ingest(con, landing, f"run-{run}")
    statuses = con.execute("SELECT file_path, status, superseded_by FROM raw.ingest_files"
                           " ORDER BY file_path").fetchall()
    assert statuses == [
        ("accounting/123456789FEC20231231_export-2023-10.txt", "superseded",
         "accounting/123456789FEC20231231_export-2023-11.txt"),
        ("accounting/123456789FEC20231231_export-2023-11.txt", "loaded", None)]
    count, sources = con.execute("SELECT count(*), list(DISTINCT _source_file) FROM raw.fec_lines").fetchone()
    assert (count, sources) == (6, ["accounting/123456789FEC20231231_export-2023-11.txt"])


def test_version_rank_is_the_modification_time_then_the_load_time(tmp_path):
    def rank(rows, folder, modified_ns):
        path = write(tmp_path / folder, fec_text(rows))
        os.utime(path, ns=(modified_ns, modified_ns))
        con = duckdb.connect()
        create_raw_schema(con)
        loader = FecLoader(scratch_dir=tmp_path / "scratch")
        return loader.load(con, path, f"accounting/{NAME}", file_sha256(path)).version_rank_key

    more_lines = rank([*sale(1, "1,00", "20231130"), *sale(2, "1,00", "20231201")], "a", 1_700_000_000_000_001_000)
    fewer_later = rank(sale(1, "1,00", "20231031"), "b", 1_700_000_000_000_002_000)
    same_time_loaded_later = rank(sale(1, "1,00", "20231031"), "c", 1_700_000_000_000_002_000)
    assert fewer_later.startswith("20231114T221320000002Z|")  # UTC, to the microsecond, then the load time
    assert more_lines < fewer_later < same_time_loaded_later


def test_list_files_takes_any_name_and_skips_hidden_files(tmp_path):
    for name in ("a/123456789FEC20231231.txt", "export.csv", "noext", ".hidden", "sub/.DS_Store"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    listed = [p.relative_to(tmp_path).as_posix() for p in FecLoader().list_files(tmp_path)]
    assert listed == ["a/123456789FEC20231231.txt", "export.csv", "noext"]


def test_progress_is_logged_per_chunk_and_per_file_at_debug_level(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="vigie.ingest")
    rows = [row for number in range(1, 21) for row in sale(number, "1,00")]
    loaded = load(tmp_path, fec_text(rows), chunk_bytes=1000)
    chunk_lines = [r for r in caplog.records if "chunk" in r.getMessage()]
    file_lines = [r for r in caplog.records if "quarantined in" in r.getMessage()]
    assert len(chunk_lines) == loaded.report.details["chunks"] > 1
    assert [r.getMessage().split(":")[0] for r in file_lines] == [f"accounting/{NAME}"]
    assert "40 rows loaded, 0 quarantined" in file_lines[0].getMessage()
    assert {r.levelno for r in chunk_lines + file_lines} == {logging.DEBUG}, "the run's output shows sources, not files"


def test_labels_a_spreadsheet_would_run_are_kept_and_flagged(con, tmp_path):
    formula = entry(EcritureNum="7", EcritureLib="=HYPERLINK(\"http://x\";\"frais\")", Debit="10,00", Credit="0,00")
    signed = entry(EcritureNum="7", EcritureLib="-12,50", CompteLib="@Banque", Debit="0,00", Credit="10,00")
    # a tab is not trimmed: a formula behind it still runs; a dash in a label's middle is not a formula
    behind_tab = entry(EcritureNum="8", JournalLib="\t+cmd", EcritureLib="Vente - remise", Debit="5,00",
                       Credit="0,00")
    write(tmp_path, fec_text([formula, signed, behind_tab], sep="|"))
    ingest(con, tmp_path / "landing")
    assert con.execute("SELECT count(*) FROM raw.fec_lines").fetchone()[0] == 3
    flagged = con.execute("SELECT line_number, column_name, rule, run_id FROM raw.ingest_flags ORDER BY 1, 2")
    assert flagged.fetchall() == [(2, "EcritureLib", "formula_like", "run-1"),
                                  (3, "CompteLib", "formula_like", "run-1"),
                                  (4, "JournalLib", "formula_like", "run-1")]


def test_unreadable_optional_fields_are_loaded_empty_and_flagged(con, tmp_path):
    bad_date = entry(EcritureNum="7", PieceDate="20250230", Debit="10,00", Credit="0,00")
    bad_currency = entry(EcritureNum="7", Montantdevise="abc", Idevise="USD", Debit="0,00", Credit="10,00")
    write(tmp_path, fec_text([bad_date, bad_currency]))
    ingest(con, tmp_path / "landing")
    assert con.execute("SELECT piece_date, montant_devise FROM raw.fec_lines ORDER BY _line_number").fetchall() == [
        (None, Decimal("0.00")), (date(2023, 1, 31), None)]
    assert con.execute("SELECT line_number, column_name, value, rule FROM raw.ingest_flags ORDER BY 1").fetchall() == [
        (2, "PieceDate", "20250230", "unreadable_value"), (3, "Montantdevise", "abc", "unreadable_value")]
