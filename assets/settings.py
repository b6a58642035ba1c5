"""Firm settings (`config/settings.yml`): created with defaults on first run, then owned by the firm."""

from __future__ import annotations

import re
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

# --- Running unattended (read by `vigie ui` / `vigie serve`, the schedule and the sensor) ---
# Run every morning at 06:00 (Europe/Paris).
daily_schedule: true
# Run when an export lands in landing/, once its files have stopped changing for landing_settle_seconds.
landing_sensor: true
landing_settle_seconds: 60
# Run logs, dbt logs and published runs older than this many days are removed (the current snapshot stays).
retention_days: 30
# Audit manifests and lineage (audit/run-*) are the firm's record of what each figure came from: kept ten years
# by default, as accounting records are (article L123-22 of the Code de commerce).
audit_retention_days: 3650
# When a run fails, one line goes to audit/alerts.log and, when set, a JSON message is POSTed to this URL
# (Slack, Mattermost or Teams incoming webhook, or any HTTP endpoint).
alert_webhook:

# --- Resources of the working database (every DuckDB connection, dbt's included) ---
# Memory DuckDB may use before spilling to warehouse/spill/, e.g. 4GB. Empty: half of this machine's memory.
duckdb_memory_limit:
# Threads DuckDB may use. Empty: every core.
duckdb_threads:
"""


class SettingsError(ValueError):
    """settings.yml cannot be used; the message names the file, the key and the reason."""


@dataclass(frozen=True)
class Settings:
    firm_name: str
    language: str
    reference_date: date | None
    practice_inactive_drop_pct: int
    daily_schedule: bool = True
    landing_sensor: bool = True
    landing_settle_seconds: int = 60
    retention_days: int = 30
    audit_retention_days: int = 3650
    alert_webhook: str | None = None
    duckdb_memory_limit: str = ""
    duckdb_threads: int = 0

    def as_of(self, override: date | None = None) -> date:
        return override or self.reference_date or date.today()

    def to_dict(self) -> dict:
        """For audit manifests: the webhook URL often embeds a token, so only whether it is set is recorded."""
        return {**asdict(self), "alert_webhook": "set" if self.alert_webhook else None}


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
        daily_schedule=_boolean(path, "daily_schedule", values["daily_schedule"]),
        landing_sensor=_boolean(path, "landing_sensor", values["landing_sensor"]),
        landing_settle_seconds=_whole_number(path, "landing_settle_seconds", values["landing_settle_seconds"], 0),
        retention_days=_whole_number(path, "retention_days", values["retention_days"], 1),
        audit_retention_days=_whole_number(path, "audit_retention_days", values["audit_retention_days"], 1),
        alert_webhook=_optional_url(path, "alert_webhook", values["alert_webhook"]),
        duckdb_memory_limit=_memory_size(path, values["duckdb_memory_limit"]),
        duckdb_threads=_whole_number(path, "duckdb_threads", values["duckdb_threads"] or 0, 0),
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


def _boolean(path: Path, key: str, value) -> bool:
    if not isinstance(value, bool):
        raise SettingsError(f"{path}: {key} must be true or false, got {value!r}")
    return value


def _whole_number(path: Path, key: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SettingsError(f"{path}: {key} must be a whole number of at least {minimum}, got {value!r}")
    return value


def _optional_url(path: Path, key: str, value) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not re.match(r"https?://[^\s/]+", value):
        # The URL often embeds a token: name the key, never echo the value.
        raise SettingsError(f"{path}: {key} must be an http:// or https:// URL")
    return value


def _memory_size(path: Path, value) -> str:
    if value in (None, ""):
        return ""
    text = str(value).strip().replace(" ", "")
    if not re.fullmatch(r"\d+(\.\d+)?(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", text, re.IGNORECASE):
        raise SettingsError(f"{path}: duckdb_memory_limit must be a size such as 4GB or 512MB, got {value!r}")
    return text


def _percentage(path: Path, value) -> int:
    if not isinstance(value, int) or not 0 < value <= 100:
        raise SettingsError(f"{path}: practice_inactive_drop_pct must be a whole number from 1 to 100, got {value!r}")
    return value
