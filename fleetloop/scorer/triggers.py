"""The warehouse's hard_brake and weaving triggers applied to candidate trajectories, vectorised.

The definition is the reference detectors' (``fleetloop.triggers.pose``) with the same thresholds
(``seeds/trigger_definitions.csv`` via ``fleetloop.definitions.trigger_params``) and the same building blocks
(``fleetloop.triggers.runs``: fewest samples of a run, wrapped net turn); rows are trajectories sampled every
``dt`` seconds from t = 0, so no run is broken by a gap. ``tests/test_scorer_triggers.py`` checks both
against each other on random signals.
"""

from __future__ import annotations

import numpy as np

from fleetloop.triggers.runs import US, min_samples, net_turn_rad

TIERS = ("none", "mild", "hard", "severe")


def hard_brake_tier(acc: np.ndarray, speed: np.ndarray, params: dict[str, float], dt: float) -> np.ndarray:
    """Worst hard_brake tier fired per row (0 none, 1 mild, 2 hard, 3 severe); acc and speed (N, T+1): runs of
    acc <= the mild tier lasting >= min_duration_s, not entered below min_speed_mps, tiered by their minimum."""
    n, t_len = acc.shape
    n_min = min_samples(params["min_duration_s"], dt)
    cond = acc <= params["tier_mild_mps2"]
    run_len = np.zeros(n, dtype=np.int64)
    run_v0 = np.zeros(n)
    run_min = np.zeros(n)
    worst = np.zeros(n, dtype=np.int64)
    for t in range(t_len + 1):
        c = cond[:, t] if t < t_len else np.zeros(n, dtype=bool)
        ended = (run_len > 0) & ~c
        fired = ended & (run_len >= n_min) & ~(run_v0 < params["min_speed_mps"])
        tier = np.where(run_min <= params["tier_severe_mps2"], 3,
                        np.where(run_min <= params["acc_threshold_mps2"], 2, 1))
        worst = np.where(fired, np.maximum(worst, tier), worst)
        if t == t_len:
            break
        start = c & (run_len == 0)
        run_v0 = np.where(start, speed[:, t], run_v0)
        run_min = np.where(start, acc[:, t], np.where(c, np.minimum(run_min, acc[:, t]), run_min))
        run_len = np.where(c, run_len + 1, 0)
    return worst


def sign_change_mask(yaw_rate: np.ndarray, speed: np.ndarray, params: dict[str, float]) -> np.ndarray:
    """(N, T) whether a sample is a swing sample (speed >= min_speed_mps, |yaw rate| >= min_swing_rps) whose
    sign differs from the previous swing sample's."""
    swing = (speed >= params["min_speed_mps"]) & (np.abs(yaw_rate) >= params["min_swing_rps"])
    sign = np.where(swing, np.sign(yaw_rate), 0.0)
    last_swing = np.maximum.accumulate(np.where(swing, np.arange(swing.shape[1]), -1), axis=1)
    before = np.concatenate([np.full((swing.shape[0], 1), -1), last_swing[:, :-1]], axis=1)
    prev_sign = np.where(before >= 0, np.take_along_axis(sign, np.maximum(before, 0), axis=1), 0.0)
    return swing & (prev_sign != 0) & (sign != prev_sign)


def weaving_fired(yaw_rate: np.ndarray, speed: np.ndarray, heading: np.ndarray, params: dict[str, float],
                  dt: float) -> np.ndarray:
    """Whether weaving fires per row: min_sign_changes consecutive swing sign changes within window_s whose
    first and last differ in heading (wrapped) by at most max_net_heading_rad."""
    change = sign_change_mask(yaw_rate, speed, params)
    n, t_len = change.shape
    k = int(params["min_sign_changes"])
    if t_len < k:
        return np.zeros(n, dtype=bool)
    # each row's change indices first (stable sort of "not a change"), then the groups of k consecutive ones
    order = np.argsort(~change, axis=1, kind="stable")
    first, last = order[:, : t_len - k + 1], order[:, k - 1 :]
    complete = np.arange(t_len - k + 1) + k <= change.sum(axis=1, keepdims=True)
    step_us = round(dt * US)
    within = (last - first) * step_us <= params["window_s"] * US
    turn = net_turn_rad(np.take_along_axis(heading, first, axis=1), np.take_along_axis(heading, last, axis=1))
    return (complete & within & (turn <= params["max_net_heading_rad"])).any(axis=1)
