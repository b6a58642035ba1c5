"""The fictional accounting firm: its offices, staff and client companies, each with a sector and a scenario.

Everything here is decided before any file is written, from the seed alone, so every writer (FEC, CRM, time
tracking, practice) tells the same story about the same companies. Randomness comes from numpy generators
seeded with `[seed, purpose, index]`, so one client's draws never depend on how many other clients exist.
"""

from __future__ import annotations

import calendar
import unicodedata
from dataclasses import dataclass
from datetime import date

import numpy as np

DEFAULT_AS_OF = date(2026, 10, 31)
FIRM_NAME = "Cabinet Aubert & Associés"
FIRM_EMAIL_DOMAIN = "aubert-associes.example"

# Scenario profiles: the indicator properties each profile is built to have on the latest ledger month.
# Tags are what `GenerationReport.scenarios` lists per SIREN; the tests recompute each tag from the ledger.
PROFILE_TAGS: dict[str, tuple[str, ...]] = {
    "cash_falling_6m": ("cash_falling_6m",),
    "cash_below_one_month": ("cash_below_one_month_charges",),
    "cash_negative_months": ("cash_negative_months", "cash_below_one_month_charges"),
    "vat_franchise": ("vat_franchise_threshold",),
    "micro_ceiling": ("micro_ceiling",),
    "cac_thresholds": ("cac_thresholds",),
    "payroll_faster": ("payroll_faster_than_revenue",),
    "dso_over_60": ("dso_above_60",),
    "customer_concentration": ("customer_above_30pct",),
    "ebitda_falling": ("ebitda_falling_3m",),
    "loss_making": ("ebitda_negative", "net_result_negative"),
    "equity_below_half": ("equity_below_half_capital",),
    "dividend_study": ("profit_above_42500",),
    "suspense_471": ("suspense_471",),
    "stale_ledger": ("stale_ledger",),
    "healthy": ("healthy",),
    "ordinary": (),
}

SCENARIO_PROFILES = tuple(p for p in PROFILE_TAGS if p not in ("healthy", "ordinary"))

# What each tag means, for whoever maps them to rule ids of the mission catalogue (domain.md §3).
SCENARIO_DESCRIPTIONS: dict[str, str] = {
    "cash_falling_6m": "net cash (512) strictly lower at each of the last 6 month ends than the month before",
    "cash_below_one_month_charges": "net cash at the latest month end below one month of class-6 charges",
    "cash_negative_months": "net cash negative at each of the last 6 month ends",
    "vat_franchise_threshold": "services, no VAT at all, rolling 12-month revenue within 10 % below 37 500 €",
    "micro_ceiling": "goods, rolling 12-month revenue within 10 % below the 203 100 € micro ceiling",
    "cac_thresholds": "revenue > 10 M€, payroll / 45 000 € > 50 employees and balance sheet > 5 M€",
    "payroll_faster_than_revenue": "payroll up 3 % every month while revenue falls, for the last 12 months",
    "dso_above_60": "customers pay after about 115 days: DSO well above 60 days",
    "customer_above_30pct": "one customer (411 CompAuxNum) takes 55 % of every month's revenue",
    "ebitda_falling_3m": "EBE positive but lower every month over the last 6 months",
    "ebitda_negative": "EBE negative every month over the last 10 months",
    "net_result_negative": "net result of the current fiscal year to date negative",
    "equity_below_half_capital": "equity (10x-14x + current result) below half of share capital (101)",
    "profit_above_42500": "net result above 42 500 € (any 12 months) with revenue under 10 M€",
    "suspense_471": "large credit balance on 471 (unidentified receipts piling up for 14 months)",
    "stale_ledger": "last FEC ends 5 months before the reference date",
    "healthy": "control: none of the indicator rules fire (cash growing above 3 months of charges, "
    "DSO ~45 days, EBE positive and never falling two months running, profit 15-28 k€, revenue 450 k€-2 M€)",
}


