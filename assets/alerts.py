"""Alerts for failed runs: a run nobody watches must not fail silently.

Vigie runs unattended every morning; when a run fails, the firm learns it from two places:
- `audit/alerts.log` in the home, one line per failed run, always written first (it needs no network, and a line
  per failure is what an auditor or a support engineer reads when asking "since when has it been failing?");
- optionally an incoming webhook (Slack, Mattermost, Teams-compatible: they all accept a JSON `text`), so that a
  person is told the same morning.

Alerting runs inside the sensor that noticed the failure, so it never raises: a refused connection, a webhook that
hangs or answers an error is recorded in the outcome and in alerts.log, and the sensor goes on.

Failure messages are tracebacks and tool output, which may hold credentials (an API key in a URL, a bearer token in
a logged header): they are redacted before they are written or sent. The webhook URL is a credential itself (its path
usually is the token), so it never appears in alerts.log nor in an error message: only its host does.

Plain Python without Dagster, standard library only: the orchestration layer calls `record_run_failure`.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from assets.home import VigieHome

log = logging.getLogger("vigie.alerts")

ALERTS_LOG = "alerts.log"
REDACTED = "[redacted]"
MAX_SUMMARY_CHARS = 300
MAX_MESSAGE_CHARS = 4_000  # a whole traceback in a chat message helps nobody, and webhooks cap the payload size
MAX_REPLY_CHARS = 200  # of a webhook's error reply: Slack says why in it ("invalid_token", "no_service")

# Order matters: an Authorization header is redacted whole before its "Bearer" part could be matched alone.
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # URL credentials: scheme://user:password@host -> scheme://[redacted]@host (a user alone may be a token too).
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@"), rf"\1{REDACTED}@"),
    (re.compile(r"(?i)\b(authorization\s*[:=]\s*)(?:(?:bearer|basic|token)\s+)?[^\s,;\"']+"), rf"\1{REDACTED}"),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+"), rf"\1{REDACTED}"),
    # key=value and key: value pairs, in query strings, settings dumps or JSON ("password": "...").
    (re.compile(r"""(?ix)
        \b([\w-]*(?:api[_-]?key|password|passwd|pwd|secret|token)[\w-]*)  # api_key, X-Api-Key, client_secret, token
        (["']?\s*[=:]\s*)
        ("[^"]*"|'[^']*'|[^\s&,;"']+)"""), rf"\1\2{REDACTED}"),
    # OpenAI-style keys (sk-..., sk-proj-..., also Anthropic's sk-ant-...).
    (re.compile(r"\bsk-[A-Za-z0-9][A-Za-z0-9_-]{3,}"), REDACTED),
)


@dataclass(frozen=True)
class AlertOutcome:
    logged_to: Path
    webhook_status: int | None = None  # the HTTP status the webhook answered, None when it did not answer
    webhook_error: str | None = None  # why the alert did not reach the webhook; never holds the webhook URL
    log_error: str | None = None  # why alerts.log could not be written (a full disk must not crash the sensor)

    @property
    def delivered(self) -> bool:
        return self.webhook_error is None and self.webhook_status is not None


def record_run_failure(home: VigieHome, *, run_id: str, job_name: str, message: str,
                       webhook_url: str | None = None, timeout_seconds: float = 10.0,
                       now: datetime | None = None, lineage_url: str | None = None) -> AlertOutcome:
    """Record a failed run in `audit/alerts.log` and its OpenLineage FAIL event in
    `audit/run-<run id>.failed.lineage.jsonl` (sent to `lineage_url` too when set), and when `webhook_url` is set,
    post the alert there. Never raises."""
    failed_at = _utc(now)
    stamp = failed_at.isoformat(timespec="seconds")
    clean = redact(str(message), webhook_url)
    summary = first_line(clean)
    run_id, job_name = _one_line(run_id), _one_line(job_name)
    logged_to = home.audit / ALERTS_LOG
    log_error = _append(logged_to, f"{stamp} run {run_id} of {job_name} failed: {summary}")
    _record_failed_lineage(home, run_id, failed_at, summary, lineage_url)

    if not webhook_url:
        return AlertOutcome(logged_to, log_error=log_error)
    payload = {
        "text": f"Vigie: the {job_name} run failed on {home.root.name} at {failed_at:%Y-%m-%d %H:%M} UTC: {summary}",
        "run_id": run_id,
        "job": job_name,
        "home": str(home.root),
        "failed_at": stamp,
        "message": _truncate(clean.strip(), MAX_MESSAGE_CHARS),
    }
    status, error = _post(webhook_url, payload, timeout_seconds)
    if error is not None:
        log.warning("alert webhook failed: %s", error)
        when = stamp if now is not None else _utc(None).isoformat(timespec="seconds")
        log_error = _append(logged_to, f"{when} alert webhook failed: {error}") or log_error
    return AlertOutcome(logged_to, webhook_status=status, webhook_error=error, log_error=log_error)


def _record_failed_lineage(home: VigieHome, run_id: str, failed_at: datetime, summary: str,
                           lineage_url: str | None) -> None:
    from assets.lineage import failed_run_events, send_lineage_events, write_lineage_events

    try:
        events = failed_run_events(run_id, failed_at, failed_at, summary)
        write_lineage_events(home.audit / f"run-{run_id}.failed.lineage.jsonl", events)
        if lineage_url:
            send_lineage_events(lineage_url, events)
    except Exception as error:  # the alert itself must go out: lineage of a failure is a copy
        log.warning("lineage of the failed run not recorded (%s)", type(error).__name__)


def redact(text: str, webhook_url: str | None = None) -> str:
    """`text` with credentials replaced by [redacted], the webhook URL's secret parts included."""
    text = _scrub_url(text, webhook_url)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def first_line(text: str) -> str:
    """The first non-blank line of a message, at most MAX_SUMMARY_CHARS long: alerts.log stays one line per event."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "(no message)")
    return _truncate(line, MAX_SUMMARY_CHARS)


# --- alerts.log ------------------------------------------------------------------------------------------------


def _append(path: Path, line: str) -> str | None:
    """Append one line; returns why it could not be written, None when it was."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # One write of one line in append mode: two sensors alerting at once do not interleave within a line.
        with path.open("a", encoding="utf-8") as journal:
            journal.write(line + "\n")
    except OSError as exc:
        log.error("cannot write %s: %s", path, exc)
        return f"cannot write {path}: {exc.strerror or exc}"
    return None


# --- webhook ---------------------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """urllib would replay a redirected POST as a GET without its body: a redirect is reported as a failure."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _post(url: str, payload: dict, timeout: float) -> tuple[int | None, str | None]:
    """POST `payload` as JSON; returns (HTTP status or None, error or None). Errors name the host, never the URL."""
    parts = _http_url(url)
    if parts is None:
        return None, "webhook URL rejected: only http and https URLs with a host are accepted"
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    try:
        request = urllib.request.Request(
            url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"), method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "vigie-alerts"})
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=timeout) as response:
            status = response.status
            response.read(64 * 1024)  # drain a short reply so the server is not cut mid-answer
    except urllib.error.HTTPError as exc:  # urllib raises for 3xx (redirects refused) to 5xx
        reply = _reply_excerpt(exc)
        exc.close()
        return exc.code, redact(f"{host}: HTTP {exc.code} {exc.reason}{reply}", url)
    except urllib.error.URLError as exc:
        return None, redact(f"{host}: {_describe(exc.reason, timeout)}", url)
    except Exception as exc:  # anything else (TLS, a reset, a timeout mid-reply): alerting must never raise
        return None, redact(f"{host}: {_describe(exc, timeout)}", url)
    if not 200 <= status < 300:
        return status, f"{host}: HTTP {status}"
    return status, None


def _http_url(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url.strip())
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return parts


def _describe(reason: object, timeout: float) -> str:
    """A short reason for a failed call, from urllib's exception (or the reason a URLError wraps)."""
    if isinstance(reason, TimeoutError):  # socket.timeout is TimeoutError since Python 3.10
        return f"no answer within {timeout:g} s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return "host name not resolved"
    if isinstance(reason, ssl.SSLError):
        return f"TLS error: {reason.reason or reason}"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    if isinstance(reason, BaseException):
        text = str(reason)
        return f"{type(reason).__name__}: {text}" if text else type(reason).__name__
    return str(reason)


def _reply_excerpt(error: urllib.error.HTTPError) -> str:
    try:
        reply = error.read(MAX_REPLY_CHARS).decode("utf-8", errors="replace")
    except Exception:  # the status alone is enough to report
        return ""
    line = next((line.strip() for line in reply.splitlines() if line.strip()), "")
    return f" ({line})" if line else ""


def _scrub_url(text: str, url: str | None) -> str:
    """Remove the secret parts of the webhook URL from `text`: everything but the scheme and host."""
    if not url:
        return text
    secrets = {url, url.strip()}
    try:
        parts = urlsplit(url.strip())
        path_and_more = url.strip()[len(f"{parts.scheme}://{parts.netloc}"):]
        secrets |= {parts.netloc if "@" in parts.netloc else "", parts.password or "", parts.username or "",
                    path_and_more if len(path_and_more) > 1 else "", parts.query, parts.fragment}
        # A token is usually one long path segment; it must not leak through a message quoting it alone.
        secrets |= {segment for segment in parts.path.split("/") if len(segment) >= 8}
    except ValueError:
        pass
    # Short fragments ("u", "p") would mangle the text more than they protect: URL credentials are caught by the
    # user:password@ pattern of redact() anyway.
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


# --- helpers ---------------------------------------------------------------------------------------------------


def _utc(moment: datetime | None) -> datetime:
    """`moment` in UTC; a naive datetime is taken as UTC already (servers run in UTC, and tests pass fixed times)."""
    if moment is None:
        return datetime.now(UTC)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _one_line(value: object) -> str:
    return " ".join(str(value).split()) or "?"


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
