"""Monthly financial plans: what each client sells, buys, pays its staff and earns, month by month.

A plan fixes revenue, purchases, payroll, taxes and EBE (EBITDA) for every simulated month; external charges
are what is left (revenue − purchases − payroll − taxes − EBE), so the EBE read back from the ledger is
exactly the planned one. That is how scenario clients get a falling or negative EBE, and healthy controls an
EBE that never falls two months running, without any tuning loop.

Amounts are integer cents. Floats appear only while drawing targets, which are rounded to cents once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assets.generate.firm import WARM_UP_MONTHS, Client, add_months, fiscal_year_bounds

SOCIAL_RATE_BP = 4200  # employer social charges, % of gross wages (basis points)
NET_WAGE_RATE_BP = 7800  # net pay, % of gross wages
PAYROLL_COST_FACTOR = 1 + SOCIAL_RATE_BP / 10_000
LOAN_MONTHS = 60
LOAN_RATE_BP = 400  # yearly interest
DEPRECIATION_YEARS = 5


@dataclass(frozen=True)
class CashTarget:
    """How the opening bank balance is chosen once the month-end cash path is known (see ledger.py).

    kind: "cover"    every month end holds at least `value` months of charges;
          "last"     the latest month end holds exactly `value` months of charges;
          "negative" every one of the last 12 month ends is at most −`value` euros.
    """

    kind: str
    value: float


@dataclass
class LedgerPlan:
    months: np.ndarray  # datetime64[M], warm-up included
    revenue: np.ndarray  # cents excl. VAT, per month
    purchases: np.ndarray
    payroll_gross: np.ndarray
    taxes: np.ndarray
    ebitda: np.ndarray
    capex: np.ndarray
    suspense: np.ndarray  # unidentified receipts booked to 471
    vat_registered: bool
    sales_vat_bp: int
    purchase_vat_bp: int
    sales_per_month: int
    purchases_per_month: int
    customers: int
    suppliers: int
    lead_customer_share: float | None  # one customer's share of every month's revenue
    customer_terms: (
        str  # "split45" (half end of next month, half the 15th after: ~45 days), "random", "immediate"
    )
    customer_delay_days: tuple[int, int]
    supplier_terms: str  # "eom30" (end of next month) or "random"
    supplier_delay_days: tuple[int, int]
    invoice_jitter: bool  # random invoice days instead of evenly spread ones
    capital: int
    fixed_assets: int
    loan: int
    retained_earnings: int | None  # fixed opening report à nouveau (signed, debit > 0); None = balancing item
    cash_target: CashTarget

    @property
    def external(self) -> np.ndarray:
        payroll_cost = self.payroll_gross + self.payroll_gross * SOCIAL_RATE_BP // 10_000
        return self.revenue - self.purchases - payroll_cost - self.taxes - self.ebitda


def cents(euros) -> np.ndarray:
    """Monthly euro targets (floats) rounded to integer cents, once."""
    return np.round(np.asarray(euros, dtype=float) * 100).astype(np.int64)


def amount(euros: float) -> int:
    """One euro figure in integer cents."""
    return round(euros * 100)


def simulated_months(client: Client) -> np.ndarray:
    first = add_months(fiscal_year_bounds(client)[0][0], -WARM_UP_MONTHS)
    start = np.datetime64(f"{first.year:04d}-{first.month:02d}", "M")
    end = np.datetime64(f"{client.last_month.year:04d}-{client.last_month.month:02d}", "M")
    return np.arange(start, end + 1)


def written_months(client: Client) -> int:
    return len(simulated_months(client)) - WARM_UP_MONTHS


def _documents_per_month(client: Client, vat_registered: bool, payroll: bool) -> tuple[int, int]:
    """Sales and purchase invoices per month so that the client's FEC files hold about `lines_target` lines.

    Fixed monthly lines: external charges (~31), payroll (8), VAT return (5), loan and taxes (5); each sales
    or purchase invoice adds about 5 lines (3 for the invoice, 2 for its payment).
    """
    months = written_months(client)
    fixed = 31 + (8 if payroll else 0) + (5 if vat_registered else 0) + 5
    opening = client.fiscal_years * 40
    per_doc = 5 if vat_registered else 4
    documents = round(((client.lines_target - opening) / months - fixed) / per_doc)
    sales = max(6, round(documents * 0.6))
    return sales, max(2, documents - sales)


def _january_raises(months: np.ndarray, rate: float) -> np.ndarray:
    """Cumulative yearly raise factor: wages go up every January."""
    years = months.astype("datetime64[Y]").astype(int)
    return (1 + rate) ** (years - years[0])


def _base(
    client: Client,
    rng: np.random.Generator,
    annual_revenue: float,
    *,
    payroll_share: float,
    ebitda_margin: float,
    growth: float = 0.0,
) -> tuple[LedgerPlan, np.ndarray]:
    """A smooth plan (no seasonality, no noise) that profiles reshape; returned with the month index."""
    sector = client.sector
    months = simulated_months(client)
    t = np.arange(len(months))
    revenue = annual_revenue / 12 * (1 + growth) ** (t - (len(t) - 6))
    purchase_ratio = float(np.mean(sector.purchase_ratio))
    gross = annual_revenue * payroll_share / 12 / PAYROLL_COST_FACTOR * np.ones(len(t))
    vat_registered = True
    sales, purchases = _documents_per_month(client, vat_registered, payroll_share > 0)
    plan = LedgerPlan(
        months=months,
        revenue=cents(revenue),
        purchases=cents(revenue * purchase_ratio),
        payroll_gross=cents(gross),
        taxes=cents(np.full(len(t), annual_revenue * 0.004 / 12)),
        ebitda=cents(revenue * ebitda_margin),
        capex=np.zeros(len(t), np.int64),
        suspense=np.zeros(len(t), np.int64),
        vat_registered=vat_registered,
        sales_vat_bp=sector.vat_rate_bp,
        purchase_vat_bp=550 if sector.key in ("restaurant", "agriculture") else 2000,
        sales_per_month=sales,
        purchases_per_month=purchases,
        customers=max(8, 2 * sales),
        suppliers=max(3, purchases),
        lead_customer_share=None,
        customer_terms="split45",
        customer_delay_days=(45, 45),
        supplier_terms="eom30",
        supplier_delay_days=(30, 30),
        invoice_jitter=False,
        capital=amount(int(rng.choice([10_000, 20_000, 50_000]))),
        fixed_assets=amount(annual_revenue * 0.04),
        loan=0,
        retained_earnings=None,
        cash_target=CashTarget("cover", 2.0),
    )
    return plan, t


def _last(t: np.ndarray, count: int) -> np.ndarray:
    """Rank (1..count) of each of the last `count` months; 0 for the months before them."""
    return np.clip(t - (len(t) - count - 1), 0, count)


def healthy(client: Client, rng: np.random.Generator) -> LedgerPlan:
    """Control client: no rule may fire. Revenue grows smoothly, EBE zig-zags upward (never two falls in a
    row), profit 15-28 k€ over the last 12 months, DSO ~45 days, cash above 3 months of charges everywhere."""
    annual = float(rng.uniform(450_000, 2_000_000))
    plan, t = _base(
        client,
        rng,
        annual,
        payroll_share=0.22 if client.sector.key != "services" else 0.38,
        ebitda_margin=0,
        growth=0.004,
    )
    plan.payroll_gross = cents(plan.payroll_gross / 100 * _january_raises(plan.months, 0.02))
    plan.fixed_assets = amount(20_000)
    plan.loan = amount(30_000)
    depreciation = 20_000 * 0.2
    interest = 30_000 * 0.04 * 0.5
    profit = float(rng.uniform(15_000, 28_000))
    monthly = (profit + depreciation + interest) / 12
    plan.ebitda = cents(monthly * 1.004 ** (t - (len(t) - 6)) * (1 + 0.03 * (-1.0) ** t))
    plan.cash_target = CashTarget("cover", 3.0)
    return plan


def ordinary(client: Client, rng: np.random.Generator) -> LedgerPlan:
    """Everyone else: seasonality, noise, random payment delays. No claims are made about them."""
    sector = client.sector
    low, high = sector.annual_revenue
    annual = float(np.exp(rng.uniform(np.log(low), np.log(high))))
    plan, t = _base(
        client,
        rng,
        annual,
        payroll_share=float(rng.uniform(0.12, 0.35)),
        ebitda_margin=0,
        growth=float(rng.uniform(-0.004, 0.01)),
    )
    season = 1 + float(rng.uniform(0, 0.15)) * np.sin(2 * np.pi * (t + rng.integers(0, 12)) / 12)
    noise = 1 + rng.normal(0, 0.05, len(t))
    plan.revenue = cents(plan.revenue / 100 * season * noise)
    plan.purchases = cents(plan.revenue / 100 * float(rng.uniform(*sector.purchase_ratio)))
    plan.payroll_gross = cents(plan.payroll_gross / 100 * _january_raises(plan.months, 0.02))
    margin = float(rng.uniform(-0.02, 0.10))
    plan.ebitda = cents(plan.revenue / 100 * margin * (1 + rng.normal(0, 0.3, len(t))))
    plan.customer_terms = "random"
    plan.customer_delay_days = (int(rng.integers(0, 30)), int(rng.integers(40, 75)))
    if sector.key == "restaurant":
        plan.customer_terms = "immediate"
    plan.supplier_terms = "random"
    plan.supplier_delay_days = (15, 60)
    plan.invoice_jitter = True
    plan.loan = amount(annual * float(rng.choice([0, 0.05, 0.1])))
    plan.cash_target = CashTarget("cover", float(rng.uniform(0.8, 3.0)))
    _ensure_external_margin(plan)
    return plan


def _ensure_external_margin(plan: LedgerPlan, floor: float = 0.08) -> None:
    """Lower the EBE where a random draw left external charges below `floor` of revenue."""
    shortfall = plan.revenue * int(floor * 100) // 100 - plan.external
    plan.ebitda = plan.ebitda - np.maximum(shortfall, 0)


def cash_falling_6m(client, rng):
    """Profitable, but a 10-month equipment programme (2154, paid 30 days end of month) drains cash."""
    plan, t = _base(client, rng, 840_000, payroll_share=0.35, ebitda_margin=0)
    plan.ebitda = cents(np.full(len(t), 3_000))
    plan.capex = np.where(_last(t, 10) > 0, cents(25_000), 0)
    plan.cash_target = CashTarget("last", 2.5)
    return plan


def cash_below_one_month(client, rng):
    """Break-even shop whose bank balance hovers just under half a month of charges."""
    plan, t = _base(client, rng, 480_000, payroll_share=0.15, ebitda_margin=0)
    plan.ebitda = cents(np.full(len(t), 400))
    plan.fixed_assets = amount(8_000)
    plan.cash_target = CashTarget("last", 0.45)
    return plan


def cash_negative_months(client, rng):
    """Slightly profitable builder living on its overdraft: cash negative at every recent month end."""
    plan, t = _base(client, rng, 960_000, payroll_share=0.30, ebitda_margin=0)
    plan.ebitda = cents(np.full(len(t), 1_200))
    plan.cash_target = CashTarget("negative", 6_000)
    return plan


def vat_franchise(client, rng):
    """Sole trainer under VAT franchise (no VAT at all), 36 000 € a year: 96 % of the 37 500 € threshold."""
    plan, t = _base(client, rng, 36_000, payroll_share=0.0, ebitda_margin=0)
    plan.vat_registered = False
    plan.sales_vat_bp = plan.purchase_vat_bp = 0
    plan.sales_per_month, plan.purchases_per_month = _documents_per_month(client, False, False)
    plan.customers = max(8, 2 * plan.sales_per_month)
    plan.ebitda = cents(np.full(len(t), 1_300))
    plan.fixed_assets = amount(3_000)
    plan.capital = amount(1_000)
    plan.cash_target = CashTarget("cover", 3.0)
    return plan


def micro_ceiling(client, rng):
    """Small shop selling goods, 195 000 € a year: 96 % of the 203 100 € micro-entreprise ceiling."""
    plan, t = _base(client, rng, 195_000, payroll_share=0.10, ebitda_margin=0)
    plan.ebitda = cents(np.full(len(t), 700))
    plan.fixed_assets = amount(6_000)
    return plan


def cac_thresholds(client, rng):
    """14.4 M€ builder, ~83 employees by payroll / 45 000 €, balance sheet above 5 M€."""
    plan, t = _base(client, rng, 14_400_000, payroll_share=0.26, ebitda_margin=0.05, growth=0.002)
    plan.capital = amount(500_000)
    plan.fixed_assets = amount(1_500_000)
    plan.loan = amount(600_000)
    plan.cash_target = CashTarget("cover", 2.0)
    return plan


def payroll_faster(client, rng):
    """Internalisation: payroll +3 % a month for a year while revenue slips 0.5 % a month; subcontracting
    (611) shrinks so EBE stays flat."""
    plan, t = _base(client, rng, 1_200_000, payroll_share=0.36, ebitda_margin=0)
    rank = _last(t, 12)
    plan.revenue = cents(plan.revenue / 100 * 0.995**rank)
    plan.purchases = cents(plan.revenue / 100 * 0.05)
    plan.payroll_gross = cents(plan.payroll_gross / 100 * 1.03**rank)
    plan.ebitda = cents(np.full(len(t), 2_500))
    return plan


def dso_over_60(client, rng):
    """Customers pay after 100 to 130 days."""
    plan, t = _base(client, rng, 720_000, payroll_share=0.35, ebitda_margin=0.035)
    plan.customer_terms = "random"
    plan.customer_delay_days = (100, 130)
    return plan


def customer_concentration(client, rng):
    """One customer buys 55 % of every month's revenue."""
    plan, t = _base(client, rng, 1_080_000, payroll_share=0.28, ebitda_margin=0.03)
    plan.lead_customer_share = 0.55
    return plan


