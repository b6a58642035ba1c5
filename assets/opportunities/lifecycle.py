"""Opportunities across runs: one row per client and mission, whose status follows the rule (domain.md §3).

- open: the condition holds and the mission is shown;
- resolved: it was open and the condition stopped holding, or the mission has since been sold;
- dismissed: the mission is switched off (firm, client, collaborator, office) or left the catalogue; it stays
  dismissed for as long as the switch is on, whatever the figures do.
The identifier is derived from the client and the rule only, so it is the same on every run and every machine.
The next state of every opportunity is one query: last run's history joined with this run's matches.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import duckdb

from assets.opportunities.evaluate import MATCHES_TABLE as THIS_RUN
from assets.opportunities.evaluate import MISSIONS_TABLE, switch_sql
from assets.warehouse import transaction

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


def _columns(columns: dict[str, str], source: str) -> str:
    return ", ".join(f"CAST({source}.{c} AS {t}) AS {c}" for c, t in columns.items())


def write_opportunities(con: duckdb.DuckDBPyConnection, reference_date: date, language: str) -> OpportunityReport:
    """Replace this run's matches (evaluate.evaluate_catalogue left them in vigie_matches) and move every
    opportunity to its next status, in one transaction."""
    with transaction(con):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        con.execute(f"CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} "
                    f"({', '.join(f'{c} {t}' for c, t in HISTORY_COLUMNS.items())})")
        con.execute(f"CREATE OR REPLACE TEMP TABLE vigie_next_history AS {NEXT_HISTORY}",
                    {"reference": reference_date, "language": language})
        con.execute(f"CREATE OR REPLACE TABLE {HISTORY_TABLE} AS SELECT {_columns(HISTORY_COLUMNS, 'h')} "
                    "FROM vigie_next_history AS h ORDER BY h.client_id, h.rule_id")
        con.execute(f"CREATE OR REPLACE TABLE {MATCHES_TABLE} AS SELECT {_columns(MATCH_COLUMNS, 'm')} "
                    f"FROM {THIS_RUN} AS m ORDER BY m.client_id, m.mission")
    fired, proposed, sold, switched = con.execute(
        f"SELECT count(*), count(*) FILTER (outcome = 'proposed'), count(*) FILTER (outcome = 'already_sold'),"
        f" count(*) FILTER (outcome = 'switched_off') FROM {THIS_RUN}").fetchone()
    by_status = dict(con.execute(f"SELECT status, count(*) FROM {HISTORY_TABLE} GROUP BY status").fetchall())
    return OpportunityReport(fired, proposed, sold, switched, by_status)


# domain.md §3, in the order the rules apply: a mission gone from the catalogue, then a switch, dismisses; a match
# proposed (re)opens; a sale resolves; a condition no longer met resolves; a resolved one stays as it was.
# `changed(status)` keeps the date of the last change when the status stays the same.
NEXT_HISTORY = f"""
WITH previous AS (
    SELECT h.*, ms.mission IS NULL AS left_catalogue, {switch_sql('ms', 'c')} AS switch
    FROM {HISTORY_TABLE} AS h
    LEFT JOIN {MISSIONS_TABLE} AS ms USING (rule_id)
    LEFT JOIN marts.dim_clients AS c USING (client_id)
),
joined AS (
    SELECT p.client_id AS old_client_id, p.status AS old_status, p.status_changed_on AS old_changed,
           p.first_detected_on AS old_first, p.last_detected_on AS old_last, p.left_catalogue, p.switch, p,
           m.opportunity_id AS match_id, m.client_id AS match_client_id, m.rule_id AS match_rule_id,
           m.outcome, m.suppressed_by, m.trigger_text, m.evidence, m.evaluated_month, m.mission
    FROM previous AS p
    FULL OUTER JOIN {THIS_RUN} AS m ON m.client_id = p.client_id AND m.rule_id = p.rule_id
),
decided AS (
    SELECT *,
           CASE WHEN old_client_id IS NULL THEN CASE WHEN outcome = 'proposed' THEN 'open' END
                WHEN left_catalogue OR switch IS NOT NULL THEN 'dismissed'
                WHEN outcome = 'proposed' THEN 'open'
                WHEN outcome = 'already_sold' THEN 'resolved'
                WHEN old_status <> 'resolved' THEN 'resolved'
                ELSE old_status END AS status,
           CASE WHEN old_client_id IS NULL THEN 'condition_holds'
                WHEN left_catalogue THEN 'removed_from_catalogue'
                WHEN switch IS NOT NULL THEN 'switched_off:' || switch
                WHEN outcome = 'proposed' THEN 'condition_holds'
                WHEN outcome = 'already_sold' THEN 'mission_sold:' || suppressed_by
                WHEN old_status <> 'resolved' THEN 'condition_cleared'
                ELSE p.status_reason END AS status_reason
    FROM joined
)
SELECT
    -- an opportunity (re)detected takes this run's words; any other keeps what it said when last detected
    CASE WHEN detected THEN match_id ELSE p.opportunity_id END AS opportunity_id,
    coalesce(old_client_id, match_client_id) AS client_id,
    coalesce(p.rule_id, match_rule_id) AS rule_id,
    CASE WHEN detected THEN ms.kind ELSE p.kind END AS kind,
    CASE WHEN detected THEN ms.mission_title ELSE p.mission_title END AS mission_title,
    CASE WHEN detected THEN ms.mission_code ELSE p.mission_code END AS mission_code,
    CASE WHEN detected THEN trigger_text ELSE p.trigger_text END AS trigger_text,
    CASE WHEN detected THEN ms.price_min ELSE p.price_min END AS price_min,
    CASE WHEN detected THEN ms.price_max ELSE p.price_max END AS price_max,
    CASE WHEN detected THEN ms.sheet_url ELSE p.sheet_url END AS sheet_url,
    CASE WHEN detected THEN evidence ELSE p.evidence END AS evidence,
    status, status_reason,
    CASE WHEN detected THEN evaluated_month ELSE p.evaluated_month END AS evaluated_month,
    CASE WHEN detected THEN least(coalesce(old_first, $reference), $reference) ELSE old_first END
        AS first_detected_on,
    CASE WHEN detected THEN greatest(coalesce(old_last, $reference), $reference) ELSE old_last END
        AS last_detected_on,
    CASE WHEN old_status IS NOT DISTINCT FROM status THEN old_changed ELSE CAST($reference AS DATE) END
        AS status_changed_on,
    CASE WHEN detected THEN $language ELSE p.language END AS language
FROM (SELECT *, status = 'open' AND outcome = 'proposed' AS detected FROM decided WHERE status IS NOT NULL) AS d
LEFT JOIN {MISSIONS_TABLE} AS ms USING (mission)
"""
