"""Simulator physics: distance, acceleration, yaw rate and positions are mutually consistent and match
the truth; heartbeats agree with the pose line."""

import numpy as np
import pandas as pd
import pytest

from fleetloop.lanemap import load_lane_map, to_wgs84

DT_S = 0.1


def _per_vehicle(pose: pd.DataFrame):
    for _, g in pose.groupby("vehicle_id", sort=True):
        ts = g["ts"].dt.as_unit("ms").astype("int64").to_numpy()
        # split where the clock jumps (between days): consecutive samples only
        cuts = np.flatnonzero(np.diff(ts) != 100) + 1
        for part in np.split(np.arange(len(g)), cuts):
            if part.size > 20:
                yield g.iloc[part]


def test_distance_from_pose_speed_matches_truth_within_one_percent(sim_fleet, sim_clean):
    truth = pd.read_parquet(sim_fleet.truth_dir / "distance.parquet")
    pose = sim_clean["pose"]
    pose_km = (pose["speed_mps"] * DT_S).groupby([pose["vehicle_id"], pose["ts"].dt.date]).sum()
    truth_km = truth.groupby(["vehicle_id", "dt"])["distance_m"].sum()
    truth_km.index = truth_km.index.set_levels(pd.to_datetime(truth_km.index.levels[1]).date, level=1)
    joined = pd.concat([pose_km.rename("pose"), truth_km.rename("truth")], axis=1)
    assert joined.notna().all().all() and len(joined) == 12 * 2
    assert (joined["truth"] > 1000).all()
    np.testing.assert_allclose(joined["pose"], joined["truth"], rtol=0.01)
    # split by drive mode too (autonomy-rate truth)
    by_mode = (pose["speed_mps"] * DT_S).groupby(pose["drive_mode"]).sum()
    truth_mode = truth.groupby("drive_mode")["distance_m"].sum()
    assert set(truth_mode.index) >= {"auto", "remote", "manual"}
    np.testing.assert_allclose(by_mode[truth_mode.index], truth_mode, rtol=0.01)
    # duration: every pose sample is 0.1 s of operation
    np.testing.assert_allclose(truth["duration_s"].sum(), len(pose) * DT_S, rtol=1e-9)


def test_acc_lon_is_dv_dt_and_yaw_rate_is_dheading_dt(sim_clean):
    checked = 0
    for g in _per_vehicle(sim_clean["pose"]):
        v, acc = g["speed_mps"].to_numpy(), g["acc_lon_mps2"].to_numpy()
        heading, yaw = np.unwrap(g["heading_rad"].to_numpy()), g["yaw_rate_rps"].to_numpy()
        w = 10  # one second: sensor noise averages out
        dv = (v[w:] - v[:-w]) / (w * DT_S)
        mean_acc = np.convolve(acc, np.ones(w) / w, mode="valid")[:-1]
        assert np.quantile(np.abs(dv - mean_acc), 0.999) < 0.15
        dh = (heading[w:] - heading[:-w]) / (w * DT_S)
        trapezoid = np.r_[0.5, np.ones(w - 1), 0.5] / w  # yaw rate is continuous: trapezoidal mean
        mean_yaw = np.convolve(yaw, trapezoid, mode="valid")
        assert np.quantile(np.abs(dh - mean_yaw), 0.999) < 0.02
        # position integrates speed along heading
        x, y = g["x_m"].to_numpy(), g["y_m"].to_numpy()
        step_x = np.convolve(v[:-1] * np.cos(heading[:-1]) * DT_S, np.ones(w), mode="valid")
        step_y = np.convolve(v[:-1] * np.sin(heading[:-1]) * DT_S, np.ones(w), mode="valid")
        err = np.hypot(x[w:] - x[:-w] - step_x, y[w:] - y[:-w] - step_y)
        assert np.quantile(err, 0.999) < 0.3
        checked += 1
    assert checked >= 24


def test_positions_lie_on_the_lane_map(sim_fleet, sim_clean):
    pose = sim_clean["pose"]
    registry = {v["vehicle_id"]: v["site_id"] for v in sim_fleet.vehicles}
    site = pose["vehicle_id"].map(registry)
    for site_id in sorted(set(registry.values())):
        sample = pose[site == site_id].sample(4000, random_state=1)
        lane_map = load_lane_map(site_id)
        assert lane_map.on_drivable_area(sample["x_m"], sample["y_m"]).all()
        dist, _ = lane_map.lateral_offset(sample["x_m"], sample["y_m"])
        assert np.quantile(dist, 0.99) < 0.3  # on the centreline up to noise (and rare weaving offsets)


def test_heartbeat_agrees_with_pose(sim_fleet, sim_clean):
    hb = sim_clean["heartbeat"].copy()
    hb["ts"] = pd.to_datetime(hb["ts"], utc=True)
    pose = sim_clean["pose"]
    joined = hb.merge(pose, on=["vehicle_id", "ts"], suffixes=("_hb", "_pose"), how="left")
    assert joined["x_m"].notna().mean() > 0.99  # clock-skewed rows excluded by the labels
    joined = joined[joined["x_m"].notna()]
    np.testing.assert_allclose(joined["speed_mps_hb"], joined["speed_mps_pose"], atol=1e-6)
    for col in ("drive_mode", "task_status", "task_id", "route_id"):
        a, b = joined[f"{col}_hb"], joined[f"{col}_pose"]
        assert ((a == b) | (a.isna() & b.isna())).all(), col
    assert (joined["task_id_hb"].isna() == (joined["task_status_hb"] == "done")).all()
    origins = {v["site_id"]: load_lane_map(v["site_id"]) for v in sim_fleet.vehicles}
    for site_id, g in joined.groupby("site_id"):
        m = origins[site_id]
        lat, lon = to_wgs84(m.origin_lat, m.origin_lon, g["x_m"], g["y_m"])
        np.testing.assert_allclose(g["lat"], lat, atol=1e-8)
        np.testing.assert_allclose(g["lon"], lon, atol=1e-8)


def test_heartbeat_has_no_gaps_besides_injected_offline(sim_fleet, sim_clean):
    hb = sim_clean["heartbeat"]
    truth = pd.read_parquet(sim_fleet.truth_dir / "events.parquet")
    offline = truth[truth["trigger"] == "offline"]
    ts = pd.to_datetime(hb["ts"], utc=True)
    day_start = hb.assign(ts=ts).sort_values(["vehicle_id", "ts"])
    gaps = day_start.groupby("vehicle_id")["ts"].diff().dt.total_seconds()
    big = day_start[(gaps > 30) & (gaps < 3600 * 12)]
    assert len(big) == len(offline)


@pytest.mark.parametrize("cls,cruise", [("campus_robot", 4.0), ("urban_delivery", 12.0), ("highway_truck", 25.0)])
def test_vehicle_classes_cruise_at_their_speeds(sim_fleet, sim_clean, cls, cruise):
    vehicles = {v["vehicle_id"] for v in sim_fleet.vehicles if v["vehicle_class"] == cls}
    pose = sim_clean["pose"]
    moving = pose[pose["vehicle_id"].isin(vehicles) & (pose["task_status"] == "driving")]
    assert 0.85 * cruise <= moving["speed_mps"].quantile(0.9) <= 1.02 * cruise
