"""`vigie explain`: any published ledger figure, and any proposed mission, down to the FEC lines it sums.

A figure of fct_indicators_monthly is read from the one FEC file version its client-month is attributed to
(int_fec__client_months). Each indicator is a sum of components (seed account_mapping; the rules vocabulary says
which, and which are subtracted, as int_fec__file_indicators_monthly computes value added and EBITDA), and each
component is a sum over the file's lines of the accounts mapped to it:
- a flow: the month's lines, opening entries excluded, each counted by the account's rule (net, debit only,
  credit only) and sign;
- a balance: every line from the file's first one to the month's end, openings included; an account counts when
  its balance has the sign its rule keeps (a debit-only account with a credit balance adds nothing), and then
  all its lines count.
So the lines listed, read from the landing file, add up to the published figure to the cent
(tests/e2e/test_audit_trail.py checks it on figures picked at random). Everything is read from the warehouse, read-only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from assets.opportunities.vocabulary import INDICATORS
from assets.warehouse import fetch_dicts

LINES_VIEW = "staging.stg_accounting__fec_lines"


class ExplainError(ValueError):
    """What cannot be explained, in one line (unknown id, no such figure)."""


@dataclass(frozen=True)
class Figure:
    client_id: str
    month: date
    indicator: str


def mapped_components(con) -> set[str]:
    """The components of the account mapping (seed account_mapping), each explainable on its own."""
    return {c for (c,) in con.execute("SELECT DISTINCT component FROM reference.account_mapping").fetchall()}


def explainable(con) -> set[str]:
    """Every name `explain` takes: the rules vocabulary's sums of ledger lines and the mapping's components."""
    return {name for name, spec in INDICATORS.items() if spec.sum_of_lines} | mapped_components(con)


def indicator_components(con, indicator: str) -> dict[str, int]:
    """The components an indicator adds up, with their factor (assets/opportunities/vocabulary.py); ExplainError
    for a figure that is not a sum of ledger lines, or a name that is not one."""
    spec = INDICATORS.get(indicator)
    if spec and spec.sum_of_lines:
        return {component: -1 if component in spec.minus else 1 for component in spec.components}
    if spec:
        raise ExplainError(f"{indicator} is not a sum of ledger lines; explain its parts: "
                           f"{', '.join(spec.components) or 'none, it is not read from the ledger'}")
    if indicator in mapped_components(con):
        return {indicator: 1}
    raise ExplainError(f"unknown indicator {indicator!r}; one of: {', '.join(sorted(explainable(con)))}")


def explain_indicator(con, figure: Figure) -> dict:
    """The published value of one figure and the ledger lines that make it, as a JSON-ready dict."""
    components = indicator_components(con, figure.indicator)
    published = _published_value(con, figure)
    attributed = con.execute(
        "SELECT m.file_sha256, f.file_path FROM intermediate.int_fec__client_months AS m"
        " JOIN staging.stg_ingest__files AS f ON f.sha256 = m.file_sha256 AND f.status = 'loaded'"
        " WHERE m.client_id = ? AND m.month = ?", [figure.client_id, figure.month]).fetchone()
    if attributed is None:
        raise ExplainError(f"client {figure.client_id} has no ledger for {figure.month:%Y-%m}")
    sha, file_path = attributed
    accounts = _contributing_accounts(con, sha, figure.month, components)
    total = sum((a["amount"] for a in accounts), Decimal("0"))
    lines = sorted({n for a in accounts for n in a["lines"]})
    return {
        "client_id": figure.client_id,
        "month": figure.month.isoformat(),
        "indicator": figure.indicator,
        "value": _number(published),
        "lines_total": _number(total),
        "components": components,
        "accounts": [{**{k: v for k, v in a.items() if k != "lines"}, "amount": _number(a["amount"]),
                      "line_ranges": line_ranges(sorted(a["lines"]))} for a in accounts],
        "sources": [{"file": file_path, "sha256": sha, "line_ranges": line_ranges(lines)}] if lines else [],
    }


def _published_value(con, figure: Figure):
    columns = {c for (c,) in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'marts'"
        " AND table_name = 'fct_indicators_monthly'").fetchall()}
    column = figure.indicator if figure.indicator in columns else None
    if column is None:
        return None  # a component the marts do not publish on its own: the lines' total is the figure
    row = con.execute(f'SELECT "{column}" FROM marts.fct_indicators_monthly WHERE client_id = ? AND month = ?',
                      [figure.client_id, figure.month]).fetchone()
    if row is None:
        raise ExplainError(f"no published figure for client {figure.client_id} in {figure.month:%Y-%m}")
    return row[0]


# One query per figure: the accounts of the components, their lines in scope, and what each account adds.
_ACCOUNTS_SQL = f"""
WITH wanted AS (
    SELECT unnest($components::VARCHAR[]) AS component, unnest($factors::INTEGER[]) AS factor
), accounts AS (
    SELECT c.account_number, c.component, c.measure, c.sign, c.amount_rule, w.factor
    FROM intermediate.int_fec__account_components AS c JOIN wanted AS w USING (component)
), in_scope AS (
    SELECT a.*, l._line_number AS line_number, l.debit, l.credit
    FROM {LINES_VIEW} AS l JOIN accounts AS a USING (account_number)
    WHERE l._file_sha256 = $sha AND CASE a.measure
        WHEN 'flow' THEN NOT l.is_opening AND date_trunc('month', l.entry_date) = $month
        ELSE l.is_opening OR date_trunc('month', l.entry_date) <= $month END
), per_account AS (
    SELECT account_number, component, any_value(measure) AS measure, any_value(sign) AS sign,
        any_value(amount_rule) AS amount_rule, any_value(factor) AS factor,
        sum(debit - credit) AS net, sum(debit) AS debit, sum(credit) AS credit,
        -- a flow counted on one side only: the lines with nothing on that side add nothing
        list(line_number ORDER BY line_number) FILTER (WHERE NOT (measure = 'flow' AND (
            (amount_rule = 'debit_only' AND debit = 0) OR (amount_rule = 'credit_only' AND credit = 0)))) AS lines
    FROM in_scope GROUP BY account_number, component
)
SELECT account_number AS account, component, measure, sign, amount_rule AS rule, factor,
    factor * sign * CASE
        WHEN measure = 'flow' AND amount_rule = 'debit_only' THEN debit
        WHEN measure = 'flow' AND amount_rule = 'credit_only' THEN -credit
        WHEN amount_rule = 'debit_only' THEN greatest(net, 0)
        WHEN amount_rule = 'credit_only' THEN least(net, 0)
        ELSE net END AS amount,
    -- a balance account whose balance its rule leaves out adds nothing: its lines are not part of the figure
    CASE WHEN measure = 'balance' AND ((amount_rule = 'debit_only' AND net <= 0)
        OR (amount_rule = 'credit_only' AND net >= 0)) THEN []::BIGINT[]
        ELSE coalesce(lines, []::BIGINT[]) END AS lines
