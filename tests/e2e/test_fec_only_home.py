"""A home with FEC files only, in several legal variants: every line loaded, exact monthly figures.

The ledgers are written here by hand and every expected figure is computed by hand in the comments.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import dagster as dg
import duckdb
import pytest

from orchestration.dbt_assets import BUILT_BY_RUN, VIEW_DEFINED_BY_RUN
from tests.e2e.conftest import query, run_vigie_in_process

HEADER_18 = ["JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
             "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
             "ValidDate", "Montantdevise", "Idevise"]
SIREN_A, SIREN_B, SIREN_C = "552100554", "732829320", "443061841"
WAREHOUSE = "duckdb://vigie/warehouse/vigie.duckdb"
PUBLISHED_INDICATORS = ("duckdb://vigie/publish/marts.duckdb", "main.fct_indicators_monthly")

# (journal, entry number, date, account, label, debit, credit)
LEDGER_A_2025 = [
    ("AN", "1", "20250101", "101000", "Capital", "0", "5000"),
    ("AN", "1", "20250101", "512000", "Banque", "5000", "0"),
    ("VT", "2", "20250115", "411000", "Client Dupont", "1200", "0"),
    ("VT", "2", "20250115", "706000", "Prestations", "0", "1000"),
    ("VT", "2", "20250115", "445710", "TVA collectée", "0", "200"),
    ("BQ", "3", "20250120", "512000", "Règlement Dupont", "1200", "0"),
    ("BQ", "3", "20250120", "411000", "Règlement Dupont", "0", "1200"),
    ("OD", "4", "20250131", "641000", "Salaires", "2000", "0"),
    ("OD", "4", "20250131", "645000", "Charges sociales", "800", "0"),
    ("OD", "4", "20250131", "421000", "Personnel", "0", "2000"),
    ("OD", "4", "20250131", "431000", "URSSAF", "0", "800"),
    ("BQ", "5", "20250131", "421000", "Virement salaires", "2000", "0"),
    ("BQ", "5", "20250131", "512000", "Virement salaires", "0", "2000"),
    ("VT", "6", "20250210", "411000", "Client Martin", "2400", "0"),
    ("VT", "6", "20250210", "706000", "Prestations", "0", "2000"),
    ("VT", "6", "20250210", "445710", "TVA collectée", "0", "400"),
    ("VT", "7", "20250212", "709000", "Remise accordée", "50", "0"),
    ("VT", "7", "20250212", "411000", "Remise accordée", "0", "50"),
    ("HA", "8", "20250215", "606000", "Fournitures", "500", "0"),
    ("HA", "8", "20250215", "401000", "Fournisseur", "0", "500"),
    ("BQ", "9", "20250220", "401000", "Paiement fournisseur", "500", "0"),
    ("BQ", "9", "20250220", "512000", "Paiement fournisseur", "0", "500"),
    ("OD", "10", "20250228", "431000", "Réduction générale", "100", "0"),
    ("OD", "10", "20250228", "649000", "Réduction générale", "0", "100"),
]
# Result 2025 = 2950 revenue - 500 purchases - 2700 payroll = -250; closing balances carried as openings 2026.
LEDGER_A_2026 = [
    ("AN", "1", "20260101", "512000", "Banque", "3700", "0"),
    ("AN", "1", "20260101", "411000", "Clients", "2350", "0"),
    ("AN", "1", "20260101", "129000", "Perte 2025", "250", "0"),
    ("AN", "1", "20260101", "101000", "Capital", "0", "5000"),
    ("AN", "1", "20260101", "445710", "TVA collectée", "0", "600"),
    ("AN", "1", "20260101", "431000", "URSSAF", "0", "700"),
    ("VT", "2", "20260112", "411000", "Client Dupont", "3600", "0"),
    ("VT", "2", "20260112", "706000", "Prestations € HT", "0", "3000"),
    ("VT", "2", "20260112", "445710", "TVA collectée", "0", "600"),
    ("BQ", "3", "20260125", "512000", "Règlement Dupont", "3600", "0"),
    ("BQ", "3", "20260125", "411000", "Règlement Dupont", "0", "3600"),
    ("OD", "4", "20260227", "641000", "Salaires", "1000", "0"),
    ("OD", "4", "20260227", "421000", "Personnel", "0", "1000"),
    ("BQ", "5", "20260228", "421000", "Virement salaires", "1000", "0"),
    ("BQ", "5", "20260228", "512000", "Virement salaires", "0", "1000"),
    ("BQ", "6", "20260228", "627000", "Frais bancaires", "10", "0"),
    ("BQ", "6", "20260228", "512000", "Frais bancaires", "0", "10"),
]
# Client B, fiscal year 2025-07-01 to 2026-06-30, BNC layout (22 columns).
LEDGER_B_JULY = [
    ("ve", "0", "15/07/2025", "41100000", "Société Générale", "0000001500,00", "0000000000,00"),
    ("ve", "0", "15/07/2025", "70600000", "Honoraires", "0000000000,00", "0000001250,00"),
    ("ve", "0", "15/07/2025", "44571000", "TVA", "0000000000,00", "0000000250,00"),
    ("ve", "0", "20/07/2025", "70600000", "Avoir sur honoraires", "0000000000,00", "12,50-"),
    ("ve", "0", "20/07/2025", "41100000", "Avoir sur honoraires", "-12,50", "0000000000,00"),
    ("bq", "0", "25/07/2025", "51200000", "Encaissement", "0000001500,00", "0000000000,00"),
    ("bq", "0", "25/07/2025", "41100000", "Encaissement", "0000000000,00", "0000001500,00"),
]
LEDGER_B_AUGUST = [
    ("od", "0", "31/08/2025", "64100000", "Salaires", "0000000700,00", "0000000000,00"),
    ("od", "0", "31/08/2025", "42100000", "Salaires", "0000000000,00", "0000000700,00"),
    ("od", "0", "31/08/2025", "64500000", "Charges", "0000000300,00", "0000000000,00"),
    ("od", "0", "31/08/2025", "43100000", "Charges", "0000000000,00", "0000000300,00"),
    ("bq", "0", "31/08/2025", "42100000", "Paiement salaires", "0000000700,00", "0000000000,00"),
    ("bq", "0", "31/08/2025", "51200000", "Paiement salaires", "0000000000,00", "0000000700,00"),
]
# The same fiscal year exported earlier, with a July sale since corrected: it must be superseded.
LEDGER_B_EARLY_EXPORT = [
    ("ve", "0", "15/07/2025", "41100000", "Société Générale", "0000001200,00", "0000000000,00"),
    ("ve", "0", "15/07/2025", "70600000", "Honoraires", "0000000000,00", "0000001000,00"),
    ("ve", "0", "15/07/2025", "44571000", "TVA", "0000000000,00", "0000000200,00"),
]

EXPECTED = {  # (client, month): (revenue, payroll, month-end net cash)
    (SIREN_A, date(2025, 1, 1)): ("1000.00", "2800.00", "4200.00"),  # 5000 opening + 1200 - 2000
    (SIREN_A, date(2025, 2, 1)): ("1950.00", "-100.00", "3700.00"),  # 2000 - 50 rebate; 649 reduces payroll
    (SIREN_A, date(2026, 1, 1)): ("3000.00", "0.00", "7300.00"),  # 2026 opening 3700 + 3600, not 2025's 5000
    (SIREN_A, date(2026, 2, 1)): ("0.00", "1000.00", "6290.00"),  # 7300 - 1000 - 10
    (SIREN_B, date(2025, 7, 1)): ("1237.50", "0.00", "1500.00"),  # 1250 - 12.50 credit note (sign last)
    (SIREN_B, date(2025, 8, 1)): ("0.00", "1000.00", "800.00"),
}


def _rows_18(ledger, journal_libs=True):
    return [[j, j if journal_libs else "", num, d, acct, lib, "", "", f"P{num}", d, lib, debit, credit, "", "", "",
             "", ""] for j, num, d, acct, lib, debit, credit in ledger]


def _write(path, header, rows, *, sep, encoding, line_end, trailing_sep=False, bom=False):
    tail = sep if trailing_sep else ""
    text = line_end.join(sep.join(fields) + tail for fields in [header, *rows]) + line_end
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding))


def _montant_sens(rows):
    """Debit/Credit columns 11, 12 → Montant, Sens (D/C)."""
    out = []
    for fields in rows:
        debit, credit = Decimal(fields[11]), Decimal(fields[12])
        amount, sens = (debit, "D") if debit else (credit, "C")
        out.append([*fields[:11], f"{amount:.2f}".replace(".", ","), sens, *fields[13:]])
    return out


def _bnc(ledger):
    header = [*HEADER_18, "DateRglt", "ModeRglt", "NatOp", "IdClient"]
    rows = [[*row, "", "", "", ""] for row in _rows_18(ledger, journal_libs=False)]
    return header, rows


def _write_ledger_a_2026(accounting, ledger):
    """Client A's 2026 ledger as its tool exports it: Montant/Sens, pipes, ISO-8859-15, CR line ends."""
    montant_header = [*HEADER_18[:11], "Montant", "Sens", *HEADER_18[13:]]
    _write(accounting / f"{SIREN_A}FEC20261231.txt", montant_header, _montant_sens(_rows_18(ledger)),
           sep="|", encoding="iso-8859-15", line_end="\r", trailing_sep=True)


