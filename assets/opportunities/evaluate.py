"""Evaluating the catalogue on the warehouse: which mission fires for which client, why, and whether it is shown.

A mission that fires is shown (`proposed`) unless it is switched off (for the firm, the client, the client's
collaborator or office) or already sold (a deal with its mission code planned or in progress, or done too for a
one-off mission). Each match carries its trigger sentence and the evidence an auditor needs: the values and
months that made it fire and the ledger file and lines behind each month.

Everything is set-based: the compiled query writes the sentences, and one more query joins the matches with the
catalogue, the switches, the deals and the monthly series for the evidence. Python only describes the catalogue
to DuckDB (the `vigie_missions` temporary table), so the step costs about what its queries cost.
"""

from __future__ import annotations

from datetime import date

import duckdb

from assets.opportunities.catalogue import Catalogue, Mission, condition_lookback, operands
from assets.opportunities.compiler import INDICATORS_TABLE, compile_catalogue
from assets.opportunities.vocabulary import INDICATORS
from assets.opportunities.wording import WORDING_MACROS

SOLD_STATUSES = ("planned", "in_progress")
MISSIONS_TABLE = "vigie_missions"  # temporary: the catalogue as rows
MATCHES_TABLE = "vigie_matches"  # temporary: this run's matches, read by lifecycle.write_opportunities
SCOPES = ("clients", "collaborators", "offices")  # of a mission's disabled_for, as vigie_missions.off_<scope>


def switch_sql(mission: str, client: str) -> str:
    """Which switch hides mission row `mission` (of vigie_missions) for client row `client` (of dim_clients, may
    be NULL): firm, client:<id or SIREN>, collaborator:<id>, office:<id>; NULL when none does."""
    return (f"CASE WHEN {mission}.disabled THEN 'firm'"
            f" WHEN list_contains({mission}.off_clients, {client}.client_id) THEN 'client:' || {client}.client_id"
            f" WHEN list_contains({mission}.off_clients, {client}.siren) THEN 'client:' || {client}.siren"
            f" WHEN list_contains({mission}.off_collaborators, {client}.collaborator_id)"
            f" THEN 'collaborator:' || {client}.collaborator_id"
            f" WHEN list_contains({mission}.off_offices, {client}.office_id) THEN 'office:' || {client}.office_id"
            " END")


def register_missions(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, language: str) -> None:
    """The catalogue as the temporary table vigie_missions, one row per mission (its index is `mission`)."""
    prefixes = dict(con.execute(
        "select component, list(distinct account_prefix order by account_prefix) from reference.account_mapping "
        "group by component").fetchall())
    rows = [_mission_row(index, mission, language, prefixes) for index, mission in enumerate(catalogue.missions)]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {MISSIONS_TABLE} "
                f"({', '.join(f'{c} {t}' for c, t in _MISSION_COLUMNS.items())})")
    if rows:
        con.executemany(f"INSERT INTO {MISSIONS_TABLE} VALUES ({', '.join('?' for _ in _MISSION_COLUMNS)})", rows)


_MISSION_COLUMNS = {
    "mission": "INTEGER", "rule_id": "VARCHAR", "kind": "VARCHAR", "mission_title": "VARCHAR",
    "mission_code": "VARCHAR", "price_min": "DECIMAL(18, 2)", "price_max": "DECIMAL(18, 2)", "sheet_url": "VARCHAR",
    "once_per_client": "BOOLEAN", "disabled": "BOOLEAN", "off_clients": "VARCHAR[]",
    "off_collaborators": "VARCHAR[]", "off_offices": "VARCHAR[]", "lookback": "INTEGER", "indicators": "VARCHAR[]",
    "account_prefixes": "VARCHAR[]",
}


def _monthly_indicators(mission: Mission) -> list[str]:
    """The monthly indicators a mission's condition reads: the series its evidence shows."""
    return sorted({o.indicator for o in operands(mission.condition)
                   if o.indicator and INDICATORS[o.indicator].per_month})


def _mission_row(index: int, mission: Mission, language: str, prefixes: dict) -> list:
    indicators = _monthly_indicators(mission)
    accounts = sorted({p for i in indicators for c in INDICATORS[i].components for p in prefixes.get(c, [])})
    price = [None if p is None else str(p) for p in (mission.price_min, mission.price_max)]
    return [index, mission.id, mission.kind, mission.text(mission.title, language), mission.mission_code, *price,
            mission.sheet_url, mission.once_per_client, mission.disabled,
            *(sorted(mission.disabled_for.get(scope, ())) for scope in SCOPES),
            condition_lookback(mission.condition), indicators, accounts]


