"""Each reference detector on hand-computed arrays: threshold exactly met, one sample short, gaps,
speed below the floor, merging."""

import numpy as np
import pytest

from fleetloop.definitions import trigger_params
from fleetloop.triggers import discrete, heartbeat, planner, pose
from fleetloop.triggers.runs import change_clusters, merge_intervals, min_samples, runs

T0 = 1_767_225_600_000_000  # 2026-01-01 00:00:00 UTC in microseconds


def ts(n, start_s=0.0, period_s=0.1):
    return T0 + np.round((start_s + np.arange(n) * period_s) * 1e6).astype(np.int64)


# --- building blocks -------------------------------------------------------------------------------

def test_min_samples_rounds_float_durations():
    assert min_samples(0.3) == 3
    assert min_samples(60) == 600
    assert min_samples(0.25) == 3
    assert min_samples(0.30000001) == 3  # within 1e-6 of 3 periods: float noise, not a fourth sample
    assert min_samples(0.300001) == 4


def test_min_samples_of_another_period():
    assert min_samples(0.3, 0.05) == 6  # 0.3 / 0.05 = 5.999999999999999 in floats
    assert min_samples(0.3, 0.04) == 8  # 7.5 samples: the eighth reaches 0.3 s
    assert min_samples(0.3, 0.3) == 1


def test_runs_split_on_false_and_on_gaps():
    t = ts(8)
    t[5:] += 60_000  # a 0.16 s gap between samples 4 and 5
    mask = np.array([1, 1, 0, 1, 1, 1, 1, 1], bool)
    starts, ends = runs(mask, t)
    assert starts.tolist() == [0, 3, 5] and ends.tolist() == [1, 4, 7]


def test_runs_keep_a_gap_of_exactly_150_ms():
    t = ts(4)
    t[2:] += 50_000  # gap 0.15 s
    assert [s.tolist() for s in runs(np.ones(4, bool), t)] == [[0], [3]]


def test_merge_intervals_overlap_and_closer_than():
    s, e = np.array([0, 5, 20, 40]), np.array([10, 12, 30, 45])
    assert [m[:2] for m in merge_intervals(s, e)] == [(0, 12), (20, 30), (40, 45)]
    assert [m[:2] for m in merge_intervals(s, e, closer_than_us=10)] == [(0, 30), (40, 45)]
    assert [m[:2] for m in merge_intervals(s, e, closer_than_us=8)] == [(0, 12), (20, 30), (40, 45)]


def test_change_clusters_window_is_inclusive():
    t = np.array([0, 1, 2, 5]) * 1_000_000
    assert change_clusters(t, 4, 5.0) == [(0, 5_000_000, 0, 3)]
    assert change_clusters(t, 4, 4.9) == []


# --- hard_brake ------------------------------------------------------------------------------------

HB = trigger_params("hard_brake")  # mild -3, hard -4, severe -5, 0.3 s, 2 m/s


def brake(acc_run, speed=10.0):
    acc = np.array([0.0, 0.0, *acc_run, 0.0, 0.0])
    return ts(acc.size), np.full(acc.size, speed), acc


def test_hard_brake_threshold_exactly_met():
    (d,) = pose.hard_brake(*brake([-4.0, -4.0, -4.0]), HB)
    assert (d.start_us, d.end_us, d.tier) == (T0 + 200_000, T0 + 400_000, "hard")
    assert d.attributes["min_acc_mps2"] == -4.0 and d.attributes["duration_s"] == 0.3


def test_hard_brake_one_sample_short():
    assert pose.hard_brake(*brake([-6.0, -6.0]), HB) == []


@pytest.mark.parametrize(("acc", "tier"), [(-3.0, "mild"), (-3.99, "mild"), (-4.5, "hard"), (-5.0, "severe")])
def test_hard_brake_tiers_by_minimum(acc, tier):
    (d,) = pose.hard_brake(*brake([-3.0, acc, -3.0]), HB)
    assert d.tier == tier


def test_hard_brake_above_mild_tier_is_no_run():
    assert pose.hard_brake(*brake([-2.99] * 5), HB) == []


def test_hard_brake_speed_floor_at_first_sample():
    t, speed, acc = brake([-4.5] * 3, speed=1.99)
    assert pose.hard_brake(t, speed, acc, HB) == []
    speed[2] = 2.0  # only the run's first sample counts
    assert len(pose.hard_brake(t, speed, acc, HB)) == 1


def test_hard_brake_gap_splits_the_run():
    t, speed, acc = brake([-4.5] * 4)
    t[4:] += 100_000  # 0.2 s between samples 3 and 4: two runs of two samples
    assert pose.hard_brake(t, speed, acc, HB) == []


