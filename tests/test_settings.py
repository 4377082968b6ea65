"""One settings object: resolved from the environment and the CLI once, the same for Python and dbt."""

from __future__ import annotations

import datetime as dt
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
])
def test_a_bad_setting_is_refused_naming_it(env, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_dbt_opens_the_file_python_opens_with_the_same_bounds(tmp_path):
    s = Settings.for_home(tmp_path, memory_limit="1GB")
    profile = yaml.safe_load((write_dbt_profile(s) / "profiles.yml").read_text())
    out = profile["fleetloop"]["outputs"][profile["fleetloop"]["target"]]
    assert out["type"] == "duckdb" and out["path"] == str(s.warehouse)
    assert out["settings"] == duckdb_config(s.warehouse, s)
    assert out["settings"]["TimeZone"] == "UTC" and out["settings"]["memory_limit"] == "1GB"
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
