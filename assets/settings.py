"""Firm settings (`config/settings.yml`): created with defaults on first run, then owned by the firm."""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path

import yaml

LANGUAGES = ("fr", "en")
# Sane ranges: a value outside them is a typo, and would fail later and further from the file.
EARLIEST_DATE, LATEST_DATE = date(1990, 1, 1), date(2100, 12, 31)
MAX_SETTLE_SECONDS = 86_400  # a day
MAX_RETENTION_DAYS = 36_500  # a century
MAX_THREADS = 1024
MIN_MEMORY_BYTES, MAX_MEMORY_BYTES = 64 * 10**6, 1000 * 10**12

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

# A new export of a CRM, practice or time-tracking file that lost more than this share (%) of the rows of the
# version in force (a truncated or header-only export) is held back as suspect: the version in force stays, and
# the run says so (exit code 2). 100: never hold back.
version_shrink_tolerance_pct: 50

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
# OpenLineage events of every run are written to audit/; when set, they are also POSTed to this lineage server
# (Marquez: http://host:5000, the client adds /api/v1/lineage).
openlineage_url:

# --- Resources of the working database (every DuckDB connection, dbt's included) ---
# Memory DuckDB may use before spilling to disk (under warehouse/), e.g. 4GB. Empty: 1GB (half the memory if less).
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
    version_shrink_tolerance_pct: int = 50
    daily_schedule: bool = True
    landing_sensor: bool = True
    landing_settle_seconds: int = 60
    retention_days: int = 30
    audit_retention_days: int = 3650
    alert_webhook: str | None = None
    openlineage_url: str | None = None
    duckdb_memory_limit: str = ""
    duckdb_threads: int = 0

    def as_of(self, override: date | None = None) -> date:
        return override or self.reference_date or date.today()

    def to_dict(self) -> dict:
        """For audit manifests: the webhook and lineage URLs may embed a token, so only whether they are set is
    recorded."""
        return {**asdict(self), "alert_webhook": "set" if self.alert_webhook else None,
                "openlineage_url": "set" if self.openlineage_url else None}