@pytest.fixture(scope="module")
def fec_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("fec_only")
    accounting = home / "landing" / "accounting"
    accounting.mkdir(parents=True)
    _write(accounting / f"{SIREN_A}FEC20251231.txt", HEADER_18, _rows_18(LEDGER_A_2025),
           sep="\t", encoding="utf-8", line_end="\r\n", bom=True)
    _write_ledger_a_2026(accounting, LEDGER_A_2026)
    header, early_rows = _bnc(LEDGER_B_EARLY_EXPORT)
    _write(accounting / f"{SIREN_B}FEC20260630_export-202507.txt", header, early_rows,
           sep="|", encoding="cp850", line_end="\r\r\n")
    header, rows = _bnc(LEDGER_B_JULY + LEDGER_B_AUGUST)
    _write(accounting / f"{SIREN_B}FEC20260630_export-202509.txt", header, rows,
           sep="|", encoding="cp850", line_end="\r\r\n")
    return home


@pytest.fixture(scope="module")
def first_run(fec_home):
    return run_vigie_in_process(fec_home, "run", "--as-of", "2026-03-31")


def test_run_is_clean_and_every_line_is_loaded(fec_home, first_run):
    assert first_run == 0
    files = query(fec_home / "publish" / "marts.duckdb",
                  "SELECT file_path, status, rows_read, rows_loaded, rows_quarantined FROM ingest_files"
                  " ORDER BY file_path")
    by_path = {path.split("/")[-1]: (status, read, loaded, quarantined)
               for path, status, read, loaded, quarantined in files}
    assert by_path[f"{SIREN_A}FEC20251231.txt"] == ("loaded", len(LEDGER_A_2025), len(LEDGER_A_2025), 0)
    assert by_path[f"{SIREN_A}FEC20261231.txt"] == ("loaded", len(LEDGER_A_2026), len(LEDGER_A_2026), 0)
    assert by_path[f"{SIREN_B}FEC20260630_export-202507.txt"][0] == "superseded"
    july_and_august = len(LEDGER_B_JULY) + len(LEDGER_B_AUGUST)
    assert by_path[f"{SIREN_B}FEC20260630_export-202509.txt"] == ("loaded", july_and_august, july_and_august, 0)


