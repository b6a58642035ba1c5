"""The mission catalogue: the starter one is valid, and a broken one is refused naming file and line."""

from pathlib import Path

import pytest

from assets.opportunities.catalogue import (
    CatalogueError,
    Combine,
    MonthsWhere,
    ensure_catalogue_file,
    load_catalogue,
    starter_catalogue_text,
)
from orchestration.dbt_project import seed_threshold_names

THRESHOLDS = seed_threshold_names()

VALID = """\
missions:
  - id: cash_low
    kind: trigger
    title: {fr: Trésorerie, en: Cash}
    price: {min: 100, max: 200}
    when:
      compare:
        left: {indicator: cash_net}
        op: "<"
        right: {indicator: total_charges, agg: avg, months: 12, as: charges}
    trigger_text: {fr: "Trésorerie {cash_net} pour {charges}", en: "Cash {cash_net} for {charges}"}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "missions.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_starter_catalogue_covers_domain_section_3(tmp_path):
    path = tmp_path / "config" / "missions.yml"
    assert ensure_catalogue_file(path) and not ensure_catalogue_file(path)
    catalogue = load_catalogue(path, THRESHOLDS)
    assert path.read_text(encoding="utf-8") == starter_catalogue_text()
    ids = {m.id for m in catalogue.missions}
    assert {"cash_forecast", "bank_financing", "vat_registration", "micro_regime", "statutory_auditor",
            "payroll_review", "credit_management", "ebitda_falling", "financial_diagnosis", "recapitalisation",
            "dividend_study", "einvoicing_readiness", "monthly_reporting", "stale_ledger"} == ids
    auditor = next(m for m in catalogue.missions if m.id == "statutory_auditor")
    assert isinstance(auditor.condition, Combine) and auditor.condition.at_least == 2
    assert {m.kind for m in catalogue.missions} == {"trigger", "attention_point"}


def test_a_valid_mission_is_read_with_its_prices_and_window(tmp_path):
    catalogue = load_catalogue(write(tmp_path, VALID), THRESHOLDS)
    mission, = catalogue.missions
    assert (str(mission.price_min), str(mission.price_max)) == ("100.00", "200.00")
    assert mission.text(mission.title, "en") == "Cash" and catalogue.lookback == 11


def test_a_trend_is_n_consecutive_monthly_changes(tmp_path):
    text = VALID.replace("""      compare:
        left: {indicator: cash_net}
        op: "<"
        right: {indicator: total_charges, agg: avg, months: 12, as: charges}""",
                         "      trend: {indicator: cash_net, direction: falling, months: 6}").replace(
        "{charges}", "{cash_net_change_6m}")
    mission, = load_catalogue(write(tmp_path, text), THRESHOLDS).missions
    assert isinstance(mission.condition, MonthsWhere)
    assert (mission.condition.months, mission.condition.at_least) == (6, 6)


@pytest.mark.parametrize(("broken", "line", "reason"), [
    (VALID.replace("cash_net}", "cash_nett}", 1), 8, "unknown indicator 'cash_nett'"),
    (VALID.replace('op: "<"', 'op: "<<"'), 9, "unknown operator '<<'"),
    (VALID.replace("agg: avg", "agg: median"), 10, "unknown aggregation 'median'"),
    (VALID.replace("kind: trigger", "kind: hint"), 3, "unknown kind 'hint'"),
    (VALID.replace("{indicator: cash_net}", "{threshold: no_such_threshold}"), 8, "unknown threshold"),
    (VALID.replace("months: 12", "months: 0"), 10, "`months` must be a whole number of months"),
    (VALID.replace("{charges}\", en", "{nothing}\", en"), 11, "trigger_text uses {nothing}"),
    (VALID.replace("compare:", "sql:"), 7, "unknown condition 'sql'"),
    (VALID.replace("price: {min: 100, max: 200}", "price: {min: 300, max: 200}"), 5, "above price max"),
    (VALID.replace("    title:", "  title:", 1), 4, "not valid YAML"),
    (VALID + VALID.replace("missions:\n", ""), 12, "the same id is used twice"),
    # issue 9: every value is checked for its type and a sane range before anything is evaluated
    (VALID.replace("max: 200", "max: 10000000000000000"), 5, "a price is a number of euros from 0 to 10 000 000"),
    (VALID.replace("max: 200", "max: .nan"), 5, "a price is a number of euros from 0 to 10 000 000, got nan"),
    (VALID.replace("price: {min: 100, max: 200}", "price: true"), 5, "a price is a number of euros"),
    (VALID.replace("min: 100", "min: -5"), 5, "a price is a number of euros from 0"),
    (VALID.replace("as: charges}", "as: charges, times: .inf}"), 10, "`times` must be between -1 000 and 1 000"),
    (VALID.replace("right: {indicator: total_charges, agg: avg, months: 12, as: charges}", "right: 1.0e+400")
     .replace("{charges}", "{cash_net}"), 10, "a number must be between"),
    (VALID.replace('op: "<"', "op: [a]"), 9, "unknown operator ['a']"),
    (VALID.replace("{indicator: cash_net}", "{threshold: [a]}"), 8, "unknown threshold ['a']"),
    (VALID.replace("months: 12", "months: true"), 10, "`months` must be a whole number of months"),
    (VALID.replace("kind: trigger", "kind: trigger\n    mission_code: true"), 4, "`mission_code` must be text"),
    (VALID.replace("kind: trigger", "kind: trigger\n    disabled_for: {clients: [true]}"), 4,
     "`disabled_for.clients` is a list of ids"),
    (VALID.replace("title: {fr: Trésorerie, en: Cash}", 'title: " "'), 4, "`title` is a text"),
    (VALID.replace("kind: trigger", "kind: trigger\n    description: [a]"), 4, "`description` is a text"),
    ("version: true\n" + VALID, 1, "`version` must be a number or a text"),
    (VALID.replace("title: {fr: Trésorerie, en: Cash}", "title: 2025-02-30"), 4, "'2025-02-30' is not a valid date"),
    (VALID.replace("kind: trigger", "kind: trigger\n    kind: attention_point"), 4, "key 'kind' is given twice"),
    (VALID.replace("    kind: trigger", "\tkind: trigger"), 3, "a tab is used for indentation"),
    ("", 1, "expected a mapping with a list under `missions:`"),
    (VALID.replace("as: charges}", "as: charges"), 10, "a { mapping opened on this line is not closed"),
])
def test_a_broken_catalogue_is_refused_naming_file_and_line(tmp_path, broken, line, reason):
    path = write(tmp_path, broken)
    with pytest.raises(CatalogueError) as refused:
        load_catalogue(path, THRESHOLDS)
    message = str(refused.value)
    assert message.startswith(f"{path}, line {line}: "), message
    assert reason in message and "\n" not in message


def test_a_catalogue_in_latin_1_names_the_line_of_the_first_bad_byte(tmp_path):
    path = tmp_path / "missions.yml"
    path.write_bytes(VALID.encode("latin-1"))
    with pytest.raises(CatalogueError, match=r"line 4: not UTF-8 text \(byte 0xe9\)"):
        load_catalogue(path, THRESHOLDS)
