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
