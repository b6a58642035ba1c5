"""A generated firm through the real `vigie run`: what is published is checked against the landing files.

One module-scoped run (about a minute) on the sample-data generator's output. Every expected figure is
recomputed here from the landing files with the small independent FEC reader of tests/fec_oracle.py (domain.md
§2): per SIREN and closing date only the newest export counts (the one whose entries reach the latest
date); revenue = credit − debit on 701-709; payroll = debit − credit on 641, 644-649; net cash =
cumulative debit − credit on the cash accounts at month end, from the fiscal-year file's first line,
openings included.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from assets.generate import GenerationReport, generate_landing
from orchestration.dbt_project import DBT_PROJECT_DIR
from tests.e2e.conftest import query, run_vigie_in_process
from tests.fec_oracle import FEC_NAME, FecLine, read_fec

CLIENTS, SEED = 20, 11

# contract.md §4: every published table and its minimum columns.
CONTRACT_TABLES = {
    "dim_clients": ["client_id", "siren", "name", "account_type", "parent_client_id", "collaborator_id",
                    "office_id", "bookkeeping_by", "bookkeeping_frequency", "is_deactivated"],
    "fct_indicators_monthly": ["client_id", "month", "revenue", "purchases_consumed", "external_charges",
                               "value_added", "payroll", "ebitda", "net_result", "cash_net", "receivables",
                               "payables", "vat_collected", "vat_deductible", "dso_days", "dpo_days",
                               "revenue_rolling_12m", "source_line_count"],
    "fct_account_status": ["client_id", "as_of_date", "status", "status_reason", "last_deal_activity_date",
                           "last_opportunity_activity_date"],
    "fct_opportunities": ["opportunity_id", "client_id", "rule_id", "kind", "mission_title", "trigger_text",
                          "price_min", "price_max", "evidence", "status", "first_detected_on",
                          "last_detected_on"],
    "fct_client_sales": ["first_purchase_date", "last_purchase_date", "total_purchases",
                         "invoices_to_pay_count", "invoices_to_pay_amount", "invoices_late_count",
                         "invoices_late_amount", "quotes_sent_count", "quotes_read_count",
                         "open_opportunities_count", "open_opportunities_amount", "purchases_by_year",
                         "purchase_frequency", "average_basket", "top_products_by_quantity",
                         "top_products_by_revenue", "avg_payment_days", "late_payments_count"],
    "client_summaries": ["client_id", "language", "relationship", "open_documents", "sales_overview",
                         "recent_interactions", "recommendations", "generator", "model", "facts_hash",
                         "generated_at"],
    "fct_deals": ["deal_id", "client_id", "status", "budget_labour", "actual_labour_hours",
                  "actual_labour_cost", "budget_purchases", "actual_purchases", "budget_sales",
                  "actual_sales", "progress_pct", "forecast_margin", "alert_purchase_budget_exceeded",
                  "alert_date_inconsistent"],
    "fct_sales_pipeline": ["owner_id", "month", "open_count", "open_amount", "weighted_amount", "won_count",
                           "lost_count", "win_rate"],
    "fct_practice_daily": ["day", "client_id", "collaborator_id", "office_id", "bookkeeping_by",
                           "documents_received", "documents_to_review", "documents_ready",
                           "documents_processed", "documents_auto_processed", "received_by_method"],
    "rpt_practice_clients": ["client_id", "collaborator_id", "office_id", "bookkeeping_by", "is_deactivated",
                             "documents_last_30d", "documents_previous_30d", "is_inactive",
                             "supplier_rules_count", "auto_processed_share"],
    "ingest_files": ["file_path", "source", "client_id", "sha256", "status", "rows_read", "rows_loaded",
                     "rows_quarantined", "warnings", "loaded_at", "run_id"],
    "ingest_rejections": ["file_path", "line_number", "reason", "raw_line"],
}

# domain.md §1 and §2
OPENING_JOURNALS = {"AN", "ANO", "AN0", "ANN", "OUV", "RAN"}
REVENUE_ACCOUNTS = ("701", "702", "703", "704", "705", "706", "707", "708", "709")
PAYROLL_ACCOUNTS = ("641", "644", "645", "646", "647", "648", "649")
CASH_ACCOUNTS = ("50", "511", "512", "514", "515", "517", "53", "54", "519")


# --- the run -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GeneratedFirm:
    home: Path
    report: GenerationReport
    exit_code: int

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def marts_db(self) -> Path:
        return self.home / "publish" / "marts.duckdb"

    def landing_files(self) -> list[Path]:
        return sorted(p for p in self.landing.rglob("*") if p.is_file())

    def relative(self, path: Path) -> str:
        return path.relative_to(self.landing).as_posix()


@pytest.fixture(scope="module")
def firm(tmp_path_factory) -> GeneratedFirm:
    home = tmp_path_factory.mktemp("generated_firm")
    report = generate_landing(home, clients=CLIENTS, seed=SEED)
    code = run_vigie_in_process(home, "run", "--as-of", report.as_of.isoformat())
    return GeneratedFirm(home, report, code)


def published(firm: GeneratedFirm, sql: str, params=None) -> list[tuple]:
    return query(firm.marts_db, sql, params)


# --- the oracle: figures recomputed from the landing files -------------------------------------------------

@dataclass(frozen=True)
class LandingFec:
    path: Path
    siren: str
    closing: date
    header: list[str]
    lines: list[FecLine]

    @property
    def last_day(self) -> str:
        return max(line.day for line in self.lines)

    @property
    def is_utf8(self) -> bool:
        try:
            self.path.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True


@dataclass
class OracleMonth:
    revenue: int = 0  # cents
    payroll: int = 0
    cash_net: int = 0  # at month end
    line_count: int = 0  # lines dated in the month, opening entries included


@dataclass
class Ledgers:
    files: list[LandingFec]
    current: list[LandingFec]  # the newest export of each SIREN and closing date
    superseded: list[LandingFec]
    months: dict[str, dict[date, OracleMonth]] = field(default_factory=dict)  # SIREN -> month -> figures

    def current_of(self, siren: str) -> list[LandingFec]:
        return [f for f in self.current if f.siren == siren]


def month_of(day: str) -> date:
    return date(int(day[:4]), int(day[4:6]), 1)


def months_between(first: date, last: date) -> list[date]:
    return [date(index // 12, index % 12 + 1, 1)
            for index in range(first.year * 12 + first.month - 1, last.year * 12 + last.month)]


def is_opening(line: FecLine) -> bool:
    return line.journal.upper() in OPENING_JOURNALS


def fiscal_year_months(lines: list[FecLine]) -> dict[date, OracleMonth]:
    """One file's months, from the first to the last month holding an entry other than an opening one."""
    entries = [line for line in lines if not is_opening(line)]
    covered = months_between(month_of(min(x.day for x in entries)), month_of(max(x.day for x in entries)))
    months = {month: OracleMonth() for month in covered}
    for line in lines:
        month = month_of(line.day)
        if month in months:
            months[month].line_count += 1
    for line in entries:
        if line.account.startswith(REVENUE_ACCOUNTS):
            months[month_of(line.day)].revenue -= line.amount
        if line.account.startswith(PAYROLL_ACCOUNTS):
            months[month_of(line.day)].payroll += line.amount
    cash = sum(line.amount for line in lines if is_opening(line) and line.account.startswith(CASH_ACCOUNTS))
    movements: dict[date, int] = defaultdict(int)
    for line in entries:
        if line.account.startswith(CASH_ACCOUNTS):
            movements[month_of(line.day)] += line.amount
    for month in covered:
        cash += movements[month]
        months[month].cash_net = cash
    return months


