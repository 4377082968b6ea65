"""Building blocks shared by the detectors: runs of samples, sign-change clusters, interval merging.

Times are int64 microseconds since the epoch (UTC); arrays belong to one vehicle, sorted by time. The sample
period, the run gap and the day margin are the ``run`` rows of ``seeds/trigger_definitions.csv``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from fleetloop.definitions import trigger_params

US = 1_000_000
RUN = "run"  # the seed rows of sampling and run semantics (not a trigger)


class Detection(NamedTuple):
    """One event of one vehicle (or site) before it gets its ids: times in epoch microseconds."""

    start_us: int
    end_us: int
    tier: str | None
    attributes: dict


def sample_period_s() -> float:
    """Nominal period of the 10 Hz streams (pose, planner_debug) [s]."""
    return trigger_params(RUN)["sample_period_s"]


def day_margin_s() -> float:
    """Data read before and after a day so that runs crossing midnight are seen whole [s]."""
    return trigger_params(RUN)["day_margin_s"]


def min_samples(duration_s: float, period_s: float | None = None) -> int:
    """Fewest samples whose duration (n x ``period_s``, default the sample period) reaches ``duration_s``;
    the quotient is rounded to 1e-6 first, so float error in 0.3 / 0.1 does not add a sample."""
    period_s = sample_period_s() if period_s is None else period_s
    return math.ceil(round(duration_s / period_s, 6))


def run_duration_s(n_samples: int) -> float:
    """Duration of a run of ``n_samples`` samples [s], as the events report it."""
    return round(n_samples * sample_period_s(), 6)


def runs(mask: np.ndarray, ts_us: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximal runs of consecutive samples (at most the run gap apart) where ``mask`` holds: first and last
    index."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return idx, idx
    max_gap_us = round(trigger_params(RUN)["run_gap_s"] * US)
    breaks = (np.diff(idx) != 1) | (np.diff(ts_us[idx]) > max_gap_us)
    starts = np.concatenate(([0], np.flatnonzero(breaks) + 1))
    ends = np.concatenate((np.flatnonzero(breaks), [idx.size - 1]))
    return idx[starts], idx[ends]


def net_turn_rad(heading_from_rad: np.ndarray, heading_to_rad: np.ndarray) -> np.ndarray:
    """Absolute heading change between two headings, wrapped to [0, pi]."""
    return np.abs(np.angle(np.exp(1j * (np.asarray(heading_to_rad) - np.asarray(heading_from_rad)))))


def sign_changes(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Indices of kept samples whose sign differs from the previous kept sample's sign."""
    kept = np.flatnonzero(keep)
    signs = np.sign(values[kept])
    return kept[1:][signs[1:] != signs[:-1]]


def merge_intervals(
    start: np.ndarray, end: np.ndarray, closer_than_us: float | None = None
) -> list[tuple[int, int, int, int]]:
    """Merge intervals sorted by start: overlapping ones, or (with ``closer_than_us``) ones whose gap is
    below it. Returns (start, end, first member, last member) per merged interval."""
    merged: list[tuple[int, int, int, int]] = []
    for i, (s, e) in enumerate(zip(start.tolist(), end.tolist(), strict=True)):
        if merged:
            ms, me, first, _ = merged[-1]
            joins = s < me + closer_than_us if closer_than_us is not None else s <= me
            if joins:
                merged[-1] = (ms, max(me, e), first, i)
                continue
        merged.append((s, e, i, i))
    return merged


def change_clusters(
    change_us: np.ndarray, min_changes: int, window_s: float, accept: np.ndarray | None = None
) -> list[tuple[int, int, int, int]]:
    """Events of sign changes: ``min_changes`` consecutive changes within ``window_s`` (and ``accept``
    true for the group's first index) qualify; qualifying groups closer than ``window_s`` merge.
    Returns (start_us, end_us, first change index, last change index) per event."""
    k = int(min_changes)
    n = change_us.size - k + 1
    if n <= 0:
        return []
    first = np.arange(n)
    ok = change_us[first + k - 1] - change_us[first] <= window_s * US
    if accept is not None:
        ok &= accept
    first = first[ok]
    merged = merge_intervals(change_us[first], change_us[first + k - 1], closer_than_us=window_s * US)
    return [(s, e, int(first[a]), int(first[b]) + k - 1) for s, e, a, b in merged]