@dataclass(frozen=True)
class Sector:
    key: str
    revenue_account: str
    revenue_label: str
    purchase_account: str
    purchase_label: str
    variable_charge_account: str  # absorbs external charges so EBE follows the plan (see profiles.py)
    variable_charge_label: str
    vat_rate_bp: int  # basis points: 2000 = 20 %
    purchase_ratio: tuple[float, float]
    annual_revenue: tuple[int, int]  # euros, ordinary clients
    fec_layout: str  # "standard" (18 columns), "BA" (21) or "BNC" (22)
    naf_codes: tuple[str, ...]
    name_patterns: tuple[str, ...]


SECTORS: dict[str, Sector] = {s.key: s for s in (
    Sector("retail", "707000", "Ventes de marchandises", "607000", "Achats de marchandises", "624100",
           "Transports sur achats", 2000, (0.52, 0.62), (450_000, 2_500_000), "standard",
           ("47.71Z", "47.11B", "47.52A", "47.24Z"),
           ("Épicerie {surname}", "Boutique {place}", "Maison {surname}", "Quincaillerie {place}",
            "Boulangerie {surname}", "Cave {surname}", "Librairie {place}")),
    Sector("services", "706000", "Prestations de services", "604000", "Achats d'études et prestations",
           "611000", "Sous-traitance générale", 2000, (0.03, 0.08), (300_000, 3_000_000), "standard",
           ("70.22Z", "62.02A", "73.11Z", "74.10Z", "82.11Z"),
           ("{surname} Conseil", "Studio {noun}", "Agence {noun}", "{surname} Informatique",
            "Atelier {noun}")),
    Sector("construction", "704000", "Travaux", "601000", "Achats de matériaux", "611000",
           "Sous-traitance générale", 2000, (0.30, 0.40), (500_000, 4_000_000), "standard",
           ("43.32A", "41.20A", "43.22A", "43.34Z", "43.21A"),
           ("{surname} Bâtiment", "Menuiserie {surname}", "Plomberie {place}", "Charpentes {surname}",
            "Rénovation {place}")),
    Sector("restaurant", "707000", "Ventes restauration", "601000", "Achats de denrées", "615000",
           "Entretien et réparations", 1000, (0.28, 0.34), (350_000, 1_500_000), "standard",
           ("56.10A", "56.10C", "56.30Z"),
           ("Restaurant Chez {surname}", "Brasserie {place}", "Bistrot {surname}", "Crêperie {surname}")),
    Sector("liberal", "706000", "Honoraires", "606400", "Fournitures de bureau", "622800",
           "Honoraires rétrocédés", 2000, (0.01, 0.03), (150_000, 900_000), "BNC",
           ("69.10Z", "71.11Z", "86.90E", "74.90B"),
           ("Cabinet {surname} Architectes", "SELARL {surname} Avocats", "{surname} Ostéopathie",
            "Cabinet {surname} Géomètres")),
    Sector("agriculture", "701000", "Ventes de produits finis", "601000", "Achats d'approvisionnements",
           "615000", "Entretien du matériel", 1000, (0.25, 0.35), (250_000, 1_200_000), "BA",
           ("01.11Z", "01.21Z", "01.41Z", "01.13Z"),
           ("GAEC {place}", "EARL {surname}", "Domaine {surname}", "Ferme {place}")),
)}

SURNAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
    "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Legrand",
    "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Nicolas", "Perrin",
    "Morin", "Mathieu", "Clément", "Gauthier", "Dumont", "Lopez", "Fontaine", "Chevalier", "Robin", "Masson",
    "Sanchez", "Gérard", "Nguyen", "Boyer", "Denis", "Lemaire", "Duval", "Joly", "Gautier", "Roger", "Roche",
    "Roy", "Noël", "Meyer", "Lucas", "Meunier", "Jean", "Pérez", "Marchand", "Dufour", "Blanchard", "Barbier",
    "Brun", "Dumas", "Brunet", "Schmitt", "Leroux", "Colin", "Fernandez", "Pierre", "Renard", "Arnaud",
    "Rolland", "Caron", "Aubert", "Giraud", "Leclerc", "Vidal", "Bourgeois", "Renaud", "Lemoine", "Picard",
    "Gaillard", "Philippe", "Lacroix", "Dupuis", "Olivier", "Rodriguez", "Carpentier", "Cœurdacier",
)
PLACES = (
    "du Lac", "du Mont-Blanc", "du Vieux Port", "du Pont Neuf", "du Marché", "du Parc", "du Val d'Arly",
    "du Semnoz", "du Salève", "du Chéran", "du Vercors", "du Bugey", "du Beaujolais", "du Plateau",
    "du Faubourg", "du Clos", "du Moulin", "du Cloître", "du Rhône", "du Fier", "du Genevois", "du Chablais",
    "du Revard", "des Bauges", "des Aravis", "du Forez", "du Pilat", "de la Dombes", "de la Bresse",
)
NOUNS = (
    "Comptoir", "Galopin", "Tilleul", "Passage", "Cèdre", "Zèbre", "Héron", "Sextant", "Boréal", "Colibri",
    "Écluse", "Phare", "Saule", "Quai", "Grenier", "Lierre", "Sillon", "Mistral", "Ardoise", "Cœur Volant",
)
FIRST_NAMES = (
    "Camille", "Léa", "Manon", "Chloé", "Inès", "Sarah", "Julie", "Pauline", "Élodie", "Claire", "Hugo",
    "Lucas", "Thomas", "Nicolas", "Julien", "Antoine", "Maxime", "Romain", "Mathieu", "Sébastien", "Amélie",
    "Céline", "Jérôme", "Benoît", "Aurélie", "François", "Hélène", "Noémie", "Gaëlle", "Loïc",
)
CITIES = ("Annecy", "Lyon", "Chambéry", "Grenoble", "Villeurbanne", "Aix-les-Bains", "Thonon", "Albertville")
OFFICES = ("Annecy Centre", "Lyon Part-Dieu", "Chambéry")

WARM_UP_MONTHS = 6  # simulated before the first fiscal year so its opening balances are steady-state


@dataclass(frozen=True)
class FecVariant:
    """One legal way of writing a FEC (domain.md §1)."""

    separator: str
    encoding: str  # "utf-8", "utf-8-sig" (BOM) or "iso-8859-15"
    newline: str
    amount_layout: str  # "debit_credit", "sens_dc" (Montant + Sens D/C) or "sens_sign" (Sens +1/-1)


STANDARD_VARIANTS = (
    FecVariant("\t", "utf-8", "\n", "debit_credit"),
    FecVariant("|", "utf-8", "\n", "debit_credit"),
    FecVariant("\t", "utf-8-sig", "\r\n", "debit_credit"),
    FecVariant("\t", "utf-8", "\n", "debit_credit"),
    FecVariant("|", "iso-8859-15", "\r\n", "debit_credit"),
    FecVariant("\t", "iso-8859-15", "\n", "sens_dc"),
    FecVariant("\t", "utf-8", "\n", "debit_credit"),
    FecVariant("|", "utf-8", "\n", "sens_sign"),
)
LAYOUT_VARIANTS = {
    "BA": FecVariant("\t", "iso-8859-15", "\r\n", "debit_credit"),
    "BNC": FecVariant("\t", "utf-8-sig", "\n", "debit_credit"),
}


@dataclass(frozen=True)
class Office:
    id: int
    name: str
    time_tool: str  # clockify | toggl | harvest: each office tracks time with its own tool


@dataclass(frozen=True)
class Collaborator:
    id: int
    first_name: str
    last_name: str
    email: str
    office_id: int
    hourly_cost_cents: int
    active: bool

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class Client:
    """A client company whose books the firm keeps: one FEC per fiscal year."""

    index: int
    siren: str
    name: str
    sector: Sector
    naf: str
    profile: str  # key of PROFILE_TAGS
    closing_month: int
    last_month: date  # first day of the last month the ledger covers
    fiscal_years: int
    variant: FecVariant
    account_width: int  # 6, or 8 (zero-padded right, as some software exports)
    reexport_lags: tuple[int, ...]  # older exports of the current year, in months before the last one
    lines_target: int
    crm_id: int
    practice_id: int
    collaborator_id: int
    bookkeeping_by: str  # firm | client
    frequency: str  # monthly | quarterly | yearly
    deactivated: bool
    created: date  # in the CRM
    crm_parent_id: int | None = None
    sending_drop: bool = False  # practice: sent ≥ 50 % fewer documents in the last 30 days

    @property
    def tags(self) -> tuple[str, ...]:
        return PROFILE_TAGS[self.profile]


