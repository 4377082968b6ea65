"""ADS suites on hand-made rows: a consistent row passes; broken intervals, ranks, rates and routing fail
under the right expectation."""

import datetime as dt

import duckdb
import pandas as pd
import pytest

from fleetloop.definitions import trigger_params
from fleetloop.quality import validate_table
from fleetloop.quality.suites import load_suite

DAY = dt.date(2026, 11, 2)


def overview_row(**over):
    row = {"dt": DAY, "n_vehicles": 10, "operating_h": 100.0, "auto_h": 90.0, "km_total": 1000.0, "km_auto": 950.0,
           "km_non_auto": 50.0, "autonomy_rate_time": 0.9, "autonomy_rate_km": 0.95, "avg_speed_kph": 10.0,
           "exposure_km": 1000.0, "n_mps": 5, "mps_per_10k_km": 50.0, "mps_ci_low": 16.2, "mps_ci_high": 116.7,
           "n_mpd_all": 1, "mpd_all_per_10k_km": 10.0, "mpd_all_ci_low": 0.25, "mpd_all_ci_high": 55.7,
           "n_mpd_resp": 0, "mpd_resp_per_10k_km": 0.0, "mpd_resp_ci_low": 0.0, "mpd_resp_ci_high": 36.9,
           "n_takeover": 4, "mpi_km": 250.0, "mpi_ci_low": 97.6, "mpi_ci_high": 917.4, "n_hard_brake": 3,
           "n_stuck": 2, "n_offline": 0, "n_site_anomaly": 0, "n_cases": 9, "n_cases_raw_upload": 2}
    return row | over


def case_row(rank, **over):
    start = pd.Timestamp("2026-11-02 08:00", tz="UTC") + pd.Timedelta(minutes=rank)
    row = {"case_id": f"case_{rank:016x}", "dt": DAY, "vehicle_id": "V1", "site_id": "S1",
           "vehicle_class": "urban_delivery", "ts_start": start, "ts_end": start + pd.Timedelta(seconds=15.3),
           "triggers": ["hard_brake"], "n_events": 1, "severity": 2, "uncertainty": 0.3, "priority": 2.6,
           "queue_rank": rank, "perception_suspect": False, "action": "counterfactual", "reason": "hard_brake"}
    return row | over


def validate(rows, table):
    con = duckdb.connect()
    con.execute("create schema ads")
    con.register("_rows", pd.DataFrame(rows))
    con.execute(f"create table ads.{table} as select * from _rows")
    return validate_table(con, f"ads.{table}", table, where=f"dt = '{DAY}'")


def failed(result):
    return {(f["expectation"], f["column"]) for f in result.failures}


def test_consistent_overview_passes():
    result = validate([overview_row()], "ads_fleet_overview_1d")
    assert result.success, result.summary()


@pytest.mark.parametrize(("change", "expected"), [
    ({"mps_ci_low": 60.0}, ("expect_column_pair_values_a_to_be_greater_than_b", "mps_per_10k_km,mps_ci_low")),
    ({"mpd_all_ci_high": 5.0}, ("expect_column_pair_values_a_to_be_greater_than_b",
                                "mpd_all_ci_high,mpd_all_per_10k_km")),
    ({"autonomy_rate_km": 1.2}, ("expect_column_values_to_be_between", "autonomy_rate_km")),
    ({"mps_per_10k_km": -1.0, "mps_ci_low": -2.0}, ("expect_column_values_to_be_between", "mps_per_10k_km")),
    ({"n_mpd_resp": 2}, ("expect_column_pair_values_a_to_be_greater_than_b", "n_mpd_all,n_mpd_resp")),
    ({"km_auto": 960.0}, ("expect_column_values_to_be_between", "km_split_error")),
    ({"auto_h": 101.0}, ("expect_column_values_to_be_between", "auto_h_excess")),
    ({"operating_h": 300.0, "auto_h": 250.0}, ("expect_column_values_to_be_between", "operating_h_per_vehicle")),
    ({"avg_speed_kph": 3.6 * 40}, ("expect_column_values_to_be_between", "avg_speed_kph")),
])
def test_overview_inconsistencies_are_named(change, expected):
    assert expected in failed(validate([overview_row(**change)], "ads_fleet_overview_1d"))


def test_case_queue_passes_and_catches_rank_and_routing_errors():
    good = [case_row(1), case_row(2, perception_suspect=True, action="raw_upload")]
    assert validate(good, "ads_case_queue").success
    found = failed(validate([case_row(1), case_row(1, case_id="case_00000000000000ff"), case_row(3)],
                            "ads_case_queue"))
    assert ("expect_compound_columns_to_be_unique", "dt,queue_rank") in found
    assert ("expect_column_values_to_be_between", "rank_gap") in found
    found = failed(validate([case_row(1, perception_suspect=True),
                             case_row(2, ts_end=pd.Timestamp("2026-11-02 08:02:05", tz="UTC"))], "ads_case_queue"))
    assert found == {("expect_column_values_to_be_in_set", "action_matches_flag"),
                     ("expect_column_values_to_be_between", "window_s")}


def test_case_window_floor_is_the_seeded_pre_and_post():
    p = trigger_params("case")
    (floor,) = [e["kwargs"]["min_value"] for e in load_suite("ads_case_queue")["expectations"]
                if e["kwargs"].get("column") == "window_s"]
    assert floor == p["pre_s"] + p["post_s"]


def test_version_compare_significance_must_match_p_value():
    row = {"version": "v3.3.0", "metric": "mps", "is_baseline": False, "baseline_version": "v3.2.0",
           "first_dt": DAY, "last_dt": DAY, "n_days": 1, "n_vehicle_days": 5, "exposure_km": 500.0,
           "event_count": 3, "rate_per_10k_km": 60.0, "ci_low": 12.4, "ci_high": 175.3, "baseline_event_count": 5,
           "baseline_exposure_km": 500.0, "baseline_rate_per_10k_km": 100.0, "rate_ratio": 0.6, "p_value": 0.73,
           "is_significant": False, "dt": DAY}
    assert validate([row], "ads_version_compare").success
    assert ("expect_column_values_to_be_in_set", "significance_consistent") in failed(
        validate([row | {"is_significant": True}], "ads_version_compare"))