def test_hard_brake_crosses_midnight():
    t, speed, acc = brake([-4.5] * 3)
    t = t - 300_000  # run samples at 23:59:59.9, 00:00:00.0, 00:00:00.1
    (d,) = pose.hard_brake(t, speed, acc, HB)
    assert d.start_us == T0 - 100_000 and d.end_us == T0 + 100_000


def test_hard_brake_campus_robot_overrides():
    p = trigger_params("hard_brake", "campus_robot")
    (d,) = pose.hard_brake(*brake([-2.0, -3.0, -2.0], speed=1.0), p)
    assert d.tier == "hard"


# --- weaving ---------------------------------------------------------------------------------------

WV = trigger_params("weaving")  # 4 changes within 5 s, 0.05 rad/s, 3 m/s, net 0.35 rad


def weave(yaw, speed=8.0, heading=None):
    yaw = np.asarray(yaw, float)
    return ts(yaw.size), np.full(yaw.size, speed), yaw, np.zeros(yaw.size) if heading is None else heading


def swings(n_changes, samples_per_swing=10, amp=0.1):
    signs = np.repeat([(-1) ** k for k in range(n_changes + 1)], samples_per_swing)
    return amp * signs


def test_weaving_exactly_four_changes_within_window():
    yaw = swings(4, samples_per_swing=12)  # changes at samples 12, 24, 36, 48: 3.6 s apart end to end
    (d,) = pose.weaving(*weave(yaw), WV)
    assert (d.start_us, d.end_us) == (T0 + 1_200_000, T0 + 4_800_000)
    assert d.attributes["sign_changes"] == 4


def test_weaving_one_change_short():
    assert pose.weaving(*weave(swings(3)), WV) == []


def test_weaving_window_exactly_met_and_exceeded():
    yaw = swings(4, samples_per_swing=17)  # changes at 1.7 s steps: span 5.1 s
    assert pose.weaving(*weave(yaw), WV) == []
    yaw = np.concatenate([np.full(10, 0.1), np.full(17, -0.1), np.full(16, 0.1), np.full(17, -0.1), np.full(10, 0.1)])
    (d,) = pose.weaving(*weave(yaw), WV)  # changes at 1.0, 2.7, 4.3, 6.0 s: span exactly 5.0 s
    assert d.end_us - d.start_us == 5_000_000


def test_weaving_small_yaw_and_low_speed_are_ignored():
    yaw = swings(6)
    assert pose.weaving(*weave(yaw * 0.49), WV) == []  # |yaw| = 0.049 < 0.05
    assert pose.weaving(*weave(yaw, speed=2.99), WV) == []


def test_weaving_sub_threshold_samples_do_not_break_sign_sequence():
    yaw = swings(4)
    yaw[5:15] = 0.01  # a quiet stretch between swings: the next swing sample's sign still counts
    assert len(pose.weaving(*weave(yaw), WV)) == 1


def test_weaving_net_turn_rejects():
    yaw = swings(4)
    heading = np.linspace(0.0, 0.6, yaw.size)  # 0.367 rad between the first and last change (30 samples)
    assert pose.weaving(*weave(yaw, heading=heading), WV) == []
    heading = np.linspace(0.0, 0.55, yaw.size)  # 0.337 rad
    assert len(pose.weaving(*weave(yaw, heading=heading), WV)) == 1


def test_weaving_heading_wraps_around_pi():
    yaw = swings(4)
    heading = np.angle(np.exp(1j * np.linspace(3.1, 3.3, yaw.size)))  # crosses +pi to -pi
    assert len(pose.weaving(*weave(yaw, heading=heading), WV)) == 1


def test_weaving_changes_closer_than_window_merge():
    yaw = swings(9)  # changes every 1 s from 1 s to 9 s
    (d,) = pose.weaving(*weave(yaw), WV)
    assert (d.start_us, d.end_us, d.attributes["sign_changes"]) == (T0 + 1_000_000, T0 + 9_000_000, 9)


def test_weaving_separate_bursts_stay_separate():
    burst = swings(4)
    yaw = np.concatenate([burst, np.zeros(60), burst])  # 6 s of straight driving between them
    assert len(pose.weaving(*weave(yaw), WV)) == 2


# --- stuck -----------------------------------------------------------------------------------------

ST = trigger_params("stuck")  # < 0.3 m/s, < 2 m, 60 s trend, 180 s problem


def still(n, speed=0.0, drift_mps=0.0):
    t = ts(n)
    x = drift_mps * (t - T0) / 1e6
    return t, np.ones(n, bool), np.full(n, speed), x, np.zeros(n)


