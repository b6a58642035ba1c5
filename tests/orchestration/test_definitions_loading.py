"""Loading the code location as Dagster's tools do, on a home that has never run, from several processes at once
(`vigie serve` starts a webserver and a daemon, each with a code server that loads the definitions)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from orchestration.dbt_parse_seed import CACHE_ENV


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
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "no-seed"))  # a first parse in full, not from another home's
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


def test_a_parse_is_made_again_only_when_something_it_depends_on_changed(tmp_path, monkeypatch):
    """A second run the same day reuses the manifest as it is; new vars, a new reference date, another project or a
    parse that did not finish make dbt parse again."""
    from assets.home import VigieHome
    from orchestration import dbt_project

    home = VigieHome.resolve(tmp_path / "home")
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    monkeypatch.setenv("VIGIE_WAREHOUSE_DB", str(home.warehouse_db))
    monkeypatch.setenv("VIGIE_AS_OF_DATE", "2026-12-04")
    parses = []
    real_parse = dbt_project._parse_into
    monkeypatch.setattr(dbt_project, "_parse_into", lambda *args: parses.append(args) or real_parse(*args))

    def parsed_again(dbt_vars='{"language": "fr"}') -> bool:
        before = len(parses)
        manifest = dbt_project.prepare_manifest(home, dbt_vars)
        assert manifest.is_file()
        return len(parses) > before

    assert parsed_again()
    assert not parsed_again()  # nothing changed
    monkeypatch.setenv("VIGIE_RUN_OWNER", "another run")  # different at every run, and read by no dbt file
    assert not parsed_again()
    assert parsed_again('{"language": "en"}')
    monkeypatch.setenv("VIGIE_AS_OF_DATE", "2026-12-05")
    assert parsed_again('{"language": "en"}')
    assert not parsed_again('{"language": "en"}')
    monkeypatch.setattr(dbt_project, "project_fingerprint", lambda: "a changed model")
    assert parsed_again('{"language": "en"}')
    (home.dbt_target / dbt_project.PARSE_STAMP).unlink()  # as a parse killed before its end leaves it
    assert parsed_again('{"language": "en"}')
    (home.dbt_target / "manifest.json").unlink()
    assert parsed_again('{"language": "en"}')


def _run_parse_environment(home, monkeypatch, as_of: str):
    """The environment and vars a `vigie run` parses with, set as the run sets them."""
    from orchestration.resources import VigieResource
    from orchestration.run_guard import set_run_environment
    from orchestration.runner import activate_home

    monkeypatch.setattr(os, "environ", dict(os.environ))  # the run's variables stay in this test
    activate_home(home)
    vigie = VigieResource(home=str(home.root), as_of=as_of)
    set_run_environment(home, vigie.settings())
    os.environ.update(vigie.dbt_environment())
    return vigie.dbt_vars()


def test_the_parse_vigie_run_starts_beforehand_is_the_one_the_run_needs(tmp_path, monkeypatch):
    """`vigie run` parses in a process of its own while it starts Dagster (dbt_project.start_parse); the run's own
    prepare_manifest must then find that parse made with exactly its vars and environment, and not parse again."""
    from datetime import date

    from assets.home import VigieHome
    from assets.settings import ensure_settings_file
    from orchestration import dbt_project

    home = VigieHome.resolve(tmp_path / "home")
    home.ensure()
    ensure_settings_file(home.settings_file)
    parse = dbt_project.start_parse(home, date(2026, 12, 4))
    deadline = time.monotonic() + 240
    while Path(f"/proc/{parse.pid}").exists() and time.monotonic() < deadline:  # a zombie keeps its entry
        time.sleep(0.2)
    assert not Path(f"/proc/{parse.pid}").exists(), "the ended parse is reaped at once, not left a zombie"
    assert parse.returncode == 0
    assert (home.dbt_target / dbt_project.PARSE_STAMP).is_file()
    dbt_vars = _run_parse_environment(home, monkeypatch, "2026-12-04")

    def no_parse(*args):
        raise AssertionError("the run parsed again: its fingerprint differs from the parse started beforehand")

    monkeypatch.setattr(dbt_project, "_parse_into", no_parse)
    assert dbt_project.prepare_manifest(home, dbt_vars).is_file()


def test_a_parse_stopped_midway_leaves_nothing_the_next_parse_trusts(tmp_path, monkeypatch):
    """A run refused (another run holds the home) or ended early stops its parse; the next one parses in full."""
    from datetime import date

    from assets.home import VigieHome
    from assets.settings import ensure_settings_file
    from orchestration import dbt_project

    home = VigieHome.resolve(tmp_path / "home")
    home.ensure()
    ensure_settings_file(home.settings_file)
    parse = dbt_project.start_parse(home, date(2026, 12, 4))
    dbt_project.stop_parse(parse)
    assert parse.returncode is not None
    assert not (home.dbt_target / dbt_project.PARSE_STAMP).exists()
    parses = []
    real_parse = dbt_project._parse_into
    monkeypatch.setattr(dbt_project, "_parse_into", lambda *args: parses.append(args) or real_parse(*args))
    dbt_vars = _run_parse_environment(home, monkeypatch, "2026-12-04")
    assert dbt_project.prepare_manifest(home, dbt_vars).is_file() and len(parses) == 1
    assert not list(home.dbt_target.parent.glob(".parse-*"))
