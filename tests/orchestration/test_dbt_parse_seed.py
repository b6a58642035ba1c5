"""A new home's first dbt parse starts from the last parse of the same project and connection on the machine
(orchestration/dbt_parse_seed.py): it parses again only the files whose inputs differ, and its manifest is the one a
full parse gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assets.home import VigieHome
from orchestration import dbt_parse_seed
from orchestration.dbt_project import DBT_PROJECT_DIR, prepare_manifest
from orchestration.resources import VigieResource

VOLATILE = {"created_at", "generated_at", "invocation_id", "invocation_started_at"}


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    monkeypatch.setenv(dbt_parse_seed.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def _parse(root: Path, monkeypatch, day: str, **environment: str) -> tuple[dict, dict]:
    """Parse for a home as `vigie run` does; returns dbt's perf_info and manifest."""
    home = VigieHome.resolve(root)
    vigie = VigieResource(home=str(home.root), as_of=day)
    for name, value in {**vigie.dbt_environment(), **environment}.items():
        monkeypatch.setenv(name, value)
    prepare_manifest(home, vigie.dbt_vars())
    return tuple(json.loads((home.dbt_target / name).read_text(encoding="utf-8"))
                 for name in ("perf_info.json", "manifest.json"))


def _without_timestamps(value):
    if isinstance(value, dict):
        return {k: _without_timestamps(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_without_timestamps(v) for v in value]
    return value


def test_a_new_home_starts_from_the_last_parse_and_gets_the_manifest_a_full_parse_gives(cache, tmp_path,
                                                                                      monkeypatch):
    first_perf, first = _parse(tmp_path / "first", monkeypatch, "2026-12-04")
    assert first_perf["parsed_path_count"] == first_perf["path_count"] > 200, "no seed yet: a full parse"
    assert len(list(cache.glob("*.msgpack"))) == 1

    # another home, another day: dbt takes the seed (were its profile hash wrong, dbt would parse everything)
    second_perf, second = _parse(tmp_path / "second", monkeypatch, "2026-12-05")
    assert 0 < second_perf["parsed_path_count"] < second_perf["path_count"] / 4, second_perf

    # the same day as the first: the same manifest as that full parse, in another home
    _, third = _parse(tmp_path / "third", monkeypatch, "2026-12-04")
    for part in ("nodes", "sources", "macros", "exposures", "unit_tests", "disabled", "parent_map"):
        assert _without_timestamps(third[part]) == _without_timestamps(first[part]), part


def test_the_seed_is_shared_by_connections_that_differ_only_in_their_path(cache, tmp_path, monkeypatch):
    def seed(**environment: str) -> dbt_parse_seed.ParseSeed:
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        found = dbt_parse_seed.seed_for(DBT_PROJECT_DIR)
        assert found is not None
        return found

    here = seed(VIGIE_WAREHOUSE_DB=str(tmp_path / "a" / "vigie.duckdb"), VIGIE_DUCKDB_MEMORY_LIMIT="1GB")
    elsewhere = seed(VIGIE_WAREHOUSE_DB=str(tmp_path / "b" / "vigie.duckdb"))
    assert elsewhere.path == here.path and elsewhere.path.parent == cache
    assert elsewhere.profile_hash != here.profile_hash, "dbt's hash holds the path: each home needs its own"
    assert seed(VIGIE_DUCKDB_MEMORY_LIMIT="2GB").path != here.path
    assert seed(VIGIE_WAREHOUSE_DB=str(tmp_path / "b" / "other.duckdb")).path != here.path  # another database


def test_an_unreadable_seed_leaves_dbt_to_parse_in_full(cache, tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIE_WAREHOUSE_DB", str(tmp_path / "home" / "warehouse" / "vigie.duckdb"))
    seed = dbt_parse_seed.seed_for(DBT_PROJECT_DIR)
    cache.mkdir()
    seed.path.write_bytes(b"\x93 not a dbt parse")
    assert not seed.plant(tmp_path / "partial_parse.msgpack")
    assert not (tmp_path / "partial_parse.msgpack").exists()
    perf, _ = _parse(tmp_path / "home", monkeypatch, "2026-12-04")
    assert perf["parsed_path_count"] == perf["path_count"]
