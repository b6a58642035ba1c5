"""OpenLineage events of a run, built with the standard's own client (openlineage-python), for auditors and for any
lineage server (Marquez...).

One parent run, the pipeline (job `vigie_pipeline`, run id = the Dagster run id), and one child run per dataset the
run produced (a raw table, a dbt model, a Python output, a published table), each with a ParentRunFacet to the
pipeline run. Every run has a START event at its step's start and a COMPLETE (or FAIL) event at its end; outputs
carry a schema facet (columns and types as the warehouse holds them) and a column-lineage facet (which input
columns each column is computed from, read from the dbt models' compiled SQL: assets/column_lineage.py); inputs
name what they were built from, down to the landing folders (and, through ingest_files and the raw rows' file and
line columns, to the input lines).
The events are written to audit/ as JSON lines next to the audit manifest, and sent to `openlineage_url` when
settings.yml sets one (the client's HTTP transport; a lineage server that is down never fails the run).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    error_message_run,
    job_type_job,
    parent_run,
    schema_dataset,
)
from openlineage.client.serde import Serde
from openlineage.client.transport.http import HttpConfig, HttpTransport
from openlineage.client.uuid import generate_static_uuid

log = logging.getLogger("vigie.lineage")

NAMESPACE = "vigie"  # jobs; datasets are named by where they live (see dataset_name)
PRODUCER = "https://github.com/vigie/vigie"
PIPELINE_JOB = "vigie_pipeline"


@dataclass(frozen=True)
class StepTimes:
    started_at: datetime
    ended_at: datetime
    failed: bool = False
    error: str | None = None


@dataclass
class RunLineage:
    """What a run did: its own span, and for each dataset it produced ("layer/name") its parents and its step's span.
    Datasets without a span (landing folders) are inputs only."""

    run_id: str
    started_at: datetime
    ended_at: datetime
    parents: Mapping[str, list[str]]
    steps: Mapping[str, StepTimes]
    columns: Mapping[str, list[tuple[str, str]]] = field(default_factory=dict)
    # dataset -> each of its columns -> the (dataset, column) pairs it is computed from
    column_sources: Mapping[str, Mapping[str, list[tuple[str, str]]]] = field(default_factory=dict)
    failed: bool = False
    error: str | None = None


def dataset_name(key: str) -> tuple[str, str]:
    """(namespace, name) of a "layer/name" asset: warehouse tables by schema and table, published tables in the
    BI snapshot, landing folders as files."""
    layer, _, name = key.partition("/")
    if layer == "landing":
        return "file://vigie/landing", name
    if layer == "published":
        return "duckdb://vigie/publish/marts.duckdb", f"main.{name}"
    return "duckdb://vigie/warehouse/vigie.duckdb", ".".join(warehouse_relation(key))


def warehouse_relation(key: str) -> tuple[str, str]:
    """(schema, table) in the warehouse of a "layer/name" asset: dbt seeds live in the `reference` schema, a
    published table is its mart; every other layer is its schema."""
    layer, _, name = key.partition("/")
    return {"seeds": "reference", "published": "marts"}.get(layer, layer), name


def lineage_events(run: RunLineage) -> list[RunEvent]:
    """The parent run's START, each dataset's START and COMPLETE/FAIL, then the parent's COMPLETE/FAIL."""
    pipeline = Run(runId=run.run_id)
    events = [_event(RunState.START, run.started_at, pipeline, _pipeline_job(), [], [])]
    parent = parent_run.ParentRunFacet(run=parent_run.Run(runId=run.run_id),
                                       job=parent_run.Job(namespace=NAMESPACE, name=PIPELINE_JOB))
    for key in sorted(run.steps):
        times = run.steps[key]
        child = Run(runId=str(generate_static_uuid(times.started_at, f"{run.run_id}/{key}".encode())),
                    facets={"parent": parent, **_error_facet(times.error)})
        job = Job(namespace=NAMESPACE, name=key.replace("/", "."), facets={"jobType": _job_type(key)})
        inputs = [InputDataset(*dataset_name(p)) for p in sorted(run.parents.get(key, []))]
        output = OutputDataset(*dataset_name(key), facets={**_schema_facet(run.columns.get(key)),
                                                           **_column_lineage_facet(run.column_sources.get(key))})
        events.append(_event(RunState.START, times.started_at, Run(runId=child.runId, facets={"parent": parent}),
                             job, inputs, [output]))
        events.append(_event(RunState.FAIL if times.failed else RunState.COMPLETE, times.ended_at, child, job,
                             inputs, [output]))
    events.append(_event(RunState.FAIL if run.failed else RunState.COMPLETE, run.ended_at,
                         Run(runId=run.run_id, facets=_error_facet(run.error)), _pipeline_job(), [], []))
    return events