def test_stuck_trend_exactly_met_and_one_sample_short():
    (d,) = pose.stuck(*still(600), ST)
    assert d.tier == "trend" and d.end_us - d.start_us == 59_900_000
    assert pose.stuck(*still(599), ST) == []


def test_stuck_problem_tier():
    (d,) = pose.stuck(*still(1800), ST)
    assert d.tier == "problem"
    (d,) = pose.stuck(*still(1799), ST)
    assert d.tier == "trend"


def test_stuck_speed_floor_and_task_status():
    assert pose.stuck(*still(700, speed=0.3), ST) == []
    t, driving, speed, x, y = still(700, speed=0.29)
    assert len(pose.stuck(t, driving, speed, x, y, ST)) == 1
    driving[300] = False
    assert pose.stuck(t, driving, speed, x, y, ST) == []


def test_stuck_displacement_is_a_property_of_the_whole_run():
    # drifting 1 m per 30 s for 130 s: the run leaves the 2 m circle, so it is no stuck event at all
    assert pose.stuck(*still(1300, speed=0.2, drift_mps=1 / 30), ST) == []
    # drifting 1 m per 70 s for 130 s stays within 1.9 m of its first position
    (d,) = pose.stuck(*still(1300, speed=0.2, drift_mps=1 / 70), ST)
    assert (d.end_us - d.start_us, d.tier) == (129_900_000, "trend")
    assert d.attributes["max_displacement_m"] == pytest.approx(129.9 / 70)


def test_stuck_gap_splits_the_run():
    t, driving, speed, x, y = still(1000)
    t[500:] += 200_000
    assert pose.stuck(t, driving, speed, x, y, ST) == []


# --- planner ---------------------------------------------------------------------------------------

UN = trigger_params("uncertainty")  # entropy >= 0.9 or margin < 0.05, 0.3 s
OJ = trigger_params("output_jitter")  # 3 changes within 1 s, |steer| >= 1 deg


def flat_of(rows):
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in rows])])
    return planner.flat_samples(np.concatenate([np.asarray(r, float) for r in rows]), offsets, UN)


def test_flat_samples_entropy_and_margin():
    # entropy of (0.5, 0.3, 0.2) / log 3 = 0.9372; margin 0.2: flat by entropy
    # (0.7, 0.2, 0.1): entropy 0.7298, margin 0.5: sharp; (0.5, 0.46, 0.04): margin 0.04: flat
    # (0.9, 0.85) margin 0.05 exactly: entropy 0.9994 -> flat; single candidate: never flat
    assert flat_of([[0.5, 0.3, 0.2], [0.7, 0.2, 0.1], [0.5, 0.46, 0.04], [0.9, 0.85], [0.8]]).tolist() == [
        True, False, True, True, False]


def test_flat_samples_margin_ignores_order():
    assert flat_of([[0.1, 0.8, 0.78]]).tolist() == [True]
    assert flat_of([[0.1, 0.8, 0.7]]).tolist() == [False]


def test_uncertainty_run_length():
    flat = np.array([0, 1, 1, 1, 0, 1, 1, 0], bool)
    (d,) = planner.uncertainty(ts(8), flat, UN)
    assert (d.start_us, d.end_us) == (T0 + 100_000, T0 + 300_000)


def test_output_jitter_threshold_and_dead_band():
    steer = np.array([2.0, -2.0, 0.5, 2.0, -2.0, 0, 0, 0, 0, 0, 0, 0])
    (d,) = planner.output_jitter(ts(steer.size), steer, OJ)  # changes at 0.1, 0.3, 0.4 s
    assert (d.start_us, d.end_us) == (T0 + 100_000, T0 + 400_000)
    steer[1] = -0.99  # inside the dead band: only one change left
    assert planner.output_jitter(ts(steer.size), steer, OJ) == []


def test_output_jitter_window_exactly_one_second():
    steer = np.array([2.0] + [-2.0] * 5 + [2.0] * 5 + [-2.0] * 5)  # changes at 0.1, 0.6, 1.1 s
    (d,) = planner.output_jitter(ts(steer.size), steer, OJ)
    assert d.end_us - d.start_us == 1_000_000
    steer = np.array([2.0] + [-2.0] * 5 + [2.0] * 6 + [-2.0] * 5)  # span 1.1 s
    assert planner.output_jitter(ts(steer.size), steer, OJ) == []


# --- heartbeat -------------------------------------------------------------------------------------

OF = trigger_params("offline")  # > 30 s


def test_offline_gap_strictly_longer_and_active_task():
    t = ts(4, period_s=1.0)
    t[2:] += 29_000_000  # gap 30 s exactly: no event
    t[3:] += 1_000_000  # gap 2 s
    status = np.array(["driving"] * 4, dtype=object)
    assert heartbeat.offline(t, status, OF) == []
    t[3:] += 29_000_001  # gap 30.000001 s
    (d,) = heartbeat.offline(t, status, OF)
    assert (d.start_us, d.end_us) == (int(t[2]), int(t[3]))
    status[2] = "done"
    assert heartbeat.offline(t, status, OF) == []


