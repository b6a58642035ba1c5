"""Builds fct_client_sales on the sample raw layer plus a generated CRM sales history, and checks its figures
against a reference calculation written here from the definitions of domain.md §4 (seed 001 cards 1 to 3)."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from tests.dbt.dbt_runner import build_models
from tests.dbt.sample_warehouse import ALPHA, BETA, build_sample_warehouse

AS_OF = date(2026, 10, 31)
CENT = Decimal("0.01")

ALPHA_COMPANY = "c1"  # Alpha SARL, a client (SIREN 123456789)
GAMMA_COMPANY = "c2"  # Gamma SAS, a prospect without SIREN: client_id 'crm-c2'
DELTA_COMPANY = "c4"  # Delta, a client added here, without any sales
GAMMA = "crm-c2"
SALES_MODELS = {
    "fct_client_sales",
    "int_sales__documents",
    "int_sales__purchases",
    "int_sales__client_products",
    "int_sales__open_opportunities",
}
DELTA = "crm-c4"

PRODUCTS = (
    ("TENUE", "Tenue comptable"),
    ("PAIE", "Bulletins de paie"),
    ("BILAN", "Bilan annuel"),
    ("CONSEIL", "Conseil"),
    ("JURIDIQUE", "Secrétariat juridique"),
    ("TVA", "Déclarations de TVA"),
    ("AUDIT", "Audit flash"),
)


@dataclass(frozen=True)
class Invoice:
    id: str
    company_id: str
    day: date
    due: date
    status: str
    excl: Decimal
    paid: date | None

    @property
    def incl(self) -> Decimal:
        return (self.excl * Decimal("1.2")).quantize(CENT)


@dataclass(frozen=True)
class CreditNote:
    id: str
    company_id: str
    day: date
    status: str
    excl: Decimal

    @property
    def incl(self) -> Decimal:
        return (self.excl * Decimal("1.2")).quantize(CENT)


@dataclass(frozen=True)
class Estimate:
    id: str
    company_id: str
    day: date
    expiry: date
    status: str
    excl: Decimal


@dataclass(frozen=True)
class Line:
    document_type: str
    document_id: str
    line_no: int
    product_ref: str
    product_name: str
    quantity: Decimal
    total: Decimal


@dataclass(frozen=True)
class Opportunity:
    id: str
    company_id: str
    name: str
    amount: Decimal
    step: str
    status: str
    created: date


@dataclass(frozen=True)
class SalesHistory:
    invoices: tuple[Invoice, ...]
    credit_notes: tuple[CreditNote, ...]
    estimates: tuple[Estimate, ...]
    lines: tuple[Line, ...]
    opportunities: tuple[Opportunity, ...]


# ---- the generated CRM history ----


def _alpha_invoices(rng: random.Random) -> list[Invoice]:
    statuses = ["paid"] * 10 + ["due", "payinprogress", "late", "cancelled", "draft"]
    invoices = []
    for number in range(60):
        day = date(2022, 6, 1) + timedelta(days=rng.randrange(0, 900 + 4 * 365 // 3))
        due = day + timedelta(days=30)
        status = rng.choice(statuses)
        paid = day + timedelta(days=rng.randrange(5, 60)) if status == "paid" else None
        excl = Decimal(rng.randrange(5_000, 300_000)) / 100
        invoices.append(Invoice(f"i{number}", ALPHA_COMPANY, day, due, status, excl, paid))
    # the reference date's edge cases, whatever the draw
    invoices += [
        Invoice(
            "i-future",
            ALPHA_COMPANY,
            AS_OF + timedelta(days=2),
            AS_OF + timedelta(days=32),
            "due",
            Decimal("900.00"),
            None,
        ),
        Invoice(
            "i-paid-later",
            ALPHA_COMPANY,
            AS_OF - timedelta(days=40),
            AS_OF - timedelta(days=10),
            "paid",
            Decimal("410.00"),
            AS_OF + timedelta(days=3),
        ),
        Invoice("i-due-today", ALPHA_COMPANY, AS_OF - timedelta(days=30), AS_OF, "due", Decimal("120.00"), None),
        Invoice(
            "i-overdue",
            ALPHA_COMPANY,
            AS_OF - timedelta(days=45),
            AS_OF - timedelta(days=15),
            "due",
            Decimal("330.00"),
            None,
        ),
    ]
    return invoices


def _alpha_credit_notes(rng: random.Random, invoices: list[Invoice]) -> list[CreditNote]:
    statuses = ["stored", "partialspend", "spent", "cancelled", "draft"]
    return [
        CreditNote(
            f"cn{number}",
            ALPHA_COMPANY,
            invoice.day + timedelta(days=20),
            statuses[number % len(statuses)],
            (invoice.excl / 10).quantize(CENT),
        )
        for number, invoice in enumerate(rng.sample(invoices[:60], 12))
    ]


def _document_lines(rng: random.Random, documents: list[tuple[str, str, Decimal]]) -> list[Line]:
    """Lines summing to each document's total (excl. tax); the last line takes the rounding remainder."""
    lines = []
    for document_type, document_id, total in documents:
        products = rng.sample(PRODUCTS, rng.randrange(1, 4))
        remaining = total
        for line_no, (ref, name) in enumerate(products, start=1):
            amount = remaining if line_no == len(products) else (total / len(products)).quantize(CENT)
            remaining -= amount
            quantity = Decimal(rng.randrange(1, 6))
            lines.append(Line(document_type, document_id, line_no, ref, f"{name} {line_no}", quantity, amount))
    return lines


