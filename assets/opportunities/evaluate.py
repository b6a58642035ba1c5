"""Evaluating the catalogue on the warehouse: which mission fires for which client, why, and whether it is shown.

A mission that fires is shown (`proposed`) unless it is switched off (for the firm, the client, the client's
collaborator or office) or already sold (a deal with its mission code planned or in progress, or done too for a
one-off mission). Each match carries its trigger sentence and the evidence an auditor needs: the values and
months that made it fire and the ledger file and lines behind each month.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import duckdb

from assets.opportunities.catalogue import Catalogue, Mission, condition_lookback, operands, reported_values
from assets.opportunities.compiler import INDICATORS_TABLE, compile_catalogue
from assets.opportunities.vocabulary import INDICATORS
from assets.opportunities.wording import unit_of, write_date, write_month, write_value

SOLD_STATUSES = ("planned", "in_progress")


@dataclass(frozen=True)
class Client:
    client_id: str
    siren: str | None
    name: str | None
    collaborator_id: str | None
    office_id: str | None


@dataclass(frozen=True)
class Match:
    client_id: str
    mission: Mission
    evaluated_month: date
    outcome: str  # proposed, switched_off, already_sold
    suppressed_by: str | None  # firm, client:<id>, collaborator:<id>, office:<id>, deal:<id>
    trigger_text: str
    evidence: dict


def switched_off_by(mission: Mission, client: Client | None) -> str | None:
    """Which switch hides this mission for this client, if any."""
    if mission.disabled:
        return "firm"
    if client is None:
        return None
    scopes = (("clients", "client", (client.client_id, client.siren)),
              ("collaborators", "collaborator", (client.collaborator_id,)),
              ("offices", "office", (client.office_id,)))
    for scope, label, ids in scopes:
        hit = next((i for i in ids if i is not None and i in mission.disabled_for.get(scope, ())), None)
        if hit is not None:
            return f"{label}:{hit}"
    return None


def load_clients(con: duckdb.DuckDBPyConnection) -> dict[str, Client]:
    rows = con.execute("select client_id, siren, name, collaborator_id, office_id from marts.dim_clients").fetchall()
    return {row[0]: Client(*row) for row in rows}


def evaluate_catalogue(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, reference_date: date,
                       language: str, catalogue_version: str | None = None) -> list[Match]:
    query = compile_catalogue(catalogue, reference_date)
    fired = con.execute(query.text, list(query.params)).fetchall()
    clients = load_clients(con)
    sold = _sold_missions(con)
    context = _EvidenceContext(con, catalogue, {row[0] for row in fired})
    matches = []
    for client_id, eval_month, index, reported in fired:
        mission = catalogue.missions[index]
        client = clients.get(client_id)
        values = json.loads(reported, parse_float=Decimal)
        switch = switched_off_by(mission, client)
        deal = _sold_deal(sold, client_id, mission)
        outcome, suppressed_by = ("switched_off", switch) if switch else (
            ("already_sold", f"deal:{deal}") if deal else ("proposed", None))
        words = context.words(mission, values, eval_month, reference_date, client, language)
        evidence = context.evidence(mission, client_id, eval_month, reference_date, values, catalogue_version)
        text = mission.text(mission.trigger_text, language).format(**words)
        matches.append(Match(client_id, mission, eval_month, outcome, suppressed_by, text, evidence))
    return matches


def _sold_missions(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(client, mission code) -> [(deal id, status)] of the deals not cancelled."""
    rows = con.execute("select client_id, mission_code, deal_id, status from marts.fct_deals "
                       "where mission_code is not null and client_id is not null").fetchall()
    sold = defaultdict(list)
    for client_id, code, deal_id, status in rows:
        sold[(client_id, code)].append((deal_id, status))
    return sold


def _sold_deal(sold: dict, client_id: str, mission: Mission) -> str | None:
    if not mission.mission_code:
        return None
    statuses = (*SOLD_STATUSES, "done") if mission.once_per_client else SOLD_STATUSES
    return next((deal for deal, status in sorted(sold.get((client_id, mission.mission_code), []))
                 if status in statuses), None)


