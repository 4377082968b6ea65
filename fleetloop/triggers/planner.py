"""Planner-debug triggers (10 Hz) of one vehicle: uncertainty and output_jitter."""

from __future__ import annotations

import numpy as np

from fleetloop.triggers.runs import SAMPLE_PERIOD_S, Detection, change_clusters, min_samples, runs, sign_changes


def flat_samples(scores: np.ndarray, offsets: np.ndarray, p: dict) -> np.ndarray:
    """Per sample (candidate lists given flat with ``offsets``, length n+1): normalised entropy of
    p_i = s_i / sum(s) >= min_norm_entropy, or top-1 minus top-2 score < max_top_margin."""
    counts = np.diff(offsets)
    n = counts.size
    starts = offsets[:-1]
    owner = np.repeat(np.arange(n), counts)
    total = np.zeros(n)
    np.add.at(total, owner, scores)
    prob = np.divide(scores, total[owner], out=np.zeros_like(scores), where=total[owner] > 0)
    plogp = np.where(prob > 0, prob * np.log(np.where(prob > 0, prob, 1.0)), 0.0)
    entropy = np.zeros(n)
    np.add.at(entropy, owner, -plogp)
    with np.errstate(divide="ignore", invalid="ignore"):
        norm_entropy = np.where((counts > 1) & (total > 0), entropy / np.log(np.maximum(counts, 2)), np.nan)
    order = np.lexsort((-scores, owner))  # per sample, best score first
    ranked = scores[order]
    two = counts >= 2
    margin = np.full(n, np.nan)
    margin[two] = ranked[starts[two]] - ranked[starts[two] + 1]
    return (norm_entropy >= p["min_norm_entropy"]) | (margin < p["max_top_margin"])


def uncertainty(ts_us: np.ndarray, flat: np.ndarray, p: dict) -> list[Detection]:
    """Runs of flat candidate distributions lasting >= min_duration_s."""
    n_min = min_samples(p["min_duration_s"])
    return [
        Detection(int(ts_us[s]), int(ts_us[e]), None, {"duration_s": round((e - s + 1) * SAMPLE_PERIOD_S, 1)})
        for s, e in zip(*runs(flat, ts_us)) if e - s + 1 >= n_min
    ]


def output_jitter(ts_us: np.ndarray, steering_deg: np.ndarray, p: dict) -> list[Detection]:
    """Sign changes of the commanded steering (ignoring |value| < min_abs_steering_deg), >= min_sign_changes
    within window_s; changes closer than window_s merge."""
    changes = sign_changes(steering_deg, np.abs(steering_deg) >= p["min_abs_steering_deg"])
    clusters = change_clusters(ts_us[changes], p["min_sign_changes"], p["window_s"])
    return [Detection(s, e, None, {"sign_changes": b - a + 1}) for s, e, a, b in clusters]
