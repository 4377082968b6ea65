"""Planner-debug triggers (10 Hz) of one vehicle: uncertainty and output_jitter."""

from __future__ import annotations

import numpy as np

from fleetloop.triggers.runs import Detection, change_clusters, min_samples, run_duration_s, runs, sign_changes


def score_matrix(scores: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Candidate lists given flat with ``offsets`` (length n+1) as an (n, k_max) matrix padded with zeros,
    plus each sample's candidate count."""
    counts = np.diff(offsets)
    n, k_max = counts.size, int(counts.max(initial=0))
    if n and (counts == k_max).all():
        return scores.reshape(n, k_max), counts
    matrix = np.zeros((n, max(k_max, 1)))
    owner = np.repeat(np.arange(n), counts)
    matrix[owner, np.arange(scores.size) - np.repeat(offsets[:-1], counts)] = scores
    return matrix, counts


def flat_samples(scores: np.ndarray, offsets: np.ndarray, p: dict) -> np.ndarray:
    """Per sample: normalised entropy of p_i = s_i / sum(s) >= min_norm_entropy, or top-1 minus top-2
    score < max_top_margin (a single candidate is never flat)."""
    matrix, counts = score_matrix(scores, offsets)
    total = matrix.sum(axis=1)
    usable = (counts > 1) & (total > 0)
    prob = matrix / np.where(usable, total, 1.0)[:, None]
    plogp = prob * np.log(np.where(prob > 0, prob, 1.0))
    norm_entropy = np.where(usable, -plogp.sum(axis=1) / np.log(np.maximum(counts, 2)), np.nan)
    margin = np.full(counts.size, np.nan)
    if matrix.shape[1] >= 2:
        top2 = np.partition(matrix, matrix.shape[1] - 2, axis=1)[:, -2:]  # [second, best]
        margin = np.where(counts > 1, top2[:, 1] - top2[:, 0], np.nan)
    return (norm_entropy >= p["min_norm_entropy"]) | (margin < p["max_top_margin"])


def uncertainty(ts_us: np.ndarray, flat: np.ndarray, p: dict) -> list[Detection]:
    """Runs of flat candidate distributions lasting >= min_duration_s."""
    n_min = min_samples(p["min_duration_s"])
    return [
        Detection(int(ts_us[s]), int(ts_us[e]), None, {"duration_s": run_duration_s(e - s + 1)})
        for s, e in zip(*runs(flat, ts_us), strict=True) if e - s + 1 >= n_min
    ]


def output_jitter(ts_us: np.ndarray, steering_deg: np.ndarray, p: dict) -> list[Detection]:
    """Sign changes of the commanded steering (ignoring |value| < min_abs_steering_deg), >= min_sign_changes
    within window_s; changes closer than window_s merge."""
    changes = sign_changes(steering_deg, np.abs(steering_deg) >= p["min_abs_steering_deg"])
    clusters = change_clusters(ts_us[changes], p["min_sign_changes"], p["window_s"])
    return [Detection(s, e, None, {"sign_changes": b - a + 1}) for s, e, a, b in clusters]
