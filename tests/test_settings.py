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
    ("colour: blue\n", "unknown setting(s) colour"),
    ("language: [fr\n", "line 2: not valid YAML"),
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
