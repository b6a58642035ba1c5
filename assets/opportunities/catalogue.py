"""The firm's mission catalogue (`config/missions.yml`, domain.md §3): read, validated, turned into conditions.

Everything is checked before anything is evaluated: an unknown indicator, operator or threshold, a template field
that no condition produces, or broken YAML is refused with one line naming the file, the line and the reason.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path

from assets.opportunities.vocabulary import (
    AGGREGATIONS,
    CHANGES,
    DIRECTIONS,
    INDICATORS,
    KINDS,
    MAX_MONTHS,
    OPERATORS,
    known,
)
from assets.opportunities.yaml_lines import LineList, LineMap, YamlError, load_with_lines, read_yaml_text

LANGUAGES = ("fr", "en")
MAX_PRICE = Decimal(10_000_000)  # euros: far above any mission, far below DECIMAL(18,2)
MAX_NUMBER = Decimal(10) ** 15  # a literal in a condition, compared with DECIMAL(18,2) indicators
MAX_TIMES = Decimal(1000)
BUILTIN_FIELDS = ("month", "client_name", "reference_date", "ledger_age_months")


class CatalogueError(ValueError):
    """The catalogue cannot be used; the message names the file, the line and the reason."""


@dataclass(frozen=True)
class Operand:
    """A number a condition compares: an indicator (its value, an aggregate or a change), a threshold or a literal."""

    line: int
    indicator: str | None = None
    threshold: str | None = None
    number: Decimal | None = None
    aggregation: str | None = None
    change: str | None = None
    months: int = 1
    times: Decimal = Decimal(1)
    absolute: bool = False
    alias: str | None = None

    @property
    def name(self) -> str | None:
        """The name a trigger sentence and the evidence use for this value; a scaled value needs an alias."""
        if self.alias:
            return self.alias
        if self.times != 1 or self.absolute:
            return None
        if self.threshold or not (self.aggregation or self.change):
            return self.threshold or self.indicator
        if self.aggregation:
            return f"{self.indicator}_{self.aggregation}_{self.months}m"
        return f"{self.indicator}_change{'_pct' if self.change == 'pct' else ''}_{self.months}m"

    @property
    def lookback(self) -> int:
        """Months before the evaluated one this operand reads."""
        return self.months - 1 if self.aggregation else (self.months if self.change else 0)


@dataclass(frozen=True)
class Compare:
    line: int
    left: Operand
    op: str
    right: Operand


@dataclass(frozen=True)
class MonthsWhere:
    """`count` (at least K of the last N months) and `consecutive` / `trend` (all of the last N months)."""

    line: int
    where: object  # a per-month condition: Compare or Combine of Compares
    months: int
    at_least: int
    alias: str | None = None  # names the number of months that matched
    reported: tuple = ()  # operands worth showing beside it (a trend shows its change over the window)


@dataclass(frozen=True)
class Combine:
    line: int
    mode: str  # all, any, at_least
    items: tuple
    at_least: int = 1


@dataclass(frozen=True)
class Deadline:
    """The reference date is within `months_before` months before a dated obligation, or `months_after` after."""

    line: int
    threshold: str
    months_before: int
    months_after: int
    alias: str | None = None


@dataclass(frozen=True)
class Mission:
    id: str
    line: int
    kind: str
    title: dict
    trigger_text: dict
    condition: object
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    mission_code: str | None = None
    sheet_url: str | None = None
    once_per_client: bool = False
    disabled: bool = False
    disabled_for: dict = field(default_factory=dict)  # clients / collaborators / offices -> frozenset of ids

    def text(self, texts: dict, language: str) -> str:
        return texts.get(language) or next(iter(texts.values()))


@dataclass(frozen=True)
class Catalogue:
    path: Path
    missions: tuple[Mission, ...]

    @property
    def lookback(self) -> int:
        return max((condition_lookback(m.condition) for m in self.missions), default=0)


def _spaced(number: Decimal) -> str:
    """10000000 as 10 000 000, the French way."""
    return f"{number:,.0f}".replace(",", " ")


def starter_catalogue_text() -> str:
    return resources.files("assets.opportunities").joinpath("starter_missions.yml").read_text(encoding="utf-8")


def ensure_catalogue_file(path: Path) -> bool:
    """Write the starter catalogue when the firm has none yet; True when it was created."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(starter_catalogue_text(), encoding="utf-8")
    return True


