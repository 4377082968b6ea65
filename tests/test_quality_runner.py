"""The GX runner on hand-built ODS tables: committed suites are current, clean data passes, each kind of
bad row is named with its count and sample rows, sampling still counts the whole partition."""

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from fleetloop.contract import SOURCES
from fleetloop.quality import validate_table
from fleetloop.quality.suites import EXPECTATIONS_DIR, LOAD_STAGE, load_suite, ods_suite, render
from tests.test_triggers_reference import create_ods, insert

DAY = pd.Timestamp("2026-01-02", tz="UTC")


@pytest.mark.parametrize("source", list(SOURCES))
def test_committed_ods_suites_are_current(source):
    path = EXPECTATIONS_DIR / f"ods_{source}.json"
    assert path.read_text(encoding="utf-8") == render(ods_suite(SOURCES[source])), \
        "regenerate with `fleetloop quality suites`"


def heartbeats(n=100, day=DAY, vehicle="V1"):
    return pd.DataFrame({
        "ts": day + pd.Timedelta(hours=8) + pd.to_timedelta(np.arange(n), unit="s"), "vehicle_id": vehicle,
        "drive_mode": "auto", "speed_mps": 3.0, "road_type": "closed_campus", "task_id": "t1",
        "task_status": "driving", "city": "c1", "site_id": "S1", "route_id": "r1", "lat": 31.0, "lon": 121.0})


@pytest.fixture()
def con():
    con = duckdb.connect()
    create_ods(con)
    insert(con, "vehicle_registry", pd.DataFrame({
        "ts": [DAY - pd.Timedelta(days=1)], "vehicle_id": ["V1"], "vehicle_class": ["campus_robot"],
        "city": "c1", "site_id": "S1"}))
    yield con
    con.close()


def failures_by_kind(result):
    return {(f["expectation"], f["column"]): f for f in result.failures}


def test_clean_partition_passes(con):
    insert(con, "heartbeat", heartbeats())
    result = validate_table(con, "ods.ods_heartbeat", "ods_heartbeat", where="dt = '2026-01-02'")
    assert result.success, result.summary()
    assert (result.rows, result.rows_validated) == (100, 100)


def bad_heartbeats():
    hb = heartbeats()
    hb.loc[3, "drive_mode"] = "flying"  # unknown enum
    hb.loc[4, "speed_mps"] = 50.0  # above MAX_SPEED_MPS, and 9x a campus robot's top speed
    hb.loc[5, "speed_mps"] = 4.0 * 3.6  # km/h on a campus robot: within 45 m/s but implausible for its class
    hb.loc[6, "lat"] = 91.0
    hb.loc[7, "vehicle_id"] = None
    return pd.concat([hb, hb.iloc[[10]]])  # a primary-key duplicate


@pytest.mark.parametrize("sample_rows", [1_000, 10])
def test_bad_rows_are_named_counted_and_sampled(con, sample_rows):
    insert(con, "heartbeat", bad_heartbeats())
    result = validate_table(con, "ods.ods_heartbeat", "ods_heartbeat", sample_rows=sample_rows)
    found = failures_by_kind(result)
    assert not result.success
    assert set(found) == {
        ("expect_column_values_to_be_in_set", "drive_mode"),
        ("expect_column_values_to_be_between", "speed_mps"),
        ("expect_column_values_to_be_between", "speed_to_class_max"),
        ("expect_column_values_to_be_between", "lat"),
        ("expect_column_values_to_not_be_null", "vehicle_id"),
        ("expect_compound_columns_to_be_unique", "vehicle_id,ts"),
    }, result.summary()
    assert found[("expect_column_values_to_be_between", "speed_to_class_max")]["unexpected_count"] == 2
    assert found[("expect_compound_columns_to_be_unique", "vehicle_id,ts")]["unexpected_count"] == 2
    (row,) = found[("expect_column_values_to_be_in_set", "drive_mode")]["sample_rows"]
    assert row["drive_mode"] == "flying" and row["_line_number"] == 4
    assert result.rows == 101 and (result.rows_validated < 101 if sample_rows < 101 else result.rows_validated == 101)


