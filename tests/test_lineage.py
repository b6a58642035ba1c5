"""Lineage events: one OpenLineage-shaped event per dataset, naming its inputs."""

import json
from datetime import UTC, datetime

from assets.lineage import lineage_events, write_lineage_events


def test_each_dataset_gets_one_event_with_its_parents(tmp_path):
    parents = {"published/dim_clients": ["marts/dim_clients"],
               "marts/dim_clients": ["staging/stg_crm__companies", "intermediate/int_clients__keys"]}
    events = lineage_events("run-1", parents, datetime(2026, 10, 31, 6, 0, tzinfo=UTC))
    assert [e["job"]["name"] for e in events] == ["marts/dim_clients", "published/dim_clients"]
    assert [i["name"] for i in events[0]["inputs"]] == ["intermediate/int_clients__keys", "staging/stg_crm__companies"]
    assert events[1]["outputs"] == [{"namespace": "vigie", "name": "published/dim_clients"}]
    assert {e["run"]["runId"] for e in events} == {"run-1"}
    assert events[0]["eventTime"] == "2026-10-31T06:00:00+00:00"
    path = write_lineage_events(tmp_path / "run.lineage.jsonl", events)
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == events