def test_offline_across_midnight():
    t = np.array([T0 - 20_000_000, T0 + 20_000_000])
    (d,) = heartbeat.offline(t, np.array(["waiting", "waiting"], dtype=object), OF)
    assert d.start_us < T0 < d.end_us


def site_heartbeats(speeds_by_vehicle, status="driving", start_s=0.0):
    import pandas as pd
    rows = []
    for v, speeds in speeds_by_vehicle.items():
        for k, s in enumerate(speeds):
            rows.append({"site_id": "S1", "vehicle_id": v, "ts_us": int(ts(1, start_s + k, 1.0)[0]),
                         "speed_mps": s, "task_status": status})
    return pd.DataFrame(rows)


SA = trigger_params("site_anomaly")  # 600 s windows, >= 3 and >= 30 %, crawl < 1 m/s


def test_site_anomaly_fires_at_exactly_three_and_thirty_percent():
    speeds = {f"v{i}": [0.5, 1.4] for i in range(3)}  # mean 0.95 < 1.0: crawling
    speeds |= {f"w{i}": [8.0, 8.0] for i in range(7)}  # 3 / 10 = 30 %
    (r,) = heartbeat.site_anomaly(site_heartbeats(speeds), SA).itertuples()
    assert (r.site_id, r.start_us % 600_000_000, r.end_us - r.start_us, r.active, r.crawling) == (
        "S1", 0, 600_000_000, 10, 3)


def test_site_anomaly_quiet_below_share_or_count():
    speeds = {f"v{i}": [0.5] for i in range(3)} | {f"w{i}": [8.0] for i in range(8)}  # 3 / 11
    assert heartbeat.site_anomaly(site_heartbeats(speeds), SA).empty
    speeds = {f"v{i}": [0.5] for i in range(2)}  # 2 / 2 but fewer than 3
    assert heartbeat.site_anomaly(site_heartbeats(speeds), SA).empty
    speeds = {f"v{i}": [1.0] for i in range(3)}  # mean exactly 1.0 is not crawling
    assert heartbeat.site_anomaly(site_heartbeats(speeds), SA).empty


def test_site_anomaly_windows_are_utc_aligned_and_ignore_non_driving():
    speeds = {f"v{i}": [0.5] * 20 for i in range(3)}
    hb = site_heartbeats(speeds, start_s=590.0)  # straddles the 600 s boundary
    fired = heartbeat.site_anomaly(hb, SA)
    assert ((fired["start_us"] - T0) // 1_000_000).tolist() == [0, 600]
    assert heartbeat.site_anomaly(site_heartbeats(speeds, status="waiting"), SA).empty


# --- discrete records ------------------------------------------------------------------------------

EB = trigger_params("error_burst")  # 5 codes within 60 s


def test_error_burst_exactly_five_within_sixty_seconds():
    t = T0 + np.array([0, 10, 20, 30, 60]) * 1_000_000
    codes = np.array(["PER-101"] * 5, dtype=object)
    (d,) = discrete.error_burst(t, codes, "perception", EB)
    assert (d.start_us, d.end_us, d.attributes["n_codes"]) == (T0, T0 + 60_000_000, 5)
    t[-1] += 1
    assert discrete.error_burst(t, codes, "perception", EB) == []
    assert discrete.error_burst(t[:4], codes[:4], "perception", EB) == []


def test_error_burst_overlapping_bursts_merge():
    t = T0 + np.array([0, 10, 20, 30, 40, 50, 60, 70, 200, 210, 220, 230, 240]) * 1_000_000
    first, second = discrete.error_burst(t, np.array(["A"] * 7 + ["B"] * 6, dtype=object), "planning", EB)
    assert (first.start_us, first.end_us, first.attributes["n_codes"], first.attributes["codes"]) == (
        T0, T0 + 70_000_000, 8, ["A", "B"])
    assert (second.start_us, second.end_us, second.attributes["n_codes"]) == (T0 + 200_000_000, T0 + 240_000_000, 5)


@pytest.mark.parametrize(("text", "tags"), [
    ("没东西也急刹了", ["hard_brake", "phantom_brake"]),
    ("Ran a RED LIGHT at the junction", ["red_light"]),
    ("车辆逆行，请注意", ["wrong_way"]),
    ("all good, resuming", []),
    ("redlight", []),
])
def test_asr_keyword_tags(text, tags):
    assert discrete.keyword_tags(text)[0] == tags