FROM per_account
WHERE sign <> 0
ORDER BY component, account_number
"""


def _contributing_accounts(con, sha: str, month: date, components: dict[str, int]) -> list[dict]:
    rows = fetch_dicts(con, _ACCOUNTS_SQL, {"components": list(components), "factors": list(components.values()),
                                           "sha": sha, "month": month})
    return [row for row in rows if row["lines"] or row["amount"]]


def line_ranges(numbers: list[int]) -> list[list[int]]:
    """[2, 3, 4, 9] -> [[2, 4], [9, 9]]: physical line numbers, header = line 1."""
    ranges: list[list[int]] = []
    for number in numbers:
        if ranges and number <= ranges[-1][1] + 1:
            ranges[-1][1] = max(ranges[-1][1], number)
        else:
            ranges.append([number, number])
    return ranges


def _number(value) -> str | None:
    return None if value is None else f"{Decimal(value):.2f}"


def evidence_of(con, opportunity_id: str) -> dict:
    row = con.execute("SELECT client_id, rule_id, mission_title, trigger_text, status, evidence"
                      " FROM marts.fct_opportunities WHERE opportunity_id = ?", [opportunity_id]).fetchone()
    if row is None:
        raise ExplainError(f"unknown opportunity id {opportunity_id!r} (see fct_opportunities.opportunity_id)")
    client_id, rule_id, title, trigger, status, evidence = row
    return {"opportunity_id": opportunity_id, "client_id": client_id, "rule_id": rule_id, "mission_title": title,
            "trigger_text": trigger, "status": status, "evidence": json.loads(evidence)}


# ---- an opportunity: the rule, the values that fired it, and each figure's lines ----


def explain_opportunity(con, opportunity_id: str, missions_file, run: dict) -> dict:
    """The rule as the catalogue states it, the values and months that fired it, and the ledger lines of each
    ledger figure among them."""
    found = evidence_of(con, opportunity_id)
    evidence = found["evidence"]
    names = explainable(con)
    figures = [explain_indicator(con, Figure(found["client_id"], date.fromisoformat(month), name))
               for name in sorted(evidence.get("values", {})) if name in names
               for month in evidence.get("months", [])]
    return {**found, "rule": rule_as_written(missions_file, found["rule_id"]),
            "catalogue_version": evidence.get("catalogue_version"), "reference_date": evidence.get("reference_date"),
            "figures": figures, "run": run}


def rule_as_written(missions_file, rule_id: str) -> dict:
    """The mission's entry of config/missions.yml (its condition as the firm wrote it), or {} when it is gone."""
    import yaml

    catalogue = yaml.safe_load(missions_file.read_text(encoding="utf-8")) or {}
    return next((m for m in catalogue.get("missions", []) if isinstance(m, dict) and m.get("id") == rule_id), {})


