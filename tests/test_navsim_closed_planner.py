"""PDM-Closed (NAVSIM v1.1) on hand-made straight two-lane roads: IDM, forecast, proposals and trajectory."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from fleetloop.scorer.navsim.closed_planner import (
    PDMClosedConfig,
    _carried,
    pdm_closed_proposals,
    pdm_closed_trajectory,
)
from fleetloop.scorer.navsim.forecast import Detections, TrackKind, forecast_observation
from fleetloop.scorer.navsim.idm import BatchIDMPolicy, IDMConfig, IDMStateIndex, LeadIndex
from fleetloop.scorer.navsim.observation import DrivableMap, MapLayer
from fleetloop.scorer.navsim.path import PolylinePath
from fleetloop.scorer.navsim.simulator import ego_state_array
from fleetloop.scorer.navsim.vehicle import VehicleParameters

LANE_WIDTH_M = 3.5
ROAD_START_M, ROAD_END_M = -50.0, 450.0
SPEED_LIMIT_MPS = 10.0
CAR_LENGTH_M, CAR_WIDTH_M = 4.5, 2.0
RED_LIGHT_X_M = (40.0, 60.0)
VEHICLE = VehicleParameters.pacifica()
CONFIG = PDMClosedConfig()
EGO_FRONT_M = VEHICLE.rear_axle_to_center_m + VEHICLE.length_m / 2  # rear axle to front bumper


def _lane(y_low_m: float) -> shapely.Polygon:
    return shapely.box(ROAD_START_M, y_low_m, ROAD_END_M, y_low_m + LANE_WIDTH_M)


RED_LIGHT = ("connector", shapely.box(RED_LIGHT_X_M[0], -LANE_WIDTH_M / 2, RED_LIGHT_X_M[1],
                                      LANE_WIDTH_M / 2))
ROUTE = ["ego_lane", "left_lane", RED_LIGHT[0]]
DRIVABLE_MAP = DrivableMap(
    ["road", "ego_lane", "left_lane", RED_LIGHT[0]],
    [MapLayer.ROADBLOCK, MapLayer.LANE, MapLayer.LANE, MapLayer.LANE_CONNECTOR],
    np.array([shapely.box(ROAD_START_M, -LANE_WIDTH_M / 2, ROAD_END_M, 1.5 * LANE_WIDTH_M),
              _lane(-LANE_WIDTH_M / 2), _lane(LANE_WIDTH_M / 2), RED_LIGHT[1]], dtype=object),
)
_XS = np.arange(ROAD_START_M, ROAD_END_M + 1.0, 1.0)
CENTERLINE = PolylinePath.from_points(np.column_stack([_XS, np.zeros_like(_XS)]))


def detections(*rows) -> Detections:
    """Rows of (token, x, y, heading, vx, vy, kind), cars' size."""
    tokens = [r[0] for r in rows]
    table = np.array([r[1:6] for r in rows], dtype=float).reshape(-1, 5)
    return Detections(tokens, table[:, :2], table[:, 2], table[:, 3:5], np.full(len(rows), CAR_LENGTH_M),
                      np.full(len(rows), CAR_WIDTH_M), np.array([r[6] for r in rows], dtype=int))


def ego(speed_mps: float, y_m: float = 0.0) -> np.ndarray:
    return ego_state_array(0.0, y_m, 0.0, speed_mps, 0.0, 0.0, 0.0)


def speeds(trajectory: np.ndarray) -> np.ndarray:
    return np.hypot(*np.diff(trajectory[:, :2], axis=0).T) / CONFIG.dt_s


