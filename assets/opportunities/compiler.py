"""Mission conditions compiled to one parameterised DuckDB query over `marts.fct_indicators_monthly`.

Each client is evaluated on the latest month its ledger covers (`k = 0`; `k = n` is n months earlier). Every
number, threshold name and window length from the catalogue travels as a query parameter; the only identifiers
written into the SQL are indicator columns taken from the vocabulary, so no catalogue text becomes SQL.
The query returns one row per client and fired mission: client_id, eval_month, mission (its index in the
catalogue) and `reported`, a JSON object of the values the mission reports (its sentence and evidence).
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


def compile_catalogue(catalogue: Catalogue, reference_date) -> Sql:
    builder = _Builder()
    outputs, fired_rows = [], []
    for index, mission in enumerate(catalogue.missions):
        outputs.append(Sql.of(f"coalesce({{}}, false) as fired__{index}", builder.condition(mission.condition)))
        values = reported_values(mission.condition).values()
        outputs.append(Sql.of(f"json_object({{}}) as reported__{index}", Sql.join(", ", [
            Sql.of("{}, {}", value.name, builder.reported_value(value)) for value in values])))
        fired_rows.append(Sql.of(f"select client_id, eval_month, {{}} as mission, reported__{index} as reported "
                                 f"from evaluated where fired__{index}", index))
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
    select client_id, eval_month, {{}}
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