def _sales_history() -> SalesHistory:
    rng = random.Random(20261031)
    invoices = _alpha_invoices(rng)
    credit_notes = _alpha_credit_notes(rng, invoices)
    estimates = [
        # Alpha: an accepted quote that was invoiced must not be added to its invoices
        Estimate("e-alpha-invoiced", ALPHA_COMPANY, date(2025, 1, 5), date(2025, 2, 4), "invoiced", Decimal("5000.00")),
        Estimate(
            "e-alpha-sent",
            ALPHA_COMPANY,
            AS_OF - timedelta(days=5),
            AS_OF + timedelta(days=25),
            "sent",
            Decimal("700.00"),
        ),
        Estimate(
            "e-alpha-sent-expired",
            ALPHA_COMPANY,
            AS_OF - timedelta(days=60),
            AS_OF - timedelta(days=30),
            "sent",
            Decimal("650.00"),
        ),
        Estimate("e-alpha-read", ALPHA_COMPANY, AS_OF - timedelta(days=3), AS_OF, "read", Decimal("300.00")),
        # Gamma has no invoice: its accepted quotes are its purchases
        Estimate("e-gamma-1", GAMMA_COMPANY, date(2024, 5, 2), date(2024, 6, 1), "accepted", Decimal("1200.00")),
        Estimate("e-gamma-2", GAMMA_COMPANY, date(2026, 2, 3), date(2026, 3, 5), "partialinvoiced", Decimal("800.50")),
        Estimate("e-gamma-3", GAMMA_COMPANY, date(2026, 4, 1), date(2026, 5, 1), "advanced", Decimal("99.99")),
        Estimate("e-gamma-expired", GAMMA_COMPANY, date(2025, 3, 1), date(2025, 3, 31), "expired", Decimal("4000.00")),
        Estimate("e-gamma-draft", GAMMA_COMPANY, date(2026, 9, 1), date(2026, 10, 1), "draft", Decimal("10.00")),
    ]
    documents = [("invoice", i.id, i.excl) for i in invoices]
    documents += [("credit_note", c.id, c.excl) for c in credit_notes]
    documents += [("estimate", e.id, e.excl) for e in estimates]
    opportunities = [
        Opportunity(
            "o1",
            ALPHA_COMPANY,
            "Prévisionnel de trésorerie",
            Decimal("1800.00"),
            "Négociation",
            "open",
            date(2026, 10, 12),
        ),
        Opportunity(
            "o2", ALPHA_COMPANY, "Tableau de bord", Decimal("2400.00"), "Proposition", "late", date(2026, 8, 6)
        ),
        Opportunity("o3", ALPHA_COMPANY, "Bilan", Decimal("3000.00"), "Signature", "won", date(2026, 5, 1)),
        Opportunity(
            "o4", GAMMA_COMPANY, "Reprise de la tenue", Decimal("950.00"), "Qualification", "open", date(2026, 9, 1)
        ),
    ]
    return SalesHistory(
        tuple(invoices),
        tuple(credit_notes),
        tuple(estimates),
        tuple(_document_lines(rng, documents)),
        tuple(opportunities),
    )


