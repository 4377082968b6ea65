"""NAVSIM's batch kinematic bicycle model at the rear axle, with lags on acceleration and steering."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fleetloop.scorer.navsim.enums import DynamicStateIndex, StateIndex


def principal_value(angle_rad: np.ndarray) -> np.ndarray:
    """Angles wrapped to [-pi, pi) by modulo, as nuPlan wraps the integrated heading."""
    return (angle_rad + np.pi) % (2.0 * np.pi) - np.pi


@dataclass(frozen=True)
class BicycleModel:
    """Forward-Euler kinematic bicycle; the defaults are nuPlan's and NAVSIM's."""

    wheelbase_m: float
    max_steering_rad: float = np.pi / 3.0
    accel_time_constant_s: float = 0.2
    steering_time_constant_s: float = 0.05

    def propagate(self, states: np.ndarray, commands: np.ndarray, dt_s: float) -> np.ndarray:
        """(N, 11) states one step of dt_s ahead under (N, 2) acceleration and steering-rate commands.

        The commands first pass the lags; position, heading and speed then integrate with the old heading,
        the old steering angle and the old speed, the speed with the lagged acceleration. The steering angle
        integrates the lagged rate and is clipped, but the stored steering rate is the unclipped lagged rate.
        """
        heading = states[:, StateIndex.HEADING]
        speed_mps = states[:, StateIndex.VELOCITY_X]
        steering_rad = states[:, StateIndex.STEERING_ANGLE]
        acc_mps2 = states[:, StateIndex.ACCELERATION_X]

        lagged_acc_mps2 = acc_mps2 + dt_s / (dt_s + self.accel_time_constant_s) * (
            commands[:, DynamicStateIndex.ACCELERATION_X] - acc_mps2
        )
        ideal_steering_rad = steering_rad + dt_s * commands[:, DynamicStateIndex.STEERING_RATE]
        lagged_steering_rad = steering_rad + dt_s / (dt_s + self.steering_time_constant_s) * (
            ideal_steering_rad - steering_rad
        )
        lagged_steering_rate_rps = (lagged_steering_rad - steering_rad) / dt_s

        out = np.empty_like(states)
        out[:, StateIndex.X] = states[:, StateIndex.X] + speed_mps * np.cos(heading) * dt_s
        out[:, StateIndex.Y] = states[:, StateIndex.Y] + speed_mps * np.sin(heading) * dt_s
        yaw_rate_rps = speed_mps * np.tan(steering_rad) / self.wheelbase_m
        out[:, StateIndex.HEADING] = principal_value(heading + yaw_rate_rps * dt_s)
        out[:, StateIndex.VELOCITY_X] = speed_mps + lagged_acc_mps2 * dt_s
        out[:, StateIndex.VELOCITY_Y] = 0.0
        out[:, StateIndex.STEERING_ANGLE] = np.clip(
            steering_rad + lagged_steering_rate_rps * dt_s, -self.max_steering_rad, self.max_steering_rad
        )
        out[:, StateIndex.ANGULAR_VELOCITY] = (
            out[:, StateIndex.VELOCITY_X] * np.tan(out[:, StateIndex.STEERING_ANGLE]) / self.wheelbase_m
        )
        out[:, StateIndex.ACCELERATION_X] = lagged_acc_mps2
        out[:, StateIndex.ACCELERATION_Y] = 0.0
        out[:, StateIndex.ANGULAR_ACCELERATION] = (
            out[:, StateIndex.ANGULAR_VELOCITY] - states[:, StateIndex.ANGULAR_VELOCITY]
        ) / dt_s
        out[:, StateIndex.STEERING_RATE] = lagged_steering_rate_rps
        return out