def test_monthly_revenue_payroll_and_cash_are_exact(fec_home, first_run):
    rows = query(fec_home / "publish" / "marts.duckdb",
                 "SELECT client_id, month, revenue, payroll, cash_net FROM fct_indicators_monthly")
    actual = {(client, month): (str(revenue), str(payroll), str(cash))
              for client, month, revenue, payroll, cash in rows}
    assert actual == EXPECTED


def reached_from(events_file, dataset: tuple[str, str]) -> set[tuple[str, str]]:
    """The datasets a lineage server finds upstream of `dataset`, reading OpenLineage as it does: each dataset is
    produced by the job whose COMPLETE event outputs it, from that event's inputs."""
    made_from = {}
    for line in events_file.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event["eventType"] == "COMPLETE":
            for output in event["outputs"]:
                made_from[(output["namespace"], output["name"])] = [(i["namespace"], i["name"])
                                                                    for i in event["inputs"]]
    seen, pending = set(), [dataset]
    while pending:
        dataset = pending.pop()
        seen.add(dataset)
        pending.extend(p for p in made_from.get(dataset, []) if p not in seen)
    return seen


def test_lineage_events_lead_from_a_published_table_back_to_the_fec_folder(fec_home, first_run):
    (events_file,) = (fec_home / "audit").glob("*.lineage.jsonl")
    assert {(WAREHOUSE, "marts.fct_indicators_monthly"), (WAREHOUSE, "raw.fec_lines"),
            ("file://vigie/landing", "accounting")} <= reached_from(events_file, PUBLISHED_INDICATORS)


