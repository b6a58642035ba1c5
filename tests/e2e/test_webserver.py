"""`vigie ui` and `vigie serve` as a firm runs them: the Dagster webserver and daemon in their own processes, a run
launched through the GraphQL API exactly as the UI's "Launch run" button does, with no run config at all.

This proves three things no in-process test can: the code location loads in Dagster's own code server from the
home the command activated; the `vigie` resource needs no run config (a UI launch once failed with
DagsterInvalidConfigError about VIGIE_AS_OF); and the home's dagster.yaml brings `vigie.*` log lines into the
run's log in the UI.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import pytest

from assets.settings import DEFAULT_SETTINGS_TEXT

JOB = "vigie_pipeline"
STARTUP_TIMEOUT = 120  # webserver up and code location loaded (it parses dbt on first load)
RUN_TIMEOUT = 360  # a 3-client firm takes 1-2 minutes; the rest is slack for a loaded CI machine

WORKSPACE_QUERY = """
{ workspaceOrError { __typename
    ... on Workspace { locationEntries { name loadStatus
        locationOrLoadError { __typename
            ... on RepositoryLocation { repositories { name pipelines { name } } }
            ... on PythonError { message } } } }
    ... on PythonError { message } } }
"""

LAUNCH_MUTATION = """
mutation Launch($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on RunConfigValidationInvalid { errors { message reason } }
    ... on PythonError { message stack }
    ... on Error { message }
  }
}
"""

RUN_STATUS_QUERY = """
query Status($runId: ID!) {
  runOrError(runId: $runId) { __typename ... on Run { status } ... on Error { message } }
}
"""

RUN_EVENTS_QUERY = """
query Events($runId: ID!, $cursor: String) {
  logsForRun(runId: $runId, afterCursor: $cursor, limit: 1000) {
    __typename
    ... on EventConnection {
      cursor hasMore
      events { __typename ... on MessageEvent { message level stepKey } ... on ErrorEvent { error { message } } }
    }
    ... on Error { message }
  }
}
"""


VIGIE = Path(sys.executable).with_name("vigie")


def _start(command: list[str], home: Path, log_file: Path) -> subprocess.Popen:
    with log_file.open("wb") as log:
        # Its own process group, so the webserver, the daemon, the code servers and the run worker all end with it.
        return subprocess.Popen([VIGIE, *command, "--home", home], stdout=log, stderr=subprocess.STDOUT,
                                env=_service_environment(), start_new_session=True)


def _small_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    subprocess.run([VIGIE, "generate", "--out", home, "--clients", "3"], check=True, capture_output=True)
    _write_settings_without_automation(home)
    return home


def test_a_run_launched_from_the_ui_without_run_config_publishes_the_marts(tmp_path):
    """`vigie ui --port`: the webserver and the daemon of `dagster dev`, as a person at the keyboard starts them."""
    home = _small_home(tmp_path)
    port = _free_port()
    log_file = tmp_path / "ui.log"
    service = _start(["ui", "--port", str(port)], home, log_file)
    try:
        location, repository = _wait_for_location(port, service, log_file)
        run_id = _launch(port, location, repository)
        events = _wait_for_run(port, run_id, service, log_file)

        with duckdb.connect(str(home / "publish" / "marts.duckdb"), read_only=True) as con:
            for table in ("dim_clients", "fct_indicators_monthly"):
                assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0, f"{table} published empty"
        manifest = json.loads((home / "publish" / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["run_id"] == run_id, "the published snapshot is not the one of the launched run"

        # publish_assets.py logs "published N tables to ..." on the `vigie.publish` logger; dagster.yaml declares
        # `vigie` as a managed python logger, so the line must be in the run's log, not only on the terminal.
        # Matched whole: Dagster's own "Materialized value published dim_clients." must not count.
        messages = [event.get("message") or "" for event in events]
        assert any(re.match(r"published \d+ tables to ", message) for message in messages), (
            "no vigie.publish log line in the run's Dagster log; messages of the publish step:\n"
            + "\n".join(m for e, m in zip(events, messages, strict=True) if "publish" in (e.get("stepKey") or "")))
    finally:
        _stop(service)


def test_vigie_serve_loads_the_location_and_ends_its_processes_on_sigterm(tmp_path):
    """`vigie serve`, what a systemd unit starts: both processes up, and a SIGTERM to it alone (what systemd sends
    first) ends the webserver, the daemon and their code servers."""
    home = _small_home(tmp_path)
    port = _free_port()
    log_file = tmp_path / "serve.log"
    service = _start(["serve", "--host", "127.0.0.1", "--port", str(port)], home, log_file)
    try:
        location, _ = _wait_for_location(port, service, log_file)
        assert location
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=60) == 0, _tail(log_file)
        deadline = time.monotonic() + 60
        while _group_alive(service.pid):
            assert time.monotonic() < deadline, "a process of `vigie serve` outlived it by a minute"
            time.sleep(0.5)
    finally:
        _stop(service)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _write_settings_without_automation(home: Path) -> None:
    """Default settings, but no schedule or sensor: no other run may compete with the one this test launches."""
    text = DEFAULT_SETTINGS_TEXT.replace("daily_schedule: true", "daily_schedule: false")
    text = text.replace("landing_sensor: true", "landing_sensor: false")
    assert "daily_schedule: false" in text and "landing_sensor: false" in text, "the default settings changed"
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "settings.yml").write_text(text, encoding="utf-8")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _service_environment() -> dict[str, str]:
    # `vigie serve` must point Dagster at the home itself: nothing inherited from the test process may do it instead
    # (activate_home keeps an existing DAGSTER_HOME). No API key: the summaries must not call a paid service.
    env = {k: v for k, v in os.environ.items() if k not in ("VIGIE_HOME", "DAGSTER_HOME", "OPENAI_API_KEY")}
    env["DO_NOT_TRACK"] = "1"
    return env


def _graphql(port: int, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql",
                                     data=json.dumps({"query": query, "variables": variables or {}}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.load(response)
    assert not body.get("errors"), f"GraphQL errors: {body['errors']}"
    return body["data"]


def _wait_for_location(port: int, service: subprocess.Popen, log_file: Path) -> tuple[str, str]:
    """Wait until the webserver answers and the code location is loaded; return (location, repository) names."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last = "no answer yet"
    while time.monotonic() < deadline:
        if service.poll() is not None:
            pytest.fail(f"the service ended with code {service.returncode}\n{_tail(log_file)}")
        try:
            workspace = _graphql(port, WORKSPACE_QUERY)["workspaceOrError"]
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            last = repr(error)  # the webserver is still starting
        else:
            last = json.dumps(workspace)
            for entry in workspace.get("locationEntries", []):
                loaded = entry["locationOrLoadError"] or {}
                if loaded.get("__typename") == "PythonError":
                    pytest.fail(f"the code location failed to load: {loaded['message']}\n{_tail(log_file)}")
                if entry["loadStatus"] == "LOADED" and loaded.get("__typename") == "RepositoryLocation":
                    for repository in loaded["repositories"]:
                        if JOB in {job["name"] for job in repository["pipelines"]}:
                            return entry["name"], repository["name"]
        time.sleep(1)
    pytest.fail(f"code location not loaded after {STARTUP_TIMEOUT}s; last answer: {last}\n{_tail(log_file)}")


