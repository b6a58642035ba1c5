"""Opportunities across runs: one row per client and mission, whose status follows the rule (domain.md §3).

- open: the condition holds and the mission is shown;
- resolved: it was open and the condition stopped holding, or the mission has since been sold;
- dismissed: the mission is switched off (firm, client, collaborator, office) or left the catalogue; it stays
  dismissed for as long as the switch is on, whatever the figures do.
The identifier is derived from the client and the rule only, so it is the same on every run and every machine.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from datetime import date

import duckdb

from assets.opportunities.catalogue import Catalogue
from assets.opportunities.evaluate import Match, load_clients, switched_off_by
from assets.warehouse import fetch_dicts, relation_exists, replace_table, transaction

SCHEMA = "opportunities"
HISTORY_TABLE = f"{SCHEMA}.opportunity_history"
MATCHES_TABLE = f"{SCHEMA}.rule_matches"

HISTORY_COLUMNS = {
    "opportunity_id": "varchar", "client_id": "varchar", "rule_id": "varchar", "kind": "varchar",
    "mission_title": "varchar", "mission_code": "varchar", "trigger_text": "varchar",
    "price_min": "decimal(18, 2)", "price_max": "decimal(18, 2)", "sheet_url": "varchar", "evidence": "json",
    "status": "varchar", "status_reason": "varchar", "evaluated_month": "date", "first_detected_on": "date",
    "last_detected_on": "date", "status_changed_on": "date", "language": "varchar",
}
MATCH_COLUMNS = {
    "opportunity_id": "varchar", "client_id": "varchar", "rule_id": "varchar", "kind": "varchar",
    "evaluated_month": "date", "outcome": "varchar", "suppressed_by": "varchar", "trigger_text": "varchar",
    "evidence": "json", "reference_date": "date",
}


@dataclass(frozen=True)
class OpportunityReport:
    fired: int
    proposed: int
    already_sold: int
    switched_off: int
    by_status: dict

    def summary(self) -> str:
        statuses = ", ".join(f"{count} {status}" for status, count in sorted(self.by_status.items()))
        return (f"{self.fired} rule matches ({self.proposed} proposed, {self.already_sold} already sold, "
                f"{self.switched_off} switched off); opportunities: {statuses or 'none'}")


def opportunity_id(client_id: str, rule_id: str) -> str:
    return "opp_" + hashlib.sha256(f"{client_id}\x1f{rule_id}".encode()).hexdigest()[:16]


def read_history(con: duckdb.DuckDBPyConnection) -> list[dict]:
    if not relation_exists(con, SCHEMA, HISTORY_TABLE.split(".")[1]):
        return []
    return fetch_dicts(con, f"select * from {HISTORY_TABLE}")


def next_history(previous: list[dict], matches: list[Match], catalogue: Catalogue, switches,
                 reference_date: date, language: str) -> list[dict]:
    """The opportunities after this run. `switches(mission, client_id)` says which switch hides a mission."""
    missions = {m.id: m for m in catalogue.missions}
    by_key = {(m.client_id, m.mission.id): m for m in matches}
    rows = []
    for old in previous:
        match = by_key.pop((old["client_id"], old["rule_id"]), None)
        mission = missions.get(old["rule_id"])
        if mission is None:
            rows.append(_with_status(old, "dismissed", "removed_from_catalogue", reference_date))
            continue
        switch = switches(mission, old["client_id"])
        if switch:
            rows.append(_with_status(old, "dismissed", f"switched_off:{switch}", reference_date))
        elif match and match.outcome == "proposed":
            rows.append(_detected(old, match, reference_date, language))
        elif match and match.outcome == "already_sold":
            rows.append(_with_status(old, "resolved", f"mission_sold:{match.suppressed_by}", reference_date))
        elif old["status"] != "resolved":
            rows.append(_with_status(old, "resolved", "condition_cleared", reference_date))
        else:
            rows.append(old)
    rows += [_detected(None, m, reference_date, language) for m in by_key.values() if m.outcome == "proposed"]
    return sorted(rows, key=lambda r: (r["client_id"], r["rule_id"]))


def _detected(old: dict | None, match: Match, reference_date: date, language: str) -> dict:
    mission = match.mission
    first = min(old["first_detected_on"], reference_date) if old else reference_date
    last = max(old["last_detected_on"], reference_date) if old else reference_date
    changed = old["status_changed_on"] if old and old["status"] == "open" else reference_date
    return {
        "opportunity_id": opportunity_id(match.client_id, mission.id), "client_id": match.client_id,
        "rule_id": mission.id, "kind": mission.kind, "mission_title": mission.text(mission.title, language),
        "mission_code": mission.mission_code, "trigger_text": match.trigger_text, "price_min": mission.price_min,
        "price_max": mission.price_max, "sheet_url": mission.sheet_url, "evidence": json.dumps(match.evidence),
        "status": "open", "status_reason": "condition_holds", "evaluated_month": match.evaluated_month,
        "first_detected_on": first, "last_detected_on": last, "status_changed_on": changed, "language": language,
    }


def _with_status(old: dict, status: str, reason: str, reference_date: date) -> dict:
    changed = old["status_changed_on"] if old["status"] == status else reference_date
    return {**old, "status": status, "status_reason": reason, "status_changed_on": changed}


def write_opportunities(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, matches: list[Match],
                        reference_date: date, language: str) -> OpportunityReport:
    """Replace this run's matches and move every opportunity to its next status, in one transaction."""
    clients = load_clients(con)
    history = next_history(read_history(con), matches, catalogue,
                           lambda mission, client_id: switched_off_by(mission, clients.get(client_id)),
                           reference_date, language)
    match_rows = [{
        "opportunity_id": opportunity_id(m.client_id, m.mission.id), "client_id": m.client_id,
        "rule_id": m.mission.id, "kind": m.mission.kind, "evaluated_month": m.evaluated_month,
        "outcome": m.outcome, "suppressed_by": m.suppressed_by, "trigger_text": m.trigger_text,
        "evidence": json.dumps(m.evidence), "reference_date": reference_date} for m in matches]
    with transaction(con):
        replace_table(con, HISTORY_TABLE, HISTORY_COLUMNS, history)
        replace_table(con, MATCHES_TABLE, MATCH_COLUMNS, match_rows)
    outcomes = Counter(m.outcome for m in matches)
    return OpportunityReport(len(matches), outcomes["proposed"], outcomes["already_sold"], outcomes["switched_off"],
                             dict(Counter(r["status"] for r in history)))

