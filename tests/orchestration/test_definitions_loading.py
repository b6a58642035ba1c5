"""Loading the code location as Dagster's tools do, on a home that has never run, from several processes at once
(`vigie serve` starts a webserver and a daemon, each with a code server that loads the definitions)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_three_processes_load_the_definitions_of_a_new_home_at_once(tmp_path):
    code = textwrap.dedent(f"""
        from assets.home import VigieHome
        from orchestration.definitions import build_definitions
        defs = build_definitions(VigieHome.resolve({str(tmp_path / "home")!r}))
        print(len(list(defs.resolve_asset_graph().get_all_asset_keys())))
    """)
    loaders = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(3)]
    outcomes = [loader.communicate(timeout=300) for loader in loaders]
    for loader, (out, err) in zip(loaders, outcomes, strict=True):
        assert loader.returncode == 0, err[-2000:]
        assert int(out.strip()) > 100
    home_dbt = tmp_path / "home" / "warehouse" / "dbt"
    assert (home_dbt / "target" / "manifest.json").exists()
    assert not list(home_dbt.glob(".parse-*")), "no parse scratch folder stays behind"


def test_a_new_reference_date_parses_again_only_the_files_that_read_it(tmp_path, monkeypatch):
    """The reference date changes every morning. Passed as a dbt var, it made dbt parse the whole project again at
    the first run of each day; passed in the environment, only the files that read it are parsed again."""
    import json

    from assets.home import VigieHome
    from orchestration.dbt_project import prepare_manifest
    from orchestration.resources import VigieResource

    home = VigieHome.resolve(tmp_path / "home")
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    monkeypatch.setenv("VIGIE_WAREHOUSE_DB", str(home.warehouse_db))
    parsed = []
    for day in ("2026-12-04", "2026-12-05"):
        vigie = VigieResource(home=str(home.root), as_of=day)
        for name, value in vigie.dbt_environment().items():
            monkeypatch.setenv(name, value)
        prepare_manifest(home, vigie.dbt_vars())
        perf = json.loads((home.dbt_target / "perf_info.json").read_text(encoding="utf-8"))
        parsed.append((perf["parsed_path_count"], perf["path_count"]))
    (first, total), (second, _) = parsed
    assert first == total > 200
    assert 0 < second < total / 4, parsed
    assert "2026-12" not in vigie.dbt_vars()