def published(fec_home) -> dict[str, list[tuple]]:
    marts = fec_home / "publish" / "marts.duckdb"
    tables = [name for (name,) in query(marts, "SELECT table_name FROM duckdb_tables() ORDER BY 1")]
    return {t: query(marts, f'SELECT * FROM "{t}" ORDER BY ALL') for t in tables}


def latest_materialization(fec_home, key: list[str]) -> dg.AssetMaterialization:
    with dg.DagsterInstance.from_config(str(fec_home / ".dagster")) as instance:
        return instance.get_latest_materialization_event(dg.AssetKey(key)).asset_materialization


def latest_check_evaluation(fec_home, key: list[str], check_name: str) -> dg.AssetCheckEvaluation:
    check = dg.AssetCheckKey(dg.AssetKey(key), check_name)
    with dg.DagsterInstance.from_config(str(fec_home / ".dagster")) as instance:
        execution = instance.event_log_storage.get_latest_asset_check_execution_by_key([check])[check]
        return execution.event.dagster_event.event_specific_data


def audit_manifests(fec_home) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((fec_home / "audit").glob("run-*Z-*.json"))]


def test_second_run_loads_nothing_builds_nothing_and_publishes_identical_tables(fec_home, first_run, run_vigie):
    before = published(fec_home)
    assert run_vigie(fec_home, "run", "--as-of", "2026-03-31") == 0
    assert published(fec_home) == before
    runs = query(fec_home / "warehouse" / "vigie.duckdb", "SELECT count(DISTINCT run_id) FROM raw.ingest_files")
    assert runs == [(1,)], "the second run must not record any file again"

    # Nothing the first dbt step reads changed: its tables are kept, and its materialisations and dbt test results
    # are those of the first run, reported again, saying so (orchestration/dbt_build_record.py).
    first, second = audit_manifests(fec_home)
    indicators = latest_materialization(fec_home, ["marts", "fct_indicators_monthly"])
    assert indicators.metadata[BUILT_BY_RUN].value == first["run_id"]
    assert indicators.metadata["dagster/row_count"].value == len(EXPECTED)
    assert indicators.metadata["dagster/column_lineage"].value.deps_by_column["revenue"]
    assert first["tables_kept_from_run"] == {}
    kept = second["tables_kept_from_run"]
    assert "marts/fct_indicators_monthly" in kept and "intermediate/int_fec__account_monthly" in kept
    assert set(kept.values()) == {first["run_id"]}
    dbt_checks = {asset: checks for asset, checks in first["checks"].items() if asset.startswith("marts/")}
    assert dbt_checks and {a: second["checks"].get(a) for a in dbt_checks} == dbt_checks
    dbt_test = next(name for name in sorted(dbt_checks["marts/fct_indicators_monthly"]) if not name.startswith("gx_"))
    evaluation = latest_check_evaluation(fec_home, ["marts", "fct_indicators_monthly"], dbt_test)
    assert evaluation.metadata[BUILT_BY_RUN].value == first["run_id"]
    # the Great Expectations suites found the rows the first run validated: its outcome, without loading GX again
    for table in ("dim_clients", "ingest_files"):
        gx = latest_check_evaluation(fec_home, ["marts", table], f"gx_{table}")
        assert gx.passed and gx.metadata["validated_by_run"].value == first["run_id"]
        assert gx.metadata["expectations"].value > 0
    # the second run's lineage still leads from a published table back to the ledger lines and the landing folder
    (events_file,) = (fec_home / "audit").glob(f"run-*-{second['run_id'][:8]}.lineage.jsonl")
    assert {(WAREHOUSE, "marts.fct_indicators_monthly"), (WAREHOUSE, "raw.fec_lines"),
            ("file://vigie/landing", "accounting")} <= reached_from(events_file, PUBLISHED_INDICATORS)


