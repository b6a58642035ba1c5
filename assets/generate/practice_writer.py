"""The practice-management export (landing/practice), Dext "Pilotage Cabinet" style (contract §2, domain §6).

Offices, collaborators (with their hourly cost), client files (who manages each client, bookkeeping by the
firm or the client, frequency, deactivated), the documents clients sent over the last 120 days and the
supplier rules that process them automatically. The practice tool has its own company ids; client files carry
the SIREN that links them to the ledgers and the CRM.

Some clients' sending drops by more than half over the last 30 days compared with the 30 before (inactive
clients); the client whose ledger went stale has left and sends nothing.
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from assets.generate.crm_writer import paris_moment
from assets.generate.firm import Client, Firm

WINDOW_DAYS = 120
METHODS = ("app", "email", "upload", "fetch", "whatsapp")
KINDS = ("purchase", "sale", "receipt")
STATUSES = ("to_review", "ready", "processed")
RULE_SUPPLIERS = (
    "Énergies du Léman", "Télécom Alpes", "Assurances Mutuelle du Lac", "Station Service du Rond-Point",
    "Fournitures Bureau Express", "Transports Gay", "Boulangerie de la Gare", "Péage Autoroute A41",
    "Hôtel des Voyageurs", "Plateforme Cloud Hébergement", "Librairie Technique", "La Poste Entreprises",
    "Quincaillerie Centrale", "Location Matériel Pro", "Restaurant Le Comptoir", "Parking Centre-Ville",
    "Agence Intérim Savoie", "Imprimerie du Lac", "Garage Central", "Nettoyage Pro Services",
)

COLUMNS = {
    "offices": ["id", "name"],
    "collaborators": ["id", "name", "email", "office_id", "hourly_cost", "active"],
    "client_files": [
        "company_id", "siren", "name", "collaborator_id", "bookkeeping_by", "frequency", "deactivated",
    ],
    "documents": ["id", "company_id", "received_at", "method", "kind", "status", "processed_at", "auto_rule"],
    "supplier_rules": ["id", "company_id", "supplier", "created_at", "active"],
}


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _sending_days(client: Client, firm: Firm, rng: np.random.Generator) -> np.ndarray:
    """Day offsets (from the window's first day) on which the client sent a document, one per document."""
    if client.deactivated:
        return np.zeros(0, np.int64)
    window_start = firm.as_of - timedelta(days=WINDOW_DAYS - 1)
    days = [window_start + timedelta(days=offset) for offset in range(WINDOW_DAYS)]
    monthly = {"monthly": 28, "quarterly": 18, "yearly": 6}[client.frequency] * (1 + client.index % 3)
    rate = np.full(WINDOW_DAYS, monthly / 30)
    if client.frequency == "quarterly":
        rate *= [2.5 if d.month in (1, 4, 7, 10) and d.day <= 15 else 0.6 for d in days]
    if client.sending_drop:
        rate *= [0.25 if (firm.as_of - d).days < 30 else 1 for d in days]
    rate *= [0.3 if d.weekday() >= 5 else 1 for d in days]
    return np.repeat(np.arange(WINDOW_DAYS), rng.poisson(rate))


def _documents(firm: Firm, rows: list[dict], client: Client, rules: int, next_id: int) -> int:
    """The client's documents: recent ones still to review or ready, older ones processed (a few forgotten),
    processed automatically when a supplier rule applies (more rules, more automation)."""
    rng = np.random.default_rng([firm.seed, 7, client.index])
    preferred = rng.dirichlet(np.ones(len(METHODS)) * 0.8)
    offsets = _sending_days(client, firm, rng)
    count = len(offsets)
    window_start = datetime.combine(firm.as_of - timedelta(days=WINDOW_DAYS - 1), datetime.min.time())
    received = offsets * 1440 + rng.integers(7 * 60, 21 * 60, count)
    processed = received + rng.integers(20, 72 * 60, count)
    age = WINDOW_DAYS - 1 - offsets
    status = np.where(
        age < 7, rng.choice(3, count, p=[0.5, 0.3, 0.2]), np.where(rng.random(count) < 0.04, 0, 2)
    )
    status = np.where((status == 2) & (processed >= WINDOW_DAYS * 1440), 1, status)
    auto = (status == 2) & (rng.random(count) < min(0.85, rules / 20))
    methods = rng.choice(len(METHODS), count, p=preferred)
    kinds = rng.choice(len(KINDS), count, p=[0.7, 0.2, 0.1])
    for k in range(count):
        done = status[k] == 2
        rows.append(
            {
                "id": next_id + k,
                "company_id": client.practice_id,
                "received_at": paris_moment(window_start + timedelta(minutes=int(received[k]))),
                "method": METHODS[methods[k]],
                "kind": KINDS[kinds[k]],
                "status": STATUSES[status[k]],
                "processed_at": paris_moment(window_start + timedelta(minutes=int(processed[k])))
                if done
                else "",
                "auto_rule": _flag(bool(auto[k])),
            }
        )
    return next_id + count


def build_practice(firm: Firm) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {name: [] for name in COLUMNS}
    rows["offices"] = [{"id": o.id, "name": o.name} for o in firm.offices]
    rows["collaborators"] = [
        {
            "id": c.id,
            "name": c.name,
            "email": c.email,
            "office_id": c.office_id,
            "hourly_cost": _money(c.hourly_cost_cents),
            "active": _flag(c.active),
        }
        for c in firm.collaborators
    ]
    document_id, rule_id = 1, 1
    for client in firm.clients:
        rows["client_files"].append(
            {
                "company_id": client.practice_id,
                "siren": client.siren,
                "name": client.name,
                "collaborator_id": client.collaborator_id,
                "bookkeeping_by": client.bookkeeping_by,
                "frequency": client.frequency,
                "deactivated": _flag(client.deactivated),
            }
        )
        rng = np.random.default_rng([firm.seed, 8, client.index])
        rules = int(rng.integers(0, len(RULE_SUPPLIERS) + 1))
        for supplier in rng.choice(RULE_SUPPLIERS, size=rules, replace=False):
            created = firm.as_of - timedelta(days=int(rng.integers(10, 730)))
            rows["supplier_rules"].append(
                {
                    "id": rule_id,
                    "company_id": client.practice_id,
                    "supplier": supplier,
                    "created_at": created.isoformat(),
                    "active": _flag(rng.random() > 0.1),
                }
            )
            rule_id += 1
        document_id = _documents(firm, rows["documents"], client, rules, document_id)
    return rows


def write_practice(rows: dict[str, list[dict]], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, columns in COLUMNS.items():
        path = directory / f"{name}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows[name])
        written.append(path)
    return written
