"""NAVSIM batch simulation against a per-trajectory oracle written from nuPlan's non-batch LQRTracker and
KinematicBicycleModel (with the one place NAVSIM's batch tracker departs from it, the jerk term of the speed
fit), physical sanity of the tracking, and the interpolation of poses into proposal states."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fleetloop.scorer.navsim.enums import SE2, StateIndex
from fleetloop.scorer.navsim.simulator import (
    center_to_rear_axle,
    ego_state_array,
    rear_axle_to_center,
    simulate,
    trajectory_states,
)
from fleetloop.scorer.navsim.tracker import speed_curvature_profiles
from fleetloop.scorer.navsim.vehicle import VehicleParameters

VEHICLE = VehicleParameters.pacifica()
DT_S = 0.1
NUM_STEPS = 40
TIMES_S = np.arange(NUM_STEPS + 1) * DT_S


# Oracle: one trajectory at a time, as nuPlan's LQRTracker and KinematicBicycleModel define it.

HORIZON = 10
Q_LON, R_LON = np.diag([10.0]), np.diag([1.0])
Q_LAT, R_LAT = np.diag([1.0, 10.0, 0.0]), np.diag([1.0])
JERK_PENALTY, CURVATURE_RATE_PENALTY, INITIAL_CURVATURE_PENALTY = 1e-4, 1e-2, 1e-10
STOP_GAIN, STOP_SPEED = 0.5, 0.2
MAX_STEER, TAU_ACC, TAU_STEER = np.pi / 3, 0.2, 0.05
# The motion model integrates over a nuPlan TimePoint difference of 100000 us, in seconds.
SAMPLING_S = 100_000 * 1e-6


def _principal_value(angle, min_=-np.pi):
    return (angle - min_) % (2 * np.pi) + min_


def _angle_diff(x, y, period=2 * np.pi):
    diff = (x - y + period / 2) % period - period / 2
    return diff - 2 * math.pi if diff > math.pi else diff


def _profile(initial, derivatives, dt):
    return initial + np.insert(np.cumsum(derivatives * dt), 0, 0.0)


def _oracle_profiles(poses):
    xy = np.diff(poses, axis=0)[:, :2]
    dheading = _principal_value(np.diff(poses, axis=0)[:, 2])
    m = len(xy)
    a = np.zeros((2 * m, m))
    for k, heading in enumerate(poses[:-1, 2]):
        a[2 * k : 2 * k + 2, 0] = [np.cos(heading) * DT_S, np.sin(heading) * DT_S]
        if k > 0:
            a[2 * k : 2 * k + 2, 1 : 1 + k] = np.array(
                [[np.cos(heading) * DT_S**2], [np.sin(heading) * DT_S**2]]
            )
    # nuPlan's jerk matrix has -1, +1 on every row; NAVSIM's batch version keeps the +1 on the last row only.
    banded = -1.0 * np.eye(m - 1)[:-1, :]
    banded[-1, -1] = 1.0
    r = np.block([np.zeros((len(banded), 1)), banded])
    x = np.linalg.pinv(a.T @ a + JERK_PENALTY * r.T @ r) @ a.T @ xy.flatten()
    velocity = _profile(x[0], x[1:], DT_S)

    a = np.tri(m)
    a[:, 0] = velocity * DT_S
    for k, v in enumerate(velocity):
        if k > 0:
            a[k, 1:] *= v * DT_S**2
    q = CURVATURE_RATE_PENALTY * np.eye(m)
    q[0, 0] = INITIAL_CURVATURE_PENALTY
    x = np.linalg.pinv(a.T @ a + q) @ a.T @ dheading
    return velocity, _profile(x[0], x[1:], DT_S)


def _one_step_lqr(initial, reference, q, r, a, b, g, angle_indices):
    error = a @ initial + g - reference
    for index in angle_indices:
        error[index] = _angle_diff(error[index], 0.0)
    return -np.linalg.inv(b.T @ q @ b + r) @ b.T @ q @ error


def _oracle_command(step, state, poses, velocity, curvature):
    now_s = step * 100_000 / 1e6
    reference = poses[step]
    dx, dy = state[StateIndex.X] - reference[0], state[StateIndex.Y] - reference[1]
    lateral = np.array(
        [
            -dx * np.sin(reference[2]) + dy * np.cos(reference[2]),
            _angle_diff(state[StateIndex.HEADING], reference[2]),
            state[StateIndex.STEERING_ANGLE],
        ]
    )
    v0 = state[StateIndex.VELOCITY_X]
    profile_times = TIMES_S[:-1]
    v_ref = float(np.interp(now_s + HORIZON * DT_S, profile_times, velocity))
    kappa = np.interp([now_s + j * DT_S for j in range(HORIZON)], profile_times, curvature)
    if v_ref <= STOP_SPEED and v0 <= STOP_SPEED:
        return -STOP_GAIN * (v0 - v_ref), 0.0
    accel = float(
        _one_step_lqr(
            np.array([v0]),
            np.array([v_ref]),
            Q_LON,
            R_LON,
            np.array([1.0]),
            np.array([HORIZON * DT_S]),
            np.zeros(1),
            [],
        )
    )
    speeds = _profile(v0, np.ones(HORIZON) * accel, DT_S)[:HORIZON]
    a, b, g = np.eye(3), np.zeros((3, 1)), np.zeros(3)
    input_matrix = np.zeros((3, 1))
    input_matrix[2] = DT_S
    for v, k in zip(speeds, kappa, strict=True):
        step_matrix = np.eye(3)
        step_matrix[0, 1] = v * DT_S
        step_matrix[1, 2] = v * DT_S / VEHICLE.wheelbase_m
        affine = np.array([0.0, -v * k * DT_S, 0.0])
        a, b, g = step_matrix @ a, step_matrix @ b + input_matrix, step_matrix @ g + affine
    steering_rate = _one_step_lqr(lateral, np.zeros(3), Q_LAT, R_LAT, a, b, g, [1, 2])
    return accel, float(steering_rate[0])


def _oracle_propagate(state, accel_cmd, steering_rate_cmd):
    dt = SAMPLING_S
    x, y, heading, vx = state[StateIndex.X], state[StateIndex.Y], state[StateIndex.HEADING], state[3]
    accel, steering = state[StateIndex.ACCELERATION_X], state[StateIndex.STEERING_ANGLE]
    accel_new = dt / (dt + TAU_ACC) * (accel_cmd - accel) + accel
    ideal_steering = dt * steering_rate_cmd + steering
    steering_rate = (dt / (dt + TAU_STEER) * (ideal_steering - steering) + steering - steering) / dt
    next_vx = vx + accel_new * dt
    next_steering = np.clip(steering + steering_rate * dt, -MAX_STEER, MAX_STEER)
    yaw_rate = next_vx * np.tan(next_steering) / VEHICLE.wheelbase_m
    return ego_state_array(
        x + vx * np.cos(heading) * dt,
        y + vx * np.sin(heading) * dt,
        _principal_value(heading + vx * np.tan(steering) / VEHICLE.wheelbase_m * dt),
        next_vx,
        0.0,
        accel_new,
        0.0,
        steering_rad=next_steering,
        steering_rate_rps=steering_rate,
        yaw_rate_rps=yaw_rate,
        yaw_acc_rps2=(yaw_rate - state[StateIndex.ANGULAR_VELOCITY]) / dt,
    )


def _oracle_simulate(proposal, initial):
    poses = proposal[:, SE2]
    velocity, curvature = _oracle_profiles(poses)
    states = [initial]
    for step in range(NUM_STEPS):
        accel, steering_rate = _oracle_command(step, states[-1], poses, velocity, curvature)
        states.append(_oracle_propagate(states[-1], accel, steering_rate))
    return np.array(states)


# Proposals on the 0.1 s grid.


def _proposal(x, y, heading):
    states = np.zeros((NUM_STEPS + 1, 11))
    states[:, SE2] = np.column_stack([x, y, heading])
    return states


def _along_x(s_m, y_m=None):
    if y_m is None:
        return _proposal(s_m, np.zeros_like(s_m), np.zeros_like(s_m))
    return _proposal(s_m, y_m, np.arctan2(np.gradient(y_m, TIMES_S), np.gradient(s_m, TIMES_S)))


def _arc(speed_mps, radius_m, heading0_rad=0.0):
    heading = heading0_rad + speed_mps * TIMES_S / radius_m
    x = radius_m * (np.sin(heading) - np.sin(heading0_rad))
    y = radius_m * (np.cos(heading0_rad) - np.cos(heading))
    return _proposal(x, y, _principal_value(heading))


def _braking(v0_mps, decel_mps2):
    t = np.minimum(TIMES_S, v0_mps / decel_mps2)
    return _along_x(v0_mps * t - 0.5 * decel_mps2 * t**2)


def _lane_change(speed_mps, offset_m, duration_s):
    u = np.clip(TIMES_S / duration_s, 0.0, 1.0)
    return _along_x(speed_mps * TIMES_S, offset_m * (3 * u**2 - 2 * u**3))


def _jittered(proposal, seed, position_m=0.05, heading_rad=0.01):
    rng = np.random.default_rng(seed)
    jittered = proposal.copy()
    jittered[:, :2] += rng.normal(0.0, position_m, (NUM_STEPS + 1, 2))
    jittered[:, 2] = _principal_value(jittered[:, 2] + rng.normal(0.0, heading_rad, NUM_STEPS + 1))
    return jittered


CASES = {
    "straight": (_along_x(10.0 * TIMES_S), ego_state_array(0, 0, 0, 10, 0, 0, 0)),
    "straight_offset": (
        _along_x(10.0 * TIMES_S),
        ego_state_array(0, 0.3, 0.05, 9.5, 0, 0.5, 0, 0.02, 0, 0.1),
    ),
    "accelerating": (_along_x(5.0 * TIMES_S + 0.75 * TIMES_S**2), ego_state_array(0, 0, 0, 5, 0, 1.5, 0)),
    "braking_to_stop": (_braking(8.0, 3.0), ego_state_array(0, 0, 0, 8, 0, -1.0, 0)),
    "arc": (_arc(8.0, 30.0), ego_state_array(0, 0, 0, 8, 0, 0, 0, math.atan(VEHICLE.wheelbase_m / 30.0))),
    "arc_across_pi": (_arc(8.0, 20.0, 3.0), ego_state_array(0, 0, 3.0, 8, 0, 0, 0)),
    "lane_change": (_lane_change(12.0, 3.5, 4.0), ego_state_array(0, 0, 0, 12, 0, 0, 0)),
    "from_rest": (_along_x(TIMES_S**2), ego_state_array(0, 0, 0, 0, 0, 0, 0)),
    "tight_turn_saturates": (_arc(2.0, 1.5), ego_state_array(0, 0, 0, 2, 0, 0, 0)),
    "jittered_lane_change": (
        _jittered(_lane_change(12.0, 3.5, 4.0), 7),
        ego_state_array(0, 0, 0, 12, 0, 0, 0),
    ),
}


@pytest.fixture(scope="module")
def simulated():
    proposals = np.stack([proposal for proposal, _ in CASES.values()])
    # One batch per initial state, all proposals in each: rows must not depend on their neighbours.
    return {
        name: simulate(proposals, initial, VEHICLE)[index]
        for index, (name, (_, initial)) in enumerate(CASES.items())
    }


@pytest.mark.parametrize("name", list(CASES))
def test_batch_matches_per_trajectory_oracle(simulated, name):
    proposal, initial = CASES[name]
    expected = _oracle_simulate(proposal, initial)
    got = simulated[name]
    heading_gap = np.abs(_principal_value(got[:, StateIndex.HEADING] - expected[:, StateIndex.HEADING]))
    assert heading_gap.max() < 1e-9
    others = [i for i in range(11) if i != StateIndex.HEADING]
    np.testing.assert_allclose(got[:, others], expected[:, others], rtol=0, atol=1e-9)


def test_saturating_turn_clips_steering(simulated):
    steering = simulated["tight_turn_saturates"][:, StateIndex.STEERING_ANGLE]
    assert np.isclose(np.abs(steering).max(), np.pi / 3)


def test_speed_fit_has_navsim_end_bias():
    """Constant acceleration has no jerk, but NAVSIM's jerk term also penalises the accelerations."""
    proposal, _ = CASES["accelerating"]
    speed_mps, _ = speed_curvature_profiles(proposal[None, :, SE2], DT_S, 1e-4, 1e-2)
    mid_step_speed_mps = 5.0 + 1.5 * (TIMES_S[:-1] + DT_S / 2)
    error_mps = speed_mps[0] - mid_step_speed_mps
    assert np.abs(error_mps[5:30]).max() < 1e-3
    assert error_mps[0] > 0.05