@pytest.mark.parametrize("sample_rows", [10, 1_000])
def test_a_trusted_stage_is_not_validated_again_but_the_rest_is(con, sample_rows):
    """With the load trusted, what the load establishes is validated neither by GX nor in SQL, sampled or not;
    the rest is: the class plausibility (a join on the registry) finds both its rows wherever the sample falls."""
    insert(con, "heartbeat", bad_heartbeats())
    established = [e for e in load_suite("ods_heartbeat")["expectations"]
                   if e["meta"].get("established_by") == LOAD_STAGE]
    result = validate_table(con, "ods.ods_heartbeat", "ods_heartbeat", sample_rows=sample_rows,
                            trusted=(LOAD_STAGE,))
    found = failures_by_kind(result)
    assert set(found) == {("expect_column_values_to_be_between", "speed_to_class_max")}, result.summary()
    assert found[("expect_column_values_to_be_between", "speed_to_class_max")]["unexpected_count"] == 2
    assert result.established == len(established) > 0
    assert "established upstream" in result.summary()
    untrusted = validate_table(con, "ods.ods_heartbeat", "ods_heartbeat", sample_rows=sample_rows)
    assert untrusted.established == 0 and set(failures_by_kind(untrusted)) > set(found)


def test_where_restricts_to_the_partition(con):
    insert(con, "heartbeat", heartbeats())
    bad = heartbeats(day=DAY + pd.Timedelta(days=1))
    bad["drive_mode"] = "flying"
    insert(con, "heartbeat", bad)
    assert validate_table(con, "ods.ods_heartbeat", "ods_heartbeat", where="dt = '2026-01-02'").success
    assert not validate_table(con, "ods.ods_heartbeat", "ods_heartbeat", where="dt = '2026-01-03'").success


def test_planner_scores_and_takeover_order(con):
    insert(con, "planner_debug", pd.DataFrame({
        "ts": DAY + pd.to_timedelta([0, 100, 200], unit="ms"), "vehicle_id": "V1",
        "candidate_scores": [[0.5, 0.4], [1.2, 0.1], [0.9]], "commanded_steering_deg": 0.0}))
    insert(con, "takeover", pd.DataFrame({
        "takeover_id": ["a", "b"], "vehicle_id": "V1", "ts_start": [DAY, DAY],
        "ts_end": [DAY + pd.Timedelta(seconds=5), DAY - pd.Timedelta(seconds=1)], "operator_id": "o",
        "channel": "desktop", "initiator": "operator"}))
    planner = failures_by_kind(validate_table(con, "ods.ods_planner_debug", "ods_planner_debug"))
    assert set(planner) == {("expect_column_values_to_be_between", "candidate_score_max"),
                            ("expect_column_values_to_be_between", "candidate_count")}
    takeover = failures_by_kind(validate_table(con, "ods.ods_takeover", "ods_takeover"))
    assert takeover[("expect_column_pair_values_a_to_be_greater_than_b", "ts_end,ts_start")]["unexpected_count"] == 1


def test_column_type_drift_is_reported():
    con = duckdb.connect()
    con.execute("create schema ods")
    con.execute("create table ods.ods_vehicle_call (ts timestamptz, vehicle_id varchar, call_type varchar, "
                "reason varchar, dt date, _source_file varchar, _line_number varchar, _loaded_at timestamptz)")
    found = failures_by_kind(validate_table(con, "ods.ods_vehicle_call", "ods_vehicle_call"))
    assert found[("column_type", "_line_number")]["sample_rows"] == [{"expected": "BIGINT", "actual": "VARCHAR"}]


def test_unknown_suite_is_a_clear_error(con):
    with pytest.raises(FileNotFoundError, match="no expectation suite 'nope'"):
        validate_table(con, "ods.ods_heartbeat", "nope")


def test_suites_are_valid_json_with_names():
    for path in EXPECTATIONS_DIR.glob("*.json"):
        suite = json.loads(path.read_text(encoding="utf-8"))
        assert suite["name"] == path.stem and suite["expectations"]
        assert load_suite(path.stem) == suite