def _insert_sales_history(path: Path, history: SalesHistory) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute(
            "INSERT INTO raw.crm_companies (id, name, type, created, _file_sha256, _source_file, _line_number)"
            " VALUES (?, 'Delta SAS', 'client', '2023-01-01', 'sha-crm', 'crm/companies.csv', 99)",
            [DELTA_COMPANY],
        )
        _insert(
            con,
            "crm_invoices",
            ["id", "company_id", "date", "due_date", "status", "total_excl_tax", "total_incl_tax", "paid_date"],
            # a date-time with its offset, as the Sellsy API writes some of them
            [
                [
                    i.id,
                    i.company_id,
                    f"{i.day.isoformat()}T09:30:00+01:00",
                    i.due.isoformat(),
                    i.status,
                    str(i.excl),
                    str(i.incl),
                    i.paid.isoformat() if i.paid else None,
                ]
                for i in history.invoices
            ],
        )
        _insert(
            con,
            "crm_credit_notes",
            ["id", "company_id", "date", "status", "total_excl_tax", "total_incl_tax"],
            [[c.id, c.company_id, c.day.isoformat(), c.status, str(c.excl), str(c.incl)] for c in history.credit_notes],
        )
        _insert(
            con,
            "crm_estimates",
            ["id", "company_id", "date", "expiry_date", "status", "total_excl_tax", "total_incl_tax"],
            [
                [
                    e.id,
                    e.company_id,
                    e.day.isoformat(),
                    e.expiry.isoformat(),
                    e.status,
                    str(e.excl),
                    str(e.excl * Decimal("1.2")),
                ]
                for e in history.estimates
            ],
        )
        _insert(
            con,
            "crm_document_lines",
            ["document_type", "document_id", "line_no", "product_ref", "product_name", "quantity", "total_excl_tax"],
            [
                [
                    x.document_type,
                    x.document_id,
                    str(x.line_no),
                    x.product_ref,
                    x.product_name,
                    str(x.quantity),
                    str(x.total),
                ]
                for x in history.lines
            ],
        )
        _insert(
            con,
            "crm_opportunities",
            ["id", "company_id", "name", "amount", "probability", "pipeline", "step", "status", "created"],
            [
                [o.id, o.company_id, o.name, str(o.amount), "50", "Missions", o.step, o.status, o.created.isoformat()]
                for o in history.opportunities
            ],
        )
    finally:
        con.close()


def _insert(con, table: str, columns: list[str], rows: list[list]) -> None:
    placeholders = ", ".join("?" for _ in columns)
    con.executemany(
        f"INSERT INTO raw.{table} ({', '.join(columns)}, _file_sha256, _source_file, _line_number)"
        f" VALUES ({placeholders}, 'sha-{table}', 'crm/{table}.csv', ?)",
        [[*row, line] for line, row in enumerate(rows, start=2)],
    )


# ---- reference calculation (domain.md §4, seed 001) ----

BILLED_INVOICE = {"due", "payinprogress", "paid", "late"}
BILLED_CREDIT_NOTE = {"stored", "partialspend", "spent"}
ACCEPTED_QUOTE = {"accepted", "advanced", "partialinvoiced", "invoiced"}


def _half_up(value: Decimal, exponent: Decimal) -> Decimal:
    return value.quantize(exponent, rounding=ROUND_HALF_UP)


