"""One settings object: resolved from the environment and the CLI once, the same for Python and dbt."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
import yaml

from fleetloop.settings import Settings, SettingsError
from fleetloop.warehouse import connect, duckdb_config, write_dbt_profile


def test_every_path_roots_at_home_unless_given(tmp_path):
    s = Settings.from_env({"FLEETLOOP_HOME": str(tmp_path)})
    assert (s.landing, s.warehouse, s.published, s.lake, s.dagster_home) == (
        tmp_path / "landing", tmp_path / "warehouse" / "fleetloop.duckdb", tmp_path / "published" / "fleetloop.duckdb",
        tmp_path / "lake", tmp_path / "dagster")
    other = Settings.from_env({"FLEETLOOP_HOME": str(tmp_path), "FLEETLOOP_WAREHOUSE": str(tmp_path / "w.duckdb"),
                               "DAGSTER_HOME": str(tmp_path / "dh")})
    assert other.warehouse == tmp_path / "w.duckdb" and other.dagster_home == tmp_path / "dh"
    assert other.landing == tmp_path / "landing"


def test_cli_overrides_the_environment_and_types_are_parsed(tmp_path):
    env = {"FLEETLOOP_HOME": str(tmp_path / "env"), "FLEETLOOP_MAX_QUARANTINE_SHARE": "0.1",
           "FLEETLOOP_START_DATE": "2026-03-01", "FLEETLOOP_DUCKDB_THREADS": "2"}
    s = Settings.from_env(env, home=tmp_path / "cli")
    assert s.home == tmp_path / "cli" and s.landing == tmp_path / "cli" / "landing"
    assert s.max_quarantine_share == 0.1 and s.start_date == dt.date(2026, 3, 1) and s.threads == 2
    assert Settings.from_env({}).home == Path("data").resolve()


@pytest.mark.parametrize("env, named", [
    ({"FLEETLOOP_MAX_QUARANTINE_SHARE": "five percent"}, "FLEETLOOP_MAX_QUARANTINE_SHARE"),
    ({"FLEETLOOP_START_DATE": "2026-13-45"}, "FLEETLOOP_START_DATE"),
    ({"FLEETLOOP_ENGINE": "oracle"}, "engine"),
    ({"FLEETLOOP_MAX_ROW_DROP_SHARE": "1.5"}, "shares"),
    ({"FLEETLOOP_SCORER_PROCESSES": "two"}, "FLEETLOOP_SCORER_PROCESSES"),
    ({"FLEETLOOP_SCORER_PROCESSES": "0"}, "scorer_processes"),
    ({"FLEETLOOP_SCORER_BUDGET_S": "-60"}, "scorer_budget_s"),
    ({"FLEETLOOP_SCORER_MAX_CASES": "0"}, "scorer_max_cases"),
])
def test_a_bad_setting_is_refused_naming_it(env, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_dbt_opens_the_file_python_opens_with_the_same_bounds(tmp_path):
    s = Settings.for_home(tmp_path, memory_limit="1GB")
    profile = yaml.safe_load((write_dbt_profile(s) / "profiles.yml").read_text())
    out = profile["fleetloop"]["outputs"][profile["fleetloop"]["target"]]
    assert out["type"] == "duckdb" and out["path"] == str(s.warehouse)
    # database-wide bounds once at connect, the time zone on every cursor (a spill folder cannot be set again)
    assert out["config_options"] | out["settings"] == duckdb_config(s.warehouse, s)
    assert out["settings"] == {"TimeZone": "UTC"} and out["config_options"]["memory_limit"] == "1GB"
    with connect(s.warehouse, s) as con:
        got = dict(con.execute("select name, value from duckdb_settings() where name in "
                               "('TimeZone', 'preserve_insertion_order', 'temp_directory')").fetchall())
        limit = con.execute("select current_setting('memory_limit')").fetchone()[0]
    assert got == {"TimeZone": "UTC", "preserve_insertion_order": "false",
                   "temp_directory": str(s.warehouse) + ".tmp"}
    assert limit.endswith(("GiB", "MiB")) and float(limit.split()[0]) <= 1.0 or "953" in limit


def test_child_processes_get_the_same_settings(tmp_path):
    s = Settings.for_home(tmp_path)
    env = s.subprocess_env({"PATH": "/usr/bin"})
    assert Settings.from_env(env) == s


def test_the_scorer_budget_and_processes_reach_the_dagster_resource(tmp_path):
    from dagster_pipelines.resources import WarehouseResource

    default = Settings.from_env({"FLEETLOOP_HOME": str(tmp_path)})
    assert default.scorer_budget_s == 6 * 3600 and default.scorer_processes is None
    assert default.scorer_max_cases is None  # the whole queue
    assert 1 <= default.scorer_cores <= os.cpu_count()  # the cores this process may run on
    s = Settings.from_env({"FLEETLOOP_HOME": str(tmp_path), "FLEETLOOP_SCORER_BUDGET_S": "900",
                           "FLEETLOOP_SCORER_PROCESSES": "3", "FLEETLOOP_SCORER_MAX_CASES": "40"})
    assert (s.scorer_budget_s, s.scorer_processes, s.scorer_cores, s.scorer_max_cases) == (900.0, 3, 3, 40)
    for settings in (default, s):
        assert WarehouseResource.from_settings(settings).settings == settings
        assert Settings.from_env(settings.subprocess_env({"PATH": "/usr/bin"})) == settings


def test_a_cluster_profile_folder_is_used_as_it_is(tmp_path):
    from dagster_pipelines.resources import WarehouseResource
    from fleetloop.warehouse import write_dbt_profile

    folder = tmp_path / "cluster_profile"
    s = Settings.from_env({"FLEETLOOP_HOME": str(tmp_path / "home"), "FLEETLOOP_DBT_PROFILES_DIR": str(folder)})
    with pytest.raises(FileNotFoundError, match="FLEETLOOP_DBT_PROFILES_DIR"):
        write_dbt_profile(s)
    folder.mkdir()
    (folder / "profiles.yml").write_text("fleetloop: {target: spark, outputs: {}}\n")
    assert write_dbt_profile(s) == folder and (folder / "profiles.yml").read_text().startswith("fleetloop:")
    assert not (s.home / "dbt" / "profiles.yml").exists()
    assert WarehouseResource.from_settings(s).settings == s
    assert Settings.from_env(s.subprocess_env({"PATH": "/usr/bin"})) == s