def load_catalogue(path: Path, known_thresholds: set[str]) -> Catalogue:
    try:
        document = load_with_lines(path, read_yaml_text(path))
    except YamlError as error:
        raise CatalogueError(str(error)) from None
    return _Parser(path, known_thresholds).catalogue(document)


def condition_lookback(condition) -> int:
    """Months before the evaluated month that a condition reads (the evidence window)."""
    if isinstance(condition, Compare):
        return max(condition.left.lookback, condition.right.lookback)
    if isinstance(condition, MonthsWhere):
        return condition.months - 1 + condition_lookback(condition.where)
    if isinstance(condition, Combine):
        return max(condition_lookback(item) for item in condition.items)
    return 0


def operands(condition) -> list[Operand]:
    """Every operand of a condition, in reading order."""
    if isinstance(condition, Compare):
        return [condition.left, condition.right]
    if isinstance(condition, MonthsWhere):
        return [*operands(condition.where), *condition.reported]
    if isinstance(condition, Combine):
        return [o for item in condition.items for o in operands(item)]
    return []


@dataclass(frozen=True)
class Reported:
    """A value a fired mission shows in its sentence and evidence."""

    name: str
    kind: str  # indicator (its plain value), threshold (its plain value), operand, months (matched), deadline
    node: object


def reported_values(condition) -> dict[str, Reported]:
    """Every value a mission reports, by name: the plain value of each indicator and threshold it reads, each
    named operand, and the aliases of counts and deadlines. The first use of a name wins."""
    reported: dict[str, Reported] = {}
    for operand in operands(condition):
        if operand.indicator:
            reported.setdefault(operand.indicator, Reported(operand.indicator, "indicator", operand.indicator))
        if operand.threshold:
            reported.setdefault(operand.threshold, Reported(operand.threshold, "threshold", operand.threshold))
        if operand.name:
            reported.setdefault(operand.name, Reported(operand.name, "operand", operand))
    for node in walk(condition):
        if isinstance(node, MonthsWhere) and node.alias:
            reported.setdefault(node.alias, Reported(node.alias, "months", node))
        if isinstance(node, Deadline) and node.alias:
            reported.setdefault(node.alias, Reported(node.alias, "deadline", node))
    return reported


def value_names(condition) -> set[str]:
    return set(reported_values(condition))


def walk(condition):
    """Every node of a condition tree."""
    stack = [condition]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(getattr(node, "items", ()))
        if isinstance(node, MonthsWhere):
            stack.append(node.where)