def test_first_row_is_the_initial_state():
    proposal, initial = CASES["straight_offset"]
    out = simulate(proposal[None], initial, VEHICLE)
    assert out.shape == (1, NUM_STEPS + 1, 11)
    np.testing.assert_array_equal(out[0, 0], initial)


# Physical sanity.


def test_straight_reference_is_tracked(simulated):
    out = simulated["straight"]
    after_1s = TIMES_S >= 1.0
    assert np.abs(out[after_1s, StateIndex.Y]).max() < 0.01
    assert np.abs(out[after_1s, StateIndex.VELOCITY_X] - 10.0).max() < 0.05


def test_offsets_from_a_straight_reference_decay():
    proposal, _ = CASES["straight"]
    lateral = simulate(proposal[None], ego_state_array(0, 0.3, 0, 10, 0, 0, 0), VEHICLE)[0]
    assert np.abs(lateral[TIMES_S >= 2.5, StateIndex.Y]).max() < 0.1
    assert abs(lateral[-1, StateIndex.Y]) < 0.05
    slow = simulate(proposal[None], ego_state_array(0, 0, 0, 9, 0, 0, 0), VEHICLE)[0]
    assert np.all(np.diff(slow[:, StateIndex.VELOCITY_X]) > 0)
    assert abs(slow[-1, StateIndex.VELOCITY_X] - 10.0) < 0.05


