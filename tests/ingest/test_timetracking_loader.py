"""TimeTrackingLoader through the ingestion driver: tool detected by header, parsing, quarantine, versions."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from assets.ingest.registry import ingest_source
from assets.ingest.timetracking import TimeTrackingLoader

CLOCKIFY_HEADER = ("Project,Client,Description,Task,User,Group,Email,Tags,Billable,Start Date,Start Time,"
                   "End Date,End Time,Duration (h),Duration (decimal),Billable Rate (EUR),"
                   "Billable Amount (EUR)")
TOGGL_HEADER = ("User,Email,Client,Project,Task,Description,Billable,Start date,Start time,End date,End time,"
                "Duration,Tags,Amount ()")
HARVEST_HEADER = ("Date,Client,Project,Project Code,Task,Notes,Hours,Hours Rounded,Billable?,Invoiced?,"
                  "Approved?,First Name,Last Name,Roles,Employee?,Billable Rate,Billable Amount,Cost Rate,"
                  "Cost Amount,Currency,External Reference URL")
ENTRY_COLUMNS = ("source_format, user_name, user_email, client_name, project_name, project_code, task,"
                 " description, entry_date, duration_hours, billable, billable_rate, _line_number")


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    (tmp_path / "timetracking").mkdir()
    return tmp_path


def write(landing: Path, name: str, lines: list[str], newline: str = "\n", bom: bool = False) -> None:
    text = ("\ufeff" if bom else "") + newline.join(lines) + newline
    (landing / "timetracking" / name).write_bytes(text.encode("utf-8"))


def ingest(con, landing: Path, run_id: str = "run-1"):
    return ingest_source(con, landing, TimeTrackingLoader(), run_id)


def entries(con, name: str) -> list[tuple]:
    return con.execute(f"SELECT {ENTRY_COLUMNS} FROM raw.time_entries WHERE _source_file = ?"
                       " ORDER BY _line_number", [f"timetracking/{name}"]).fetchall()


def file_record(con, name: str) -> dict:
    row = con.execute(
        "SELECT status, entity, rows_read, rows_loaded, rows_quarantined, warnings, details"
        " FROM raw.ingest_files WHERE file_path = ?", [f"timetracking/{name}"]).fetchone()
    keys = ("status", "entity", "rows_read", "rows_loaded", "rows_quarantined", "warnings", "details")
    record = dict(zip(keys, row, strict=True))
    record["warnings"], record["details"] = json.loads(record["warnings"]), json.loads(record["details"])
    return record


def rejections(con, name: str) -> list[tuple]:
    return con.execute("SELECT line_number, reason, raw_line FROM raw.ingest_rejections WHERE file_path = ?"
                       " ORDER BY line_number NULLS FIRST", [f"timetracking/{name}"]).fetchall()


def assert_every_line_accounted(con) -> None:
    files = con.execute("SELECT file_path, sha256, status, rows_read, rows_loaded, rows_quarantined"
                        " FROM raw.ingest_files").fetchall()
    for file_path, sha, status, read, loaded, quarantined in files:
        assert read == loaded + quarantined, file_path
        stored_rejections = con.execute("SELECT count(*) FROM raw.ingest_rejections WHERE sha256 = ?"
                                        " AND line_number IS NOT NULL", [sha]).fetchone()[0]
        assert stored_rejections == quarantined, file_path
        if status == "loaded":
            stored = con.execute("SELECT count(*) FROM raw.time_entries WHERE _file_sha256 = ?",
                                 [sha]).fetchone()[0]
            assert stored == loaded, file_path


def test_clockify_detailed_report_is_detected_and_normalised(con, landing):
    write(landing, "rapport.csv", [
        CLOCKIFY_HEADER,
        'Bilan 2025,ACME SAS,"Révision, TVA",Révision,Jeanne Martin,,jeanne@cabinet.fr,,Yes,01/13/2026,'
        "09:00:00,01/13/2026,10:45:00,01:45:00,1.75,95.00,166.25",
        'Social,ACME SAS,"Paie\r\njanvier",,Paul Durand,,paul@cabinet.fr,,No,02/05/2026,14:00:00,02/05/2026,'
        "16:20:24,02:20:24,2.34,0.00,0.00",
        "Social,ACME SAS,Paie,,Paul Durand,,paul@cabinet.fr,,No,02/30/2026,09:00:00,02/30/2026,10:00:00,"
        "01:00:00,1.00,0.00,0.00",
    ], newline="\r\n", bom=True)
    ingest(con, landing)

    assert entries(con, "rapport.csv") == [
        ("clockify", "Jeanne Martin", "jeanne@cabinet.fr", "ACME SAS", "Bilan 2025", None, "Révision",
         "Révision, TVA", date(2026, 1, 13), Decimal("1.7500"), True, Decimal("95.00"), 2),
        ("clockify", "Paul Durand", "paul@cabinet.fr", "ACME SAS", "Social", None, None, "Paie\r\njanvier",
         date(2026, 2, 5), Decimal("2.3400"), False, Decimal("0.00"), 3),
    ]
    [(line, reason, raw)] = rejections(con, "rapport.csv")
    assert (line, reason) == (5, "unreadable date '02/30/2026'")
    assert raw.startswith("Social,ACME SAS,Paie,,")
    record = file_record(con, "rapport.csv")
    assert (record["entity"], record["rows_read"], record["rows_loaded"]) == ("clockify", 3, 2)
    assert record["details"]["date_order"] == "MM/DD/YYYY" and record["details"]["currencies"] == ["EUR"]
    assert record["warnings"] == []
    assert_every_line_accounted(con)


def test_clockify_day_first_dates_are_detected_per_file(con, landing):
    write(landing, "fr.csv", [
        CLOCKIFY_HEADER,
        "Bilan,ACME,,,Jeanne,,j@c.fr,,Yes,13/01/2026,09:00,13/01/2026,10:00,01:00:00,1.00,95,95",
        "Bilan,ACME,,,Jeanne,,j@c.fr,,Yes,05/02/2026,09:00,05/02/2026,10:00,01:00:00,1.00,95,95",
    ])
    write(landing, "us.csv", [
        CLOCKIFY_HEADER,
        "Bilan,ACME,,,Jeanne,,j@c.fr,,Yes,05/02/2026,09:00,05/02/2026,10:00,01:00:00,1.00,95,95",
    ])
    ingest(con, landing)

    assert [row[8] for row in entries(con, "fr.csv")] == [date(2026, 1, 13), date(2026, 2, 5)]
    assert file_record(con, "fr.csv")["details"]["date_order"] == "DD/MM/YYYY"
    assert [row[8] for row in entries(con, "us.csv")] == [date(2026, 5, 2)]
    assert "ambiguous" in file_record(con, "us.csv")["warnings"][0]


def test_clockify_header_in_other_case_with_decimal_duration_and_no_currency(con, landing):
    write(landing, "decimal.csv", [
        "PROJECT,CLIENT,DESCRIPTION,TASK,USER,EMAIL,BILLABLE,START DATE,DURATION (H),BILLABLE RATE",
        "Bilan,ACME,Saisie,,Jeanne,j@c.fr,yes,2026-03-10,\"1,5\",\"80,00\"",
    ])
    ingest(con, landing)

    [row] = entries(con, "decimal.csv")
    assert (row[0], row[8], row[9], row[10], row[11]) == (
        "clockify", date(2026, 3, 10), Decimal("1.5000"), True, Decimal("80.00"))


def test_toggl_detailed_export_is_detected_and_rate_derived_from_amount(con, landing):
    write(landing, "toggl.csv", [
        TOGGL_HEADER,
        "Jeanne Martin,jeanne@cabinet.fr,ACME SAS,Bilan 2025,Révision,Contrôle caisse,Yes,2026-03-02,"
        "09:00:00,2026-03-02,09:45:00,00:45:00,,71.25",
        "Jeanne Martin,jeanne@cabinet.fr,ACME SAS,Bilan 2025,Révision,Rapprochement,Yes,2026-03-02,10:00:00,"
        "2026-03-02,11:20:00,01:20:00,urgent,126.67",
        "Paul Durand,paul@cabinet.fr,,Interne,,Réunion,No,2026-03-03,09:00:00,2026-03-03,09:20:00,"
        "00:20:00,,",
    ], bom=True)
    ingest(con, landing)

    assert entries(con, "toggl.csv") == [
        ("toggl", "Jeanne Martin", "jeanne@cabinet.fr", "ACME SAS", "Bilan 2025", None, "Révision",
         "Contrôle caisse", date(2026, 3, 2), Decimal("0.7500"), True, Decimal("95.00"), 2),
        ("toggl", "Jeanne Martin", "jeanne@cabinet.fr", "ACME SAS", "Bilan 2025", None, "Révision",
         "Rapprochement", date(2026, 3, 2), Decimal("1.3333"), True, Decimal("95.00"), 3),
        ("toggl", "Paul Durand", "paul@cabinet.fr", None, "Interne", None, None, "Réunion", date(2026, 3, 3),
         Decimal("0.3333"), False, None, 4),
    ]
    record = file_record(con, "toggl.csv")
    assert (record["entity"], record["rows_read"], record["rows_quarantined"]) == ("toggl", 3, 0)
    assert_every_line_accounted(con)


def test_harvest_detailed_time_report_is_detected_and_normalised(con, landing):
    write(landing, "harvest.csv", [
        HARVEST_HEADER,
        "2026-04-07,ACME SAS,Bilan 2025,BIL-2025,Révision,Lettrage,2.25,2.25,Yes,No,Yes,Marie,Curie,"
        "Comptable,Yes,120.00,270.00,45.00,101.25,Euro - EUR,",
        "2026-04-08,ACME SAS,Bilan 2025,BIL-2025,Révision,,1:30,1.50,No,No,Yes,Marie,Curie,Comptable,Yes,"
        "0,0,45.00,67.50,Euro - EUR,",
    ])
    ingest(con, landing)

    assert entries(con, "harvest.csv") == [
        ("harvest", "Marie Curie", None, "ACME SAS", "Bilan 2025", "BIL-2025", "Révision", "Lettrage",
         date(2026, 4, 7), Decimal("2.2500"), True, Decimal("120.00"), 2),
        ("harvest", "Marie Curie", None, "ACME SAS", "Bilan 2025", "BIL-2025", "Révision", None,
         date(2026, 4, 8), Decimal("1.5000"), False, Decimal("0.00"), 3),
    ]
    record = file_record(con, "harvest.csv")
    assert (record["entity"], record["details"]["currencies"], record["warnings"]) == ("harvest", ["EUR"], [])
    assert_every_line_accounted(con)


def test_rates_in_another_currency_are_flagged(con, landing):
    write(landing, "harvest_usd.csv", [
        HARVEST_HEADER,
        "2026-04-07,ACME,Audit,AUD,Révision,,1,1,Yes,No,Yes,Marie,Curie,,Yes,150,150,45,45,US Dollar - USD,",
    ])
    ingest(con, landing)

    assert file_record(con, "harvest_usd.csv")["warnings"] == [
        "amounts in USD, not euros: billable rates loaded unconverted"]


def test_unreadable_values_are_quarantined_with_line_and_reason(con, landing):
    write(landing, "harvest.csv", [
        HARVEST_HEADER,
        "2026-02-30,ACME,Bilan,B,Saisie,,1,1,Yes,No,Yes,Marie,Curie,,Yes,100,100,,,Euro - EUR,",
        "2026-03-02,ACME,Bilan,B,Saisie,,deux,2,Yes,No,Yes,Marie,Curie,,Yes,100,200,,,Euro - EUR,",
        "2026-03-03,ACME,Bilan,B,Saisie,,,0,Yes,No,Yes,Marie,Curie,,Yes,100,0,,,Euro - EUR,",
        "2026-03-04,ACME,Bilan,B,Saisie,,1,1,Peut-être,No,Yes,Marie,Curie,,Yes,100,100,,,Euro - EUR,",
        "2026-03-05,ACME,Bilan,B,Saisie,,-1,1,Yes,No,Yes,Marie,Curie,,Yes,100,100,,,Euro - EUR,",
        "2026-03-06,ACME,Bilan,B,Saisie,,1,1,Yes,No,Yes,Marie,Curie,,Yes,cent,100,,,Euro - EUR,",
        "2026-03-09,ACME,Bilan,B,Saisie,,0.5,0.5,Yes,No,Yes,Marie,Curie,,Yes,100,50,,,Euro - EUR,",
        "2026-03-10,ACME,Bilan",
    ])
    ingest(con, landing)

    assert [(line, reason) for line, reason, _raw in rejections(con, "harvest.csv")] == [
        (2, "unreadable date '2026-02-30'"),
        (3, "unreadable duration 'deux'"),
        (4, "no duration"),
        (5, "unreadable billable flag 'Peut-être'"),
        (6, "negative duration '-1'"),
        (7, "unreadable billable rate 'cent'"),
        (9, "3 fields where the header has 21"),
    ]
    assert [(row[8], row[12]) for row in entries(con, "harvest.csv")] == [(date(2026, 3, 9), 8)]
    record = file_record(con, "harvest.csv")
    assert (record["rows_read"], record["rows_loaded"], record["rows_quarantined"]) == (8, 1, 7)
    assert_every_line_accounted(con)


def test_unknown_header_is_rejected_naming_the_expected_tools(con, landing):
    write(landing, "export.csv", ["Datum,Projekt,Stunden", "2026-01-05,Bilan,2"])
    summary = ingest(con, landing)

    [(line, reason, _raw)] = rejections(con, "export.csv")
    assert line is None
    for tool in ("Clockify", "Toggl Track", "Harvest"):
        assert tool in reason
    assert file_record(con, "export.csv")["status"] == "rejected"
    assert summary.files_rejected == 1
    assert con.execute("SELECT count(*) FROM raw.time_entries").fetchone()[0] == 0


def test_files_add_up_and_a_reexport_of_the_same_path_replaces_it(con, landing):
    toggl_row = "Jeanne,j@c.fr,ACME,Bilan,,{note},Yes,2026-03-02,09:00:00,2026-03-02,10:00:00,01:00:00,,95"
    write(landing, "toggl_mars.csv", [TOGGL_HEADER, toggl_row.format(note="première version")])
    write(landing, "toggl_avril.csv", [TOGGL_HEADER, toggl_row.format(note="avril")])
    ingest(con, landing, "run-1")
    write(landing, "toggl_mars.csv", [TOGGL_HEADER, toggl_row.format(note="corrigée"),
                                      toggl_row.format(note="ajoutée")])
    summary = ingest(con, landing, "run-2")

    assert summary.files_superseded == 1
    notes = con.execute("SELECT _source_file, description FROM raw.time_entries ORDER BY ALL").fetchall()
    assert notes == [("timetracking/toggl_avril.csv", "avril"), ("timetracking/toggl_mars.csv", "ajoutée"),
                     ("timetracking/toggl_mars.csv", "corrigée")]
    statuses = con.execute("SELECT file_path, status FROM raw.ingest_files ORDER BY ALL").fetchall()
    assert statuses == [("timetracking/toggl_avril.csv", "loaded"), ("timetracking/toggl_mars.csv", "loaded"),
                        ("timetracking/toggl_mars.csv", "superseded")]
    assert_every_line_accounted(con)


def test_ingesting_twice_adds_nothing(con, landing):
    write(landing, "toggl.csv", [
        TOGGL_HEADER,
        "Jeanne,j@c.fr,ACME,Bilan,,,Yes,2026-03-02,09:00:00,2026-03-02,10:00:00,01:00:00,,95",
        "Jeanne,j@c.fr,ACME,Bilan,,,Yes,2026-13-02,09:00:00,2026-13-02,10:00:00,01:00:00,,95",
    ])
    ingest(con, landing, "run-1")
    summary = ingest(con, landing, "run-2")

    assert summary.files_unchanged == 1
    counts = con.execute("SELECT (SELECT count(*) FROM raw.time_entries), (SELECT count(*) FROM"
                         " raw.ingest_files), (SELECT count(*) FROM raw.ingest_rejections)").fetchone()
    assert counts == (1, 1, 1)


def clockify_line(date_text: str = "2026-03-02", duration: str = "01:00:00", rate: str = "95.00",
                  amount: str = "95.00", billable: str = "Yes") -> str:
    return (f"Bilan,ACME,Saisie,,Jeanne,,j@c.fr,,{billable},{date_text},09:00:00,{date_text},10:00:00,{duration},"
            f"1.00,{rate},{amount}")


def test_out_of_range_numbers_and_dates_are_quarantined_and_the_other_lines_loaded(con, landing):
    write(landing, "clockify.csv", [
        CLOCKIFY_HEADER,
        clockify_line(),
        clockify_line(duration="1e30"),
        clockify_line(duration="100000000"),
        clockify_line(duration="25:00:00"),
        clockify_line(duration="24:00:00"),
        clockify_line(rate="10000000000000000"),
        clockify_line(rate="NaN"),
        clockify_line(rate="-95"),
        clockify_line(amount="1E+16"),
        clockify_line(amount="20000000"),
        clockify_line(date_text="1989-12-31"),
        clockify_line(date_text="2101-01-01"),
        clockify_line(duration="0", rate="100000", amount="0"),
        clockify_line(duration="Infinity"),
        clockify_line(duration="1_000"),
    ])
    summary = ingest(con, landing)

    assert [(line, reason) for line, reason, _raw in rejections(con, "clockify.csv")] == [
        (3, "unreadable duration '1e30' (scientific notation)"),
        (4, "duration of 100000000 hours exceeds 24 hours"),
        (5, "duration of 25 hours exceeds 24 hours"),
        (7, "billable rate of 10000000000000000 exceeds 100000"),
        (8, "unreadable billable rate 'NaN'"),
        (9, "negative billable rate '-95'"),
        (10, "unreadable amount '1E+16' (scientific notation)"),
        (11, "amount of 20000000 exceeds 10000000"),
        (12, "implausible date '1989-12-31' (outside 1990..2100)"),
        (13, "implausible date '2101-01-01' (outside 1990..2100)"),
        (15, "unreadable duration 'Infinity'"),
        (16, "unreadable duration '1_000'"),
    ]
    assert [(row[9], row[11], row[12]) for row in entries(con, "clockify.csv")] == [
        (Decimal("1.0000"), Decimal("95.00"), 2), (Decimal("24.0000"), Decimal("95.00"), 6),
        (Decimal("0.0000"), Decimal("100000.00"), 14)]
    record = file_record(con, "clockify.csv")
    assert (record["status"], record["rows_read"], record["rows_loaded"], record["rows_quarantined"]) == (
        "loaded", 15, 3, 12)
    assert summary.files_rejected == 0
    assert_every_line_accounted(con)


def test_a_rate_derived_from_an_amount_is_bounded_too(con, landing):
    toggl = "Jeanne,j@c.fr,ACME,Bilan,,,Yes,{day},09:00:00,{day},10:00:00,{duration},,{amount}"
    write(landing, "toggl.csv", [
        TOGGL_HEADER,
        toggl.format(day="2026-03-02", duration="00:00:01", amount="5000000"),
        toggl.format(day="2026-03-03", duration="01:00:00", amount="-10"),
        toggl.format(day="2026-03-04", duration="02:00:00", amount="190"),
    ])
    ingest(con, landing)

    assert [(line, reason) for line, reason, _raw in rejections(con, "toggl.csv")] == [
        (2, "billable rate of 18000000000 per hour (amount 5000000 over 0.0003 hours) exceeds 100000"),
        (3, "negative amount '-10'"),
    ]
    assert [(row[11], row[12]) for row in entries(con, "toggl.csv")] == [(Decimal("95.00"), 4)]
    assert_every_line_accounted(con)


def test_an_arithmetic_error_in_a_line_is_a_quarantine_reason(con, landing):
    # a clock duration of a million digits overflows decimal arithmetic (decimal.Overflow)
    write(landing, "clockify.csv", [
        CLOCKIFY_HEADER,
        clockify_line(duration="9" * 1_000_001 + ":00:00"),
        clockify_line(),
    ])
    ingest(con, landing)

    [(line, reason, _raw)] = rejections(con, "clockify.csv")
    assert (line, reason) == (2, "number out of range in this line (Overflow)")
    assert [row[12] for row in entries(con, "clockify.csv")] == [3]
    assert_every_line_accounted(con)


def test_slash_dates_out_of_range_and_impossible_are_quarantined(con, landing):
    write(landing, "clockify.csv", [
        CLOCKIFY_HEADER,
        clockify_line(date_text="02/30/2025"),
        clockify_line(date_text="03/02/1900"),
        clockify_line(date_text="03/02/2025"),
    ])
    ingest(con, landing)

    assert [(line, reason) for line, reason, _raw in rejections(con, "clockify.csv")] == [
        (2, "unreadable date '02/30/2025'"), (3, "implausible date '03/02/1900' (outside 1990..2100)")]
    assert [(row[8], row[12]) for row in entries(con, "clockify.csv")] == [(date(2025, 3, 2), 4)]


def test_free_text_that_a_spreadsheet_would_run_is_kept_and_flagged(con, tmp_path):
    from assets.ingest.registry import ingest_source
    from assets.ingest.timetracking import TimeTrackingLoader

    (tmp_path / "timetracking").mkdir()
    (tmp_path / "timetracking" / "harvest.csv").write_text(
        "Date,Client,Project,Task,Notes,Hours,Billable?,First Name,Last Name,Billable Rate\n"
        "2026-10-01,Acme,Tenue,Saisie,=cmd|' /C calc'!A0,2,Yes,Julie,Moreau,95\n"
        "2026-10-02,Acme,Tenue,Saisie,- relance client,2,Yes,@Julie,Moreau,95\n"
        "2026-10-03,Acme,Tenue,Saisie,-12,2,Yes,Julie,Moreau,95\n", encoding="utf-8")
    ingest_source(con, tmp_path, TimeTrackingLoader(), "run-1")
    assert con.execute("SELECT count(*) FROM raw.time_entries").fetchone()[0] == 3
    # '- relance client' is a bullet, '-12' a number; a formula is kept, flagged, and only its start is shown
    flagged = con.execute("SELECT line_number, column_name, value, rule FROM raw.ingest_flags ORDER BY 1, 2")
    assert flagged.fetchall() == [(2, "Notes", "=cmd|' /C calc'!A0", "formula_like"),
                                  (3, "First Name", "@Julie", "formula_like")]