def _expected(history: SalesHistory, company_id: str) -> dict:
    invoices = [
        i for i in history.invoices if i.company_id == company_id and i.status in BILLED_INVOICE and i.day <= AS_OF
    ]
    credit_notes = [
        c
        for c in history.credit_notes
        if c.company_id == company_id and c.status in BILLED_CREDIT_NOTE and c.day <= AS_OF
    ]
    quotes = [
        e for e in history.estimates if e.company_id == company_id and e.status in ACCEPTED_QUOTE and e.day <= AS_OF
    ]
    if invoices or credit_notes:
        basis = "invoices"
        purchases = [(i.day, i.excl) for i in invoices]
        signed = purchases + [(c.day, -c.excl) for c in credit_notes]
        bought = {("invoice", i.id) for i in invoices}
    else:
        basis = "accepted_quotes" if quotes else "none"
        purchases = signed = [(e.day, e.excl) for e in quotes]
        bought = {("estimate", e.id) for e in quotes}
    total = sum((amount for _, amount in signed), Decimal(0))

    unpaid = [i for i in invoices if not (i.status == "paid" and i.paid <= AS_OF)]
    late = [i for i in unpaid if i.status == "late" or i.due < AS_OF]
    paid = [i for i in invoices if i.status == "paid" and i.paid <= AS_OF]
    three_years_before = AS_OF.replace(year=AS_OF.year - 3)
    recent = [day for day, _ in purchases if three_years_before < day <= AS_OF]

    per_product: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for line in history.lines:
        if (line.document_type, line.document_id) in bought:
            per_product[line.product_ref][0] += line.quantity
            per_product[line.product_ref][1] += line.total
    by_quantity = sorted(per_product, key=lambda ref: (-per_product[ref][0], -per_product[ref][1], ref))
    by_revenue = sorted(per_product, key=lambda ref: (-per_product[ref][1], -per_product[ref][0], ref))

    return {
        "purchases_basis": basis,
        "first_purchase_date": min((day for day, _ in purchases), default=None),
        "last_purchase_date": max((day for day, _ in purchases), default=None),
        "total_purchases": total,
        "purchase_documents_count": len(purchases),
        "invoices_to_pay": (len(unpaid) - len(late), sum((i.excl for i in unpaid if i not in late), Decimal(0))),
        "invoices_late": (len(late), sum((i.excl for i in late), Decimal(0))),
        "purchases_by_year": {
            str(year): sum((amount for day, amount in signed if day.year == year), Decimal(0))
            for year in (AS_OF.year - 2, AS_OF.year - 1, AS_OF.year)
        },
        "purchase_frequency": _half_up(Decimal(len(recent)) / 3, CENT),
        "average_basket": _half_up(total / len(purchases), CENT) if purchases else None,
        "top_products_by_quantity": by_quantity[:5],
        "top_products_by_revenue": by_revenue[:5],
        "product_totals": {ref: tuple(totals) for ref, totals in per_product.items()},
        "avg_payment_days": _half_up(Decimal(sum((i.paid - i.day).days for i in paid)) / len(paid), Decimal("0.1"))
        if paid
        else None,
        "late_payments_count": sum(1 for i in paid if i.paid > i.due),
    }


# ---- build ----


@pytest.fixture(scope="module")
def history() -> SalesHistory:
    return _sales_history()


@pytest.fixture(scope="module")
def built(tmp_path_factory, history):
    root = tmp_path_factory.mktemp("client_sales")
    warehouse = root / "vigie.duckdb"
    build_sample_warehouse(warehouse)
    _insert_sales_history(warehouse, history)
    return warehouse, build_models(warehouse, root, ["fct_client_sales"], AS_OF.isoformat())


