"""settings.yml: created with defaults, validated with readable one-line errors."""

from datetime import date

import pytest

from assets.settings import SettingsError, ensure_settings_file, load_settings


def test_missing_file_is_created_with_french_defaults(tmp_path):
    path = tmp_path / "config" / "settings.yml"
    assert ensure_settings_file(path) is True
    assert ensure_settings_file(path) is False, "an existing file belongs to the firm and is left alone"
    settings = load_settings(path)
    assert settings.language == "fr"
    assert settings.reference_date is None
    assert settings.as_of(None) == date.today()


def test_reference_date_and_override(tmp_path):
    path = tmp_path / "settings.yml"
    path.write_text("language: en\nreference_date: 2026-03-31\n", encoding="utf-8")
    settings = load_settings(path)
    assert settings.language == "en"
    assert settings.as_of(None) == date(2026, 3, 31)
    assert settings.as_of(date(2026, 1, 15)) == date(2026, 1, 15)


@pytest.mark.parametrize(("text", "message"), [
    ("language: de\n", "language must be one of fr, en"),
    ("reference_date: 31/03/2026\n", "reference_date must be a date"),
    ("colour: blue\n", "line 1: unknown setting 'colour'"),
    ("language: [fr\n", "line 1: not valid YAML (a [ list opened on this line is not closed"),
    ("practice_inactive_drop_pct: 150\n", "whole number from 1 to 100"),
])
def test_bad_settings_are_refused_with_the_file_and_reason(tmp_path, text, message):
    path = tmp_path / "settings.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as error:
        load_settings(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_running_unattended_settings_have_defaults_and_are_validated(tmp_path):
    path = tmp_path / "settings.yml"
    ensure_settings_file(path)
    settings = load_settings(path)
    assert (settings.daily_schedule, settings.landing_sensor, settings.retention_days) == (True, True, 30)
    assert settings.alert_webhook is None and settings.duckdb_memory_limit == ""
    path.write_text("retention_days: 7\nduckdb_memory_limit: 2GB\nduckdb_threads: 1\nlanding_sensor: false\n"
                    "alert_webhook: https://hooks.example.com/T0/secret-token\n", encoding="utf-8")
    settings = load_settings(path)
    assert (settings.retention_days, settings.duckdb_memory_limit, settings.duckdb_threads) == (7, "2GB", 1)
    assert settings.landing_sensor is False
    assert "secret-token" not in str(settings.to_dict()), "the audit manifest must not carry the webhook's token"


@pytest.mark.parametrize(("text", "message"), [
    ("retention_days: 0\n", "retention_days must be a whole number from 1 to 36500"),
    ("duckdb_memory_limit: lots\n", "duckdb_memory_limit must be a size"),
    ("daily_schedule: yes please\n", "daily_schedule must be true or false"),
    ("alert_webhook: ftp://x/secret\n", "alert_webhook must be an http"),
])
def test_bad_unattended_settings_are_refused(tmp_path, text, message):
    path = tmp_path / "settings.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError, match=message) as error:
        load_settings(path)
    assert "secret" not in str(error.value)


@pytest.mark.parametrize(("text", "message"), [
    ("language: en\nreference_date: 2025-02-30\n", "line 2: reference_date: '2025-02-30' is not a valid date"),
    ("practice_inactive_drop_pct: true\n", "line 1: practice_inactive_drop_pct must be a whole number from 1 to 100"),
    ("duckdb_threads: false\n", "line 1: duckdb_threads must be a whole number from 0 to 1024, got False"),
    ("retention_days: 100000000000000000000\n", "line 1: retention_days must be a whole number from 1 to 36500"),
    ("landing_settle_seconds: 90000\n", "line 1: landing_settle_seconds must be a whole number from 0 to 86400"),
    ("reference_date: 2025-01-31 10:00:00\n", "line 1: reference_date must be a date YYYY-MM-DD"),
    ("reference_date: 20250131\n", "line 1: reference_date must be a date YYYY-MM-DD"),
    ("duckdb_memory_limit: 0GB\n", "line 1: duckdb_memory_limit must be from 64MB to 1000TB"),
    ("firm_name: [a, b]\n", "line 1: firm_name must be a text of one line"),
    ("language: fr\n\nretention_dys: 3\n", "line 3: unknown setting 'retention_dys' (did you mean retention_days?)"),
    ("language: fr\nlanguage: en\n", "line 2: key 'language' is given twice (first on line 1)"),
    ("language: fr\n\tretention_days: 3\n", "line 2: not valid YAML (a tab is used for indentation"),
    ("# settings\n- language: fr\n", "line 2: expected settings as `key: value` lines, got a list"),
])
def test_every_bad_value_names_its_line_without_a_traceback(tmp_path, text, message):
    """Issue 9: an impossible date, a boolean for a number, an out-of-range value... all one line with the line."""
    path = tmp_path / "settings.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as error:
        load_settings(path)
    assert str(error.value).startswith(f"{path}, line ")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_settings_file_in_latin_1_names_the_line_of_the_first_bad_byte(tmp_path):
    path = tmp_path / "settings.yml"
    path.write_bytes("language: fr\nfirm_name: Cabinet M\u00fcller\n".encode("latin-1"))
    with pytest.raises(SettingsError, match=r"line 2: not UTF-8 text"):
        load_settings(path)


def test_an_empty_settings_file_keeps_every_default(tmp_path):
    path = tmp_path / "settings.yml"
    path.write_text("# nothing set yet\n", encoding="utf-8")
    assert load_settings(path).retention_days == 30
