"""From a monthly plan to ledger lines: every invoice, payment, payslip, VAT return and loan instalment.

Lines are built column-wise with numpy, one vectorised block per kind of entry, so a client with 10 000 lines
costs milliseconds. Amounts are signed integer cents (debit > 0); each entry's legs sum to zero by
construction, so every entry balances. The opening bank balance is chosen last, once the month-end cash path
is known, to give the scenario its cash shape (see `CashTarget`); the opening balance sheet then balances on
report à nouveau (or on the partner's current account when report à nouveau is part of the scenario).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import numpy as np

from assets.generate.firm import (
    FIRM_NAME,
    NOUNS,
    PLACES,
    SURNAMES,
    Client,
    Sector,
    fiscal_year_bounds,
    month_end,
)
from assets.generate.profiles import (
    DEPRECIATION_YEARS,
    LOAN_MONTHS,
    LOAN_RATE_BP,
    NET_WAGE_RATE_BP,
    SOCIAL_RATE_BP,
    LedgerPlan,
)

JOURNALS = (
    ("AN", "A nouveaux"),
    ("VT", "Ventes"),
    ("AC", "Achats"),
    ("BQ", "Banque"),
    ("OD", "Opérations diverses"),
    ("PA", "Paie"),
)
AN, VT, AC, BQ, OD, PA = range(len(JOURNALS))

CHART = {
    "101300": "Capital souscrit - appelé, versé",
    "110000": "Report à nouveau (solde créditeur)",
    "119000": "Report à nouveau (solde débiteur)",
    "120000": "Résultat de l'exercice (bénéfice)",
    "129000": "Résultat de l'exercice (perte)",
    "164000": "Emprunts auprès des établissements de crédit",
    "215400": "Matériel industriel",
    "281540": "Amortissements du matériel industriel",
    "401000": "Fournisseurs",
    "404000": "Fournisseurs d'immobilisations",
    "411000": "Clients",
    "421000": "Personnel - rémunérations dues",
    "431000": "Sécurité sociale",
    "445510": "TVA à décaisser",
    "445620": "TVA déductible sur immobilisations",
    "445660": "TVA déductible sur autres biens et services",
    "445670": "Crédit de TVA à reporter",
    "445710": "TVA collectée",
    "455000": "Associés - comptes courants",
    "471000": "Compte d'attente",
    "512000": "Banque Crédit Mutuel",
    "601000": "Achats stockés - matières premières",
    "604000": "Achats d'études et prestations de services",
    "606100": "Fournitures non stockables (eau, énergie)",
    "606400": "Fournitures administratives",
    "607000": "Achats de marchandises",
    "611000": "Sous-traitance générale",
    "613200": "Locations immobilières",
    "615000": "Entretien et réparations",
    "616000": "Primes d'assurances",
    "622600": "Honoraires",
    "622800": "Rémunérations d'intermédiaires et honoraires divers",
    "624100": "Transports sur achats",
    "626000": "Frais postaux et de télécommunications",
    "627800": "Frais et commissions bancaires",
    "635110": "Cotisation foncière des entreprises",
    "641100": "Salaires, appointements",
    "645100": "Cotisations à l'URSSAF",
    "661100": "Intérêts des emprunts et dettes",
    "681120": "Dotations aux amortissements des immobilisations corporelles",
    "701000": "Ventes de produits finis",
    "704000": "Travaux",
    "706000": "Prestations de services",
    "707000": "Ventes de marchandises",
}
ACCOUNTS = tuple(CHART)
ACCOUNT_INDEX = {number: i for i, number in enumerate(ACCOUNTS)}
ACCOUNT_CLASS = np.array([int(number[0]) for number in ACCOUNTS])
RESULT_ACCOUNTS = np.array([ACCOUNT_INDEX[a] for a in ("110000", "119000", "120000", "129000")])

MONTHS_FR = (
    "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
    "novembre", "décembre",
)


class Leg(NamedTuple):
    account: str  # account number, a key of CHART
    amount: np.ndarray | int  # signed cents, debit > 0
    aux: np.ndarray | int = -1  # index into the client's auxiliary accounts, -1 for none


@dataclass
class LedgerLines:
    day: np.ndarray  # int days since 1970-01-01
    journal: np.ndarray
    entry: np.ndarray  # entry id, unique within the client
    account: np.ndarray  # index into ACCOUNTS
    aux: np.ndarray
    amount: np.ndarray  # signed cents
    piece: np.ndarray  # object (str)
    label: np.ndarray  # object (str)
    settled: np.ndarray  # payment day of the invoice (cash-basis layouts), -1 when unpaid or not an invoice

    def select(self, mask: np.ndarray) -> LedgerLines:
        return LedgerLines(**{name: getattr(self, name)[mask] for name in self.__dataclass_fields__})

    @staticmethod
    def concat(parts: list[LedgerLines]) -> LedgerLines:
        return LedgerLines(
            **{
                name: np.concatenate([getattr(p, name) for p in parts])
                for name in LedgerLines.__dataclass_fields__
            }
        )


@dataclass
class Ledger:
    """Everything the FEC writer needs for one client."""

    client: Client
    lines: LedgerLines
    account_labels: tuple[str, ...]  # by account index, with the sector's wording
    aux_accounts: list[tuple[str, str]]  # (CompAuxNum, CompAuxLib)
    cutoff: int  # last day of the last ledger month
    fiscal_years: list[tuple[date, date]]


def day_number(day: date) -> int:
    return int(np.datetime64(day, "D").astype(np.int64))


class _Entries:
    """Accumulates vectorised blocks of entries."""

    def __init__(self) -> None:
        self.parts: list[LedgerLines] = []
        self.next_entry = 0

    def add(self, journal: int, day, piece, label, legs: list[Leg], settled=None) -> None:
        day = np.asarray(day, dtype=np.int64)
        count, width = len(day), len(legs)
        if count == 0:
            return
        entry = np.arange(self.next_entry, self.next_entry + count)
        self.next_entry += count

        def column(values, dtype):
            return np.stack(
                [np.broadcast_to(np.asarray(v, dtype=dtype), (count,)) for v in values], axis=1
            ).ravel()

        accounts = [ACCOUNT_INDEX[leg.account] for leg in legs]
        amount = column([leg.amount for leg in legs], np.int64)
        keep = amount != 0
        settled = np.full(count, -1) if settled is None else np.asarray(settled)
        self.parts.append(
            LedgerLines(
                day=np.repeat(day, width)[keep],
                journal=np.full(count * width, journal, np.int8)[keep],
                entry=np.repeat(entry, width)[keep],
                account=column(accounts, np.int64)[keep],
                aux=column([leg.aux for leg in legs], np.int64)[keep],
                amount=amount[keep],
                piece=np.repeat(_objects(piece, count), width)[keep],
                label=np.repeat(_objects(label, count), width)[keep],
                settled=np.repeat(settled, width)[keep],
            )
        )

    def lines(self) -> LedgerLines:
        return LedgerLines.concat(self.parts)


def _objects(values, count: int) -> np.ndarray:
    if isinstance(values, str):
        return np.full(count, values, dtype=object)
    return np.asarray(values, dtype=object)


class _Calendar:
    """Day numbers of the simulated months; month k may run past the last simulated month."""

    def __init__(self, months: np.ndarray):
        self.first = months[0]
        self.count = len(months)
        self.start = self.month_start(np.arange(self.count))
        self.length = self.month_start(np.arange(1, self.count + 1)) - self.start
        self.labels = [
            f"{MONTHS_FR[int(m.astype(int)) % 12]} {int(m.astype('datetime64[Y]').astype(int)) + 1970}"
            for m in months
        ]
        self.codes = [str(m).replace("-", "")[2:] for m in months]

    def month_start(self, k) -> np.ndarray:
        return (self.first + np.asarray(k)).astype("datetime64[D]").astype(np.int64)

    def month_of(self, day: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.start, day, side="right") - 1


def sum_by(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, np.int64)
    np.add.at(out, index, values)
    return out


def _split(totals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Split each month's total (cents) into invoices proportional to `weights`, exactly."""
    shares = np.floor(totals[:, None] * (weights / weights.sum(axis=1, keepdims=True))).astype(np.int64)
    shares[:, -1] += totals - shares.sum(axis=1)
    return shares