@pytest.fixture(scope="module")
def sales(built) -> dict[str, dict]:
    path, result = built
    assert result.success, result.exception
    # dbt-duckdb keeps its DuckDB instance open in this process: a connection with the same (default)
    # configuration shares it, where a read_only one would be refused
    con = duckdb.connect(str(path))
    try:
        cursor = con.execute("SELECT * FROM marts.fct_client_sales")
        names = [d[0] for d in cursor.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    finally:
        con.close()


def _json(value: str):
    return json.loads(value, parse_float=Decimal)


# ---- tests ----


def test_build_passes_the_hand_computed_unit_tests(built):
    _, result = built
    assert result.success, result.exception
    # a unit test's unique_id is unit_test.<project>.<model>.<test name>
    statuses = [
        str(r.status)
        for r in result.result.results
        if r.node.resource_type == "unit_test" and r.node.unique_id.split(".")[2] in SALES_MODELS
    ]
    assert len(statuses) >= 6
    assert set(statuses) == {"pass"}


def test_one_row_per_client_account_and_per_account_with_sales(sales):
    # clients Alpha, Beta (known by its ledger) and Delta (no sales); prospect Gamma has quotes and an
    # opportunity; the group account crm-c3 has nothing
    assert set(sales) == {ALPHA, BETA, GAMMA, DELTA}


def test_generated_history_exercises_every_case(history):
    alpha = _expected(history, ALPHA_COMPANY)
    assert alpha["invoices_to_pay"][0] > 0 and alpha["invoices_late"][0] > 0
    assert alpha["late_payments_count"] > 0
    statuses = {i.status for i in history.invoices} | {c.status for c in history.credit_notes}
    assert {"cancelled", "draft", "stored", "spent"} <= statuses
    assert len(_expected(history, ALPHA_COMPANY)["product_totals"]) > 5


@pytest.mark.parametrize("company_id, client_id", [(ALPHA_COMPANY, ALPHA), (GAMMA_COMPANY, GAMMA)])
def test_relationship_and_totals_match_the_reference(sales, history, company_id, client_id):
    row, expected = sales[client_id], _expected(history, company_id)
    for column in (
        "purchases_basis",
        "first_purchase_date",
        "last_purchase_date",
        "total_purchases",
        "purchase_documents_count",
        "purchase_frequency",
        "average_basket",
        "avg_payment_days",
        "late_payments_count",
    ):
        assert row[column] == expected[column], column
    assert (row["invoices_to_pay_count"], row["invoices_to_pay_amount"]) == expected["invoices_to_pay"]
    assert (row["invoices_late_count"], row["invoices_late_amount"]) == expected["invoices_late"]
    assert _json(row["purchases_by_year"]) == expected["purchases_by_year"]


def test_accepted_quotes_stand_in_only_without_invoices(sales, history):
    gamma = sales[GAMMA]
    assert gamma["purchases_basis"] == "accepted_quotes"
    # accepted 1200.00 + partly invoiced 800.50 + deposit invoiced 99.99; the expired and draft quotes never count
    assert gamma["total_purchases"] == Decimal("2100.49")
    assert _json(gamma["purchases_by_year"]) == {
        "2024": Decimal("1200.00"),
        "2025": Decimal("0.00"),
        "2026": Decimal("900.49"),
    }
    alpha_invoiced_quote = next(e for e in history.estimates if e.id == "e-alpha-invoiced")
    assert sales[ALPHA]["total_purchases"] == _expected(history, ALPHA_COMPANY)["total_purchases"]
    assert sales[ALPHA]["purchases_basis"] == "invoices" and alpha_invoiced_quote.status == "invoiced"


def test_top_products_follow_the_reference_order(sales, history):
    expected = _expected(history, ALPHA_COMPANY)
    for column in ("top_products_by_quantity", "top_products_by_revenue"):
        products = _json(sales[ALPHA][column])
        assert [p["product_ref"] for p in products] == expected[column]
        assert [p["rank"] for p in products] == [1, 2, 3, 4, 5]
        for product in products:
            assert (product["quantity"], product["revenue"]) == expected["product_totals"][product["product_ref"]]


def test_pending_quotes_and_open_opportunities(sales):
    alpha = sales[ALPHA]
    # sent and still valid: e-alpha-sent; e-alpha-sent-expired is past its expiry date; read expiring today counts
    assert (alpha["quotes_sent_count"], alpha["quotes_read_count"]) == (1, 1)
    assert (alpha["open_opportunities_count"], alpha["open_opportunities_amount"]) == (2, Decimal("4200.00"))
    opportunities = _json(alpha["open_opportunities"])
    assert [(o["opportunity_id"], o["step"], o["status"]) for o in opportunities] == [
        ("o2", "Proposition", "late"),
        ("o1", "Négociation", "open"),
    ]


def test_a_client_without_sales_has_zeros(sales):
    for client_id in (DELTA, BETA):
        row = sales[client_id]
        assert row["account_type"] == "client" and row["purchases_basis"] == "none"
        assert (row["total_purchases"], row["invoices_to_pay_count"], row["open_opportunities_count"]) == (0, 0, 0)
        assert (row["first_purchase_date"], row["average_basket"], row["avg_payment_days"]) == (None, None, None)
        assert _json(row["purchases_by_year"]) == {"2024": 0, "2025": 0, "2026": 0}
        assert _json(row["top_products_by_quantity"]) == []


def test_published_columns_are_typed(built):
    path, _ = built
    con = duckdb.connect(str(path))
    try:
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM duckdb_columns()"
                " WHERE schema_name = 'marts' AND table_name = 'fct_client_sales'"
            ).fetchall()
        )
    finally:
        con.close()
    assert types["total_purchases"] == types["invoices_late_amount"] == "DECIMAL(18,2)"
    assert types["purchases_by_year"] == types["top_products_by_revenue"] == types["open_opportunities"] == "JSON"
