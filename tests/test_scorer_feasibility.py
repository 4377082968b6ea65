"""Feasibility of counterfactual candidates (class limits of seeds/vehicle_classes.csv) and the tracked solution:
every candidate is re-simulated by the LQR tracker on the kinematic bicycle, and what is scored and packaged is
the tracked trajectory."""

from __future__ import annotations

import numpy as np
import pytest

from fleetloop.scorer import package, search
from fleetloop.scorer.commonroad_scene import load_commonroad
from fleetloop.scorer.navsim.cache import initial_ego_state, scene_vehicle
from fleetloop.scorer.navsim.enums import SE2, STATE_SIZE, StateIndex
from fleetloop.scorer.navsim.simulator import center_to_rear_axle, rear_axle_to_center, simulate
from fleetloop.scorer.scene import Scene, SceneLane, constant_track, log_from_speeds, straight_lanes
from fleetloop.scorer.solve import SearchConfig, solve
from fleetloop.scorer.world import TrajBatch, prepare
from tests.test_scorer_replay import CR_FILES, DT, EGO, T, brake_profile, make_scene, stopped_car_scene

TURN_RADIUS_M = 6.0
RAMP_M = 8.0  # clothoid into and out of the curve
APPROACH_M = 40.0  # straight east before the turn (the turn starts at x = 0)
EXIT_M = 60.0  # straight south after it
LANE_HALF_WIDTH_M = 1.75


def right_turn_path(step_m: float = 0.05) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Station s, points (K, 2) and heading (K,) of a right turn: east, a clothoid into the 6 m radius, the arc, a
    clothoid out, south."""
    k_max = 1.0 / TURN_RADIUS_M
    arc_m = (np.pi / 2 - k_max * RAMP_M) / k_max
    knots = np.cumsum([0.0, APPROACH_M, RAMP_M, arc_m, RAMP_M, EXIT_M])
    s = np.arange(0.0, knots[-1] + 1e-9, step_m)
    kappa = -np.interp(s, [knots[1], knots[2], knots[3], knots[4]], [0.0, k_max, k_max, 0.0])
    heading = np.concatenate([[0.0], np.cumsum((kappa[1:] + kappa[:-1]) / 2 * step_m)])
    x = np.concatenate([[0.0], np.cumsum((np.cos(heading[1:]) + np.cos(heading[:-1])) / 2 * step_m)]) - APPROACH_M
    y = np.concatenate([[0.0], np.cumsum((np.sin(heading[1:]) + np.sin(heading[:-1])) / 2 * step_m)])
    return s, np.column_stack([x, y]), heading


def turn_lane() -> SceneLane:
    _, pts, heading = right_turn_path()
    pts, heading = pts[::20], heading[::20]  # 1 m vertices
    normal = np.column_stack([-np.sin(heading), np.cos(heading)])
    return SceneLane("turn", pts, pts + LANE_HALF_WIDTH_M * normal, pts - LANE_HALF_WIDTH_M * normal, 16.7)


def along_turn(speeds_mps: np.ndarray, start_m: float) -> np.ndarray:
    """(T+1, 5) ego log t, x, y, heading, speed driving the turn's centreline with these speeds from station start_m."""
    s, pts, heading = right_turn_path()
    dist = start_m + np.concatenate([[0.0], np.cumsum((speeds_mps[1:] + speeds_mps[:-1]) / 2 * DT)])
    t = np.arange(len(speeds_mps)) * DT
    return np.column_stack([t, np.interp(dist, s, pts[:, 0]), np.interp(dist, s, pts[:, 1]),
                            np.interp(dist, s, heading), speeds_mps])


def turn_scene(speed_mps: float, steps: int = T) -> Scene:
    log = along_turn(np.full(steps + 1, speed_mps), APPROACH_M - 10.0)
    return make_scene(log, [], lanes=(turn_lane(),), name=f"right_turn_{speed_mps:g}")