def test_a_table_missing_from_the_warehouse_builds_again(fec_home, first_run, run_vigie):
    """Same inputs as the build before, but a table of the first dbt step was dropped (by hand, a restore...)."""
    with duckdb.connect(str(fec_home / "warehouse" / "vigie.duckdb")) as con:
        con.execute("DROP TABLE marts.fct_indicators_monthly")
    assert run_vigie(fec_home, "run", "--as-of", "2026-03-31") == 0
    assert BUILT_BY_RUN not in latest_materialization(fec_home, ["marts", "fct_indicators_monthly"]).metadata
    rows = query(fec_home / "publish" / "marts.duckdb", "SELECT client_id, month, revenue, payroll, cash_net"
                 " FROM fct_indicators_monthly")
    assert {(c, m): (str(r), str(p), str(k)) for c, m, r, p, k in rows} == EXPECTED


def test_a_new_reference_date_builds_again(fec_home, first_run, run_vigie):
    assert run_vigie(fec_home, "run", "--as-of", "2026-04-30") == 0
    indicators = latest_materialization(fec_home, ["marts", "fct_indicators_monthly"])
    assert BUILT_BY_RUN not in indicators.metadata
    as_of = query(fec_home / "publish" / "marts.duckdb", "SELECT DISTINCT as_of_date FROM fct_account_status")
    assert as_of == [(date(2026, 4, 30),)]


def test_full_refresh_builds_every_model_again_and_changes_no_figure(fec_home, first_run, run_vigie, capfd):
    """Nothing changed since the last run: `--full-refresh` builds anyway, the ledger's incremental models from the
    raw layer, and publishes the same tables."""
    before = published(fec_home)
    as_of = audit_manifests(fec_home)[-1]["settings"]["as_of_date"]
    capfd.readouterr()
    assert run_vigie(fec_home, "run", "--as-of", as_of, "--full-refresh") == 0
    assert "dbt build: full refresh asked: incremental models rebuilt in full" in capfd.readouterr().err
    assert BUILT_BY_RUN not in latest_materialization(fec_home, ["marts", "fct_indicators_monthly"]).metadata
    assert published(fec_home) == before


