"""Firm settings (`config/settings.yml`): created with defaults on first run, then owned by the firm."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import yaml

LANGUAGES = ("fr", "en")

DEFAULT_SETTINGS_TEXT = """\
# Vigie settings: this file belongs to the firm; Vigie only creates it when it is missing.
firm_name: "Mon cabinet"
# Language of what the firm and its clients read (mission titles, summaries, descriptions): fr or en.
language: fr
# Reference date for statuses, 30-day windows and staleness (YYYY-MM-DD). Empty: today.
# `vigie run --as-of` overrides it for one run.
reference_date:
# A client is inactive when it sent no document in 30 days, or its sending dropped by at least this share.
practice_inactive_drop_pct: 50
"""


class SettingsError(ValueError):
    """settings.yml cannot be used; the message names the file, the key and the reason."""


@dataclass(frozen=True)
class Settings:
    firm_name: str
    language: str
    reference_date: date | None
    practice_inactive_drop_pct: int

    def as_of(self, override: date | None = None) -> date:
        return override or self.reference_date or date.today()

    def to_dict(self) -> dict:
        return asdict(self)


def ensure_settings_file(path: Path) -> bool:
    """Write the default settings when the file is missing; True when it was created."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(DEFAULT_SETTINGS_TEXT, encoding="utf-8")
    return True


def load_settings(path: Path) -> Settings:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        raise SettingsError(f"{path}{where}: not valid YAML ({getattr(error, 'problem', error)})") from None
    raw = raw or {}
    if not isinstance(raw, dict):
        raise SettingsError(f"{path}: expected a mapping of settings, got {type(raw).__name__}")
    defaults = yaml.safe_load(DEFAULT_SETTINGS_TEXT)
    values = {**defaults, **{k: v for k, v in raw.items() if v is not None}}
    unknown = sorted(set(raw) - set(defaults))
    if unknown:
        raise SettingsError(f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(defaults)}")
    return Settings(
        firm_name=str(values["firm_name"]),
        language=_language(path, values["language"]),
        reference_date=_optional_date(path, "reference_date", values["reference_date"]),
        practice_inactive_drop_pct=_percentage(path, values["practice_inactive_drop_pct"]),
    )


def _language(path: Path, value) -> str:
    if value not in LANGUAGES:
        raise SettingsError(f"{path}: language must be one of {', '.join(LANGUAGES)}, got {value!r}")
    return value


def _optional_date(path: Path, key: str, value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise SettingsError(f"{path}: {key} must be a date YYYY-MM-DD, got {value!r}") from None


def _percentage(path: Path, value) -> int:
    if not isinstance(value, int) or not 0 < value <= 100:
        raise SettingsError(f"{path}: practice_inactive_drop_pct must be a whole number from 1 to 100, got {value!r}")
    return value