_WORDS = {
    "fr": {"figure": "Indicateur {indicator}, client {client_id}, {month} : {value}",
           "file": "  fichier {file} (version {sha})", "account": "  compte {account} ({component}, {measure}, {rule},"
           " signe {sign}) : {amount} - lignes {lines}", "total": "  total des lignes : {total}",
           "opportunity": "Opportunité {opportunity_id} - client {client_id} - règle {rule_id} (catalogue {version})",
           "mission": "Mission : {mission_title} (statut {status})", "trigger": "Déclencheur : {trigger_text}",
           "condition": "Condition (config/missions.yml) :", "values": "Valeurs et seuils (mois : {months}) :",
           "run": "Run {run_id}, code {code}, date de référence {reference_date}", "none": "aucune ligne",
           "more": "... ({count} lignes en tout ; --json les donne toutes)"},
    "en": {"figure": "Indicator {indicator}, client {client_id}, {month}: {value}",
           "file": "  file {file} (version {sha})", "account": "  account {account} ({component}, {measure}, {rule},"
           " sign {sign}): {amount} - lines {lines}", "total": "  lines total: {total}",
           "opportunity": "Opportunity {opportunity_id} - client {client_id} - rule {rule_id} (catalogue {version})",
           "mission": "Mission: {mission_title} (status {status})", "trigger": "Trigger: {trigger_text}",
           "condition": "Condition (config/missions.yml):", "values": "Values and thresholds (months: {months}):",
           "run": "Run {run_id}, code {code}, reference date {reference_date}", "none": "no line",
           "more": "... ({count} lines in all; --json lists them all)"},
}


def render_figure(figure: dict, language: str) -> list[str]:
    words = _WORDS[language]
    value = figure["value"] if figure["value"] is not None else figure["lines_total"]
    out = [words["figure"].format(indicator=figure["indicator"], client_id=figure["client_id"],
                                  month=figure["month"][:7], value=euros(value, language))]
    for source in figure["sources"]:
        out.append(words["file"].format(file=source["file"], sha=source["sha256"]))
    for account in figure["accounts"]:
        # the sign shown is the one the line's debit - credit takes in this figure (mapping sign x factor)
        out.append(words["account"].format(**{**account, "sign": account["sign"] * account["factor"],
                                              "amount": euros(account["amount"], language),
                                              "lines": _ranges_text(account["line_ranges"], language)}))
    out.append(words["total"].format(total=euros(figure["lines_total"], language)))
    return out


def euros(amount: str, language: str) -> str:
    """'-1234.5' -> '-1 234,50 €' (fr) or '-€1,234.50' (en)."""
    value = Decimal(amount)
    if language == "fr":
        return f"{value:,.2f} €".replace(",", "\u202f").replace(".", ",")
    return f"{'-' if value < 0 else ''}€{abs(value):,.2f}"


def render_opportunity(found: dict, language: str) -> list[str]:
    import yaml

    words = _WORDS[language]
    evidence = found["evidence"]
    out = [words["opportunity"].format(version=(found["catalogue_version"] or "")[:12], **found),
           words["mission"].format(**found), words["trigger"].format(**found), words["condition"]]
    out += ["  " + line for line in yaml.safe_dump({"when": found["rule"].get("when")}, allow_unicode=True,
                                                    sort_keys=False).splitlines()]
    out.append(words["values"].format(months=", ".join(m[:7] for m in evidence.get("months", []))))
    out += [f"  {name} = {value}" for name, value in sorted(evidence.get("values", {}).items())]
    out.append(render_run(found["run"], language, found.get("reference_date")))
    for figure in found["figures"]:
        out += ["", *render_figure(figure, language)]
    return out


def render_run(run: dict, language: str, reference_date: str | None = None) -> str:
    code = run.get("code_version") or {}
    return _WORDS[language]["run"].format(run_id=run.get("run_id"), code=code.get("git_commit") or code.get("vigie"),
                                          reference_date=reference_date or run.get("reference_date"))


SHOWN_RANGES = 20  # in text; --json lists them all


def _ranges_text(ranges: list[list[int]], language: str) -> str:
    if not ranges:
        return _WORDS[language]["none"]
    shown = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges[:SHOWN_RANGES])
    if len(ranges) <= SHOWN_RANGES:
        return shown
    count = sum(b - a + 1 for a, b in ranges)
    return shown + _WORDS[language]["more"].format(count=count)
