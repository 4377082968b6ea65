"""NAVSIM's batch intelligent driver model (``BatchIDMPolicy``): one IDM per target speed, stepped over
proposals.

The target speeds are fractions of the starting lane's speed limit (of a fallback speed when the lane has
none). A step is explicit Euler on progress and speed along a path; the acceleration is clipped to
[-decel_max, accel_max] and the speed is not clamped at zero, as in NAVSIM.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np


class IDMStateIndex(IntEnum):
    """Columns of an IDM state array (N, 2)."""

    PROGRESS = 0
    VELOCITY = 1


class LeadIndex(IntEnum):
    """Columns of a leading-object array (N, 3): its progress along the path, speed along the ego's heading,
    and the length subtracted from the gap."""

    PROGRESS = 0
    VELOCITY = 1
    LENGTH_REAR = 2


@dataclass(frozen=True)
class IDMConfig:
    """The policies of NAVSIM's metric-cache PDM-Closed; NAVSIM's acceleration exponent is fixed at 10."""

    speed_limit_fractions: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8, 1.0)
    fallback_target_velocity_mps: float = 15.0
    min_gap_to_lead_m: float = 1.0
    headway_time_s: float = 1.5
    accel_max_mps2: float = 1.5
    decel_max_mps2: float = 3.0
    acceleration_exponent: int = 10

    @property
    def num_policies(self) -> int:
        return len(self.speed_limit_fractions)

    def target_velocities_mps(self, speed_limit_mps: float | None) -> np.ndarray:
        """(P,) target speeds for the starting lane's speed limit (None: the lane has none)."""
        base_mps = self.fallback_target_velocity_mps if speed_limit_mps is None else speed_limit_mps
        return np.asarray(self.speed_limit_fractions, dtype=np.float64) * base_mps


class BatchIDMPolicy:
    """The IDM policies of a config at one speed limit."""

    def __init__(self, config: IDMConfig, speed_limit_mps: float | None):
        self.config = config
        self.target_velocities_mps = config.target_velocities_mps(speed_limit_mps)

    @property
    def max_target_velocity_mps(self) -> float:
        return float(np.max(self.target_velocities_mps))

    def propagate(self, idm_states: np.ndarray, lead_states: np.ndarray, policy_idx: np.ndarray,
                  dt_s: float) -> np.ndarray:
        """(N, 2) IDM states dt_s after (N, 2) states, behind (N, 3) leads, under the (N,) policies."""
        cfg = self.config
        x_m, v_mps = idm_states[:, IDMStateIndex.PROGRESS], idm_states[:, IDMStateIndex.VELOCITY]
        lead_x_m = lead_states[:, LeadIndex.PROGRESS]
        lead_v_mps = lead_states[:, LeadIndex.VELOCITY]
        lead_rear_m = lead_states[:, LeadIndex.LENGTH_REAR]
        target_mps = self.target_velocities_mps[policy_idx]
        desired_gap_m = (
            cfg.min_gap_to_lead_m
            + v_mps * cfg.headway_time_s
            + v_mps * (v_mps - lead_v_mps) / (2.0 * np.sqrt(cfg.accel_max_mps2 * cfg.decel_max_mps2))
        )
        gap_m = np.maximum(lead_x_m - x_m - lead_rear_m, cfg.min_gap_to_lead_m)
        with np.errstate(divide="ignore", invalid="ignore"):
            accel_mps2 = cfg.accel_max_mps2 * (
                1.0 - (v_mps / target_mps) ** cfg.acceleration_exponent - (desired_gap_m / gap_m) ** 2
            )
        accel_mps2 = np.clip(accel_mps2, -cfg.decel_max_mps2, cfg.accel_max_mps2)
        out = np.empty_like(idm_states)
        out[:, IDMStateIndex.PROGRESS] = x_m + dt_s * v_mps
        out[:, IDMStateIndex.VELOCITY] = v_mps + dt_s * accel_mps2
        return out