@dataclass(frozen=True)
class CrmOnlyCompany:
    """A CRM account without a ledger: prospect, group, competitor, partner, supplier, internal, ex-client."""

    crm_id: int
    name: str
    siren: str | None
    type: str  # Sellsy type: prospect, group, competitor, partner, supplier, internal, client
    naf: str | None
    created: date
    story: str  # which account status it is built to have: prospect, delaisse, inactif, none


@dataclass
class Firm:
    name: str
    seed: int
    as_of: date
    offices: list[Office]
    collaborators: list[Collaborator]
    clients: list[Client]
    crm_only: list[CrmOnlyCompany]


def add_months(day: date, months: int) -> date:
    """First day of the month `months` after the month of `day`."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def luhn_siren(rng: np.random.Generator) -> str:
    """A 9-digit number passing the Luhn check, as INSEE builds SIRENs; first digit 3-9, like companies."""
    body = str(int(rng.integers(3, 10))) + "".join(str(int(d)) for d in rng.integers(0, 10, 7))
    return next(body + str(check) for check in range(10) if is_luhn_valid(body + str(check)))


def is_luhn_valid(number: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return total % 10 == 0


def allocate_profiles(clients: int) -> list[str]:
    """Which profile each client slot gets: every scenario (repeated as the firm grows), then ≥ 5 healthy
    controls, then ordinary clients. Below 20 clients the controls come first and scenarios are cut."""
    copies = max(1, clients // 40)
    scenarios = [p for p in SCENARIO_PROFILES for _ in range(copies)]
    controls = max(5, clients * 15 // 100) if clients >= 20 else max(1, clients // 4)
    if clients < len(scenarios) + controls:
        scenarios = scenarios[: max(0, clients - controls)]
        controls = clients - len(scenarios)
    return scenarios + ["healthy"] * controls + ["ordinary"] * (clients - len(scenarios) - controls)


PROFILE_SECTORS = {
    "cash_falling_6m": "services", "cash_below_one_month": "retail", "cash_negative_months": "construction",
    "vat_franchise": "liberal", "micro_ceiling": "retail", "cac_thresholds": "construction",
    "payroll_faster": "services", "dso_over_60": "services", "customer_concentration": "construction",
    "ebitda_falling": "retail", "loss_making": "restaurant", "equity_below_half": "services",
    "dividend_study": "services", "suspense_471": "retail", "stale_ledger": "agriculture",
}
HEALTHY_SECTORS = ("services", "retail", "construction", "liberal", "agriculture", "services", "retail")
ORDINARY_SECTORS = ("services", "retail", "construction", "restaurant", "services", "liberal", "agriculture",
                    "retail", "construction", "services")


def _sector_for(profile: str, rank: int) -> Sector:
    if profile == "healthy":
        return SECTORS[HEALTHY_SECTORS[rank % len(HEALTHY_SECTORS)]]
    if profile == "ordinary":
        return SECTORS[ORDINARY_SECTORS[rank % len(ORDINARY_SECTORS)]]
    return SECTORS[PROFILE_SECTORS[profile]]


def _closing_month(profile: str, rank: int, rng: np.random.Generator) -> int:
    """Most fiscal years close on 31 December; a few healthy and ordinary clients close in March or June."""
    if profile == "healthy":
        return {0: 6, 1: 3}.get(rank, 12)
    if profile == "ordinary" and rng.random() < 0.15:
        return int(rng.choice([3, 6]))
    return 12


class _UniqueNames:
    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.used: set[str] = set()

    def company(self, sector: Sector) -> str:
        pattern = str(self.rng.choice(sector.name_patterns))
        for attempt in range(50):
            name = pattern.format(
                surname=self.rng.choice(SURNAMES), place=self.rng.choice(PLACES), noun=self.rng.choice(NOUNS)
            )
            if attempt > 10:
                name = f"{name} {self.rng.choice(CITIES)}"
            if attempt > 30:
                name = f"{name} {attempt}"
            if name not in self.used:
                self.used.add(name)
                return name
        raise RuntimeError("could not draw a unique company name")

    def other(self, name: str) -> str:
        candidate, suffix = name, 2
        while candidate in self.used:
            candidate, suffix = f"{name} {suffix}", suffix + 1
        self.used.add(candidate)
        return candidate


def _collaborators(count: int, rng: np.random.Generator) -> list[Collaborator]:
    people, seen = [], set()
    while len(people) < count:
        first, last = str(rng.choice(FIRST_NAMES)), str(rng.choice(SURNAMES))
        if (first, last) in seen:
            continue
        seen.add((first, last))
        index = len(people)
        email = f"{ascii_slug(first)}.{ascii_slug(last)}@{FIRM_EMAIL_DOMAIN}"
        people.append(
            Collaborator(
                id=index + 1,
                first_name=first,
                last_name=last,
                email=email,
                office_id=index % len(OFFICES) + 1,
                hourly_cost_cents=int(rng.integers(38, 76)) * 100 + int(rng.choice([0, 50])),
                active=index != count - 1,  # the last one has left the firm: still owns old time entries
            )
        )
    return people


def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters, digits and dashes, for e-mail addresses and web sites."""
    folded = unicodedata.normalize("NFKD", text.replace("œ", "oe").replace("Œ", "Oe"))
    kept = "".join(ch for ch in folded if ch.isascii() and (ch.isalnum() or ch in " -'"))
    return "-".join(kept.lower().replace("'", " ").split())


