"""The raw log contract and the landing layout's guard rails."""

import datetime as dt

import pytest

from fleetloop.contract import SOURCES, markdown_table, source
from fleetloop.definitions import trigger_params, triggers
from fleetloop.paths import PartitionError, parse_partition, partition_dir

DOMAIN_SOURCES = {"heartbeat", "pose", "takeover", "vehicle_call", "error_code", "asr_note", "incident",
                  "perception_objects", "planner_debug"}


def test_every_domain_source_is_declared_with_a_valid_key():
    assert DOMAIN_SOURCES <= set(SOURCES)
    for s in SOURCES.values():
        assert s.primary_key and all(not s.fields_by_name[k].nullable for k in s.primary_key)
        assert s.fields_by_name[s.partition_ts].is_timestamp


def test_units_are_in_the_names_of_physical_fields():
    for s in SOURCES.values():
        for f in s.fields:
            if f.unit in ("m", "m/s", "m/s2", "rad", "rad/s", "deg", "%"):
                suffix = {"m": "_m", "m/s": "_mps", "m/s2": "_mps2", "rad": "_rad", "rad/s": "_rps",
                          "deg": "_deg", "%": "_pct"}[f.unit]
                assert f.name.endswith(suffix) or f.name in ("lat", "lon"), f"{s.name}.{f.name}"


def test_markdown_lists_every_field():
    md = markdown_table()
    for s in SOURCES.values():
        for f in s.fields:
            assert f"`{f.name}`" in md


def test_unknown_source_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown source"):
        source("lidar")


@pytest.mark.parametrize("bad", ["../2026-01-01", "2026-1-1", "2026-02-30", "2026-01-01/..", "*", "", "2026-01-01 "])
def test_hostile_partitions_are_refused(bad, tmp_path):
    with pytest.raises(PartitionError):
        partition_dir(tmp_path, "pose", bad)


def test_partition_dir_stays_in_the_landing(tmp_path):
    assert partition_dir(tmp_path, "pose", "2026-11-20") == (tmp_path / "pose" / "dt=2026-11-20").resolve()
    assert parse_partition(dt.date(2026, 11, 20)) == dt.date(2026, 11, 20)
    with pytest.raises(PartitionError):
        partition_dir(tmp_path, "../etc", "2026-11-20")


def test_trigger_definitions_resolve_class_overrides():
    default = trigger_params("hard_brake")
    robot = trigger_params("hard_brake", "campus_robot")
    assert default["acc_threshold_mps2"] == -4.0 and robot["acc_threshold_mps2"] == -3.0
    assert robot["min_duration_s"] == default["min_duration_s"]
    assert {"hard_brake", "weaving", "stuck", "offline", "site_anomaly", "error_burst", "takeover",
            "call_driver", "call_guard", "asr_keyword", "uncertainty", "output_jitter", "cut_in", "unprotected_left",
            "dense_mixed_traffic"} == set(triggers())
