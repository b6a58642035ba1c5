"""The raw layer: one declaration per table that loaders write and dbt staging reads (as dbt sources).

Every raw row carries `_file_sha256`, `_source_file` and `_line_number` (the physical line in the input file,
the header being line 1; for JSON Lines the line of the object) so any figure can be traced to its input line.
Raw text fields stay VARCHAR: typing, renaming and status checks happen in dbt staging, where they are visible.
Only the FEC is typed at load time, because reading its many variants *is* the typing.
"""

from __future__ import annotations

LINEAGE_COLUMNS = {
    "_file_sha256": "VARCHAR NOT NULL",
    "_source_file": "VARCHAR NOT NULL",
    "_line_number": "BIGINT NOT NULL",
}

FEC_LINES = {
    "siren": "VARCHAR",
    "closing_date": "DATE",
    "journal_code": "VARCHAR",
    "journal_lib": "VARCHAR",
    "ecriture_num": "VARCHAR",
    "ecriture_date": "DATE NOT NULL",
    "compte_num": "VARCHAR NOT NULL",
    "compte_lib": "VARCHAR",
    "comp_aux_num": "VARCHAR",
    "comp_aux_lib": "VARCHAR",
    "piece_ref": "VARCHAR",
    "piece_date": "DATE",
    "ecriture_lib": "VARCHAR",
    "debit": "DECIMAL(18,2) NOT NULL",
    "credit": "DECIMAL(18,2) NOT NULL",
    "ecriture_let": "VARCHAR",
    "date_let": "DATE",
    "valid_date": "DATE",
    "montant_devise": "DECIMAL(18,2)",
    "idevise": "VARCHAR",
    "date_rglt": "DATE",
    "mode_rglt": "VARCHAR",
    "nat_op": "VARCHAR",
    "id_client": "VARCHAR",
}

# Key fields of contract §2, loaded as text. Unknown extra fields in the exports are ignored.
CRM_OBJECTS = {
    "companies": ["id", "name", "siren", "type", "parent_id", "created", "owner_id", "naf"],
    "opportunities": ["id", "company_id", "name", "amount", "probability", "pipeline", "step", "status",
                      "created", "due_date", "closed_date", "owner_id"],
    "deals": ["id", "company_id", "opportunity_id", "name", "mission_code", "status", "start_date", "end_date",
              "budget_labour", "budget_purchases", "budget_sales", "owner_id"],
    "estimates": ["id", "company_id", "deal_id", "number", "date", "expiry_date", "status", "total_excl_tax",
                  "total_incl_tax"],
    "invoices": ["id", "company_id", "deal_id", "number", "date", "due_date", "status", "total_excl_tax",
                 "total_incl_tax", "paid_date"],
    "credit_notes": ["id", "company_id", "invoice_id", "number", "date", "status", "total_excl_tax",
                     "total_incl_tax"],
    "document_lines": ["document_type", "document_id", "line_no", "product_ref", "product_name", "quantity",
                       "unit_amount", "total_excl_tax"],
    "purchases": ["id", "deal_id", "supplier", "date", "total_excl_tax"],
    "interactions": ["id", "company_id", "kind", "date", "author_id", "text"],
}

PRACTICE_FILES = {
    "collaborators": ["id", "name", "email", "office_id", "hourly_cost", "active"],
    "offices": ["id", "name"],
    "client_files": ["company_id", "siren", "collaborator_id", "bookkeeping_by", "frequency", "deactivated"],
    "documents": ["id", "company_id", "received_at", "method", "kind", "status", "processed_at", "auto_rule"],
    "supplier_rules": ["id", "company_id", "supplier", "created_at", "active"],
}