def _vat(amount: np.ndarray, rate_bp: int) -> np.ndarray:
    return (amount * rate_bp + 5_000) // 10_000


class _Parties:
    """Auxiliary accounts (CompAuxNum): customers C0001..., suppliers F0001..."""

    CUSTOMER_PATTERNS = (
        "SARL {surname} Frères", "Hôtel {place}", "Office de tourisme {place}", "{surname} Distribution",
        "Groupe {noun}", "SAS {surname} & Fils", "Clinique {place}", "Camping {place}", "Association {noun}",
        "{surname} Industrie", "Garage {surname}", "Pharmacie {place}",
    )
    SUPPLIER_PATTERNS = (
        "Grossiste {surname}", "Négoce {place}", "Matériaux {surname}", "{surname} Fournitures",
        "Comptoir {noun}",
    )

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.accounts: list[tuple[str, str]] = []
        self.used: set[str] = set()
        self.customer_count = self.supplier_count = 0

    def draw_name(self, patterns) -> str:
        for attempt in range(100):
            name = str(self.rng.choice(patterns)).format(
                surname=self.rng.choice(SURNAMES), place=self.rng.choice(PLACES), noun=self.rng.choice(NOUNS)
            )
            if attempt > 20:
                name = f"{name} {attempt}"
            if name not in self.used:
                self.used.add(name)
                return name
        raise RuntimeError("could not draw a unique party name")

    def customers(self, count: int) -> np.ndarray:
        first = len(self.accounts)
        for _ in range(count):
            self.customer_count += 1
            self.accounts.append((f"C{self.customer_count:04d}", self.draw_name(self.CUSTOMER_PATTERNS)))
        return np.arange(first, first + count)

    def supplier(self, name: str | None = None) -> int:
        self.supplier_count += 1
        self.accounts.append((f"F{self.supplier_count:04d}", name or self.draw_name(self.SUPPLIER_PATTERNS)))
        return len(self.accounts) - 1

    def name(self, index: int) -> str:
        return self.accounts[index][1]