class _Parser:
    """Turns the YAML tree into missions; every error carries the line of the offending value."""

    def __init__(self, path: Path, known_thresholds: set[str]):
        self.path = path
        self.known_thresholds = known_thresholds

    def fail(self, line: int, where: str, reason: str):
        raise CatalogueError(f"{self.path}, line {line}: {where}: {reason}")

    def catalogue(self, document) -> Catalogue:
        if not isinstance(document, LineMap) or not isinstance(document.get("missions"), LineList):
            self.fail(getattr(document, "line", 1), "catalogue", "expected a mapping with a list under `missions:`")
        self.unknown_keys(document, {"missions", "version"}, "catalogue")
        version = document.get("version")
        if version is not None and (isinstance(version, bool) or not isinstance(version, str | int)):
            self.fail(document.line_of("version"), "catalogue",
                      f"`version` must be a number or a text, got {version!r}")
        missions, seen = [], set()
        for item, line in zip(document["missions"], document["missions"].item_lines, strict=True):
            mission = self.mission(item, line)
            if mission.id in seen:
                self.fail(line, f"mission {mission.id}", "the same id is used twice")
            seen.add(mission.id)
            missions.append(mission)
        return Catalogue(self.path, tuple(missions))

    def mission(self, item, line: int) -> Mission:
        if not isinstance(item, LineMap):
            self.fail(line, "missions", "each mission is a mapping (id, kind, title, when, trigger_text...)")
        mission_id = item.get("id")
        if not isinstance(mission_id, str) or not mission_id.replace("_", "").isalnum():
            self.fail(item.line_of("id"), "mission", f"id must be a word of letters, digits and _, got {mission_id!r}")
        where = f"mission {mission_id}"
        self.unknown_keys(item, {"id", "kind", "title", "when", "trigger_text", "price", "mission_code", "sheet_url",
                                 "once_per_client", "disabled", "disabled_for", "description"}, where)
        for key in ("kind", "title", "when", "trigger_text"):
            if key not in item:
                self.fail(item.line, where, f"`{key}` is missing")
        kind = self.word(item, "kind", KINDS, "kind", where)
        condition = self.condition(item["when"], item.line_of("when"), f"{where}: when")
        price_min, price_max = self.price(item, where)
        mission = Mission(
            id=mission_id, line=item.line, kind=kind, title=self.texts(item, "title", where),
            trigger_text=self.texts(item, "trigger_text", where), condition=condition,
            price_min=price_min, price_max=price_max, mission_code=self.optional_text(item, "mission_code", where),
            sheet_url=self.optional_text(item, "sheet_url", where),
            once_per_client=self.flag(item, "once_per_client", where), disabled=self.flag(item, "disabled", where),
            disabled_for=self.switches(item, where))
        if item.get("description") is not None:
            self.texts(item, "description", where)
        self.check_template(item, mission, where)
        return mission

    # ---- conditions

    def condition(self, node, line: int, where: str, per_month: bool = False):
        if not isinstance(node, LineMap) or len(node) != 1:
            self.fail(line, where, "a condition is one of: compare, trend, count, consecutive, deadline, all, any, "
                                   "at_least")
        (word, body), = node.items()
        body_line = node.line_of(word)
        here = f"{where}.{word}"
        allowed = ("compare", "all", "any", "at_least") if per_month else (
            "compare", "trend", "count", "consecutive", "deadline", "all", "any", "at_least")
        if word not in allowed:
            context = " inside a month-by-month condition" if per_month else ""
            self.fail(body_line, here, f"unknown condition {word!r}{context}; known: {', '.join(allowed)}")
        return getattr(self, f"condition_{word}")(body, body_line, here, per_month)

    def condition_compare(self, body, line, where, per_month):
        body = self.mapping(body, line, where, required={"left", "op", "right"}, optional=set())
        op = body["op"]
        if not isinstance(op, str) or op not in OPERATORS:
            self.fail(body.line_of("op"), where, f"unknown operator {op!r}; known: {', '.join(OPERATORS)}")
        return Compare(line, self.operand(body, "left", where, per_month), op,
                       self.operand(body, "right", where, per_month))

    def condition_trend(self, body, line, where, per_month):
        body = self.mapping(body, line, where, required={"indicator", "direction", "months"}, optional={"as"})
        indicator = self.indicator(body, "indicator", where)
        direction = self.word(body, "direction", DIRECTIONS, "direction", where)
        months = self.months(body, "months", where)
        step = Operand(line, indicator=indicator, change="abs", months=1, alias=f"{indicator}_change_1m")
        zero = Operand(line, number=Decimal(0))
        rule = Compare(line, step, ">" if direction == "rising" else "<", zero)
        change = Operand(line, indicator=indicator, change="abs", months=months)
        return MonthsWhere(line, rule, months, months, alias=self.alias(body, where), reported=(change,))

    def condition_count(self, body, line, where, per_month):
        body = self.mapping(body, line, where, required={"months", "at_least", "where"}, optional={"as"})
        months = self.months(body, "months", where)
        at_least = self.count(body, "at_least", where, maximum=months)
        rule = self.condition(body["where"], body.line_of("where"), f"{where}.where", per_month=True)
        return MonthsWhere(line, rule, months, at_least, alias=self.alias(body, where))

    def condition_consecutive(self, body, line, where, per_month):
        body = self.mapping(body, line, where, required={"months", "where"}, optional={"as"})
        months = self.months(body, "months", where)
        rule = self.condition(body["where"], body.line_of("where"), f"{where}.where", per_month=True)
        return MonthsWhere(line, rule, months, months, alias=self.alias(body, where))

    def condition_deadline(self, body, line, where, per_month):
        body = self.mapping(body, line, where, required={"threshold"},
                            optional={"months_before", "months_after", "as"})
        return Deadline(line, self.threshold(body, "threshold", where),
                        self.months(body, "months_before", where, default=0, minimum=0),
                        self.months(body, "months_after", where, default=0, minimum=0), alias=self.alias(body, where))

    def condition_all(self, body, line, where, per_month):
        return Combine(line, "all", self.items(body, line, where, per_month))

    def condition_any(self, body, line, where, per_month):
        return Combine(line, "any", self.items(body, line, where, per_month))

    def condition_at_least(self, body, line, where, per_month):
        body = self.mapping(body, line, where, required={"count", "of"}, optional=set())
        items = self.items(body["of"], body.line_of("of"), f"{where}.of", per_month)
        return Combine(line, "at_least", items, self.count(body, "count", where, maximum=len(items)))

    def items(self, body, line, where, per_month) -> tuple:
        if not isinstance(body, LineList) or not body:
            self.fail(line, where, "expected a non-empty list of conditions")
        return tuple(self.condition(item, item_line, f"{where}[{i}]", per_month)
                     for i, (item, item_line) in enumerate(zip(body, body.item_lines, strict=True)))

    # ---- operands

    def operand(self, body: LineMap, key: str, where: str, per_month: bool) -> Operand:
        node, line, here = body[key], body.line_of(key), f"{where}.{key}"
        if isinstance(node, bool):
            self.fail(line, here, f"expected a number, an indicator or a threshold, got {node!r}")
        if isinstance(node, int | float):
            return Operand(line, number=self.bounded(node, MAX_NUMBER, line, here, "a number"))
        if not isinstance(node, LineMap):
            self.fail(line, here, "expected a number, {indicator: ...} or {threshold: ...}")
        if ("indicator" in node) == ("threshold" in node):
            self.fail(node.line, here, "an operand names exactly one `indicator` or one `threshold`")
        options = {"times", "abs", "as"}
        if "threshold" in node:
            self.unknown_keys(node, {"threshold", *options}, here)
            return Operand(line, threshold=self.threshold(node, "threshold", here), **self.modifiers(node, here))
        self.unknown_keys(node, {"indicator", "agg", "change", "months", *options}, here)
        indicator = self.indicator(node, "indicator", here)
        if "agg" in node and "change" in node:
            self.fail(node.line, here, "use `agg` or `change`, not both")
        aggregation = self.word(node, "agg", AGGREGATIONS, "aggregation", here) if "agg" in node else None
        change = self.word(node, "change", CHANGES, "change", here) if "change" in node else None
        if (aggregation or change) is None and "months" in node:
            self.fail(node.line_of("months"), here, "`months` goes with `agg` or `change`")
        if aggregation and per_month:
            self.fail(node.line_of("agg"), here, "an aggregation cannot be used inside a month-by-month condition")
        if (aggregation or change) and not INDICATORS[indicator].per_month:
            self.fail(node.line_of("indicator"), here, f"{indicator} has one value per client, not one per month")
        months = self.months(node, "months", here, default=1) if (aggregation or change) else 1
        return Operand(line, indicator=indicator, aggregation=aggregation, change=change, months=months,
                       **self.modifiers(node, here))

    def modifiers(self, node: LineMap, where: str) -> dict:
        times = node.get("times", 1)
        if isinstance(times, bool) or not isinstance(times, int | float):
            self.fail(node.line_of("times"), where, f"`times` must be a number, got {times!r}")
        return {"times": self.bounded(times, MAX_TIMES, node.line_of("times"), where, "`times`"),
                "absolute": self.flag(node, "abs", where),
                "alias": self.alias(node, where)}

    def bounded(self, value: int | float, limit: Decimal, line: int, where: str, what: str) -> Decimal:
        number = Decimal(str(value))
        if not number.is_finite() or abs(number) > limit:
            self.fail(line, where, f"{what} must be between -{_spaced(limit)} and {_spaced(limit)}, got {value!r}")
        return number

    # ---- scalar fields

    def indicator(self, node: LineMap, key: str, where: str) -> str:
        return self.word(node, key, tuple(INDICATORS), "indicator", where)

    def threshold(self, node: LineMap, key: str, where: str) -> str:
        name = node[key]
        if not isinstance(name, str) or name not in self.known_thresholds:
            self.fail(node.line_of(key), where,
                      f"unknown threshold {name!r}; known: {', '.join(sorted(self.known_thresholds))}")
        return name

    def word(self, node: LineMap, key: str, words, what: str, where: str) -> str:
        try:
            return known(words, what, node.get(key))
        except ValueError as error:
            self.fail(node.line_of(key), where, str(error))

    def months(self, node: LineMap, key: str, where: str, default: int | None = None, minimum: int = 1) -> int:
        value = node.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_MONTHS:
            self.fail(node.line_of(key), where, f"`{key}` must be a whole number of months from {minimum} to "
                                                f"{MAX_MONTHS}, got {value!r}")
        return value

    def count(self, node: LineMap, key: str, where: str, maximum: int) -> int:
        value = node.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
            self.fail(node.line_of(key), where, f"`{key}` must be a whole number from 1 to {maximum}, got {value!r}")
        return value

    def alias(self, node: LineMap, where: str) -> str | None:
        alias = node.get("as")
        if alias is not None and (not isinstance(alias, str) or not alias.isidentifier()):
            self.fail(node.line_of("as"), where, f"`as` must be a name of letters, digits and _, got {alias!r}")
        return alias

    def flag(self, node: LineMap, key: str, where: str) -> bool:
        value = node.get(key, False)
        if not isinstance(value, bool):
            self.fail(node.line_of(key), where, f"`{key}` must be true or false, got {value!r}")
        return value

    def optional_text(self, node: LineMap, key: str, where: str) -> str | None:
        value = node.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)
                                  or not str(value).strip()):
            self.fail(node.line_of(key), where, f"`{key}` must be text, got {value!r}")
        return None if value is None else str(value)

    def texts(self, node: LineMap, key: str, where: str) -> dict:
        value = node[key]
        if isinstance(value, str) and value.strip():
            return {language: value for language in LANGUAGES}
        if not isinstance(value, LineMap) or not value or set(value) - set(LANGUAGES) or not all(
                isinstance(v, str) and v.strip() for v in value.values()):
            self.fail(node.line_of(key), where, f"`{key}` is a text, or texts by language ({', '.join(LANGUAGES)})")
        return dict(value)

    def price(self, node: LineMap, where: str) -> tuple[Decimal | None, Decimal | None]:
        value = node.get("price")
        if value is None:
            return None, None
        if isinstance(value, LineMap):
            self.unknown_keys(value, {"min", "max"}, f"{where}.price")
            low, high = self.money(value, "min", where), self.money(value, "max", where)
        else:
            low = high = self.money(node, "price", where)
        if low is not None and high is not None and low > high:
            self.fail(node.line_of("price"), where, f"price min {low} is above price max {high}")
        return low, high

    def money(self, node: LineMap, key: str, where: str) -> Decimal | None:
        value = node.get(key)
        if value is None:
            return None
        try:
            number = isinstance(value, int | float | str) and not isinstance(value, bool)
            amount = Decimal(str(value).strip()) if number else None
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or not 0 <= amount <= MAX_PRICE:
            self.fail(node.line_of(key), where,
                      f"a price is a number of euros from 0 to {_spaced(MAX_PRICE)}, got {value!r}")
        return amount.quantize(Decimal("0.01"))

    def switches(self, node: LineMap, where: str) -> dict:
        value = node.get("disabled_for")
        if value is None:
            return {}
        if not isinstance(value, LineMap):
            self.fail(node.line_of("disabled_for"), where, "`disabled_for` maps clients/collaborators/offices to ids")
        self.unknown_keys(value, {"clients", "collaborators", "offices"}, f"{where}.disabled_for")
        switches = {}
        for scope, ids in value.items():
            if not isinstance(ids, LineList) or not all(isinstance(i, str | int) and not isinstance(i, bool)
                                                        for i in ids):
                self.fail(value.line_of(scope), where, f"`disabled_for.{scope}` is a list of ids")
            switches[scope] = frozenset(str(i) for i in ids)
        return switches

    def check_template(self, node: LineMap, mission: Mission, where: str) -> None:
        available = value_names(mission.condition) | set(BUILTIN_FIELDS)
        for template in mission.trigger_text.values():
            try:
                parts = [(name, spec, conversion) for _, name, spec, conversion in string.Formatter().parse(template)
                         if name is not None]
            except ValueError as error:
                self.fail(node.line_of("trigger_text"), where, f"trigger_text is not a valid template ({error})")
            if any(spec or conversion for _, spec, conversion in parts):
                self.fail(node.line_of("trigger_text"), where, "write fields as {name}: Vigie formats the figures")
            unknown = sorted({name for name, _, _ in parts} - available)
            if unknown:
                self.fail(node.line_of("trigger_text"), where,
                          f"trigger_text uses {', '.join('{' + f + '}' for f in unknown)}, which the condition does "
                          f"not produce; available: {', '.join(sorted(available))}")

    def mapping(self, body, line: int, where: str, required: set, optional: set) -> LineMap:
        if not isinstance(body, LineMap):
            self.fail(line, where, f"expected a mapping with {', '.join(sorted(required))}")
        missing = sorted(required - set(body))
        if missing:
            self.fail(body.line, where, f"missing {', '.join(missing)}")
        self.unknown_keys(body, required | optional, where)
        return body

    def unknown_keys(self, node: LineMap, allowed: set, where: str) -> None:
        for key in node:
            if key not in allowed:
                self.fail(node.line_of(key), where, f"unknown key {key!r}; known: {', '.join(sorted(allowed))}")