def ebitda_falling(client, rng):
    """EBE 3 000 € a month, then 400 € lower each of the last 6 months while revenue slips."""
    plan, t = _base(client, rng, 600_000, payroll_share=0.15, ebitda_margin=0)
    rank = _last(t, 6)
    plan.revenue = cents(plan.revenue / 100 * 0.985**rank)
    plan.purchases = cents(plan.revenue / 100 * 0.57)
    plan.ebitda = cents(3_000 - 400 * rank)
    return plan


def loss_making(client, rng):
    """Restaurant losing 3 000 € of EBE every month for the last 10 months; card takings paid the same day."""
    plan, t = _base(client, rng, 720_000, payroll_share=0.33, ebitda_margin=0)
    plan.ebitda = cents(np.where(_last(t, 10) > 0, -3_000, 1_500))
    plan.customer_terms = "immediate"
    plan.cash_target = CashTarget("last", 2.0)
    return plan


def equity_below_half(client, rng):
    """Capital 100 000 €, report à nouveau −78 000 € from past losses, now about break-even; the partner's
    current account (455) funds the cash."""
    plan, t = _base(client, rng, 360_000, payroll_share=0.35, ebitda_margin=0)
    plan.ebitda = cents(np.full(len(t), 300))
    plan.capital = amount(100_000)
    plan.retained_earnings = amount(78_000)
    return plan


