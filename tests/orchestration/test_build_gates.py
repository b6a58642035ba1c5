"""A build gate must be a table whose rows can be compared before and after it is built, and may not read another
gate (orchestration/dbt_assets.py builds every gate first, in one dbt invocation)."""

from __future__ import annotations

from orchestration.dbt_assets import build_gate_problems


def _model(name: str, materialized: str = "table", gate: bool = False) -> tuple[str, dict]:
    meta = {"vigie_build_gate": True} if gate else {}
    return f"model.vigie.{name}", {"name": name, "resource_type": "model",
                                   "config": {"materialized": materialized, "meta": meta}}


def _manifest(*models: tuple[str, dict], parents: dict[str, list[str]]) -> dict:
    return {"nodes": dict(models), "parent_map": {f"model.vigie.{child}": [f"model.vigie.{p}" for p in ps]
                                                  for child, ps in parents.items()}}


def test_a_table_gate_reading_no_other_gate_is_usable():
    manifest = _manifest(_model("stg"), _model("keys", gate=True), _model("accounts"), _model("other", "view"),
                         parents={"keys": ["stg"], "accounts": ["keys"], "other": ["accounts"]})
    assert build_gate_problems(manifest) == []


def test_a_view_or_ephemeral_gate_is_refused():
    """A view shows the new rows before it is built again, an ephemeral model none: neither would ever look changed."""
    manifest = _manifest(_model("stg"), _model("keys", "view", gate=True), _model("names", "ephemeral", gate=True),
                         parents={"keys": ["stg"], "names": ["stg"]})
    assert build_gate_problems(manifest) == ["build gate keys is materialized as view, not as a table",
                                             "build gate names is materialized as ephemeral, not as a table"]


def test_a_gate_reading_another_gate_is_refused():
    manifest = _manifest(_model("keys", gate=True), _model("accounts"), _model("groups", "incremental", gate=True),
                         parents={"accounts": ["keys"], "groups": ["accounts"]})
    assert build_gate_problems(manifest) == ["build gate groups reads another build gate"]