def _launch(port: int, location: str, repository: str) -> str:
    """Launch the job as the UI's Launchpad does with an empty editor: runConfigData {}."""
    selector = {"repositoryLocationName": location, "repositoryName": repository, "jobName": JOB}
    result = _graphql(port, LAUNCH_MUTATION, {"executionParams": {"selector": selector, "runConfigData": {}}})
    launched = result["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", f"launch refused: {json.dumps(launched, indent=2)}"
    return launched["run"]["runId"]


def _wait_for_run(port: int, run_id: str, service: subprocess.Popen, log_file: Path) -> list[dict]:
    """Poll until the run ends; return its events. A failed run fails the test with its errors and the service log."""
    deadline = time.monotonic() + RUN_TIMEOUT
    status = "unknown"
    while time.monotonic() < deadline:
        if service.poll() is not None:
            pytest.fail(f"the service ended with code {service.returncode} during the run\n{_tail(log_file)}")
        status = _graphql(port, RUN_STATUS_QUERY, {"runId": run_id})["runOrError"].get("status")
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(2)
    events = _run_events(port, run_id)
    if status != "SUCCESS":
        errors = [f"{e.get('stepKey') or '-'}: {e.get('message')}\n{(e.get('error') or {}).get('message', '')}"
                  for e in events if e.get("error") or e.get("level") in ("ERROR", "CRITICAL")]
        pytest.fail(f"run {run_id} ended as {status} (timeout {RUN_TIMEOUT}s)\n" + "\n".join(errors)
                    + f"\n{_tail(log_file)}")
    return events


def _run_events(port: int, run_id: str) -> list[dict]:
    events: list[dict] = []
    cursor = None
    while True:
        page = _graphql(port, RUN_EVENTS_QUERY, {"runId": run_id, "cursor": cursor})["logsForRun"]
        assert page["__typename"] == "EventConnection", page
        events.extend(page["events"])
        if not page["hasMore"]:
            return events
        cursor = page["cursor"]


def _tail(log_file: Path, lines: int = 60) -> str:
    text = log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else ""
    return "--- end of the service's log ---\n" + "\n".join(text.splitlines()[-lines:])


def _stop(service: subprocess.Popen) -> None:
    """End the whole process group: SIGTERM first (vigie serve ends its children), SIGKILL after 30 s."""
    try:
        os.killpg(service.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        service.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(service.pid, signal.SIGKILL)  # whatever is left: a code server or run worker that lingered
    service.wait(timeout=10)