def dividend_study(client, rng):
    """Very profitable consultancy: EBE 12 000 € a month on 960 k€ of revenue."""
    plan, t = _base(client, rng, 960_000, payroll_share=0.30, ebitda_margin=0)
    plan.ebitda = cents(np.full(len(t), 12_000))
    plan.cash_target = CashTarget("cover", 3.0)
    return plan


def suspense_471(client, rng):
    """Unidentified receipts (4 500 € a month for 14 months) left on 471 instead of being matched."""
    plan, t = _base(client, rng, 600_000, payroll_share=0.15, ebitda_margin=0.02)
    plan.suspense = np.where(_last(t, 14) > 0, cents(4_500), 0)
    return plan


def stale_ledger(client, rng):
    """A farm whose books stopped arriving five months ago (last_month is set in firm.py)."""
    plan, t = _base(client, rng, 420_000, payroll_share=0.12, ebitda_margin=0.05)
    plan.cash_target = CashTarget("cover", 2.0)
    return plan


PLANNERS = {
    "healthy": healthy,
    "ordinary": ordinary,
    "cash_falling_6m": cash_falling_6m,
    "cash_below_one_month": cash_below_one_month,
    "cash_negative_months": cash_negative_months,
    "vat_franchise": vat_franchise,
    "micro_ceiling": micro_ceiling,
    "cac_thresholds": cac_thresholds,
    "payroll_faster": payroll_faster,
    "dso_over_60": dso_over_60,
    "customer_concentration": customer_concentration,
    "ebitda_falling": ebitda_falling,
    "loss_making": loss_making,
    "equity_below_half": equity_below_half,
    "dividend_study": dividend_study,
    "suspense_471": suspense_471,
    "stale_ledger": stale_ledger,
}


def plan_for(client: Client, rng: np.random.Generator) -> LedgerPlan:
    plan = PLANNERS[client.profile](client, rng)
    if (plan.external < 0).any():
        raise ValueError(f"plan of {client.profile} leaves negative external charges")
    return plan