def test_a_re_exported_ledger_builds_what_reads_the_ledger_and_keeps_the_rest(fec_home, first_run, run_vigie,
                                                                              capfd):
    """Client A's 2026 ledger exported again with its bank fees corrected (10 -> 25): the first dbt step builds the
    models downstream of the raw tables that changed (the ledger lines and the ingestion ledger) and keeps the
    others (the staging of the sources that brought nothing new) from the run before. The published tables are
    those a full build on the same files publishes."""
    as_of = audit_manifests(fec_home)[-1]["settings"]["as_of_date"]
    corrected = [(*row[:5], "25", row[6]) if row[4] == "Frais bancaires" and row[5] == "10" else
                 (*row[:6], "25") if row[4] == "Frais bancaires" else row for row in LEDGER_A_2026]
    _write_ledger_a_2026(fec_home / "landing" / "accounting", corrected)
    capfd.readouterr()
    assert run_vigie(fec_home, "run", "--as-of", as_of) == 0
    log = capfd.readouterr().err
    # the ledger's lines and the ingestion ledger; not the quarantine tables, the new version having no line there
    assert "dbt build: raw.fec_lines, raw.ingest_files changed since run" in log, log

    # The same companies and the same months of books as before: the build gates int_clients__keys and
    # int_fec__client_ledger_span came out as they were, so the models that read the ledger only through them (the
    # CRM's, dim_clients and the marts that read it) are kept too.
    assert ("dbt build: build gates as they were (intermediate.int_clients__keys,"
            " intermediate.int_fec__client_ledger_span): the ") in log, log
    # ... and the step built what reads the ledger in one dbt invocation, not waiting for the gates first (the
    # second "finished" is the outputs step's)
    assert log.count("dbt build: finished,") == 2, log

    before, after = audit_manifests(fec_home)[-2:]
    kept = after["tables_kept_from_run"]
    assert kept.get("staging/stg_crm__companies") == before["run_id"]
    assert kept.get("intermediate/int_crm__accounts") == before["run_id"]
    assert kept.get("marts/fct_deals") == before["run_id"]
    deals_checks = before["checks"]["marts/fct_deals"]
    assert deals_checks and after["checks"]["marts/fct_deals"] == deals_checks  # reported again, as they were
    deals_test = next(name for name in sorted(deals_checks) if not name.startswith("gx_"))
    assert latest_check_evaluation(fec_home, ["marts", "fct_deals"], deals_test).metadata[BUILT_BY_RUN].value == (
        before["run_id"])
    assert kept.get("marts/dim_clients") == before["run_id"]
    assert kept.get("marts/fct_practice_daily") == before["run_id"]  # reads the ledger only through dim_clients
    built = {"marts/fct_indicators_monthly", "intermediate/int_fec__account_monthly",
             "intermediate/int_clients__keys", "intermediate/int_fec__client_ledger_span"}
    assert not built & set(kept)
    assert kept.get("marts/ingest_rejections") == before["run_id"]  # reads only the quarantine, as it was
    # The staging views that read the ledger are not created again (same SQL, no rows of their own): reported with
    # the run that defined them, and not as kept, since what they show changed; their tests ran again.
    view = latest_materialization(fec_home, ["staging", "stg_ingest__files"])
    assert view.metadata[VIEW_DEFINED_BY_RUN].value == before["run_id"]
    assert BUILT_BY_RUN not in view.metadata and "staging/stg_ingest__files" not in kept
    view_test = "not_null_stg_ingest__files_file_path"
    assert BUILT_BY_RUN not in latest_check_evaluation(fec_home, ["staging", "stg_ingest__files"], view_test).metadata
    assert BUILT_BY_RUN not in latest_materialization(fec_home, ["marts", "fct_indicators_monthly"]).metadata
    cash = query(fec_home / "publish" / "marts.duckdb", "SELECT cash_net FROM fct_indicators_monthly"
                 f" WHERE client_id = '{SIREN_A}' AND month = DATE '2026-02-01'")
    assert [str(c) for (c,) in cash] == ["6275.00"]  # 7300 - 1000 - 25

    published_by_the_partial_build = published(fec_home)
    assert run_vigie(fec_home, "run", "--as-of", as_of, "--full-refresh") == 0
    assert published(fec_home) == published_by_the_partial_build


