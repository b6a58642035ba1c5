"""The run-failure sensor of the code location: a failed run gives a line in audit/alerts.log and a webhook POST."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from assets.home import VigieHome
from assets.settings import DEFAULT_SETTINGS_TEXT
from orchestration.automation import run_failure_alert
from orchestration.resources import VigieResource


@pytest.fixture
def webhook():
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/T000/secret-path", received
    server.shutdown()


def _failed_run(instance, tags=None):
    @dg.op
    def load_ledger():
        raise RuntimeError("disk on fire while calling https://user:pa55@api.example.com with sk-abcdef1234567890")

    @dg.job(name="vigie_pipeline")
    def pipeline():
        load_ledger()

    return pipeline.execute_in_process(instance=instance, raise_on_error=False, tags=tags or {})


def _evaluate(result, instance, home):
    with dg.build_run_status_sensor_context(
            sensor_name="vigie_run_failure_alert", dagster_event=result.get_run_failure_event(),
            dagster_instance=instance, dagster_run=result.dagster_run,
            resources={"vigie": VigieResource(home=str(home.root))}) as context:
        run_failure_alert(context.for_run_failure())


def test_a_failed_run_is_logged_and_posted_without_secrets(tmp_path, webhook):
    url, received = webhook
    home = VigieHome(tmp_path / "home")
    home.config.mkdir(parents=True)
    home.settings_file.write_text(DEFAULT_SETTINGS_TEXT.replace("alert_webhook:", f"alert_webhook: {url}"),
                                  encoding="utf-8")
    with dg.DagsterInstance.ephemeral() as instance:
        result = _failed_run(instance, tags={"vigie/launched_by": "schedule"})
        assert not result.success
        _evaluate(result, instance, home)
    (line,) = (home.audit / "alerts.log").read_text(encoding="utf-8").splitlines()
    assert result.run_id in line and "vigie_pipeline" in line
    (message,) = received
    assert message["run_id"] == result.run_id
    for secret in ("pa55", "sk-abcdef1234567890", "secret-path"):
        assert secret not in line and secret not in json.dumps(message)


def test_a_cli_run_is_not_alerted_twice(tmp_path):
    """`vigie run` writes its own alert; the daemon's sensor leaves its runs alone."""
    home = VigieHome(tmp_path / "home")
    with dg.DagsterInstance.ephemeral() as instance:
        result = _failed_run(instance, tags={"vigie/launched_by": "cli"})
        _evaluate(result, instance, home)
    assert not (home.audit / "alerts.log").exists()
