"""NAVSIM's re-simulation of proposals (``PDMSimulator.simulate_proposals``) and the state arrays it takes.

A proposal is an (T+1, 11) state array on the simulation grid; ``trajectory_states`` builds one from the
initial state and future poses as ``pdm_score`` does (nuPlan's ``InterpolatedTrajectory`` sampled every dt).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from fleetloop.scorer.navsim.bicycle import BicycleModel, principal_value
from fleetloop.scorer.navsim.enums import SE2, STATE_SIZE, StateIndex
from fleetloop.scorer.navsim.tracker import LQRTracker, TrackerConfig
from fleetloop.scorer.navsim.vehicle import VehicleParameters

US_PER_S = 1_000_000

# The columns nuPlan's EgoState interpolates (heading as an angle); the others come back as zero.
INTERPOLATED_COLUMNS = [
    StateIndex.X,
    StateIndex.Y,
    StateIndex.HEADING,
    StateIndex.VELOCITY_X,
    StateIndex.VELOCITY_Y,
    StateIndex.ACCELERATION_X,
    StateIndex.ACCELERATION_Y,
    StateIndex.STEERING_ANGLE,
]


def ego_state_array(
    x_m: float,
    y_m: float,
    heading_rad: float,
    vx_mps: float,
    vy_mps: float,
    ax_mps2: float,
    ay_mps2: float,
    steering_rad: float = 0.0,
    steering_rate_rps: float = 0.0,
    yaw_rate_rps: float = 0.0,
    yaw_acc_rps2: float = 0.0,
) -> np.ndarray:
    """(11,) state at the rear axle; velocities and accelerations in the vehicle frame."""
    state = np.zeros(STATE_SIZE)
    state[SE2] = x_m, y_m, heading_rad
    state[StateIndex.VELOCITY_X], state[StateIndex.VELOCITY_Y] = vx_mps, vy_mps
    state[StateIndex.ACCELERATION_X], state[StateIndex.ACCELERATION_Y] = ax_mps2, ay_mps2
    state[StateIndex.STEERING_ANGLE], state[StateIndex.STEERING_RATE] = steering_rad, steering_rate_rps
    state[StateIndex.ANGULAR_VELOCITY], state[StateIndex.ANGULAR_ACCELERATION] = yaw_rate_rps, yaw_acc_rps2
    return state


def _shift_along_heading(poses: np.ndarray, distance_m: float) -> np.ndarray:
    shifted = np.array(poses, dtype=np.float64)
    shifted[..., StateIndex.X] += distance_m * np.cos(shifted[..., StateIndex.HEADING])
    shifted[..., StateIndex.Y] += distance_m * np.sin(shifted[..., StateIndex.HEADING])
    return shifted


def rear_axle_to_center(poses: np.ndarray, vehicle: VehicleParameters) -> np.ndarray:
    """(..., 3) box-centre poses of (..., 3) rear-axle poses."""
    return _shift_along_heading(poses, vehicle.rear_axle_to_center_m)


def center_to_rear_axle(poses: np.ndarray, vehicle: VehicleParameters) -> np.ndarray:
    """(..., 3) rear-axle poses of (..., 3) box-centre poses."""
    return _shift_along_heading(poses, -vehicle.rear_axle_to_center_m)


def trajectory_states(
    initial_state: np.ndarray, poses: np.ndarray, t_s: np.ndarray, horizon_s: float = 4.0, dt_s: float = 0.1
) -> np.ndarray:
    """(round(horizon_s / dt_s) + 1, 11) proposal states: the initial state followed by the (K, 3) rear-axle
    poses (same frame as the initial state, zero velocity, acceleration and steering) at times t_s (K,) after
    it, linearly interpolated in time every dt_s (heading unwrapped), held at the last pose past its time.

    As in nuPlan, only the pose, velocities, accelerations and steering angle are interpolated; steering rate,
    yaw rate and yaw acceleration are zero in every row, the first included. Times are whole microseconds.
    """
    knots_us = np.concatenate([[0.0], np.round(np.asarray(t_s, dtype=np.float64) * US_PER_S)])
    if len(knots_us) < 2 or np.any(np.diff(knots_us) <= 0.0):
        raise ValueError("t_s must be one or more strictly increasing times after the initial state")
    values = np.zeros((len(knots_us), STATE_SIZE))
    values[0, INTERPOLATED_COLUMNS] = np.asarray(initial_state, dtype=np.float64)[INTERPOLATED_COLUMNS]
    values[1:, SE2] = poses
    values[:, StateIndex.HEADING] = np.unwrap(values[:, StateIndex.HEADING])

    num_samples = round(horizon_s / dt_s) + 1
    query_us = np.clip(np.round(np.arange(num_samples) * dt_s * US_PER_S), 0.0, knots_us[-1])
    upper = np.clip(np.searchsorted(knots_us, query_us), 1, len(knots_us) - 1)
    lower = upper - 1
    slope = (values[upper] - values[lower]) / (knots_us[upper] - knots_us[lower])[:, None]
    states = slope * (query_us - knots_us[lower])[:, None] + values[lower]
    states[:, StateIndex.HEADING] = principal_value(states[:, StateIndex.HEADING])
    return states


def simulate(
    proposal_states: np.ndarray,
    initial_state: np.ndarray,
    vehicle: VehicleParameters,
    dt_s: float = 0.1,
    config: TrackerConfig | None = None,
) -> np.ndarray:
    """(N, T+1, 11) states of the LQR tracker driving the bicycle model along (N, T+1, 11) proposals from the
    (11,) initial state, one step of dt_s per proposal state. Only the proposals' poses are used."""
    config = replace(config or TrackerConfig(), discretization_s=dt_s)
    tracker = LQRTracker(proposal_states, config)
    model = BicycleModel(vehicle.wheelbase_m)
    # The bicycle integrates over the difference of two microsecond time points, as nuPlan measures it.
    step_s = round(dt_s * US_PER_S) * (1.0 / US_PER_S)
    simulated = np.zeros(proposal_states.shape)
    simulated[:, 0] = initial_state
    for step in range(1, proposal_states.shape[1]):
        current = simulated[:, step - 1]
        simulated[:, step] = model.propagate(current, tracker.command(step - 1, current), step_s)
    return simulated