# External charges: (account, share of the smallest month's external charges, VAT, invoice day, payment delay
# in days, supplier pattern, label). The sector's variable account takes the rest.
EXTERNAL_ITEMS = (
    ("613200", 0.30, 2000, 0, 4, "SCI {surname}", "Loyer {month}"),
    ("616000", 0.04, 0, 2, 0, "Mutuelle Cœur {place}", "Prime d'assurance multirisque {month}"),
    ("626000", 0.03, 2000, 7, 10, "Télécom {noun}", "Abonnement télécom {month}"),
    ("606100", 0.07, 2000, 11, 15, "Énergies {place}", "Électricité {month}"),
    ("622600", 0.06, 2000, 24, 30, FIRM_NAME, "Honoraires comptables {month}"),
)
BANK_FEES_SHARE = 0.005


@dataclass
class _Context:
    plan: LedgerPlan
    sector: Sector
    cal: _Calendar
    parties: _Parties
    rng: np.random.Generator
    cutoff: int
    vat: _Vat


def build_ledger(client: Client, plan: LedgerPlan, rng: np.random.Generator) -> Ledger:
    cal = _Calendar(plan.months)
    cutoff = day_number(month_end(client.last_month))
    ctx = _Context(plan, client.sector, cal, _Parties(rng), rng, cutoff, _Vat(cal.count))
    entries = _Entries()
    _sales(entries, ctx)
    _purchases(entries, ctx)
    _external_charges(entries, ctx)
    _payroll(entries, ctx)
    _monthly_bank(entries, ctx)
    _capex(entries, ctx)
    if plan.vat_registered:
        _vat_returns(entries, ctx)
    fiscal_years = fiscal_year_bounds(client)
    _depreciation(entries, ctx, fiscal_years)
    flows = entries.lines()
    opening = _opening_balance_sheet(entries.next_entry, ctx, flows)
    labels = tuple(_account_label(client, number) for number in ACCOUNTS)
    return Ledger(client, LedgerLines.concat([opening, flows]), labels, ctx.parties.accounts, ctx.cutoff,
                  fiscal_years)


