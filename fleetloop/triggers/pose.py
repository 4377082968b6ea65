"""Pose triggers (10 Hz) of one vehicle: hard_brake, weaving, stuck."""

from __future__ import annotations

import numpy as np

from fleetloop.triggers.runs import (
    Detection,
    change_clusters,
    min_samples,
    net_turn_rad,
    run_duration_s,
    runs,
    sign_changes,
)


def hard_brake(ts_us: np.ndarray, speed_mps: np.ndarray, acc_lon_mps2: np.ndarray, p: dict) -> list[Detection]:
    """Runs of acc_lon <= the mild tier lasting >= min_duration_s, entered at >= min_speed_mps; tiered by
    the run's minimum acceleration."""
    out = []
    n_min = min_samples(p["min_duration_s"])
    for s, e in zip(*runs(acc_lon_mps2 <= p["tier_mild_mps2"], ts_us), strict=True):
        n = e - s + 1
        if n < n_min or speed_mps[s] < p["min_speed_mps"]:
            continue
        worst = float(acc_lon_mps2[s : e + 1].min())
        tier = "severe" if worst <= p["tier_severe_mps2"] else "hard" if worst <= p["acc_threshold_mps2"] else "mild"
        out.append(Detection(int(ts_us[s]), int(ts_us[e]), tier, {
            "min_acc_mps2": worst, "speed_mps": float(speed_mps[s]), "duration_s": run_duration_s(n),
        }))
    return out


def weaving(
    ts_us: np.ndarray, speed_mps: np.ndarray, yaw_rate_rps: np.ndarray, heading_rad: np.ndarray, p: dict
) -> list[Detection]:
    """Yaw-rate sign changes among swing samples, >= min_sign_changes within window_s with no net turn."""
    swing = (speed_mps >= p["min_speed_mps"]) & (np.abs(yaw_rate_rps) >= p["min_swing_rps"])
    changes = sign_changes(yaw_rate_rps, swing)
    k = int(p["min_sign_changes"])
    h = heading_rad[changes]
    net = net_turn_rad(h[: h.size - k + 1], h[k - 1 :]) if h.size >= k else np.empty(0)
    clusters = change_clusters(ts_us[changes], k, p["window_s"], accept=net <= p["max_net_heading_rad"])
    return [Detection(s, e, None, {"sign_changes": b - a + 1}) for s, e, a, b in clusters]


def stuck(
    ts_us: np.ndarray, driving: np.ndarray, speed_mps: np.ndarray, x_m: np.ndarray, y_m: np.ndarray, p: dict
) -> list[Detection]:
    """Runs of driving below max_speed_mps whose largest distance from their first position stays below
    max_displacement_m (a run that creeps further is no stuck event); trend_s makes an event, problem_s the
    problem tier."""
    out = []
    n_trend, n_problem = min_samples(p["trend_s"]), min_samples(p["problem_s"])
    for s, e in zip(*runs(driving & (speed_mps < p["max_speed_mps"]), ts_us), strict=True):
        n = e - s + 1
        if n < n_trend:
            continue
        displacement = np.hypot(x_m[s : e + 1] - x_m[s], y_m[s : e + 1] - y_m[s]).max()
        if displacement < p["max_displacement_m"]:
            out.append(Detection(int(ts_us[s]), int(ts_us[e]), "problem" if n >= n_problem else "trend",
                                 {"duration_s": run_duration_s(n), "max_displacement_m": float(displacement)}))
    return out