def test_arc_yaw_rate_is_speed_over_radius(simulated):
    yaw_rate_rps = simulated["arc"][TIMES_S >= 1.0, StateIndex.ANGULAR_VELOCITY]
    assert yaw_rate_rps.mean() == pytest.approx(8.0 / 30.0, rel=0.02)
    np.testing.assert_allclose(yaw_rate_rps, 8.0 / 30.0, rtol=0.05)


def test_stop_reference_comes_to_rest(simulated):
    speed_mps = simulated["braking_to_stop"][:, StateIndex.VELOCITY_X]
    assert np.all(np.diff(speed_mps) <= 0) and speed_mps.min() >= 0.0
    assert speed_mps[-1] < 0.2


def test_thousand_proposals_in_one_batch():
    base, initial = CASES["lane_change"]
    proposals = np.repeat(base[None], 1000, axis=0)
    proposals[:, :, StateIndex.Y] *= np.linspace(0.0, 1.0, 1000)[:, None]
    out = simulate(proposals, initial, VEHICLE)
    assert out.shape == (1000, NUM_STEPS + 1, 11) and np.isfinite(out).all()
    final_y = out[:, -1, StateIndex.Y]
    assert np.all(np.diff(final_y) > 0)


# Poses into proposal states.


def test_trajectory_states_interpolates_like_nuplan():
    initial = ego_state_array(0.0, 0.0, 0.0, 10.0, 0.0, 1.0, 0.0, 0.1, 0.5, 0.2, 0.3)
    poses = np.array([[5.0, 0.0, 0.1], [10.0, 1.0, 0.3]])
    states = trajectory_states(initial, poses, np.array([0.5, 1.0]), horizon_s=2.0)
    assert states.shape == (21, 11)
    # t = 0: the initial state, without steering rate, yaw rate and yaw acceleration.
    np.testing.assert_allclose(states[0], [0, 0, 0, 10, 0, 1, 0, 0.1, 0, 0, 0], atol=1e-12)
    # t = 0.1: a fifth of the way to the first pose, whose velocity, acceleration and steering are 0.
    np.testing.assert_allclose(states[1], [1.0, 0, 0.02, 8.0, 0, 0.8, 0, 0.08, 0, 0, 0], atol=1e-12)
    # t = 0.7: 40 % of the way from the first pose to the second.
    np.testing.assert_allclose(states[7], [7.0, 0.4, 0.18, 0, 0, 0, 0, 0, 0, 0, 0], atol=1e-12)
    # Past the last pose (1.0 s) the sample times are clipped to it.
    np.testing.assert_allclose(
        states[10:], np.tile([10.0, 1.0, 0.3, 0, 0, 0, 0, 0, 0, 0, 0], (11, 1)), atol=1e-12
    )


