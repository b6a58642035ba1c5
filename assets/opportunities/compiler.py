"""Mission conditions compiled to one parameterised DuckDB query over `marts.fct_indicators_monthly`.

Each client is evaluated on the latest month its ledger covers (`k = 0`; `k = n` is n months earlier). Every
number, threshold name and window length from the catalogue travels as a query parameter; the only identifiers
written into the SQL are indicator columns taken from the vocabulary, so no catalogue text becomes SQL.
The query returns one row per client and fired mission: client_id, eval_month, mission (its index in the
catalogue), `reported`, a JSON object of the values the mission reports (its evidence), and `trigger_text`, the
mission's sentence written with those values by the macros of wording.py (create them on the connection first).
"""

from __future__ import annotations

from dataclasses import dataclass

from assets.opportunities.catalogue import (
    Catalogue,
    Combine,
    Compare,
    Deadline,
    MonthsWhere,
    Operand,
    Reported,
    reported_values,
)
from assets.opportunities.vocabulary import INDICATORS, OPERATORS
from assets.opportunities.wording import template_parts, unit_of

INDICATORS_TABLE = "marts.fct_indicators_monthly"
THRESHOLDS_TABLE = "reference.thresholds"


@dataclass(frozen=True)
class Sql:
    """A piece of SQL text with its `?` parameters, in the order they appear."""

    text: str
    params: tuple = ()

    @classmethod
    def of(cls, template: str, *parts) -> Sql:
        """`template` with each `{}` replaced by a part: an Sql piece, or a value that becomes a parameter."""
        pieces = [p if isinstance(p, Sql) else Sql("?", (p,)) for p in parts]
        return cls(template.format(*(p.text for p in pieces)), tuple(x for p in pieces for x in p.params))

    @classmethod
    def join(cls, separator: str, pieces) -> Sql:
        pieces = list(pieces)
        return cls(separator.join(p.text for p in pieces), tuple(x for p in pieces for x in p.params))


def compile_catalogue(catalogue: Catalogue, reference_date, language: str = "fr") -> Sql:
    builder = _Builder()
    outputs, fired_rows = [], []
    for index, mission in enumerate(catalogue.missions):
        outputs.append(Sql.of(f"coalesce({{}}, false) as fired__{index}", builder.condition(mission.condition)))
        values = list(reported_values(mission.condition).values())
        outputs += [Sql.of(f"{{}} as value__{index}_{j}", builder.reported_value(value))
                    for j, value in enumerate(values)]
        fired_rows.append(_fired_row(index, mission, values, language))
    lookback = catalogue.lookback
    query = Sql.of(
        f"""
with latest as (
    select client_id, max(month) as eval_month, last_day(max(month)) as eval_day
    from {INDICATORS_TABLE}
    group by client_id
),
threshold_values as (
    -- each threshold in force on the last day of an evaluated month, one column per threshold
    select evaluated.eval_day{{}}
    from (select distinct eval_day from latest) as evaluated
    left join {THRESHOLDS_TABLE} as thresholds
        on thresholds.valid_from <= evaluated.eval_day
        and coalesce(thresholds.valid_to, evaluated.eval_day) >= evaluated.eval_day
    group by evaluated.eval_day
),
obligation_dates as (
    select count(*) as threshold_rows{{}} from {THRESHOLDS_TABLE}
),
months as (
    select
        indicators.*,
        latest.eval_month,
        latest.eval_day,
        threshold_values.*exclude (eval_day),
        obligation_dates.*,
        datediff('month', indicators.month, latest.eval_month) as k,
        year(indicators.month) * 12 + month(indicators.month) as month_index,
        reference.reference_date,
        datediff('month', latest.eval_month, date_trunc('month', reference.reference_date)) as ledger_age_months
    from {INDICATORS_TABLE} as indicators
    inner join latest using (client_id)
    inner join threshold_values on threshold_values.eval_day = latest.eval_day
    cross join obligation_dates
    cross join (select cast({{}} as date) as reference_date) as reference
    where datediff('month', indicators.month, latest.eval_month) <= {{}}
),
lagged as (
    select *{{}} from months window by_month as (partition by client_id order by month)
),
flags as (
    select *{{}} from lagged
),
evaluated as (
    select client_id, eval_month, reference_date, {{}}
    from flags
    group by client_id, eval_month, eval_day, reference_date
)
{{}}
order by client_id, mission
""",
        builder.threshold_columns(), builder.obligation_columns(), reference_date, lookback,
        builder.lag_columns(), builder.flag_columns(), Sql.join(",\n    ", outputs),
        Sql.join("\nunion all\n", fired_rows))
    return query