class _EvidenceContext:
    """What evidence and sentences need beyond the fired values: monthly series, source files, account prefixes,
    threshold units. Read once per evaluation, for the clients that fired."""

    def __init__(self, con: duckdb.DuckDBPyConnection, catalogue: Catalogue, client_ids: set[str]):
        self.threshold_units = dict(con.execute(
            "select threshold_name, any_value(unit) from reference.thresholds group by threshold_name").fetchall())
        self.prefixes = dict(con.execute(
            "select component, list(distinct account_prefix order by account_prefix) from reference.account_mapping "
            "group by component").fetchall())
        self.shapes = {m.id: _MissionShape.of(m, self.threshold_units, self.prefixes) for m in catalogue.missions}
        self.columns = sorted({c for shape in self.shapes.values() for c in shape.indicators})
        self.months = self._months(con, self.columns, client_ids, catalogue.lookback)

    @staticmethod
    def _months(con, columns: list[str], client_ids: set[str], lookback: int) -> dict[str, list[tuple]]:
        con.execute("create or replace temp table fired_clients as select unnest(?::varchar[]) as client_id",
                    [sorted(client_ids)])
        selected = "".join(f", m.{c}" for c in columns)  # vocabulary identifiers only
        rows = con.execute(f"""
            with latest as (select client_id, max(month) as eval_month from {INDICATORS_TABLE} group by client_id)
            select m.client_id, m.month, m.source_file, m.source_line_count{selected}
            from {INDICATORS_TABLE} as m
            inner join latest using (client_id)
            inner join fired_clients using (client_id)
            where datediff('month', m.month, latest.eval_month) <= ?
            order by m.client_id, m.month""", [lookback]).fetchall()
        by_client = defaultdict(list)
        for client_id, month, *rest in rows:
            by_client[client_id].append((month, month.isoformat(), *rest))
        return by_client

    def words(self, mission: Mission, values: dict, eval_month: date, reference_date: date,
              client: Client | None, language: str) -> dict[str, str]:
        units = self.shapes[mission.id].units
        words = {name: write_value(values.get(name), unit, language) for name, unit in units.items()}
        age = (reference_date.year - eval_month.year) * 12 + reference_date.month - eval_month.month
        words.update(month=write_month(eval_month, language), reference_date=write_date(reference_date, language),
                     client_name=(client.name if client and client.name else ""),
                     ledger_age_months=write_value(age, "months", language))
        return words

    def evidence(self, mission: Mission, client_id: str, eval_month: date, reference_date: date, values: dict,
                 catalogue_version: str | None) -> dict:
        shape = self.shapes[mission.id]
        window = [m for m in self.months.get(client_id, []) if _months_between(m[0], eval_month) <= shape.lookback]
        positions = {c: 4 + i for i, c in enumerate(self.columns)}  # after month, its ISO text, file, line count
        return {
            "rule_id": mission.id,
            "evaluated_month": eval_month.isoformat(),
            "reference_date": reference_date.isoformat(),
            "catalogue_version": catalogue_version,
            "values": {name: _json_number(value) for name, value in values.items()},
            "months": [m[1] for m in window],
            "series": {c: {m[1]: _json_number(m[positions[c]]) for m in window}
                       for c in shape.indicators} if shape.lookback else {},
            "source_lines": _source_lines(window, shape.accounts),
        }


@dataclass(frozen=True)
class _MissionShape:
    """What every match of one mission shares: units of its values, its window, indicators and accounts."""

    units: dict
    lookback: int
    indicators: list
    accounts: list

    @classmethod
    def of(cls, mission: Mission, threshold_units: dict, prefixes: dict) -> _MissionShape:
        indicators = sorted({o.indicator for o in operands(mission.condition)
                             if o.indicator and INDICATORS[o.indicator].per_month})
        accounts = sorted({p for i in indicators for c in INDICATORS[i].components for p in prefixes.get(c, [])})
        units = {name: unit_of(r, threshold_units) for name, r in reported_values(mission.condition).items()}
        return cls(units, condition_lookback(mission.condition), indicators, accounts)


def _source_lines(window: list[tuple], accounts: list[str]) -> list[dict]:
    """The ledger lines behind the months: per FEC file, its months and line count, and the account prefixes the
    indicators read (staging.stg_accounting__fec_lines has each line with its file and line number)."""
    files: dict[str, dict] = {}
    for _, month_text, source_file, line_count, *_ in window:
        entry = files.setdefault(source_file, {"file": source_file, "months": [], "line_count": 0,
                                               "account_prefixes": accounts})
        entry["months"].append(month_text)
        entry["line_count"] += int(line_count or 0)
    return list(files.values())


def _months_between(month: date, later: date) -> int:
    return (later.year - month.year) * 12 + later.month - month.month


def _json_number(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
