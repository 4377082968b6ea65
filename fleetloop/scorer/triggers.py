"""The warehouse's hard_brake and weaving triggers applied to candidate trajectories, vectorised.

Same reading as the team brief's trigger semantics and the same thresholds
(``seeds/trigger_definitions.csv`` via ``fleetloop.definitions.trigger_params``): a run is a maximal
sequence of consecutive samples meeting a condition, its duration = samples x 0.1 s.
"""

from __future__ import annotations

import numpy as np

TIERS = ("none", "mild", "hard", "severe")


def hard_brake_tier(acc: np.ndarray, speed: np.ndarray, params: dict[str, float], dt: float) -> np.ndarray:
    """Worst hard_brake tier fired per row (0 none, 1 mild, 2 hard, 3 severe); acc and speed (N, T+1)."""
    n, t_len = acc.shape
    min_samples = int(np.ceil(params["min_duration_s"] / dt - 1e-9))
    cond = acc <= params["tier_mild_mps2"]
    run_len = np.zeros(n, dtype=np.int64)
    run_v0 = np.zeros(n)
    run_min = np.zeros(n)
    worst = np.zeros(n, dtype=np.int64)
    for t in range(t_len + 1):
        c = cond[:, t] if t < t_len else np.zeros(n, dtype=bool)
        ended = (run_len > 0) & ~c
        fired = ended & (run_len >= min_samples) & (run_v0 >= params["min_speed_mps"])
        tier = np.where(run_min <= params["tier_severe_mps2"], 3, np.where(run_min <= params["acc_threshold_mps2"], 2, 1))
        worst = np.where(fired, np.maximum(worst, tier), worst)
        if t == t_len:
            break
        start = c & (run_len == 0)
        run_v0 = np.where(start, speed[:, t], run_v0)
        run_min = np.where(start, acc[:, t], np.where(c, np.minimum(run_min, acc[:, t]), run_min))
        run_len = np.where(c, run_len + 1, 0)
    return worst


def weaving_fired(yaw_rate: np.ndarray, speed: np.ndarray, heading: np.ndarray, params: dict[str, float],
                  dt: float) -> np.ndarray:
    """Whether weaving fires per row: >= min_sign_changes swing sign changes within window_s and a net
    heading change between the first and last of them <= max_net_heading_rad."""
    n, t_len = yaw_rate.shape
    swing = (speed >= params["min_speed_mps"]) & (np.abs(yaw_rate) >= params["min_swing_rps"])
    sign = np.where(swing, np.sign(yaw_rate), 0.0)
    prev = np.zeros(n)
    change = np.zeros((n, t_len), dtype=bool)
    for t in range(t_len):
        change[:, t] = (sign[:, t] != 0) & (prev != 0) & (sign[:, t] != prev)
        prev = np.where(sign[:, t] != 0, sign[:, t], prev)
    k = int(params["min_sign_changes"])
    counts = change.sum(axis=1)
    fired = np.zeros(n, dtype=bool)
    window = params["window_s"] + 1e-9
    for i in np.nonzero(counts >= k)[0]:  # few rows: exact check on the flagged ones
        idx = np.nonzero(change[i])[0]
        for j in range(len(idx) - k + 1):
            first, last = idx[j], idx[j + k - 1]
            if (last - first) * dt <= window and abs(heading[i, last] - heading[i, first]) <= params["max_net_heading_rad"]:
                fired[i] = True
                break
    return fired