def test_trajectory_states_interpolates_heading_across_pi():
    initial = ego_state_array(0.0, 0.0, 3.1, 0.0, 0.0, 0.0, 0.0)
    states = trajectory_states(initial, np.array([[1.0, 0.0, -3.0]]), np.array([0.2]), horizon_s=0.2)
    assert states[1, StateIndex.HEADING] == pytest.approx(0.05 - np.pi, abs=1e-12)


def test_trajectory_states_default_grid_feeds_simulate():
    initial = ego_state_array(0.0, 0.0, 0.0, 10.0, 0.0, 0.0, 0.0)
    t_s = np.arange(1, 9) * 0.5
    poses = np.column_stack([10.0 * t_s, np.zeros(8), np.zeros(8)])
    states = trajectory_states(initial, poses, t_s)
    assert states.shape == (41, 11)
    np.testing.assert_allclose(states[:, StateIndex.X], 10.0 * TIMES_S, atol=1e-9)
    out = simulate(states[None], initial, VEHICLE)
    np.testing.assert_allclose(out[0, :, StateIndex.X], 10.0 * TIMES_S, atol=1e-6)


def test_trajectory_states_rejects_unordered_times():
    with pytest.raises(ValueError):
        trajectory_states(np.zeros(11), np.zeros((2, 3)), np.array([0.5, 0.5]))


def test_center_and_rear_axle_poses():
    rear = np.array([[1.0, 2.0, np.pi / 2], [0.0, 0.0, 0.0]])
    center = rear_axle_to_center(rear, VEHICLE)
    np.testing.assert_allclose(center[0], [1.0, 2.0 + VEHICLE.rear_axle_to_center_m, np.pi / 2], atol=1e-12)
    np.testing.assert_allclose(center[1], [VEHICLE.rear_axle_to_center_m, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(center_to_rear_axle(center, VEHICLE), rear, atol=1e-12)
