"""OpenLineage events: a parent run for the pipeline, a child run per dataset with a ParentRunFacet, START then
COMPLETE or FAIL, schema facets; every event loads back into openlineage-python's typed classes (whose validators
check the times, run ids, producer and schema URLs), and the client's HTTP transport delivers them."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState

from assets.lineage import (
    PIPELINE_JOB,
    RunLineage,
    StepTimes,
    failed_run_events,
    lineage_events,
    send_lineage_events,
    to_json_lines,
)

T0 = datetime(2026, 10, 31, 6, 0, tzinfo=UTC)
SPEC = "https://openlineage.io/spec/"


def validated(event: dict) -> RunEvent:
    """The event rebuilt with the standard's typed classes: a malformed time, run id, producer or schema URL, or a
    missing required field, raises."""
    assert event["schemaURL"].startswith(SPEC) and event["schemaURL"].endswith("#/$defs/RunEvent")
    for facets in [event["run"]["facets"], event["job"]["facets"],
                   *[d["facets"] for d in event["inputs"] + event["outputs"]]]:
        for facet in facets.values():
            assert facet["_schemaURL"].startswith(SPEC) and facet["_producer"].startswith("https://")
    return RunEvent(eventType=RunState(event["eventType"]), eventTime=event["eventTime"],
                    run=Run(runId=event["run"]["runId"], facets=event["run"]["facets"]),
                    job=Job(namespace=event["job"]["namespace"], name=event["job"]["name"]),
                    producer=event["producer"],
                    inputs=[InputDataset(d["namespace"], d["name"]) for d in event["inputs"]],
                    outputs=[OutputDataset(d["namespace"], d["name"]) for d in event["outputs"]])


def a_run() -> RunLineage:
    return RunLineage(
        str(uuid.uuid4()), T0, T0 + timedelta(minutes=2),
        parents={"marts/dim_clients": ["staging/stg_crm__companies", "intermediate/int_clients__keys"],
                 "published/dim_clients": ["marts/dim_clients"], "raw/crm_companies": ["landing/crm"]},
        steps={"raw/crm_companies": StepTimes(T0, T0 + timedelta(seconds=3)),
               "marts/dim_clients": StepTimes(T0 + timedelta(seconds=5), T0 + timedelta(seconds=30)),
               "published/dim_clients": StepTimes(T0 + timedelta(seconds=90), T0 + timedelta(minutes=2))},
        columns={"marts/dim_clients": [("client_id", "VARCHAR"), ("name", "VARCHAR")],
                 "published/dim_clients": [("client_id", "VARCHAR"), ("name", "VARCHAR")]},
        column_sources={"marts/dim_clients": {"client_id": [("intermediate/int_clients__keys", "client_id")],
                                              "name": [("staging/stg_crm__companies", "company_name"),
                                                       ("seeds/thresholds", "value")]},
                        "published/dim_clients": {"client_id": [("marts/dim_clients", "client_id")],
                                                  "name": [("marts/dim_clients", "name")]}})


def events_as_json(events) -> list[dict]:
    return [json.loads(line) for line in to_json_lines(events).splitlines()]


def test_one_child_run_per_dataset_under_the_pipeline_run():
    run = a_run()
    events = events_as_json(lineage_events(run))
    for event in events:
        validated(event)
    assert (events[0]["eventType"], events[0]["job"]["name"], events[0]["run"]["runId"]) == (
        "START", PIPELINE_JOB, run.run_id)
    assert (events[-1]["eventType"], events[-1]["job"]["name"], events[-1]["run"]["runId"]) == (
        "COMPLETE", PIPELINE_JOB, run.run_id)
    children = events[1:-1]
    by_job: dict[str, list[dict]] = {}
    for event in children:
        by_job.setdefault(event["job"]["name"], []).append(event)
    assert set(by_job) == {"raw.crm_companies", "marts.dim_clients", "published.dim_clients"}
    child_ids = set()
    for start, end in by_job.values():
        assert (start["eventType"], end["eventType"]) == ("START", "COMPLETE")
        assert start["run"]["runId"] == end["run"]["runId"] != run.run_id
        child_ids.add(start["run"]["runId"])
        assert end["run"]["facets"]["parent"]["run"]["runId"] == run.run_id
        assert end["run"]["facets"]["parent"]["job"]["name"] == PIPELINE_JOB
        assert start["eventTime"] < end["eventTime"]
    assert len(child_ids) == 3
    dim = by_job["marts.dim_clients"][1]
    assert [i["name"] for i in dim["inputs"]] == ["intermediate.int_clients__keys", "staging.stg_crm__companies"]
    assert [f["name"] for f in dim["outputs"][0]["facets"]["schema"]["fields"]] == ["client_id", "name"]
    assert dim["job"]["facets"]["jobType"]["integration"] == "DBT"
    published = by_job["published.dim_clients"][1]["outputs"][0]
    assert published["namespace"].endswith("publish/marts.duckdb") and published["name"] == "main.dim_clients"


def test_each_output_column_names_the_input_columns_it_is_computed_from():
    events = events_as_json(lineage_events(a_run()))
    completed = {e["job"]["name"]: e for e in events if e["eventType"] == "COMPLETE"}
    fields = completed["marts.dim_clients"]["outputs"][0]["facets"]["columnLineage"]["fields"]
    warehouse = "duckdb://vigie/warehouse/vigie.duckdb"
    assert [(i["namespace"], i["name"], i["field"]) for i in fields["name"]["inputFields"]] == [
        (warehouse, "staging.stg_crm__companies", "company_name"),
        (warehouse, "reference.thresholds", "value")]  # a dbt seed is a table of the reference schema
    published = completed["published.dim_clients"]["outputs"][0]["facets"]["columnLineage"]["fields"]
    assert published["client_id"]["inputFields"][0]["name"] == "marts.dim_clients"
    # a dataset nothing traced (a raw table written by Python) has no facet rather than an empty one
    assert "columnLineage" not in completed["raw.crm_companies"]["outputs"][0]["facets"]


def test_the_same_run_gives_the_same_run_ids():
    run = a_run()
    first, again = events_as_json(lineage_events(run)), events_as_json(lineage_events(run))
    assert [e["run"]["runId"] for e in first] == [e["run"]["runId"] for e in again]


def test_a_failed_run_ends_with_fail_and_its_error():
    events = events_as_json(failed_run_events(str(uuid.uuid4()), T0, T0 + timedelta(seconds=40), "dbt failed"))
    for event in events:
        validated(event)
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    assert events[1]["run"]["facets"]["errorMessage"]["message"] == "dbt failed"


def test_a_malformed_event_is_refused_by_the_validation():
    event = events_as_json(lineage_events(a_run()))[0]
    with pytest.raises(ValueError):
        validated({**event, "eventTime": "31/10/2026 06:00"})
    with pytest.raises(ValueError):
        validated({**event, "run": {**event["run"], "runId": "run-1"}})


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, dict]] = []
    status = 200

    def do_POST(self):  # noqa: N802 (the standard library's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, json.loads(body)))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


def start_lineage_server() -> tuple[ThreadingHTTPServer, type[_Collector]]:
    """A lineage server on 127.0.0.1 that records what it receives (stop it with .shutdown())."""
    _Collector.received, _Collector.status = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, _Collector


@pytest.fixture
def lineage_server():
    server, collector = start_lineage_server()
    yield server, collector
    server.shutdown()


def test_the_http_transport_delivers_every_event_in_order(lineage_server):
    server, collector = lineage_server
    events = lineage_events(a_run())
    sent = send_lineage_events(f"http://127.0.0.1:{server.server_port}", events)
    assert sent == len(events) == len(collector.received)
    assert {path for path, _ in collector.received} == {"/api/v1/lineage"}
    assert [body for _, body in collector.received] == events_as_json(events)


def test_a_server_that_refuses_fails_nothing_and_its_credentials_stay_out_of_the_log(lineage_server, caplog):
    server, collector = lineage_server
    collector.status = 500
    url = f"http://vigie:s3cr3t-token@127.0.0.1:{server.server_port}?api_key=s3cr3t-token"
    assert send_lineage_events(url, lineage_events(a_run())) == 0
    assert "did not take the events" in caplog.text and "s3cr3t-token" not in caplog.text
