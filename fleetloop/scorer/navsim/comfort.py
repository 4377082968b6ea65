"""NAVSIM's ``ego_is_comfortable``: nuPlan's comfort bounds on Savitzky-Golay derivatives of simulated states.

nuPlan smooths accelerations over 8 samples and takes jerks as derivatives over 15 samples of them; yaw
rate and yaw acceleration use a 5-sample window. NAVSIM keeps the rest but smooths the accelerations and
their jerks over its whole 4 s horizon (``NAVSIM_WINDOWS``); the extended score keeps nuPlan's windows over
its 8 s (``NUPLAN_WINDOWS``). Every value is rounded to 8 decimals and must lie strictly inside its bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import savgol_filter

from fleetloop.scorer.navsim.enums import StateIndex

ROUND_DECIMALS = 8
ACC_WINDOW = 8  # nuPlan's acceleration window, and the smoothing of accelerations before their jerk
YAW_WINDOW = 5
POLY_ORDER = 2
YAW_ACC_POLY_ORDER = 3


@dataclass(frozen=True)
class ComfortWindows:
    """Savitzky-Golay windows (samples) of the accelerations and of their jerks; None: the whole horizon."""

    acc: int | None
    jerk: int | None


NAVSIM_WINDOWS = ComfortWindows(acc=None, jerk=None)
NUPLAN_WINDOWS = ComfortWindows(acc=ACC_WINDOW, jerk=15)


@dataclass(frozen=True)
class ComfortBounds:
    """nuPlan's comfort limits."""

    min_lon_acc_mps2: float = -4.05
    max_lon_acc_mps2: float = 2.40
    max_abs_lat_acc_mps2: float = 4.89
    max_abs_jerk_mps3: float = 8.37
    max_abs_lon_jerk_mps3: float = 4.13
    max_abs_yaw_acc_rps2: float = 1.93
    max_abs_yaw_rate_rps: float = 0.95


COMFORT_METRICS = ("lon_acc", "lat_acc", "jerk", "lon_jerk", "yaw_acc", "yaw_rate")


def _smooth(values: np.ndarray, window: int, poly: int = POLY_ORDER, deriv: int = 0, dt_s: float = 1.0) -> np.ndarray:
    window = min(window, values.shape[-1])
    return savgol_filter(values, window_length=window, polyorder=poly, deriv=deriv, delta=dt_s, axis=-1)


def _phase_unwrap(headings: np.ndarray) -> np.ndarray:
    adjust = np.zeros_like(headings)
    adjust[..., 1:] = np.cumsum(np.round(np.diff(headings, axis=-1) / (2 * np.pi)), axis=-1)
    return headings - 2 * np.pi * adjust


def comfort_signals(states: np.ndarray, dt_s: float, windows: ComfortWindows = NAVSIM_WINDOWS) -> dict[str, np.ndarray]:
    """The six signals (N, T+1) that ``ego_is_comfortable`` bounds."""
    n_time = states.shape[1]
    acc_window, jerk_window = windows.acc or n_time, windows.jerk or n_time
    ax, ay = states[..., StateIndex.ACCELERATION_X], states[..., StateIndex.ACCELERATION_Y]
    heading = _phase_unwrap(states[..., StateIndex.HEADING])

    def acc(values: np.ndarray, window: int) -> np.ndarray:
        return np.round(_smooth(values, window), ROUND_DECIMALS)

    def jerk(values: np.ndarray) -> np.ndarray:
        return np.round(_smooth(acc(values, ACC_WINDOW), jerk_window, deriv=1, dt_s=dt_s), ROUND_DECIMALS)

    return {
        "lon_acc": acc(ax, acc_window),
        "lat_acc": acc(ay, acc_window),
        "jerk": jerk(np.hypot(ax, ay)),
        "lon_jerk": jerk(ax),
        "yaw_acc": np.round(_smooth(heading, YAW_WINDOW, YAW_ACC_POLY_ORDER, deriv=2, dt_s=dt_s), ROUND_DECIMALS),
        "yaw_rate": np.round(_smooth(heading, YAW_WINDOW, deriv=1, dt_s=dt_s), ROUND_DECIMALS),
    }


def comfort_checks(states: np.ndarray, dt_s: float, bounds: ComfortBounds = ComfortBounds(),
                   windows: ComfortWindows = NAVSIM_WINDOWS) -> np.ndarray:
    """(N, 6) whether each signal of ``COMFORT_METRICS`` stays strictly within its bounds."""
    sig = comfort_signals(states, dt_s, windows)
    limits = {
        "lon_acc": (bounds.min_lon_acc_mps2, bounds.max_lon_acc_mps2),
        "lat_acc": (-bounds.max_abs_lat_acc_mps2, bounds.max_abs_lat_acc_mps2),
        "jerk": (-bounds.max_abs_jerk_mps3, bounds.max_abs_jerk_mps3),
        "lon_jerk": (-bounds.max_abs_lon_jerk_mps3, bounds.max_abs_lon_jerk_mps3),
        "yaw_acc": (-bounds.max_abs_yaw_acc_rps2, bounds.max_abs_yaw_acc_rps2),
        "yaw_rate": (-bounds.max_abs_yaw_rate_rps, bounds.max_abs_yaw_rate_rps),
    }
    return np.stack([((sig[k] > limits[k][0]) & (sig[k] < limits[k][1])).all(axis=-1) for k in COMFORT_METRICS],
                    axis=-1)
