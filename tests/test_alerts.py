"""Failed-run alerts: always a line in alerts.log, a JSON post to a real local webhook, never an exception, never a
secret or the webhook URL in what is written or sent."""

import json
import socket
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assets.alerts import AlertOutcome, record_run_failure
from assets.home import VigieHome

NOW = datetime(2026, 6, 1, 6, 0, 5, tzinfo=UTC)
STAMP = "2026-06-01T06:00:05+00:00"
TOKEN_PATH = "/hooks/T0KEN-SECRET-123"


class Webhook:
    """A real HTTP server on 127.0.0.1 recording what it receives and answering `status`."""

    def __init__(self) -> None:
        self.status = 200
        self.received: list[dict] = []
        webhook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                webhook.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
                reply = b"ok" if webhook.status < 300 else b"internal_error\nsecond line"
                self.send_response(webhook.status)
                if 300 <= webhook.status < 400:
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str = "/hook") -> str:
        return f"http://{self.host}{path}"


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    # urllib honours proxy variables: the local webhook must be reached directly whatever the machine's settings.
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def webhook():
    hook = Webhook()
    hook.thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


@pytest.fixture
def silent_port():
    """A port that accepts connections (the kernel completes them) but never answers a byte."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture
def refused_port():
    """A port nobody listens on: bound to get a free number, then closed."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


@pytest.fixture
def home(tmp_path) -> VigieHome:
    return VigieHome(tmp_path / "cabinet-dupont")  # not ensured: alerting creates the audit folder itself


def alert_lines(home: VigieHome) -> list[str]:
    return (home.audit / "alerts.log").read_text(encoding="utf-8").splitlines()


def fail(home: VigieHome, message: str = "dbt build failed: 2 models in error\nTraceback...", **kwargs) -> AlertOutcome:
    return record_run_failure(home, run_id="3f2a9c1e-0000-4000-8000-000000000001", job_name="vigie_daily",
                              message=message, now=NOW, **kwargs)


def test_failure_is_logged_as_one_line_in_the_audit_folder(home):
    outcome = fail(home)

    assert outcome == AlertOutcome(logged_to=home.audit / "alerts.log")
    assert alert_lines(home) == [
        f"{STAMP} run 3f2a9c1e-0000-4000-8000-000000000001 of vigie_daily failed: dbt build failed: 2 models in error"]


def test_each_failure_appends_a_line_and_long_messages_are_cut(home):
    fail(home)
    fail(home, message="\n\n  " + "x" * 1_000 + "\nsecond line")

    first, second = alert_lines(home)
    assert first.endswith("2 models in error")
    summary = second.split(" failed: ", 1)[1]
    assert len(summary) == 300 and summary.startswith("xxx")


def test_webhook_receives_the_json_fields_and_a_readable_text(home, webhook):
    outcome = fail(home, webhook_url=webhook.url())

    assert outcome.webhook_status == 200 and outcome.webhook_error is None and outcome.delivered
    [request] = webhook.received
    assert request["headers"]["Content-Type"] == "application/json"
    payload = json.loads(request["body"])
    assert set(payload) == {"text", "run_id", "job", "home", "failed_at", "message"}
    assert payload["run_id"] == "3f2a9c1e-0000-4000-8000-000000000001"
    assert payload["job"] == "vigie_daily"
    assert payload["home"] == str(home.root)
    assert payload["failed_at"] == STAMP
    assert payload["message"] == "dbt build failed: 2 models in error\nTraceback..."
    assert payload["text"] == ("Vigie: the vigie_daily run failed on cabinet-dupont at 2026-06-01 06:00 UTC: "
                               "dbt build failed: 2 models in error")
    assert len(alert_lines(home)) == 1  # a delivered alert adds no second line


def test_webhook_error_status_is_reported_and_logged(home, webhook):
    webhook.status = 500

    outcome = fail(home, webhook_url=webhook.url())

    assert outcome.webhook_status == 500
    assert outcome.webhook_error == f"{webhook.host}: HTTP 500 Internal Server Error (internal_error)"
    assert not outcome.delivered
    assert alert_lines(home)[1] == f"{STAMP} alert webhook failed: {outcome.webhook_error}"


def test_webhook_redirect_is_reported_not_followed(home, webhook):
    # urllib would replay the POST as a bodiless GET on the new location: the alert would be lost silently.
    webhook.status = 302

    outcome = fail(home, webhook_url=webhook.url())

    assert outcome.webhook_status == 302 and "HTTP 302" in outcome.webhook_error
    assert [r["path"] for r in webhook.received] == ["/hook"]
    assert len(alert_lines(home)) == 2