def build_firm(clients: int, *, months: int, seed: int, as_of: date, lines_per_client: int | None) -> Firm:
    """Decide every company, person and scenario of the sample data set."""
    if clients < 1:
        raise ValueError("clients must be at least 1")
    if months < 1:
        raise ValueError("months must be at least 1")
    rng = np.random.default_rng([seed, 0])
    names = _UniqueNames(rng)
    offices = [
        Office(i + 1, name, tool)
        for i, (name, tool) in enumerate(zip(OFFICES, ("clockify", "toggl", "harvest"), strict=True))
    ]
    collaborators = _collaborators(max(6, clients // 8 + 2), rng)
    active_staff = [c for c in collaborators if c.active]
    fiscal_years = max(2, -(-months // 12))  # two at least, so that 12-month indicators always exist
    current_month = date(as_of.year, as_of.month, 1)
    sirens: set[str] = set()

    def new_siren() -> str:
        while True:
            siren = luhn_siren(rng)
            if siren not in sirens:
                sirens.add(siren)
                return siren

    profiles = allocate_profiles(clients)
    ranks: dict[str, int] = {}
    built: list[Client] = []
    for index, profile in enumerate(profiles):
        rank = ranks[profile] = ranks.get(profile, -1) + 1
        sector = _sector_for(profile, rank)
        stale = profile == "stale_ledger"
        variant = LAYOUT_VARIANTS.get(sector.fec_layout) or STANDARD_VARIANTS[index % len(STANDARD_VARIANTS)]
        lines_target = lines_per_client or int(rng.integers(1_800, 2_900))
        reexport_lags: tuple[int, ...] = ()
        if not stale and index % 7 == 2:
            reexport_lags = (1, 3) if index == 2 else (1,)
        created = date(int(rng.integers(2008, 2022)), int(rng.integers(1, 13)), 1)
        built.append(
            Client(
                index=index,
                siren=new_siren(),
                name=names.company(sector),
                sector=sector,
                naf=str(rng.choice(sector.naf_codes)),
                profile=profile,
                closing_month=_closing_month(profile, rank, rng),
                last_month=add_months(current_month, -5 if stale else 0),
                fiscal_years=fiscal_years,
                variant=variant,
                account_width=8 if index % 9 == 4 else 6,
                reexport_lags=reexport_lags,
                lines_target=lines_target,
                crm_id=41_000_101 + index,
                practice_id=7_001 + index * 3,
                collaborator_id=active_staff[index % len(active_staff)].id,
                bookkeeping_by="client" if index % 6 == 5 else "firm",
                frequency=("monthly", "monthly", "quarterly", "monthly", "yearly", "quarterly")[index % 6],
                deactivated=stale or index % 17 == 16,
                sending_drop=profile == "ordinary" and index % 5 == 1,
                created=created,
            )
        )
    crm_only, group_id = _crm_only_companies(built, names, new_siren, as_of, rng, clients)
    _attach_group(built, group_id)
    return Firm(FIRM_NAME, seed, as_of, offices, collaborators, built, crm_only)


def _attach_group(clients: list[Client], group_id: int) -> None:
    """Make two or three ordinary (or healthy) clients subsidiaries of the CRM group account."""
    ordinary = [c for c in clients if c.profile == "ordinary"]
    members = ordinary[:3] or [c for c in clients if c.profile == "healthy"][:2]
    for client in members:
        client.crm_parent_id = group_id


def _crm_only_companies(clients, names, new_siren, as_of, rng, count) -> tuple[list[CrmOnlyCompany], int]:
    next_id = 41_000_101 + len(clients) + 100
    companies: list[CrmOnlyCompany] = []

    def add(name, type_, story, created, siren=True, naf=None):
        nonlocal next_id
        siren_number = new_siren() if siren else None
        companies.append(CrmOnlyCompany(next_id, names.other(name), siren_number, type_, naf, created, story))
        next_id += 1
        return next_id - 1

    group_id = add("Holding Savoie Développement", "group", "none", date(2020, 3, 2), naf="64.20Z")
    prospects = max(4, count // 6)
    for i in range(prospects):
        sector = SECTORS[ORDINARY_SECTORS[i % len(ORDINARY_SECTORS)]]
        story = ("prospect", "prospect", "delaisse", "inactif")[i % 4]
        created = {
            "prospect": add_months(as_of, -int(rng.integers(1, 3))),
            "delaisse": add_months(as_of, -14),
            "inactif": add_months(as_of, -20),
        }[story]
        if i == 0:
            created = add_months(as_of, -1)  # brand new, no opportunity yet: prospect by creation date
        add(names.company(sector), "prospect", story, created, naf=str(rng.choice(sector.naf_codes)))
    add("Fidu Alpes Expertise", "competitor", "inactif", date(2021, 6, 1), naf="69.20Z")
    add("Banque Alpine des Cimes", "partner", "none", date(2019, 9, 16), naf="64.19Z")
    add("Avocats Lemoine & Roux", "supplier", "none", date(2020, 1, 10), naf="69.10Z")
    add("Formations Compta Pro", "supplier", "none", date(2022, 4, 4), naf="85.59A")
    add(f"{FIRM_NAME} (interne)", "internal", "none", date(2015, 1, 5), siren=False)
    add("Ancienne Scierie " + str(rng.choice(SURNAMES)), "client", "inactif", date(2017, 2, 1), naf="16.10A")
    return companies, group_id


def client_rng(seed: int, purpose: int, client: Client) -> np.random.Generator:
    return np.random.default_rng([seed, purpose, client.index])


def fiscal_year_bounds(client: Client) -> list[tuple[date, date]]:
    """(start, closing date) of each fiscal year of the ledger, oldest first; the last holds last_month."""
    closing = client.closing_month
    year = client.last_month.year if client.last_month.month <= closing else client.last_month.year + 1
    current_end = month_end(date(year, closing, 1))
    bounds = []
    for back in range(client.fiscal_years - 1, -1, -1):
        end = month_end(add_months(current_end, -12 * back))
        start = add_months(end, -11)
        bounds.append((start, end))
    return bounds