def plain_idm(v0_mps: float, target_mps: float, lead_of, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """One proposal's IDM on the straight road written out: the lead (gap from the ego's front bumper, its
    speed) re-read every other step from the ego one step back, held in between, and zero before the first
    read, as NAVSIM's generator does; free road means a lead at the path end."""
    cfg = CONFIG.idm
    x, v = [-ROAD_START_M], [v0_mps]
    lead = (0.0, 0.0, 0.0)
    for t in range(1, steps + 1):
        if t % CONFIG.leading_agent_update_rate == 0:
            seen = lead_of(t, x[-1] + ROAD_START_M)
            if seen is None:
                lead = (CENTERLINE.length_m, 0.0, VEHICLE.length_m / 2)
            else:
                lead = (x[-1] + seen[0], seen[1], 0.0)
        lead_x, lead_v, lead_rear = lead
        desired = (cfg.min_gap_to_lead_m + v[-1] * cfg.headway_time_s
                   + v[-1] * (v[-1] - lead_v) / (2 * np.sqrt(cfg.accel_max_mps2 * cfg.decel_max_mps2)))
        gap = max(lead_x - x[-1] - lead_rear, cfg.min_gap_to_lead_m)
        free_term = (v[-1] / target_mps) ** cfg.acceleration_exponent
        acc = cfg.accel_max_mps2 * (1 - free_term - (desired / gap) ** 2)
        acc = min(max(acc, -cfg.decel_max_mps2), cfg.accel_max_mps2)
        x.append(x[-1] + CONFIG.dt_s * v[-1])
        v.append(v[-1] + CONFIG.dt_s * acc)
    return np.array(x), np.array(v)


def check_against_plain_idm(dets: Detections, red_lights, v0_mps: float, lead_of) -> None:
    """Every proposal's IDM rollout equals the plain loop with its target speed."""
    unroller = pdm_closed_proposals(ego(v0_mps), VEHICLE, CENTERLINE, ROUTE, dets, red_lights,
                                    SPEED_LIMIT_MPS, CONFIG)
    steps = CONFIG.proposal_steps
    for p in range(len(unroller.path_idx)):
        target = CONFIG.idm.speed_limit_fractions[unroller.policy_idx[p]] * SPEED_LIMIT_MPS
        x, v = plain_idm(v0_mps, target, lead_of, steps)
        np.testing.assert_allclose(unroller.idm_states[p, : steps + 1, IDMStateIndex.PROGRESS], x, atol=1e-6)
        np.testing.assert_allclose(unroller.idm_states[p, : steps + 1, IDMStateIndex.VELOCITY], v, atol=1e-6)


def plan(dets: Detections, v0_mps: float = SPEED_LIMIT_MPS, red_lights=()) -> np.ndarray:
    trajectory = pdm_closed_trajectory(ego(v0_mps), VEHICLE, CENTERLINE, ROUTE, DRIVABLE_MAP, dets,
                                       list(red_lights), SPEED_LIMIT_MPS, CONFIG)
    assert trajectory.shape == (CONFIG.trajectory_steps + 1, 11)
    assert not trajectory[:, 3:].any()  # NAVSIM stores poses only
    return trajectory


# ------------------------------------------------------------------------------------------------- IDM
def test_idm_step_matches_formula_elementwise():
    rng = np.random.default_rng(0)
    cfg = IDMConfig()
    policy = BatchIDMPolicy(cfg, SPEED_LIMIT_MPS)
    n = 200
    states = np.column_stack([rng.uniform(0, 50, n), rng.uniform(-1, 15, n)])
    leads = np.column_stack([states[:, 0] + rng.uniform(-5, 80, n), rng.uniform(0, 15, n),
                             rng.uniform(0, 3, n)])
    idx = rng.integers(0, cfg.num_policies, n)
    out = policy.propagate(states, leads, idx, 0.1)
    for k in range(n):
        x, v = states[k]
        xl, vl, lr = leads[k]
        v0 = cfg.speed_limit_fractions[idx[k]] * SPEED_LIMIT_MPS
        s_star = 1.0 + 1.5 * v + v * (v - vl) / (2 * np.sqrt(1.5 * 3.0))
        a = 1.5 * (1 - (v / v0) ** 10 - (s_star / max(xl - x - lr, 1.0)) ** 2)
        a = min(max(a, -3.0), 1.5)
        assert out[k] == pytest.approx([x + 0.1 * v, v + 0.1 * a], abs=1e-12)


def test_idm_targets_from_speed_limit_or_fallback():
    cfg = IDMConfig()
    np.testing.assert_allclose(cfg.target_velocities_mps(20.0), [4, 8, 12, 16, 20])
    np.testing.assert_allclose(cfg.target_velocities_mps(None), [3, 6, 9, 12, 15])


def test_carried_inherits_fields_left_unset():
    values = np.array([5.0, 6.0, 7.0, 8.0])
    np.testing.assert_array_equal(_carried(np.array([False, True, False, True]), values), [0, 6, 6, 8])


# -------------------------------------------------------------------------------------------- forecast
def test_forecast_constant_velocity_static_fixed_and_radius():
    far = -(CONFIG.map_radius_m - VEHICLE.rear_axle_to_center_m) - 0.3  # 100.3 m behind the ego's centre
    dets = detections(("car", 20, 0, 0, 3, 4, TrackKind.VEHICLE),  # speed 5 along its heading
                      ("reverse", 20, 5, 0, -4, 0, TrackKind.VEHICLE),
                      ("cone", 30, 0, 0, 9, 9, TrackKind.STATIC),
                      ("far", far, 0, 0, 0, 0, TrackKind.VEHICLE))
    obs = forecast_observation(dets, ego(10), VEHICLE, [], CONFIG)
    assert len(obs.maps) == CONFIG.observation_steps // 2 + 1 and len(obs) == CONFIG.observation_steps + 2
    assert set(obs.unique_objects) == {"car", "reverse", "cone"}
    assert obs.maps[0].tokens == ["cone", "car", "reverse"]
    assert obs.unique_objects["car"].speed_mps == pytest.approx(5.0)
    assert obs.unique_objects["cone"].speed_mps == 0
    for t in range(len(obs)):
        moved_s = (t // 2) * 2 * CONFIG.dt_s
        assert obs[t]["car"].centroid.coords[0] == pytest.approx((20 + 5 * moved_s, 0))
        assert obs[t]["reverse"].centroid.coords[0] == pytest.approx((20 - 4 * moved_s, 5))
        assert obs[t]["cone"].centroid.coords[0] == pytest.approx((30, 0))
    assert obs.collided_track_ids == []


def test_forecast_caps_per_kind_and_collided_at_start():
    walkers = [(f"p{i}", 5 + i, 10, 0, 1, 0, TrackKind.PEDESTRIAN) for i in range(30)]
    dets = detections(("touching", 2, 0, 0, 0, 0, TrackKind.VEHICLE), *walkers)
    inside = ("around", shapely.box(-10, -3, 10, 3))
    partial = ("crossing", shapely.box(3, -3, 10, 3))
    obs = forecast_observation(dets, ego(5), VEHICLE, [inside, partial], CONFIG)
    assert len(obs.unique_objects) == 31
    nearest_walkers = [f"p{i}" for i in range(25)]
    assert obs.maps[0].tokens == ["touching", *nearest_walkers, "red_light_around", "red_light_crossing"]
    assert sorted(obs.collided_track_ids) == ["red_light_around", "touching"]


# ---------------------------------------------------------------------------------------------- scenes
def test_free_road_keeps_speed_limit_and_lane():
    trajectory = plan(detections())
    v = speeds(trajectory)
    assert np.abs(trajectory[:, 1]).max() < 1e-9
    assert v[0] == pytest.approx(SPEED_LIMIT_MPS)  # then NAVSIM's first step brakes (no lead read yet)
    assert v[1] == pytest.approx(SPEED_LIMIT_MPS - 0.1 * CONFIG.idm.decel_max_mps2)
    assert 9.8 < v[10:].min() and v.max() <= SPEED_LIMIT_MPS + 1e-9
    check_against_plain_idm(detections(), [], SPEED_LIMIT_MPS, lambda t, x: None)


def test_stopped_car_ahead_stops_behind_it():
    car_x = 30.0 + VEHICLE.rear_axle_to_center_m  # 30 m ahead of the ego's centre
    dets = detections(("parked", car_x, 0, 0, 0, 0, TrackKind.VEHICLE))
    trajectory = plan(dets)
    gaps = car_x - CAR_LENGTH_M / 2 - (trajectory[:, 0] + EGO_FRONT_M)
    v = speeds(trajectory)
    assert gaps.min() >= CONFIG.idm.min_gap_to_lead_m
    assert v[-1] < 1.5 and np.all(np.diff(v[1:]) <= 1e-9)
    assert np.abs(trajectory[:, 1]).max() <= 1.0 + 1e-9
    check_against_plain_idm(dets, [], SPEED_LIMIT_MPS,
                            lambda t, x: (car_x - CAR_LENGTH_M / 2 - x - EGO_FRONT_M, 0.0))


def test_car_in_left_lane_is_no_lead():
    dets = detections(("neighbour", 20, LANE_WIDTH_M, 0, 0, 0, TrackKind.VEHICLE))
    trajectory = plan(dets)
    assert np.abs(trajectory[:, 1]).max() < 1e-9
    assert 9.8 < speeds(trajectory)[10:].min()
    check_against_plain_idm(dets, [], SPEED_LIMIT_MPS, lambda t, x: None)


def test_red_light_on_route_stops_before_it():
    trajectory = plan(detections(), red_lights=[RED_LIGHT, ("off_route", shapely.box(20, -2, 25, 2))])
    front = trajectory[:, 0] + EGO_FRONT_M
    assert front.max() < RED_LIGHT_X_M[0] - CONFIG.idm.min_gap_to_lead_m
    assert speeds(trajectory)[-1] < 3.0
    check_against_plain_idm(detections(), [RED_LIGHT], SPEED_LIMIT_MPS,
                            lambda t, x: (RED_LIGHT_X_M[0] - x - EGO_FRONT_M, 0.0))


def test_lead_car_followed_at_idm_equilibrium_gap():
    cfg = CONFIG.idm
    lead_mps = 6.0
    equilibrium_m = (cfg.min_gap_to_lead_m + lead_mps * cfg.headway_time_s) / np.sqrt(
        1 - (lead_mps / SPEED_LIMIT_MPS) ** cfg.acceleration_exponent)
    lead_x = EGO_FRONT_M + equilibrium_m + CAR_LENGTH_M / 2
    dets = detections(("lead", lead_x, 0, 0, lead_mps, 0, TrackKind.VEHICLE))
    trajectory = plan(dets, v0_mps=lead_mps)
    t_s = np.arange(len(trajectory)) * CONFIG.dt_s
    gaps = lead_x + lead_mps * t_s - CAR_LENGTH_M / 2 - (trajectory[:, 0] + EGO_FRONT_M)
    assert np.abs(gaps - equilibrium_m).max() < 0.3
    assert speeds(trajectory)[-10:] == pytest.approx(lead_mps, abs=0.15)

    def lead_of(t: int, x: float):
        return lead_x - CAR_LENGTH_M / 2 + lead_mps * t * CONFIG.dt_s - x - EGO_FRONT_M, lead_mps

    check_against_plain_idm(dets, [], lead_mps, lead_of)


def test_proposals_start_on_their_paths_and_leads_hold():
    unroller = pdm_closed_proposals(ego(8.0, y_m=0.3), VEHICLE, CENTERLINE, ROUTE, detections(), [],
                                    SPEED_LIMIT_MPS, CONFIG)
    np.testing.assert_allclose(unroller.states[:, 0, 1], np.repeat([0.0, -1.0, 1.0], 5))
    np.testing.assert_array_equal(unroller.leads[:, 1], 0.0)
    np.testing.assert_array_equal(unroller.leads[:, 3], unroller.leads[:, 2])
    np.testing.assert_allclose(unroller.leads[:, 2, LeadIndex.LENGTH_REAR], VEHICLE.length_m / 2)