def batch(world, log: np.ndarray) -> TrajBatch:
    x, y, h, v = (log[None, :, i] for i in (1, 2, 3, 4))
    s, d = world.ref.project(x, y)
    return TrajBatch(x, y, h, v, s, d)


def max_lat_acc_mps2(traj: TrajBatch) -> np.ndarray:
    """(N,) largest lateral acceleration of each trajectory from its own x, y, heading and speed: the step's mean
    speed times its yaw rate, and its mean speed squared times the curvature of its x, y path."""
    turn = np.abs(np.angle(np.exp(1j * np.diff(traj.h, axis=1))))
    speed = (traj.v[:, 1:] + traj.v[:, :-1]) / 2
    travel = np.hypot(np.diff(traj.x, axis=1), np.diff(traj.y, axis=1))
    path = np.where(travel > 1e-3, speed**2 * turn / np.maximum(travel, 1e-3), 0.0)
    return np.maximum(speed * turn / DT, path).max(axis=1)


# ---------------------------------------------------------------- the class limits


def test_tight_right_turn_feasible_only_slowly():
    # radius 6 m: 10 m/s is 16.7 m/s2 (1.7 g) lateral, 4 m/s is 2.7 m/s2, within the van's 3.4
    for speed, expected in ((10.0, False), (4.0, True)):
        scene = turn_scene(speed)
        world = prepare(scene)
        assert world.log.s[0, -1] - world.log.s[0, 0] > 30.0  # the log covers the whole turn
        planned = batch(world, scene.ego_log)
        tracked = search.track(world, planned)
        for traj in (planned, tracked):
            assert search.feasible(world, traj)[0] == expected
            assert search.violations(world, traj)["lat_acc"][0] == (not expected)
            assert (max_lat_acc_mps2(traj)[0] <= EGO.max_lat_acc_mps2) == expected
        assert max_lat_acc_mps2(planned)[0] == pytest.approx(speed**2 / TURN_RADIUS_M, rel=0.03)


def test_braking_hard_in_a_curve_fails_the_friction_circle():
    # a 30 m radius curve at 9 m/s (2.7 m/s2 lateral) braking at the van's 7 m/s2: each alone is within its limit,
    # together sqrt(7^2 + 2.7^2) = 7.5 m/s2 is beyond the 7.4 m/s2 friction circle
    world = prepare(make_scene(log_from_speeds(0, 0, 0, np.full(T + 1, 9.0)), []))
    radius_m = 30.0
    speeds = np.maximum(9.0 - EGO.max_dec_mps2 * np.arange(T + 1) * DT, 0.0)
    dist = np.concatenate([[0.0], np.cumsum((speeds[1:] + speeds[:-1]) / 2 * DT)])

    def arc(v: np.ndarray, turning: bool) -> TrajBatch:
        h = -dist / radius_m if turning else np.zeros_like(dist)
        x = radius_m * np.sin(dist / radius_m) if turning else dist
        y = radius_m * (np.cos(dist / radius_m) - 1.0) if turning else np.zeros_like(dist)
        return batch(world, np.column_stack([np.arange(T + 1) * DT, x, y, h, v]))

    braking_in_curve = search.violations(world, arc(speeds, True))
    assert braking_in_curve["friction_circle"][0]
    assert not (braking_in_curve["lat_acc"][0] or braking_in_curve["curvature"][0])
    assert search.feasible(world, arc(speeds, False))[0]  # the same stop on a straight road
    assert search.feasible(world, arc(np.full(T + 1, 9.0), True))[0]  # the same curve without braking


# ---------------------------------------------------------------- chosen solutions