def ensure_settings_file(path: Path) -> bool:
    """Write the default settings when the file is missing; True when it was created."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(DEFAULT_SETTINGS_TEXT, encoding="utf-8")
    return True


def load_settings(path: Path) -> Settings:
    """The settings, or a SettingsError of one line: `<file>, line N: <reason>`."""
    # imported here: assets.opportunities imports the warehouse helpers, which import this module
    from assets.opportunities.yaml_lines import LineMap, YamlError, first_content_line, load_with_lines, read_yaml_text

    raw = LineMap()
    raw.line, raw.key_lines = 1, {}
    if path.exists():
        try:
            text = read_yaml_text(path)
            document = load_with_lines(path, text)
        except YamlError as error:
            raise SettingsError(str(error)) from None
        if isinstance(document, LineMap):
            raw = document
        elif document is not None:  # an empty file (or only comments) leaves every setting at its default
            kind = "a list" if isinstance(document, list) else f"the value {document!r}"
            raise SettingsError(f"{path}, line {getattr(document, 'line', 0) or first_content_line(text)}: expected "
                                f"settings as `key: value` lines, got {kind}")
    defaults = yaml.safe_load(DEFAULT_SETTINGS_TEXT)
    for key in raw:
        if key not in defaults:
            close = difflib.get_close_matches(str(key), defaults, n=1, cutoff=0.7)
            hint = f" (did you mean {close[0]}?)" if close else f"; known: {', '.join(defaults)}"
            raise SettingsError(f"{path}, line {raw.line_of(key)}: unknown setting {key!r}{hint}")
    values = {**defaults, **{k: v for k, v in raw.items() if v is not None}}

    def at(key: str) -> str:
        return f"{path}, line {raw.line_of(key)}: {key}"

    return Settings(
        firm_name=_text(at("firm_name"), values["firm_name"]),
        language=_language(at("language"), values["language"]),
        reference_date=_optional_date(at("reference_date"), values["reference_date"]),
        practice_inactive_drop_pct=_whole_number(at("practice_inactive_drop_pct"),
                                                 values["practice_inactive_drop_pct"], 1, 100),
        version_shrink_tolerance_pct=_whole_number(at("version_shrink_tolerance_pct"),
                                                   values["version_shrink_tolerance_pct"], 1, 100),
        daily_schedule=_boolean(at("daily_schedule"), values["daily_schedule"]),
        landing_sensor=_boolean(at("landing_sensor"), values["landing_sensor"]),
        landing_settle_seconds=_whole_number(at("landing_settle_seconds"), values["landing_settle_seconds"], 0,
                                             MAX_SETTLE_SECONDS),
        retention_days=_whole_number(at("retention_days"), values["retention_days"], 1, MAX_RETENTION_DAYS),
        audit_retention_days=_whole_number(at("audit_retention_days"), values["audit_retention_days"], 1,
                                           MAX_RETENTION_DAYS),
        alert_webhook=_optional_url(at("alert_webhook"), values["alert_webhook"]),
        openlineage_url=_optional_url(at("openlineage_url"), values["openlineage_url"]),
        duckdb_memory_limit=_memory_size(at("duckdb_memory_limit"), values["duckdb_memory_limit"]),
        duckdb_threads=_whole_number(at("duckdb_threads"), _or_zero(values["duckdb_threads"]), 0, MAX_THREADS),
    )


# Each validator receives `at`, "<file>, line N: <key>", and returns the value or raises a one-line SettingsError.

def _text(at: str, value) -> str:
    if not isinstance(value, str) or not value.strip() or "\n" in value.strip() or len(value) > 200:
        raise SettingsError(f"{at} must be a text of one line (up to 200 characters), in quotes if it looks like a "
                            f"number or a date, got {value!r}")
    return value.strip()


def _language(at: str, value) -> str:
    if not isinstance(value, str) or value not in LANGUAGES:
        raise SettingsError(f"{at} must be one of {', '.join(LANGUAGES)}, got {value!r}")
    return value


def _optional_date(at: str, value) -> date | None:
    if value is None:
        return None
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError as error:
            raise SettingsError(f"{at} must be a date YYYY-MM-DD, got {value!r} ({error})") from None
    if not isinstance(value, date) or isinstance(value, datetime):
        raise SettingsError(f"{at} must be a date YYYY-MM-DD, got {value!r}")
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise SettingsError(f"{at} must be between {EARLIEST_DATE} and {LATEST_DATE}, got {value}")
    return value


def _or_zero(value):
    return 0 if value is None else value


def _boolean(at: str, value) -> bool:
    if not isinstance(value, bool):
        raise SettingsError(f"{at} must be true or false, got {value!r}")
    return value


def _whole_number(at: str, value, minimum: int, maximum: int) -> int:
    # YAML's true/false are ints to Python: refused like any other non-number
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise SettingsError(f"{at} must be a whole number from {minimum} to {maximum}, got {value!r}")
    return value


def _optional_url(at: str, value) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not re.match(r"https?://[^\s/]+", value) or any(c.isspace() for c in value):
        # The URL often embeds a token: name the key, never echo the value.
        raise SettingsError(f"{at} must be an http:// or https:// URL")
    return value


MEMORY_UNITS = {"kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
                "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}  # as DuckDB reads them


def _memory_size(at: str, value) -> str:
    if value in (None, ""):
        return ""
    text = str(value).strip().replace(" ", "") if isinstance(value, str) else ""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]i?B)", text, re.IGNORECASE)
    if not match:
        raise SettingsError(f"{at} must be a size such as 4GB or 512MB, got {value!r}")
    size = float(match[1]) * MEMORY_UNITS[match[2].lower()]
    if not MIN_MEMORY_BYTES <= size <= MAX_MEMORY_BYTES:
        raise SettingsError(f"{at} must be from 64MB to 1000TB, got {value!r}")
    return text