def evaluate_catalogue(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, reference_date: date,
                       language: str, catalogue_version: str | None = None) -> None:
    """This run's matches into the temporary table vigie_matches (columns of lifecycle.MATCH_COLUMNS, plus
    `mission`): outcome, suppressed_by, trigger_text and evidence for each client and fired mission."""
    con.execute(WORDING_MACROS)
    register_missions(con, catalogue, language)
    query = compile_catalogue(catalogue, reference_date, language)
    con.execute(f"CREATE OR REPLACE TEMP TABLE vigie_fired AS {query.text}", list(query.params))
    read = sorted({name for mission in catalogue.missions for name in _monthly_indicators(mission)})
    # vocabulary identifiers only, never catalogue text
    value_of = "CASE series_rows.indicator " + " ".join(f"WHEN '{name}' THEN w.{name}" for name in read) + " END" \
        if read else "NULL"
    indicator_columns = "".join(f", m.{name}" for name in read)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {MATCHES_TABLE} AS
        WITH window_rows AS (
            -- the months each match read: its evaluated month and the `lookback` months before it
            SELECT f.client_id, f.mission, m.month, m.source_file, m.source_line_count{indicator_columns},
                   strftime(m.month, '%Y-%m-%d') AS month_text
            FROM vigie_fired AS f
            JOIN {MISSIONS_TABLE} AS ms USING (mission)
            JOIN {INDICATORS_TABLE} AS m
              ON m.client_id = f.client_id AND m.month <= f.eval_month
             AND datediff('month', m.month, f.eval_month) <= ms.lookback
        ),
        months AS (
            SELECT client_id, mission, list(month_text ORDER BY month) AS months
            FROM window_rows GROUP BY client_id, mission
        ),
        series_points AS (
            SELECT w.client_id, w.mission, series_rows.indicator,
                   to_json(map_from_entries(list(struct_pack(k := w.month_text, v := {value_of})
                                                 ORDER BY w.month))) AS points
            FROM window_rows AS w
            JOIN (SELECT mission, unnest(indicators) AS indicator FROM {MISSIONS_TABLE} WHERE lookback > 0)
                 AS series_rows USING (mission)
            GROUP BY w.client_id, w.mission, series_rows.indicator
        ),
        series AS (
            SELECT client_id, mission,
                   to_json(map_from_entries(list(struct_pack(k := indicator, v := points) ORDER BY indicator)))
                   AS series
            FROM series_points GROUP BY client_id, mission
        ),
        files AS (
            SELECT client_id, mission, source_file, min(month) AS first_month,
                   list(month_text ORDER BY month) AS months,
                   CAST(coalesce(sum(source_line_count), 0) AS BIGINT) AS line_count
            FROM window_rows GROUP BY client_id, mission, source_file
        ),
        source_lines AS (
            SELECT f.client_id, f.mission,
                   to_json(list(json_object('file', f.source_file, 'months', f.months, 'line_count', f.line_count,
                                            'account_prefixes', ms.account_prefixes)
                                ORDER BY f.first_month)) AS source_lines
            FROM files AS f JOIN {MISSIONS_TABLE} AS ms USING (mission)
            GROUP BY f.client_id, f.mission
        ),
        sold AS (
            SELECT client_id, mission_code,
                   min(deal_id) FILTER (WHERE status IN {SOLD_STATUSES}) AS active_deal,
                   min(deal_id) FILTER (WHERE status IN {(*SOLD_STATUSES, 'done')}) AS any_deal
            FROM marts.fct_deals
            WHERE mission_code IS NOT NULL AND client_id IS NOT NULL
            GROUP BY client_id, mission_code
        ),
        judged AS (
            SELECT f.*, ms.rule_id, ms.kind,
                   {switch_sql('ms', 'c')} AS switch,
                   CASE WHEN ms.once_per_client THEN sold.any_deal ELSE sold.active_deal END AS deal
            FROM vigie_fired AS f
            JOIN {MISSIONS_TABLE} AS ms USING (mission)
            LEFT JOIN marts.dim_clients AS c USING (client_id)
            LEFT JOIN sold ON sold.client_id = f.client_id AND sold.mission_code = ms.mission_code
        )
        SELECT 'opp_' || left(sha256(j.client_id || chr(31) || j.rule_id), 16) AS opportunity_id,
               j.client_id, j.rule_id, j.kind, j.eval_month AS evaluated_month,
               CASE WHEN j.switch IS NOT NULL THEN 'switched_off'
                    WHEN j.deal IS NOT NULL THEN 'already_sold' ELSE 'proposed' END AS outcome,
               coalesce(j.switch, 'deal:' || j.deal) AS suppressed_by,
               j.trigger_text,
               json_object('rule_id', j.rule_id, 'evaluated_month', strftime(j.eval_month, '%Y-%m-%d'),
                           'reference_date', $reference_text, 'catalogue_version', $version,
                           'values', j.reported, 'months', coalesce(months.months, CAST([] AS VARCHAR[])),
                           'series', coalesce(series.series, '{{}}'::JSON),
                           'source_lines', coalesce(source_lines.source_lines, '[]'::JSON)) AS evidence,
               CAST($reference AS DATE) AS reference_date, j.mission
        FROM judged AS j
        LEFT JOIN months USING (client_id, mission)
        LEFT JOIN series USING (client_id, mission)
        LEFT JOIN source_lines USING (client_id, mission)
        ORDER BY j.client_id, j.mission
    """, {"reference": reference_date, "reference_text": reference_date.isoformat(), "version": catalogue_version})