# One normalised shape for the three time-tracking formats; `source_format` says which tool wrote the row.
TIME_ENTRIES = {
    "source_format": "VARCHAR NOT NULL",  # clockify | toggl | harvest
    "user_name": "VARCHAR",
    "user_email": "VARCHAR",
    "client_name": "VARCHAR",
    "project_name": "VARCHAR",
    "project_code": "VARCHAR",
    "task": "VARCHAR",
    "description": "VARCHAR",
    "entry_date": "DATE NOT NULL",
    "duration_hours": "DECIMAL(12,4) NOT NULL",
    "billable": "BOOLEAN",
    "billable_rate": "DECIMAL(18,2)",
}

INGEST_FILES = {
    "file_path": "VARCHAR NOT NULL",  # relative to landing/
    "source": "VARCHAR NOT NULL",  # accounting | crm | timetracking | practice
    "entity": "VARCHAR",  # fec, companies, documents, clockify ...
    "client_id": "VARCHAR",  # SIREN for FEC files
    "sha256": "VARCHAR NOT NULL",
    "supersede_key": "VARCHAR",  # files sharing a key replace each other; the newest wins
    "version_rank_key": "VARCHAR",  # sorts versions of one key: greatest is newest
    "status": "VARCHAR NOT NULL",  # loaded | superseded | rejected | skipped_duplicate | suspect
    "rows_read": "BIGINT NOT NULL",
    "rows_loaded": "BIGINT NOT NULL",
    "rows_quarantined": "BIGINT NOT NULL",
    "warnings": "VARCHAR",  # JSON list of readable sentences
    "details": "VARCHAR",  # JSON: encoding, separator, layout, period...
    "superseded_by": "VARCHAR",
    "loaded_at": "TIMESTAMP NOT NULL",
    "run_id": "VARCHAR",
}

INGEST_REJECTIONS = {
    "file_path": "VARCHAR NOT NULL",
    "sha256": "VARCHAR NOT NULL",
    "line_number": "BIGINT",  # empty for a whole rejected file
    "reason": "VARCHAR NOT NULL",
    "raw_line": "VARCHAR",
    "run_id": "VARCHAR",
}


# Values kept but doubtful (assets/ingest/values.py), one row per value; published through rpt_data_quality.
INGEST_FLAGS = {
    "file_path": "VARCHAR NOT NULL",
    "sha256": "VARCHAR NOT NULL",
    "line_number": "BIGINT NOT NULL",
    "column_name": "VARCHAR NOT NULL",
    "value": "VARCHAR",
    "rule": "VARCHAR NOT NULL",  # unreadable_value | implausible_date | formula_like | duplicate_id
    "detail": "VARCHAR NOT NULL",
    "run_id": "VARCHAR",
}


def _with_lineage(columns: dict[str, str]) -> dict[str, str]:
    return {**columns, **LINEAGE_COLUMNS}


def raw_tables() -> dict[str, dict[str, str]]:
    """Every table of the raw schema with its columns, in load order."""
    tables = {"fec_lines": _with_lineage(FEC_LINES), "time_entries": _with_lineage(TIME_ENTRIES)}
    tables |= {f"crm_{name}": _with_lineage(dict.fromkeys(cols, "VARCHAR")) for name, cols in CRM_OBJECTS.items()}
    tables |= {f"practice_{name}": _with_lineage(dict.fromkeys(cols, "VARCHAR"))
               for name, cols in PRACTICE_FILES.items()}
    tables |= {"ingest_files": INGEST_FILES, "ingest_rejections": INGEST_REJECTIONS, "ingest_flags": INGEST_FLAGS}
    return tables


def ledger_source(table: str) -> str | None:
    """The `ingest_files.source` whose files fill this raw table; None for the ingestion ledger's own tables, which
    every source writes."""
    if table == "fec_lines":
        return "accounting"
    if table == "time_entries":
        return "timetracking"
    prefix = table.split("_", 1)[0]
    return prefix if prefix in ("crm", "practice") else None


def create_raw_schema(con) -> None:
    """Create the raw schema and its tables when missing (idempotent)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for table, columns in raw_tables().items():
        body = ", ".join(f'"{name}" {ddl}' for name, ddl in columns.items())
        con.execute(f"CREATE TABLE IF NOT EXISTS raw.{table} ({body})")
