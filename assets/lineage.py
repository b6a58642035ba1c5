"""Lineage events for auditors: one OpenLineage-shaped event per dataset a run produced, with its inputs.

Written next to the audit manifest so an auditor can walk from any published table back to the landing
folders (and, through ingest_files and the raw rows' file and line columns, to the input lines) without Dagster.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

NAMESPACE = "vigie"
PRODUCER = "https://github.com/vigie/vigie"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def lineage_events(run_id: str, parents: Mapping[str, list[str]], event_time: datetime | None = None) -> list[dict]:
    """`parents` maps each dataset ("marts/fct_deals") to the datasets it is built from."""
    stamp = (event_time or datetime.now(UTC)).isoformat(timespec="seconds")
    return [
        {
            "eventType": "COMPLETE",
            "eventTime": stamp,
            "producer": PRODUCER,
            "schemaURL": SCHEMA_URL,
            "run": {"runId": run_id},
            "job": {"namespace": NAMESPACE, "name": dataset},
            "inputs": [{"namespace": NAMESPACE, "name": parent} for parent in sorted(inputs)],
            "outputs": [{"namespace": NAMESPACE, "name": dataset}],
        }
        for dataset, inputs in sorted(parents.items())
    ]


def write_lineage_events(path: Path, events: list[dict]) -> Path:
    path.write_text("".join(json.dumps(event, ensure_ascii=False) + "\n" for event in events), encoding="utf-8")
    return path