def _fired_row(index: int, mission, values: list[Reported], language: str) -> Sql:
    """The rows of one fired mission: its reported values as JSON and its trigger sentence in `language`."""
    columns = {value.name: f"value__{index}_{j}" for j, value in enumerate(values)}
    reported = Sql.join(", ", [Sql.of(f"{{}}, {columns[value.name]}", value.name) for value in values])
    words = {value.name: Sql.of(f"vigie_write_value(cast({columns[value.name]} as varchar), {{}}, {{}})",
                                unit_sql(value), language) for value in values}
    words |= {
        "month": Sql.of("vigie_write_month(eval_month, {})", language),
        "reference_date": Sql.of("vigie_write_date(reference_date, {})", language),
        "ledger_age_months": Sql.of("vigie_write_value(cast(datediff('month', eval_month, reference_date) "
                                    "as varchar), 'months', {})", language),
        "client_name": Sql("coalesce((select any_value(d.name) from marts.dim_clients as d "
                           "where d.client_id = evaluated.client_id), '')"),
    }
    pieces = [piece for literal, name in template_parts(mission.text(mission.trigger_text, language))
              for piece in ([Sql.of("{}", literal)] if literal else []) + ([words[name]] if name else [])]
    sentence = Sql.of("concat({})", Sql.join(", ", pieces)) if pieces else Sql("''")
    return Sql.of(f"select client_id, eval_month, {{}} as mission, json_object({{}}) as reported, "
                  f"{{}} as trigger_text from evaluated where fired__{index}", index, reported, sentence)


def unit_sql(value: Reported) -> Sql:
    """The unit a value is written in; a threshold's comes from the `thresholds` seed (number when it has none)."""
    unit = unit_of(value)
    if unit is not None:
        return Sql.of("{}", unit)
    name = value.node if value.kind == "threshold" else value.node.threshold
    return Sql.of(f"coalesce((select any_value(unit) from {THRESHOLDS_TABLE} where threshold_name = {{}}), "
                  "'number')", name)