def hand_built_results():
    """The scenes of tests/test_scorer_replay.py with their search settings, and the 10 m/s right turn."""
    nudge_log = log_from_speeds(0.0, 0.0, 0.0, brake_profile(10.0, -2.0, 0.0))
    follow_log = log_from_speeds(0.0, 0.0, 0.0, brake_profile(10.0, -6.5, 31.8))
    scenes = [
        (stopped_car_scene(), SearchConfig(seed=7)),
        (make_scene(nudge_log, [("blocker", "car", constant_track(30.0, 0.0, 0.0, 0.0, T))], lanes=straight_lanes(2),
                    name="nudge"), SearchConfig(seed=3)),
        (make_scene(log_from_speeds(0.0, 0.0, 0.0, np.full(T + 1, 12.0)), [],
                    lanes=straight_lanes(1, speed_limit_mps=12.0), name="best"), SearchConfig(seed=1)),
        (make_scene(follow_log, [("car1", "car", constant_track(45.0, 0.0, 0.0, 0.0, T)),
                                 ("follower", "car", constant_track(-15.0, 0.0, 0.0, 10.0, T))], name="reactive"),
         SearchConfig(seed=2, reactive=True, robustness_variants=0)),
        (turn_scene(10.0), SearchConfig(seed=0)),
    ]
    return [solve(scene, cfg) for scene, cfg in scenes]


@pytest.fixture(scope="module")
def stopped_car_result():
    return solve(stopped_car_scene(), SearchConfig(seed=7))


def assert_within_limits(r) -> None:
    limit = r.scene.ego.max_lat_acc_mps2
    assert np.array_equal(r.feasible, search.feasible(r.world, r.candidates))  # judged on the tracked candidates
    assert (max_lat_acc_mps2(r.candidates.take(r.feasible)) <= limit).all()
    if r.improved:
        assert max_lat_acc_mps2(r.solution)[0] <= limit, r.scene.scene_id


def test_no_solution_exceeds_the_lateral_acceleration_limit():
    results = hand_built_results()
    for r in results:
        assert_within_limits(r)
    turn = results[-1]
    assert max_lat_acc_mps2(turn.world.log)[0] > 4 * EGO.max_lat_acc_mps2  # the logged 1.7 g turn
    assert turn.feasible.any() and not turn.feasible.all()  # only candidates that slow down for the turn


def test_no_us101_solution_exceeds_the_lateral_acceleration_limit():
    for path in CR_FILES:
        assert_within_limits(solve(load_commonroad(path), SearchConfig(seed=0)))


def test_the_solution_is_the_tracked_trajectory(stopped_car_result):
    r = stopped_car_result
    assert r.improved
    proposal = search.plan(r.world, r.theta[[r.chosen]])
    vehicle = scene_vehicle(r.scene)
    reference = np.zeros((1, T + 1, STATE_SIZE))
    reference[..., SE2] = center_to_rear_axle(np.stack([proposal.x, proposal.y, proposal.h], axis=-1), vehicle)
    states = simulate(reference, initial_ego_state(r.scene, vehicle), vehicle, DT)
    centre = rear_axle_to_center(states[..., SE2], vehicle)
    sol = r.solution
    np.testing.assert_allclose(sol.x, centre[..., 0], atol=1e-9)
    np.testing.assert_allclose(sol.y, centre[..., 1], atol=1e-9)
    np.testing.assert_allclose(np.angle(np.exp(1j * (sol.h - centre[..., 2]))), 0.0, atol=1e-9)
    np.testing.assert_allclose(sol.v, states[..., StateIndex.VELOCITY_X], atol=1e-9)
    np.testing.assert_allclose(sol.acc, states[..., StateIndex.ACCELERATION_X], atol=1e-9)
    np.testing.assert_allclose(np.vstack(r.world.ref.project(sol.x, sol.y)), np.vstack([sol.s, sol.d]), atol=1e-9)
    assert np.abs(sol.x - proposal.x).max() > 0.05  # the tracker does not drive the plan exactly
    packaged = package.build(r).optimized_trajectory
    assert np.abs(packaged[:, 1] - sol.x[0]).max() <= 0.01 and np.abs(packaged[:, 4] - sol.v[0]).max() <= 0.01