def failed_run_events(run_id: str, started_at: datetime, ended_at: datetime, error: str) -> list[RunEvent]:
    """A run that failed before publishing: the pipeline's START and FAIL, with the error."""
    return lineage_events(RunLineage(run_id, started_at, ended_at, parents={}, steps={}, failed=True, error=error))


def _event(state: RunState, at: datetime, run: Run, job: Job, inputs: list, outputs: list) -> RunEvent:
    return RunEvent(eventType=state, eventTime=at.astimezone(UTC).isoformat(), run=run, job=job, producer=PRODUCER,
                    inputs=inputs, outputs=outputs)


def _pipeline_job() -> Job:
    return Job(namespace=NAMESPACE, name=PIPELINE_JOB,
               facets={"jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="DAGSTER",
                                                               jobType="JOB")})


def _job_type(key: str) -> job_type_job.JobTypeJobFacet:
    layer = key.partition("/")[0]
    integration = "DBT" if layer in ("staging", "intermediate", "marts", "reference") else "DAGSTER"
    return job_type_job.JobTypeJobFacet(processingType="BATCH", integration=integration,
                                        jobType="MODEL" if integration == "DBT" else "ASSET")


def _schema_facet(columns: list[tuple[str, str]] | None) -> dict:
    if not columns:
        return {}
    return {"schema": schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name=name, type=kind) for name, kind in columns])}


def _column_lineage_facet(sources: Mapping[str, list[tuple[str, str]]] | None) -> dict:
    if not sources:
        return {}
    return {"columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet(fields={
        column: column_lineage_dataset.Fields(inputFields=[
            column_lineage_dataset.InputField(*dataset_name(dataset), field=name) for dataset, name in found])
        for column, found in sources.items()})}


def _error_facet(error: str | None) -> dict:
    if not error:
        return {}
    return {"errorMessage": error_message_run.ErrorMessageRunFacet(message=error, programmingLanguage="python")}


def to_json_lines(events: Iterable[RunEvent]) -> str:
    return "".join(Serde.to_json(event) + "\n" for event in events)


def write_lineage_events(path: Path, events: Iterable[RunEvent]) -> Path:
    path.write_text(to_json_lines(events), encoding="utf-8")
    return path


def send_lineage_events(url: str, events: Iterable[RunEvent], timeout_seconds: float = 5.0) -> int:
    """POST each event to a lineage server with the client's HTTP transport; returns how many it took. A server
    that refuses or does not answer is logged, never raised: lineage is a copy, the audit/ file is the record."""
    client = OpenLineageClient(transport=HttpTransport(HttpConfig(url=url, timeout=timeout_seconds)))
    sent = 0
    for event in events:
        try:
            client.emit(event)
            sent += 1
        except Exception as error:  # the transport's errors vary with the server's answer
            # the host only: a URL may carry credentials or a token
            log.warning("lineage server %s did not take the events (%s); they are in audit/ all the same",
                        urlsplit(url).hostname, type(error).__name__)
            break
    return sent