def _account_label(client: Client, number: str) -> str:
    sector = client.sector
    overrides = {
        sector.revenue_account: sector.revenue_label,
        sector.purchase_account: sector.purchase_label,
        sector.variable_charge_account: sector.variable_charge_label,
    }
    return overrides.get(number, CHART[number])


class _Vat:
    """VAT of the month's invoices, by invoice month, for the monthly returns."""

    def __init__(self, months: int):
        self.collected = np.zeros(months, np.int64)
        self.deductible = np.zeros(months, np.int64)
        self.on_assets = np.zeros(months, np.int64)


def _sales(entries: _Entries, ctx: _Context) -> None:
    plan, cal, parties, rng = ctx.plan, ctx.cal, ctx.parties, ctx.rng
    n, months = plan.sales_per_month, cal.count
    month = np.repeat(np.arange(months), n)
    rank = np.tile(np.arange(n), months)
    if plan.invoice_jitter:
        offset = rng.integers(0, cal.length[month])
    else:
        offset = ((rank + 0.5) * cal.length[month] / n).astype(np.int64)
    day = cal.start[month] + offset
    weights = 1 + 0.2 * rng.uniform(-1, 1, (months, n))
    customers = parties.customers(plan.customers)
    position = month * n + rank
    if plan.lead_customer_share:
        share = plan.lead_customer_share
        weights[:, 0] = share / (1 - share) * weights[:, 1:].sum(axis=1)
        others = month * (n - 1) + rank - 1
        customer = np.where(rank == 0, customers[0], customers[1 + others % (len(customers) - 1)])
    else:
        customer = customers[position % len(customers)]
        if plan.customer_terms == "split45":
            # Each half of the month's invoices keeps a constant share of revenue, so receipts stay smooth.
            half = -(-n // 2)
            weights[:, :half] *= half / weights[:, :half].sum(axis=1, keepdims=True)
            if n > half:
                weights[:, half:] *= (n - half) / weights[:, half:].sum(axis=1, keepdims=True)
    amount = _split(plan.revenue, weights).ravel()
    vat = _vat(amount, plan.sales_vat_bp)
    total = amount + vat
    ctx.vat.collected += sum_by(month, vat, months)
    pieces = [f"FA{cal.codes[m]}-{i + 1:05d}" for i, m in enumerate(month.tolist())]
    names = [parties.name(c) for c in customer.tolist()]
    paid_on = _customer_payment_day(plan, cal, month, rank, day, rng)
    paid = paid_on <= ctx.cutoff
    entries.add(
        VT,
        day,
        pieces,
        [f"Facture {p} {c}" for p, c in zip(pieces, names, strict=True)],
        [Leg("411000", total, customer), Leg(ctx.sector.revenue_account, -amount), Leg("445710", -vat)],
        settled=np.where(paid, paid_on, -1),
    )
    entries.add(
        BQ,
        paid_on[paid],
        np.asarray(pieces, dtype=object)[paid],
        [f"Règlement {c} {p}" for c, p, ok in zip(names, pieces, paid.tolist(), strict=True) if ok],
        [Leg("512000", total[paid]), Leg("411000", -total[paid], customer[paid])],
        settled=paid_on[paid],
    )


def _customer_payment_day(plan, cal, month, rank, day, rng) -> np.ndarray:
    if plan.customer_terms == "immediate":
        return day.copy()
    if plan.customer_terms == "random":
        low, high = plan.customer_delay_days
        return day + rng.integers(low, high + 1, len(day))
    # split45: the first half of the month's invoices is paid at the end of next month, the rest on the 15th
    # of the month after, so receipts (and month-end cash) move smoothly and DSO sits near 45 days.
    first_half = rank < plan.sales_per_month / 2
    return np.where(first_half, cal.month_start(month + 2) - 1, cal.month_start(month + 2) + 14)


def _supplier_payment_day(plan, cal, month, day, rng) -> np.ndarray:
    if plan.supplier_terms == "random":
        low, high = plan.supplier_delay_days
        return day + rng.integers(low, high + 1, len(day))
    return cal.month_start(month + 2) - 1


def _purchases(entries: _Entries, ctx: _Context) -> None:
    plan, cal, parties, rng = ctx.plan, ctx.cal, ctx.parties, ctx.rng
    n, months = plan.purchases_per_month, cal.count
    month = np.repeat(np.arange(months), n)
    rank = np.tile(np.arange(n), months)
    offset = rng.integers(0, cal.length[month]) if plan.invoice_jitter else (rank * 7 + 3) % cal.length[month]
    day = cal.start[month] + offset
    suppliers = np.array([parties.supplier() for _ in range(plan.suppliers)])
    supplier = suppliers[(month * n + rank) % len(suppliers)]
    amount = _split(plan.purchases, 1 + 0.3 * rng.uniform(-1, 1, (months, n))).ravel()
    vat = _vat(amount, plan.purchase_vat_bp)
    total = amount + vat
    ctx.vat.deductible += sum_by(month, vat, months)
    pieces = [f"AC{cal.codes[m]}-{i + 1:05d}" for i, m in enumerate(month.tolist())]
    names = [parties.name(s) for s in supplier.tolist()]
    paid_on = _supplier_payment_day(plan, cal, month, day, rng)
    paid = paid_on <= ctx.cutoff
    entries.add(
        AC,
        day,
        pieces,
        [f"Facture {s} {p}" for s, p in zip(names, pieces, strict=True)],
        [Leg(ctx.sector.purchase_account, amount), Leg("445660", vat), Leg("401000", -total, supplier)],
        settled=np.where(paid, paid_on, -1),
    )
    entries.add(
        BQ,
        paid_on[paid],
        np.asarray(pieces, dtype=object)[paid],
        [f"Paiement {s} {p}" for s, p, ok in zip(names, pieces, paid.tolist(), strict=True) if ok],
        [Leg("401000", total[paid], supplier[paid]), Leg("512000", -total[paid])],
        settled=paid_on[paid],
    )


def _external_charges(entries: _Entries, ctx: _Context) -> None:
    """One invoice a month per external item (rent, insurance, telecom, energy, fees), bank fees debited
    directly, and the sector's variable account taking whatever the plan leaves."""
    plan, cal, parties, rng = ctx.plan, ctx.cal, ctx.parties, ctx.rng
    external = plan.external
    smallest = int(external.min())
    month = np.arange(cal.count)
    fixed_total = np.zeros(cal.count, np.int64)
    for account, share, vat_bp, invoice_day, delay, supplier, label in EXTERNAL_ITEMS:
        amount = np.full(cal.count, int(smallest * share), np.int64)
        fixed_total += amount
        name = supplier.format(surname=rng.choice(SURNAMES), place=rng.choice(PLACES), noun=rng.choice(NOUNS))
        _supplier_invoices(
            entries,
            ctx,
            parties.supplier(name),
            name,
            account,
            amount,
            vat_bp,
            cal.start + invoice_day,
            cal.start + invoice_day + delay,
            label,
        )
    fees = np.full(cal.count, int(smallest * BANK_FEES_SHARE), np.int64)
    fixed_total += fees
    last_day = cal.start + cal.length - 1
    keep = last_day <= ctx.cutoff
    entries.add(
        BQ,
        last_day[keep],
        "PRLV",
        "Frais tenue de compte et commissions (forfait en €)",
        [Leg("627800", fees[keep]), Leg("512000", -fees[keep])],
    )
    variable = external - fixed_total
    name = parties.draw_name(("{surname} Services", "Prestations {noun}", "{surname} Logistique"))
    _supplier_invoices(
        entries,
        ctx,
        parties.supplier(name),
        name,
        ctx.sector.variable_charge_account,
        variable,
        2000,
        cal.start + 19,
        cal.month_start(month + 2) - 1,
        "Prestations {month}",
    )


def _supplier_invoices(entries, ctx, supplier, name, account, amount, vat_bp, day, paid_on, label) -> None:
    plan, cal = ctx.plan, ctx.cal
    keep = (day <= ctx.cutoff) & (amount > 0)
    month = np.flatnonzero(keep)
    amount, day, paid_on = amount[keep], day[keep], paid_on[keep]
    vat = _vat(amount, vat_bp if plan.vat_registered else 0)
    total = amount + vat
    ctx.vat.deductible += sum_by(month, vat, cal.count)
    pieces = [f"{account[:3]}-{cal.codes[m]}" for m in month.tolist()]
    labels = [label.format(month=cal.labels[m]) + f" - {name}" for m in month.tolist()]
    paid = paid_on <= ctx.cutoff
    entries.add(
        AC,
        day,
        pieces,
        labels,
        [Leg(account, amount), Leg("445660", vat), Leg("401000", -total, supplier)],
        settled=np.where(paid, paid_on, -1),
    )
    entries.add(
        BQ,
        paid_on[paid],
        np.asarray(pieces, dtype=object)[paid],
        f"Paiement {name}",
        [Leg("401000", total[paid], supplier), Leg("512000", -total[paid])],
        settled=paid_on[paid],
    )


def _payroll(entries: _Entries, ctx: _Context) -> None:
    cal, cutoff = ctx.cal, ctx.cutoff
    gross = ctx.plan.payroll_gross
    month = np.flatnonzero((gross > 0) & (cal.start + cal.length - 1 <= cutoff))
    if len(month) == 0:
        return
    gross = gross[month]
    social = gross * SOCIAL_RATE_BP // 10_000
    net = gross * NET_WAGE_RATE_BP // 10_000
    urssaf = gross - net + social
    pay_day = cal.start[month] + cal.length[month] - 1
    labels = [cal.labels[m] for m in month.tolist()]
    pieces = [f"PAIE-{cal.codes[m]}" for m in month.tolist()]
    entries.add(
        PA,
        pay_day,
        pieces,
        [f"Salaires {m}" for m in labels],
        [Leg("641100", gross), Leg("645100", social), Leg("421000", -net), Leg("431000", -urssaf)],
    )
    entries.add(
        BQ,
        pay_day,
        pieces,
        [f"Virement salaires {m}" for m in labels],
        [Leg("421000", net), Leg("512000", -net)],
    )
    urssaf_day = cal.month_start(month + 1) + 14
    due = urssaf_day <= cutoff
    entries.add(
        BQ,
        urssaf_day[due],
        np.asarray(pieces, dtype=object)[due],
        [f"URSSAF {m}" for m, ok in zip(labels, due.tolist(), strict=True) if ok],
        [Leg("431000", urssaf[due]), Leg("512000", -urssaf[due])],
    )


def _monthly_bank(entries: _Entries, ctx: _Context) -> None:
    """Local taxes (CFE paid monthly), loan instalments and unidentified receipts (471)."""
    plan, cal, cutoff = ctx.plan, ctx.cal, ctx.cutoff
    month = np.arange(cal.count)
    tax_day = cal.start + 14
    keep = tax_day <= cutoff
    entries.add(
        BQ,
        tax_day[keep],
        "CFE",
        [f"CFE mensualisation {cal.labels[m]}" for m in month[keep].tolist()],
        [Leg("635110", plan.taxes[keep]), Leg("512000", -plan.taxes[keep])],
    )
    if plan.loan:
        instalment = month[(month < LOAN_MONTHS) & (cal.start + 9 <= cutoff)]
        principal = np.full(len(instalment), plan.loan // LOAN_MONTHS, np.int64)
        interest = (plan.loan - principal * instalment) * LOAN_RATE_BP // 120_000
        entries.add(
            BQ,
            cal.start[instalment] + 9,
            "ECH",
            [f"Échéance emprunt n°{k + 1}" for k in instalment.tolist()],
            [Leg("164000", principal), Leg("661100", interest), Leg("512000", -(principal + interest))],
        )
    suspense = np.flatnonzero((plan.suspense > 0) & (cal.start + 21 <= cutoff))
    entries.add(
        BQ,
        cal.start[suspense] + 21,
        "VIR",
        "Virement reçu à identifier",
        [Leg("512000", plan.suspense[suspense]), Leg("471000", -plan.suspense[suspense])],
    )


def _capex(entries: _Entries, ctx: _Context) -> None:
    plan, cal, cutoff = ctx.plan, ctx.cal, ctx.cutoff
    month = np.flatnonzero((plan.capex > 0) & (cal.start + 14 <= cutoff))
    if len(month) == 0:
        return
    amount = plan.capex[month]
    vat = _vat(amount, 2000)
    total = amount + vat
    ctx.vat.on_assets += sum_by(month, vat, cal.count)
    name = f"Équipements {ctx.rng.choice(SURNAMES)}"
    supplier = ctx.parties.supplier(name)
    pieces = [f"IMMO-{cal.codes[m]}" for m in month.tolist()]
    paid_on = cal.month_start(month + 2) - 1
    paid = paid_on <= cutoff
    entries.add(
        AC,
        cal.start[month] + 14,
        pieces,
        f"Facture équipement {name}",
        [Leg("215400", amount), Leg("445620", vat), Leg("404000", -total, supplier)],
        settled=np.where(paid, paid_on, -1),
    )
    entries.add(
        BQ,
        paid_on[paid],
        np.asarray(pieces, dtype=object)[paid],
        f"Paiement {name}",
        [Leg("404000", total[paid], supplier), Leg("512000", -total[paid])],
    )


def _vat_returns(entries: _Entries, ctx: _Context) -> None:
    """Monthly CA3 return on the 19th of the next month, paid the same day."""
    cal, cutoff, vat_by_month = ctx.cal, ctx.cutoff, ctx.vat
    month = np.arange(cal.count)
    day = cal.month_start(month + 1) + 18
    keep = day <= cutoff
    month, day = month[keep], day[keep]
    collected = vat_by_month.collected[month]
    deductible = vat_by_month.deductible[month]
    on_assets = vat_by_month.on_assets[month]
    due = collected - deductible - on_assets
    pieces = [f"CA3-{cal.codes[m]}" for m in month.tolist()]
    entries.add(
        OD,
        day,
        pieces,
        [f"TVA {cal.labels[m]}" for m in month.tolist()],
        [
            Leg("445710", collected),
            Leg("445660", -deductible),
            Leg("445620", -on_assets),
            Leg("445510", -np.maximum(due, 0)),
            Leg("445670", np.maximum(-due, 0)),
        ],
    )
    pay = due > 0
    entries.add(
        BQ,
        day[pay],
        np.asarray(pieces, dtype=object)[pay],
        "Paiement TVA",
        [Leg("445510", due[pay]), Leg("512000", -due[pay])],
    )


def _depreciation(entries: _Entries, ctx: _Context, fiscal_years) -> None:
    """Yearly depreciation at each closing date already passed (the current year is not closed), within the
    equipment's life (it is new in the opening balance sheet)."""
    plan, cutoff = ctx.plan, ctx.cutoff
    previous_closing = day_number(fiscal_years[0][0]) - 1
    closings = [previous_closing] + [day_number(end) for _, end in fiscal_years]
    days = np.array([d for d in closings if d <= cutoff][:DEPRECIATION_YEARS], dtype=np.int64)
    amount = plan.fixed_assets // DEPRECIATION_YEARS
    entries.add(
        OD,
        days,
        "DOT",
        "Dotation aux amortissements de l'exercice",
        [Leg("681120", np.full(len(days), amount)), Leg("281540", np.full(len(days), -amount))],
    )


def _opening_balance_sheet(entry_id: int, ctx: _Context, flows: LedgerLines) -> LedgerLines:
    """The balance sheet the simulation starts from, with the opening cash giving the planned cash shape."""
    plan, cal = ctx.plan, ctx.cal
    month = cal.month_of(flows.day)
    bank = flows.account == ACCOUNT_INDEX["512000"]
    cash_path = np.cumsum(sum_by(month[bank], flows.amount[bank], cal.count))
    charge = ACCOUNT_CLASS[flows.account] == 6
    charges = sum_by(month[charge], flows.amount[charge], cal.count)
    target = plan.cash_target
    if target.kind == "cover":
        cash = int(np.max(target.value * charges.max() - cash_path))
    elif target.kind == "last":
        cash = int(target.value * charges[-1] - cash_path[-1])
    else:
        cash = int(-target.value * 100 - cash_path[-12:].max())
    fixed_assets = plan.fixed_assets
    partner_account = 0
    if plan.retained_earnings is None:
        retained = plan.capital + plan.loan - fixed_assets - cash
        if retained > -plan.capital // 2:
            # Past losses would explain this balance sheet: give the company equipment instead, so equity
            # rules only fire where a scenario asks for them.
            fixed_assets += retained + plan.capital // 2
            retained = -plan.capital // 2
    else:
        retained = plan.retained_earnings
        partner_account = fixed_assets + cash - plan.capital - plan.loan + retained
        if partner_account < 0:
            cash -= partner_account
            partner_account = 0
    ran_account = "110000" if retained < 0 else "119000"
    day = cal.start[:1]
    block = _Entries()
    block.next_entry = entry_id
    block.add(
        AN,
        day,
        "BILAN",
        "Bilan d'ouverture",
        [
            Leg("215400", fixed_assets),
            Leg("512000", cash),
            Leg("101300", -plan.capital),
            Leg("164000", -plan.loan),
            Leg("455000", -partner_account),
            Leg(ran_account, retained),
        ],
    )
    return block.lines()


def opening_entry(lines: LedgerLines, start: int, previous_start: int | None) -> LedgerLines:
    """À-nouveaux of the fiscal year starting on day `start`: every balance-sheet balance (classes 1-5, per
    auxiliary account), last year's result on 120/129 and older results folded into report à nouveau."""
    before = lines.day < start
    profit_and_loss = np.isin(ACCOUNT_CLASS[lines.account], (6, 7))
    last_year = (
        before & profit_and_loss & (lines.day >= (previous_start if previous_start is not None else -(10**9)))
    )
    older_results = before & (np.isin(lines.account, RESULT_ACCOUNTS) | (profit_and_loss & ~last_year))
    carried = before & ~profit_and_loss & ~np.isin(lines.account, RESULT_ACCOUNTS)
    width = int(lines.aux.max()) + 2 if len(lines.aux) else 1
    key = lines.account[carried] * width + lines.aux[carried] + 1
    keys, inverse = np.unique(key, return_inverse=True)
    balances = sum_by(inverse, lines.amount[carried], len(keys))
    accounts, auxes = keys // width, keys % width - 1
    report = int(lines.amount[older_results].sum())
    result = int(lines.amount[last_year].sum())
    extra_accounts = [
        ACCOUNT_INDEX["110000" if report < 0 else "119000"],
        ACCOUNT_INDEX["120000" if result < 0 else "129000"],
    ]
    accounts = np.concatenate([accounts, extra_accounts])
    auxes = np.concatenate([auxes, [-1, -1]])
    balances = np.concatenate([balances, [report, result]])
    keep = balances != 0
    count = int(keep.sum())
    return LedgerLines(
        day=np.full(count, start, np.int64),
        journal=np.full(count, AN, np.int8),
        entry=np.full(count, -1),
        account=accounts[keep],
        aux=auxes[keep],
        amount=balances[keep],
        piece=np.full(count, "AN", dtype=object),
        label=np.full(count, "Report à nouveau", dtype=object),
        settled=np.full(count, -1),
    )