def test_a_re_export_with_a_new_month_builds_what_stands_behind_the_span_and_keeps_the_crm(fec_home, first_run,
                                                                                          run_vigie, capfd):
    """Client A's 2026 ledger exported again with a March entry: the span of A's books (int_fec__client_ledger_span)
    moves, the companies (int_clients__keys) do not. What reads the span is built (dim_clients); what stands behind
    the companies only (the CRM's models) is kept. The published tables are those a full build publishes."""
    as_of = audit_manifests(fec_home)[-1]["settings"]["as_of_date"]
    march = [("BQ", "7", "20260316", "627000", "Frais bancaires", "12", "0"),
             ("BQ", "7", "20260316", "512000", "Frais bancaires", "0", "12")]
    _write_ledger_a_2026(fec_home / "landing" / "accounting", LEDGER_A_2026 + march)
    capfd.readouterr()
    assert run_vigie(fec_home, "run", "--as-of", as_of) == 0
    log = capfd.readouterr().err
    assert ("dbt build: build gate changed (intermediate.int_fec__client_ledger_span): building the ") in log, log
    assert "behind only the gates as they were (intermediate.int_clients__keys) kept" in log, log

    before, after = audit_manifests(fec_home)[-2:]
    kept = after["tables_kept_from_run"]
    assert kept.get("intermediate/int_crm__accounts") == before["run_id"]
    assert kept.get("marts/fct_deals") == before["run_id"]
    assert after["checks"]["marts/fct_deals"] == before["checks"]["marts/fct_deals"]
    assert not {"intermediate/int_fec__client_ledger_span", "marts/dim_clients"} & set(kept)
    assert BUILT_BY_RUN not in latest_materialization(fec_home, ["marts", "dim_clients"]).metadata
    span = query(fec_home / "warehouse" / "vigie.duckdb", "SELECT last_ledger_month FROM"
                 f" intermediate.int_fec__client_ledger_span WHERE client_id = '{SIREN_A}'")
    assert span == [(date(2026, 3, 1),)]

    published_by_the_partial_build = published(fec_home)
    assert run_vigie(fec_home, "run", "--as-of", as_of, "--full-refresh") == 0
    assert published(fec_home) == published_by_the_partial_build


def test_a_ledger_of_a_new_company_builds_what_reads_the_companies_too(fec_home, first_run, run_vigie, capfd):
    """A first ledger of client C: int_clients__keys, the build gate, gains C's key, so the models that read the
    ledger only through it are built as well, and the published tables are those a full build publishes."""
    as_of = audit_manifests(fec_home)[-1]["settings"]["as_of_date"]
    _write(fec_home / "landing" / "accounting" / f"{SIREN_C}FEC20251231.txt", HEADER_18, _rows_18(LEDGER_A_2025),
           sep="\t", encoding="utf-8", line_end="\n")
    capfd.readouterr()
    assert run_vigie(fec_home, "run", "--as-of", as_of) == 0
    log = capfd.readouterr().err
    assert "dbt build: build gate changed (intermediate.int_clients__keys, intermediate.int_fec__client_ledger_span):" \
        " building the " in log, log
    # The first invocation built rpt_unmatched_records and tested it against dim_clients as it stood, without C: the
    # relationship test failed there, and passes now that both were built again.
    assert ", and again the " in log, log
    relationship = "relationships_rpt_unmatched_records_v1_client_id__client_id__ref_dim_clients_"
    assert latest_check_evaluation(fec_home, ["marts", "rpt_unmatched_records"], relationship).passed

    before, after = audit_manifests(fec_home)[-2:]
    with dg.DagsterInstance.from_config(str(fec_home / ".dagster")) as instance:
        reported = [entry.dagster_event.event_specific_data.asset_check_key.name for entry in instance.all_logs(
            after["run_id"], of_type={dg.DagsterEventType.ASSET_CHECK_EVALUATION})]
    assert reported.count(relationship) == 1  # once, from the invocation that read both tables as built
    kept = after["tables_kept_from_run"]
    assert kept.get("staging/stg_crm__companies") == before["run_id"]
    assert not {"intermediate/int_clients__keys", "intermediate/int_crm__accounts", "marts/fct_deals",
                "marts/dim_clients"} & set(kept)
    for behind_the_gate in (["intermediate", "int_crm__accounts"], ["marts", "fct_deals"],
                            ["marts", "dim_clients"]):  # built by this run
        assert BUILT_BY_RUN not in latest_materialization(fec_home, behind_the_gate).metadata, behind_the_gate
    unmatched = query(fec_home / "publish" / "marts.duckdb",
                      f"SELECT count(*) FROM rpt_unmatched_records WHERE client_id = '{SIREN_C}'")
    assert unmatched == [(1,)]  # a ledger of a company neither the CRM nor the practice export knows

    published_by_the_partial_build = published(fec_home)
    assert run_vigie(fec_home, "run", "--as-of", as_of, "--full-refresh") == 0
    assert published(fec_home) == published_by_the_partial_build