def test_silent_webhook_is_abandoned_after_the_timeout(home, silent_port):
    started = time.monotonic()

    outcome = fail(home, webhook_url=f"http://127.0.0.1:{silent_port}/hook", timeout_seconds=0.5)

    assert time.monotonic() - started < 5
    assert outcome.webhook_status is None
    assert outcome.webhook_error == f"127.0.0.1:{silent_port}: no answer within 0.5 s"
    assert alert_lines(home)[1] == f"{STAMP} alert webhook failed: 127.0.0.1:{silent_port}: no answer within 0.5 s"


def test_refused_connection_is_reported_not_raised(home, refused_port):
    outcome = fail(home, webhook_url=f"http://127.0.0.1:{refused_port}/hook")

    assert outcome.webhook_status is None
    assert outcome.webhook_error == f"127.0.0.1:{refused_port}: connection refused"
    assert alert_lines(home)[1].endswith(f"alert webhook failed: 127.0.0.1:{refused_port}: connection refused")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://files.example.com/hook", "javascript:alert(1)",
                                 "http:///no-host", "http://example.com:notaport/hook"])
def test_only_http_and_https_urls_are_accepted(home, url):
    outcome = fail(home, webhook_url=url)

    assert outcome.webhook_status is None
    assert outcome.webhook_error.startswith("webhook URL rejected")
    assert url not in (home.audit / "alerts.log").read_text(encoding="utf-8")


def test_secrets_are_redacted_in_the_log_line_and_the_posted_body(home, webhook):
    secrets = ["sk-abc123def456ghi789jkl", "xyzBEARER987", "u:p@", "hunter2", "KEY-42-SECRET", "tok_5f5f5f",
               "AuthHeaderVal"]
    message = ("OpenAI call failed with key sk-abc123def456ghi789jkl (Bearer xyzBEARER987) fetching https://u:p@h/ "
               "with password=hunter2&api_key=KEY-42-SECRET, token: tok_5f5f5f, Authorization: Basic AuthHeaderVal"
               "\nsecond line repeats sk-abc123def456ghi789jkl")

    fail(home, message=message, webhook_url=webhook.url())

    log_text = (home.audit / "alerts.log").read_text(encoding="utf-8")
    body = webhook.received[0]["body"].decode("utf-8")
    for secret in secrets:
        assert secret not in log_text
        assert secret not in body
    assert "[redacted]" in log_text
    payload = json.loads(body)
    assert "[redacted]" in payload["text"] and "[redacted]" in payload["message"]
    assert "https://[redacted]@h/" in log_text  # the host stays readable: only the credentials go


def test_webhook_url_never_appears_in_alerts_log(home, webhook, refused_port):
    webhook.status = 500
    failing = [webhook.url(TOKEN_PATH), f"http://127.0.0.1:{refused_port}{TOKEN_PATH}?key=QUERYSECRET"]
    outcomes = [fail(home, message=f"could not post to {url}", webhook_url=url) for url in failing]

    log_text = (home.audit / "alerts.log").read_text(encoding="utf-8")
    assert len(log_text.splitlines()) == 4  # each failure: the run line and the webhook line
    for url, outcome in zip(failing, outcomes, strict=True):
        assert outcome.webhook_error is not None
        assert "T0KEN-SECRET-123" not in outcome.webhook_error and "QUERYSECRET" not in outcome.webhook_error
        assert url not in log_text
    assert "T0KEN-SECRET-123" not in log_text and "QUERYSECRET" not in log_text
    assert f"alert webhook failed: {webhook.host}: HTTP 500" in log_text  # the host is written, for diagnosis


def test_an_unwritable_audit_folder_does_not_stop_the_webhook(home, webhook):
    home.root.mkdir()
    home.audit.write_text("a file where the audit folder should be")

    outcome = fail(home, webhook_url=webhook.url())

    assert outcome.log_error is not None and "alerts.log" in outcome.log_error
    assert outcome.delivered and len(webhook.received) == 1


def test_a_failed_run_leaves_its_openlineage_fail_event_and_sends_it(home, webhook):
    """The lineage server (here the local test server) gets the pipeline's START and FAIL, with the error."""
    from tests.test_lineage import validated

    fail(home, lineage_url=webhook.url(""))
    written = home.audit / "run-3f2a9c1e-0000-4000-8000-000000000001.failed.lineage.jsonl"
    events = [json.loads(line) for line in written.read_text(encoding="utf-8").splitlines()]
    for event in events:
        validated(event)
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    assert events[1]["run"]["facets"]["errorMessage"]["message"] == "dbt build failed: 2 models in error"
    sent = [json.loads(r["body"]) for r in webhook.received if r["path"] == "/api/v1/lineage"]
    assert [e["eventType"] for e in sent] == ["START", "FAIL"]