def split_exports(files: list[LandingFec]) -> tuple[list[LandingFec], list[LandingFec]]:
    by_fiscal_year: dict[tuple[str, date], list[LandingFec]] = defaultdict(list)
    for fec in files:
        by_fiscal_year[(fec.siren, fec.closing)].append(fec)
    current, superseded = [], []
    for exports in by_fiscal_year.values():
        newest, *older = sorted(exports, key=lambda f: f.last_day, reverse=True)
        assert all(f.last_day < newest.last_day for f in older), [f.path.name for f in exports]
        current.append(newest)
        superseded += older
    return current, superseded


@pytest.fixture(scope="module")
def ledgers(firm) -> Ledgers:
    files = []
    for path in sorted((firm.landing / "accounting").iterdir()):
        name = FEC_NAME.match(path.name)
        header, lines = read_fec(path)
        files.append(LandingFec(path, name["siren"], datetime.strptime(name["closing"], "%Y%m%d").date(),
                                header, lines))
    current, superseded = split_exports(files)
    result = Ledgers(files, current, superseded)
    for siren in sorted({f.siren for f in current}):
        client: dict[date, OracleMonth] = {}
        for fec in result.current_of(siren):
            months = fiscal_year_months(fec.lines)
            assert not months.keys() & client.keys(), f"{siren}: two fiscal-year files cover the same month"
            client.update(months)
        result.months[siren] = client
    return result