class _Builder:
    """Collects the helper columns (lags, month-by-month flags) the mission expressions refer to."""

    def __init__(self):
        self.lags: dict[tuple[str, int], str] = {}
        self.flags: list[Sql] = []
        self.flag_of: dict[MonthsWhere, str] = {}  # a count reported beside its condition reuses its flag column
        self.thresholds: dict[str, str] = {}  # threshold name -> column of threshold_values
        self.obligations: dict[str, str] = {}  # obligation name -> column of obligation_dates

    # ---- helper columns

    def lag_columns(self) -> Sql:
        columns = [Sql.of(f", case when lag(month_index, {{}}) over by_month = month_index - {{}} "
                          f"then lag({indicator}, {{}}) over by_month end as {name}", months, months, months)
                   for (indicator, months), name in self.lags.items()]
        return Sql.join("", columns)

    def flag_columns(self) -> Sql:
        return Sql.join("", [Sql.of(f", {{}} as flag__{i}", flag) for i, flag in enumerate(self.flags)])

    def threshold_columns(self) -> Sql:
        return Sql.join("", [Sql.of(f", max(thresholds.value) filter (where thresholds.threshold_name = {{}}) "
                                    f"as {column}", name) for name, column in self.thresholds.items()])

    def obligation_columns(self) -> Sql:
        return Sql.join("", [Sql.of(f", max(valid_from) filter (where threshold_name = {{}}) as {column}", name)
                             for name, column in self.obligations.items()])

    def lag(self, indicator: str, months: int) -> str:
        return self.lags.setdefault((indicator, months), f"lag__{len(self.lags)}")

    # ---- conditions

    def condition(self, node, per_month: bool = False) -> Sql:
        if isinstance(node, Compare):
            left, right = self.operand(node.left, per_month), self.operand(node.right, per_month)
            return Sql.of(f"({{}} {OPERATORS[node.op]} {{}})", left, right)
        if isinstance(node, Combine):
            items = [self.condition(item, per_month) for item in node.items]
            if node.mode == "at_least":
                counted = Sql.join(" + ", [Sql.of("coalesce(cast({} as integer), 0)", i) for i in items])
                return Sql.of("(({}) >= {})", counted, node.at_least)
            return Sql.of("({})", Sql.join(f" {'and' if node.mode == 'all' else 'or'} ", items))
        if isinstance(node, MonthsWhere):
            return Sql.of("({} >= {})", self.months_matching(node), node.at_least)
        if isinstance(node, Deadline):
            deadline = self.obligation_date(node.threshold, per_month)
            return Sql.of("(reference_date between {} - to_months(cast({} as integer)) "
                          "and {} + to_months(cast({} as integer)))",
                          deadline, node.months_before, deadline, node.months_after)
        raise TypeError(f"not a condition: {node!r}")

    def months_matching(self, node: MonthsWhere) -> Sql:
        """How many of the last N months meet the month-by-month condition (a month without data never does)."""
        if node not in self.flag_of:
            self.flags.append(self.condition(node.where, per_month=True))
            self.flag_of[node] = f"flag__{len(self.flags) - 1}"
        flag = self.flag_of[node]
        return Sql.of(f"count(*) filter (where k < {{}} and {flag})", node.months)

    # ---- operands

    def operand(self, operand: Operand, per_month: bool) -> Sql:
        value = self.raw_operand(operand, per_month)
        if operand.absolute:
            value = Sql.of("abs({})", value)
        if operand.times != 1:
            value = Sql.of("({} * {})", value, operand.times)
        return value

    def raw_operand(self, operand: Operand, per_month: bool) -> Sql:
        if operand.number is not None:
            return Sql.of("{}", operand.number)
        if operand.threshold:
            return self.threshold_value(operand.threshold, per_month)
        column = operand.indicator  # a vocabulary key: the column of the same name
        if not INDICATORS[column].per_month:
            return Sql(column) if per_month else Sql(f"max({column})")
        if per_month:
            if not operand.change:
                return Sql(column)
            return self.change(Sql(column), Sql(self.lag(column, operand.months)), operand.change)
        if operand.aggregation:
            return Sql.of(f"case when count({column}) filter (where k < {{}}) = {{}} "
                          f"then {operand.aggregation}({column}) filter (where k < {{}}) end",
                          operand.months, operand.months, operand.months)
        now = Sql(f"max({column}) filter (where k = 0)")
        if operand.change:
            before = Sql.of(f"max({column}) filter (where k = {{}})", operand.months)
            return self.change(now, before, operand.change)
        return now

    @staticmethod
    def change(now: Sql, before: Sql, kind: str) -> Sql:
        if kind == "abs":
            return Sql.of("({} - {})", now, before)
        return Sql.of("(({} - {}) / nullif(abs({}), 0))", now, before, before)

    def threshold_value(self, name: str, per_month: bool) -> Sql:
        """The threshold in force on the last day of the evaluated month."""
        column = self.thresholds.setdefault(name, f"threshold__{len(self.thresholds)}")
        return Sql(column if per_month else f"any_value({column})")

    def obligation_date(self, name: str, per_month: bool) -> Sql:
        column = self.obligations.setdefault(name, f"obligation__{len(self.obligations)}")
        return Sql(column if per_month else f"any_value({column})")

    # ---- what a fired mission reports

    def reported_value(self, reported: Reported) -> Sql:
        if reported.kind == "indicator":
            return self.raw_operand(Operand(0, indicator=reported.node), per_month=False)
        if reported.kind == "threshold":
            return self.threshold_value(reported.node, per_month=False)
        if reported.kind == "operand":
            return self.operand(reported.node, per_month=False)
        if reported.kind == "months":
            return self.months_matching(reported.node)
        return self.obligation_date(reported.node.threshold, per_month=False)
