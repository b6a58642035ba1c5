"""DuckDB's memory_limit, threads and temp_directory come from settings.yml, on every connection and in dbt's
profile, so a big run spills to disk instead of being killed."""

from __future__ import annotations

import os

import yaml

from assets.home import VigieHome
from assets.settings import ensure_settings_file, load_settings
from assets.warehouse import connect, duckdb_config


def _settings(home: VigieHome, text: str):
    ensure_settings_file(home.settings_file)
    home.settings_file.write_text(home.settings_file.read_text(encoding="utf-8") + text, encoding="utf-8")
    return load_settings(home.settings_file)


def test_connections_carry_the_limits_of_settings(tmp_path):
    home = VigieHome(tmp_path / "home")
    config = duckdb_config(_settings(home, "duckdb_memory_limit: 300MB\nduckdb_threads: 1\n"), home)
    with connect(tmp_path / "w.duckdb", config) as con:
        limit, threads, temp = con.execute("SELECT current_setting('memory_limit'), current_setting('threads'),"
                                           " current_setting('temp_directory')").fetchone()
    assert (limit, threads, temp) == ("286.1 MiB", 1, str(home.spill))
    assert home.spill.is_dir()


def test_defaults_are_one_gigabyte_at_most_and_every_core(tmp_path):
    home = VigieHome(tmp_path / "home")
    config = duckdb_config(_settings(home, ""), home)
    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    assert int(config["memory_limit"].removesuffix("MB")) == min(1024, total_mb // 2)
    assert config["threads"] == str(len(os.sched_getaffinity(0)))


def test_dbt_profile_reads_the_same_limits_as_the_run_sets_them(tmp_path, monkeypatch):
    """run_guard.set_run_environment exports them; profiles.yml passes them to dbt-duckdb's `settings`."""
    from orchestration.dbt_project import DBT_PROJECT_DIR
    from orchestration.run_guard import set_run_environment

    home = VigieHome(tmp_path / "home")
    settings = _settings(home, "duckdb_memory_limit: 1GB\nduckdb_threads: 1\n")
    for name in ("VIGIE_DUCKDB_MEMORY_LIMIT", "VIGIE_DUCKDB_THREADS", "VIGIE_HOME",
                 "VIGIE_WAREHOUSE_DB", "DBT_TARGET_PATH", "DBT_LOG_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(os, "environ", dict(os.environ))  # set_run_environment writes it; keep the test's clean
    set_run_environment(home, settings)
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8"))
    dbt_settings = profile["vigie"]["outputs"]["warehouse"]["settings"]
    rendered = {key: os.environ[value.split("'")[1]] for key, value in dbt_settings.items()}
    # temp_directory stays DuckDB's default for dbt (see the next test)
    assert rendered == {"memory_limit": "1GB", "threads": "1"}
    assert os.environ["DBT_TARGET_PATH"] == str(home.dbt_target)


def test_the_default_memory_limit_respects_a_container_or_systemd_limit(tmp_path, monkeypatch):
    import assets.warehouse as warehouse

    cgroup_limit = tmp_path / "memory.max"
    cgroup_limit.write_text("1073741824\n")  # 1 GiB, far below this machine's memory: half of it
    monkeypatch.setattr(warehouse, "CGROUP_MEMORY_MAX", cgroup_limit)
    home = VigieHome(tmp_path / "home")
    assert duckdb_config(_settings(home, ""), home)["memory_limit"] == "512MB"
    cgroup_limit.write_text("max\n")
    assert duckdb_config(_settings(home, ""), home)["memory_limit"] != "512MB"


def test_a_dbt_build_that_spilled_still_opens_its_next_models_connection(tmp_path, monkeypatch):
    """dbt-duckdb opens a handle per model (two threads: two at once). DuckDB refuses `SET temp_directory` once the
    database has spilled, even to the same value, so a limit set per handle failed every model after the first
    spill. The profile's limits, rendered as the run sets them, go through dbt-duckdb's own environment here."""
    from dbt.adapters.duckdb.credentials import DuckDBCredentials
    from dbt.adapters.duckdb.environments.local import LocalEnvironment

    from orchestration.dbt_project import DBT_PROJECT_DIR

    values = {"VIGIE_DUCKDB_MEMORY_LIMIT": "64MB", "VIGIE_DUCKDB_THREADS": "2"}
    warehouse = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8"))["vigie"]["outputs"][
        "warehouse"]
    rendered = {section: {key: values[value.split("'")[1]] for key, value in (warehouse.get(section) or {}).items()}
                for section in ("config_options", "settings")}
    credentials = DuckDBCredentials(path=str(tmp_path / "w.duckdb"), **{k: v for k, v in rendered.items() if v})
    environment = LocalEnvironment(credentials)
    first = environment.handle()
    first.cursor().execute("CREATE TABLE t AS SELECT md5(range::VARCHAR) AS s FROM range(2000000)")
    first.cursor().execute("SELECT s FROM t ORDER BY s").fetchall()  # sorts past 64 MB: DuckDB spills
    second = environment.handle()  # the next model's handle
    assert second.cursor().execute("SELECT current_setting('temp_directory')").fetchone() == (
        str(tmp_path / "w.duckdb.tmp"),)
    assert second.cursor().execute("SELECT current_setting('memory_limit')").fetchone()[0].startswith("61")
    first.close()
    second.close()
