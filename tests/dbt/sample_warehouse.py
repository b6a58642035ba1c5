"""A small raw layer for the dbt tests: two companies' ledgers over two fiscal years each, a few CRM and
practice rows and an ingestion ledger, written with the DDL the loaders use (assets.ingest.raw_tables)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from assets.ingest.raw_tables import create_raw_schema


@dataclass(frozen=True)
class FecFile:
    siren: str
    closing_date: date
    sha256: str
    lines: tuple[tuple[str, str, str, str, str], ...]  # journal, entry date (ISO), account, debit, credit

    @property
    def path(self) -> str:
        return f"accounting/{self.siren}FEC{self.closing_date:%Y%m%d}.txt"


ALPHA = "123456789"  # known to the CRM (written '123 456 789' there) and to the practice export
BETA = "987654321"  # known only through its FEC files

FEC_FILES = (
    FecFile(
        ALPHA,
        date(2023, 12, 31),
        "sha-alpha-2023",
        (
            ("AN", "2023-01-01", "512000", "10000.00", "0"),
            ("AN", "2023-01-01", "101000", "0", "8000.00"),
            ("AN", "2023-01-01", "120000", "0", "2000.00"),
            ("VE", "2023-01-15", "411001", "1200.00", "0"),
            ("VE", "2023-01-15", "706000", "0", "1000.00"),
            ("VE", "2023-01-15", "445710", "0", "200.00"),
            ("AC", "2023-01-20", "606000", "300.00", "0"),
            ("AC", "2023-01-20", "445660", "60.00", "0"),
            ("AC", "2023-01-20", "401001", "0", "360.00"),
            ("BQ", "2023-01-31", "512000", "1200.00", "0"),
            ("BQ", "2023-01-31", "411001", "0", "1200.00"),
            ("VE", "2023-02-10", "411002", "2400.00", "0"),
            ("VE", "2023-02-10", "706000", "0", "2000.00"),
            ("VE", "2023-02-10", "445710", "0", "400.00"),
            ("OD", "2023-02-28", "641000", "1500.00", "0"),
            ("OD", "2023-02-28", "645000", "600.00", "0"),
            ("OD", "2023-02-28", "421000", "0", "1500.00"),
            ("OD", "2023-02-28", "431000", "0", "600.00"),
            ("VE", "2023-03-05", "709000", "100.00", "0"),
            ("VE", "2023-03-05", "445710", "20.00", "0"),
            ("VE", "2023-03-05", "411002", "0", "120.00"),
            ("BQ", "2023-03-15", "401001", "360.00", "0"),
            ("BQ", "2023-03-15", "512000", "0", "360.00"),
        ),
    ),
    FecFile(
        ALPHA,
        date(2024, 12, 31),
        "sha-alpha-2024",
        (
            (
                "an",
                "2024-01-01",
                "512000",
                "5000.00",
                "0",
            ),  # lower-case journal code, as some exports write it
            ("an", "2024-01-01", "411002", "1000.00", "0"),
            ("an", "2024-01-01", "101000", "0", "6000.00"),
            ("VE", "2024-01-10", "411003", "600.00", "0"),
            ("VE", "2024-01-10", "706000", "0", "500.00"),
            ("VE", "2024-01-10", "445710", "0", "100.00"),
            ("BQ", "2024-02-10", "627000", "7000.00", "0"),
            ("BQ", "2024-02-10", "512000", "0", "7000.00"),
            ("BQ", "2024-02-20", "512000", "1000.00", "0"),
            ("BQ", "2024-02-20", "519000", "0", "1000.00"),
            ("BQ", "2024-03-05", "512000", "1000.00", "0"),
            ("BQ", "2024-03-05", "411002", "0", "1000.00"),
            ("BQ", "2024-03-10", "512000", "300.00", "0"),
            ("BQ", "2024-03-10", "411004", "0", "300.00"),
            ("OD", "2024-03-31", "641000", "2000.00", "0"),
            ("OD", "2024-03-31", "649000", "0", "500.00"),
            ("OD", "2024-03-31", "421000", "0", "1500.00"),
        ),
    ),
    FecFile(
        BETA,
        date(2023, 6, 30),
        "sha-beta-2023",
        (
            ("ANO", "2023-06-01", "512000", "3000.00", "0"),
            ("ANO", "2023-06-01", "101000", "0", "3000.00"),
            ("VE", "2023-06-15", "411100", "1200.00", "0"),
            ("VE", "2023-06-15", "707000", "0", "1000.00"),
            ("VE", "2023-06-15", "445710", "0", "200.00"),
            ("AC", "2023-06-20", "607000", "400.00", "0"),
            ("AC", "2023-06-20", "401100", "0", "400.00"),
            # posted in the old file after its closing date: July belongs to the next fiscal year's file
            ("VE", "2023-07-03", "411100", "600.00", "0"),
            ("VE", "2023-07-03", "707000", "0", "500.00"),
            ("VE", "2023-07-03", "445710", "0", "100.00"),
        ),
    ),
    FecFile(
        BETA,
        date(2024, 6, 30),
        "sha-beta-2024",
        (
            ("ANO", "2023-07-01", "512000", "3000.00", "0"),
            ("ANO", "2023-07-01", "411100", "1200.00", "0"),
            ("ANO", "2023-07-01", "101000", "0", "3000.00"),
            ("ANO", "2023-07-01", "401100", "0", "400.00"),
            ("ANO", "2023-07-01", "120000", "0", "800.00"),
            ("VE", "2023-07-10", "411100", "2400.00", "0"),
            ("VE", "2023-07-10", "707000", "0", "2000.00"),
            ("VE", "2023-07-10", "445710", "0", "400.00"),
            ("AC", "2023-07-25", "607000", "800.00", "0"),
            ("AC", "2023-07-25", "445660", "160.00", "0"),
            ("AC", "2023-07-25", "401100", "0", "960.00"),
            ("BQ", "2023-08-05", "512000", "1200.00", "0"),
            ("BQ", "2023-08-05", "411100", "0", "1200.00"),
        ),
    ),
)

CRM_COMPANIES = (
    # id, name, siren, type, parent_id
    ("c1", "Alpha SARL", "123 456 789", "Client", "c3"),
    ("c2", "Gamma SAS", None, "prospect", None),
    ("c3", "Groupe Alpha", None, "groupe", None),
)

CLIENT_FILES = (
    # company_id, siren, collaborator_id, bookkeeping_by, frequency, deactivated
    ("c1", None, "u1", "firm", "monthly", "no"),
)

COLLABORATORS = (("u1", "Claire Martin", "claire@cabinet.example", "o1", "55.00", "true"),)

REJECTED_FILE = "accounting/broken.txt"
REJECTED_LINE_FILE = "crm/companies.csv"


def build_sample_warehouse(path: Path) -> None:
    """Write the raw layer of the sample into a new DuckDB file at `path`."""
    con = duckdb.connect(str(path))
    try:
        create_raw_schema(con)
        _insert_fec_files(con)
        _insert_crm_and_practice(con)
        _insert_ingest_ledger(con)
    finally:
        con.close()


def _insert_fec_files(con) -> None:
    for fec in FEC_FILES:
        con.executemany(
            "INSERT INTO raw.fec_lines (siren, closing_date, journal_code, ecriture_num, ecriture_date,"
            " compte_num, debit, credit, _file_sha256, _source_file, _line_number)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    fec.siren,
                    fec.closing_date,
                    journal,
                    str(number),
                    date.fromisoformat(day),
                    account,
                    Decimal(debit),
                    Decimal(credit),
                    fec.sha256,
                    fec.path,
                    number + 1,
                ]
                for number, (journal, day, account, debit, credit) in enumerate(fec.lines, start=1)
            ],
        )


def _insert_crm_and_practice(con) -> None:
    con.executemany(
        "INSERT INTO raw.crm_companies (id, name, siren, type, parent_id, created, _file_sha256,"
        " _source_file, _line_number)"
        " VALUES (?, ?, ?, ?, ?, '2022-05-04T10:00:00+02:00', 'sha-crm', 'crm/companies.csv', ?)",
        [[*row, line] for line, row in enumerate(CRM_COMPANIES, start=2)],
    )
    con.executemany(
        "INSERT INTO raw.practice_client_files (company_id, siren, collaborator_id, bookkeeping_by,"
        " frequency, deactivated, _file_sha256, _source_file, _line_number)"
        " VALUES (?, ?, ?, ?, ?, ?, 'sha-files', 'practice/client_files.csv', ?)",
        [[*row, line] for line, row in enumerate(CLIENT_FILES, start=2)],
    )
    con.executemany(
        "INSERT INTO raw.practice_collaborators (id, name, email, office_id, hourly_cost, active,"
        " _file_sha256, _source_file, _line_number)"
        " VALUES (?, ?, ?, ?, ?, ?, 'sha-collab', 'practice/collaborators.csv', ?)",
        [[*row, line] for line, row in enumerate(COLLABORATORS, start=2)],
    )


def _insert_ingest_ledger(con) -> None:
    loaded_at = datetime(2025, 1, 6, 6, 0)
    rows = [
        [
            fec.path,
            "accounting",
            "fec",
            fec.siren,
            fec.sha256,
            "loaded",
            len(fec.lines),
            len(fec.lines),
            0,
            "[]",
        ]
        for fec in FEC_FILES
    ]
    rows.append([REJECTED_FILE, "accounting", None, None, "sha-broken", "rejected", 0, 0, 0, "[]"])
    rows.append(
        [
            REJECTED_LINE_FILE,
            "crm",
            "companies",
            None,
            "sha-crm",
            "loaded",
            len(CRM_COMPANIES) + 1,
            len(CRM_COMPANIES),
            1,
            '["1 line without id"]',
        ]
    )
    con.executemany(
        "INSERT INTO raw.ingest_files (file_path, source, entity, client_id, sha256, status, rows_read,"
        " rows_loaded, rows_quarantined, warnings, loaded_at, run_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'run-1')",
        [[*row, loaded_at] for row in rows],
    )
    con.executemany(
        "INSERT INTO raw.ingest_rejections (file_path, sha256, line_number, reason, raw_line, run_id)"
        " VALUES (?, ?, ?, ?, ?, 'run-1')",
        [
            [REJECTED_FILE, "sha-broken", None, "no FEC header found", None],
            [REJECTED_LINE_FILE, "sha-crm", 5, "id is empty", ",Delta,,client,,,,"],
        ],
    )