def euros(amount_in_cents: int) -> Decimal:
    return Decimal(amount_in_cents).scaleb(-2)


def record_count(path: Path) -> int:
    """Data records of a CSV (header excluded) or JSON Lines file."""
    text = path.read_bytes().decode("utf-8-sig")
    if path.suffix == ".jsonl":
        return sum(1 for line in text.splitlines() if line.strip())
    return len(list(csv.reader(io.StringIO(text, newline="")))) - 1


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_csv_file(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


def is_siren(text: str) -> bool:
    return len(text) == 9 and text.isdigit()


def normalised(text: str | None) -> str:
    return " ".join((text or "").split())


# --- tests -------------------------------------------------------------------------------------------------

def test_nothing_is_rejected_and_only_the_undeclared_status_is_flagged(firm):
    # The generator may write an opportunity status the contract does not declare ("on_hold", for an ordinary
    # client): it is kept and flagged with its file and line, never quarantined, and the run says so with exit
    # code 2. Nothing else is flagged.
    assert published(firm, "SELECT count(*) FROM ingest_rejections") == [(0,)]
    assert published(firm, "SELECT count(*) FROM ingest_files WHERE rows_quarantined <> 0") == [(0,)]
    flagged = published(firm, "SELECT file_path, line_number, column_name, value, rule FROM rpt_data_quality")
    written = [(firm.relative(path), number, "status", "on_hold", "undeclared_value")
               for path in firm.landing_files() if path.parent.name == "crm"
               for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
               if ",on_hold," in line or '"on_hold"' in line]
    assert flagged == written
    assert firm.exit_code == (2 if written else 0)


def test_the_generated_ledgers_cover_every_variant_checked_below(ledgers):
    kinds: dict[str, set[str]] = defaultdict(set)
    for fec in ledgers.current:
        if fec.closing.month != 12:
            kinds["non-December closing"].add(fec.siren)
        if "Montant" in fec.header and "Sens" in fec.header:
            kinds["Montant/Sens"].add(fec.siren)
        if not fec.is_utf8:
            kinds["ISO-8859-15"].add(fec.siren)
        if len(fec.header) == 22 and fec.header[-1] == "IdClient":
            kinds["BNC 22 columns"].add(fec.siren)
    for fec in ledgers.superseded:
        kinds["superseded re-export"].add(fec.siren)
    assert {kind for kind, sirens in kinds.items() if sirens} == {
        "non-December closing", "Montant/Sens", "ISO-8859-15", "BNC 22 columns", "superseded re-export"}
    assert len(ledgers.months) == CLIENTS


def test_every_month_of_every_client_matches_the_ledgers_to_the_cent(firm, ledgers):
    rows = published(firm, "SELECT client_id, month, revenue, payroll, cash_net FROM fct_indicators_monthly")
    actual = {(client, month): (revenue, payroll, cash) for client, month, revenue, payroll, cash in rows}
    expected = {
        (siren, month): (euros(m.revenue), euros(m.payroll), euros(m.cash_net))
        for siren, months in ledgers.months.items()
        for month, m in months.items()
    }
    assert sorted(actual) == sorted(expected), "months published differ from the months the ledgers cover"
    wrong = [(client, month.isoformat(), name, want, got)
             for (client, month), figures in sorted(expected.items())
             for name, want, got in zip(("revenue", "payroll", "cash_net"), figures, actual[(client, month)],
                                        strict=True)
             if want != got]
    assert not wrong, f"{len(wrong)} wrong (client, month, indicator, expected, published): {wrong[:10]}"


def test_rolling_12_month_revenue_sums_the_12_calendar_months(firm, ledgers):
    rows = published(firm, "SELECT client_id, month, revenue_rolling_12m FROM fct_indicators_monthly")
    wrong = []
    for client, month, rolling in rows:
        window = months_between(date(month.year - 1, month.month, 1), month)[1:]
        assert len(window) == 12
        months = ledgers.months[client]
        expected = euros(sum(months[m].revenue for m in window if m in months))
        if rolling != expected:
            wrong.append((client, month.isoformat(), expected, rolling))
    assert not wrong, f"(client, month, expected, published): {wrong[:10]}"
    assert len(rows) == sum(len(months) for months in ledgers.months.values())


def test_source_line_count_adds_up_to_the_current_files_lines(firm, ledgers):
    # fct_indicators_monthly.yml: lines dated in the month in the file the month belongs to; the opening
    # entries are dated in the fiscal year's first month, so they count there and nothing is left out.
    per_month = {(client, month): lines for client, month, lines in published(
        firm, "SELECT client_id, month, source_line_count FROM fct_indicators_monthly")}
    assert per_month == {(siren, month): m.line_count
                         for siren, months in ledgers.months.items() for month, m in months.items()}
    per_client = dict(published(firm, "SELECT client_id, sum(source_line_count) FROM fct_indicators_monthly"
                                      " GROUP BY client_id"))
    assert per_client == {siren: sum(len(fec.lines) for fec in ledgers.current_of(siren))
                          for siren in ledgers.months}


def test_ingest_files_has_one_row_per_landing_file_with_its_line_counts(firm, ledgers):
    rows = published(firm, "SELECT file_path, source, client_id, sha256, status, rows_read, rows_loaded,"
                           " rows_quarantined FROM ingest_files ORDER BY file_path")
    files = firm.landing_files()
    assert [row[0] for row in rows] == [firm.relative(p) for p in files]
    superseded = {firm.relative(f.path) for f in ledgers.superseded}
    assert superseded and {row[0] for row in rows if row[4] == "superseded"} == superseded
    assert {row[4] for row in rows if row[0] not in superseded} == {"loaded"}
    fec_lines = {firm.relative(f.path): len(f.lines) for f in ledgers.files}
    fec_sirens = {firm.relative(f.path): f.siren for f in ledgers.files}
    for row, landing_file in zip(rows, files, strict=True):
        path, source, client_id, digest, _, read, loaded, quarantined = row
        assert read == loaded + quarantined, path
        assert read == (fec_lines[path] if path in fec_lines else record_count(landing_file)), path
        assert digest == sha256(landing_file), path
        assert source == path.split("/")[0], path
        if path in fec_sirens:
            assert client_id == fec_sirens[path], path


def test_every_contract_table_is_published_in_duckdb_and_parquet(firm):
    parquet_dir = firm.home / "publish" / "parquet"
    tables = {name for (name,) in published(
        firm, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'")}
    assert set(CONTRACT_TABLES) <= tables
    for table, minimum in CONTRACT_TABLES.items():
        columns = [name for (name,) in published(
            firm, "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ?"
                  " ORDER BY column_index", [table])]
        assert set(minimum) <= set(columns), (table, sorted(set(minimum) - set(columns)))
        with duckdb.connect() as con:
            parquet = con.read_parquet(str(parquet_dir / f"{table}.parquet"))
            parquet_columns, rows_in_parquet = parquet.columns, len(parquet)
        assert parquet_columns == columns, table
        assert rows_in_parquet == published(firm, f'SELECT count(*) FROM "{table}"')[0][0], table
    assert published(firm, "SELECT count(*) FROM fct_indicators_monthly")[0][0] > 0


def test_dim_clients_has_every_company_known_to_any_source_keyed_by_siren(firm, ledgers):
    companies = read_csv_file(firm.landing / "crm" / "companies.csv")
    client_files = read_csv_file(firm.landing / "practice" / "client_files.csv")

    def crm_client_id(company: dict) -> str:
        siren = company["siren"].replace(" ", "").replace(".", "")
        return siren if is_siren(siren) else f"crm-{company['id']}"

    expected = ({crm_client_id(c) for c in companies} | {f["siren"] for f in client_files}
                | {f.siren for f in ledgers.files})
    rows = published(firm, "SELECT client_id, siren, crm_company_id, collaborator_id, bookkeeping_by,"
                           " bookkeeping_frequency, is_deactivated FROM dim_clients")
    assert sorted(row[0] for row in rows) == sorted(expected)
    by_id = {row[0]: row for row in rows}
    for client_id, siren, *_ in rows:
        assert siren == (client_id if is_siren(client_id) else None), client_id
    for company in companies:
        assert by_id[crm_client_id(company)][2] == company["id"], company["name"]
    for client_file in client_files:
        _, _, _, collaborator, bookkeeping_by, frequency, deactivated = by_id[client_file["siren"]]
        assert (collaborator, bookkeeping_by, frequency, deactivated) == (
            client_file["collaborator_id"], client_file["bookkeeping_by"], client_file["frequency"],
            client_file["deactivated"] == "true"), client_file["siren"]


def test_indicator_table_and_columns_carry_the_french_descriptions(firm):
    (model_yaml,) = (DBT_PROJECT_DIR / "models").rglob("fct_indicators_monthly.yml")
    (model,) = [m for m in yaml.safe_load(model_yaml.read_text(encoding="utf-8"))["models"]
                if m["name"] == "fct_indicators_monthly"]
    ((table_comment,),) = published(
        firm, "SELECT comment FROM duckdb_tables() WHERE table_name = 'fct_indicators_monthly'")
    assert normalised(table_comment) == normalised(model["description"])
    assert normalised(table_comment) != normalised(model["config"]["meta"]["description_en"])
    comments = dict(published(firm, "SELECT column_name, comment FROM duckdb_columns()"
                                    " WHERE table_name = 'fct_indicators_monthly'"))
    for column in model["columns"]:
        assert normalised(comments[column["name"]]) == normalised(column["description"]), column["name"]
    assert all(normalised(comments[c]) for c in CONTRACT_TABLES["fct_indicators_monthly"])


def test_audit_manifest_lists_every_input_with_its_sha256_and_the_row_counts(firm):
    (manifest_file,) = (firm.home / "audit").glob("run-*.json")
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    inputs = {entry["file_path"]: entry["sha256"] for entry in manifest["inputs"]}
    assert inputs == {firm.relative(p): sha256(p) for p in firm.landing_files()}
    counts = {table: published(firm, f'SELECT count(*) FROM "{table}"')[0][0] for table in CONTRACT_TABLES}
    assert {table: manifest["outputs"][table]["rows"] for table in CONTRACT_TABLES} == counts
    for table in CONTRACT_TABLES:
        parquet = firm.home / manifest["outputs"][table]["parquet"]
        assert manifest["outputs"][table]["parquet_sha256"] == sha256(parquet), table
    assert manifest["settings"]["as_of_date"] == firm.report.as_of.isoformat()


def test_dagster_recorded_the_successful_run_and_the_published_row_counts(firm):
    with dg.DagsterInstance.from_config(str(firm.home / ".dagster")) as instance:
        (run,) = instance.get_runs()
        assert run.job_name == "vigie_pipeline"
        assert run.status == dg.DagsterRunStatus.SUCCESS
        (manifest_file,) = (firm.home / "audit").glob("run-*.json")
        assert json.loads(manifest_file.read_text(encoding="utf-8"))["run_id"] == run.run_id
        for table in CONTRACT_TABLES:
            records = instance.fetch_materializations(dg.AssetKey(["published", table]), limit=10).records
            assert [r.run_id for r in records] == [run.run_id], table
            row_count = records[0].asset_materialization.metadata["dagster/row_count"].value
            assert row_count == published(firm, f'SELECT count(*) FROM "{table}"')[0][0], table
