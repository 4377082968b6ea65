"""NAVSIM v1.1 PDM score, component by component, on hand-built scenes with hand-computed answers."""

from __future__ import annotations

import numpy as np
import pytest

from fleetloop.scorer.navsim import cache as metric_cache
from fleetloop.scorer.navsim.enums import MultiMetricIndex as M
from fleetloop.scorer.navsim.enums import WeightedMetricIndex as W
from fleetloop.scorer.navsim.pdm_score import score_states
from fleetloop.scorer.navsim.scorer import PDMScorer
from fleetloop.scorer.navsim.simulator import center_to_rear_axle, simulate, trajectory_states
from fleetloop.scorer.scene import EgoSpec, Scene, SceneLane, constant_track, log_from_speeds, straight_lanes
from tests import navsim_plain

T = 60  # 6 s of scene: 4 s scored, agents read to 5 s
DT = 0.1
EGO = EgoSpec.for_class("urban_delivery")  # 4.8 x 1.9 m
AGENT_L, AGENT_W = 4.5, 1.9


def scene_of(log: np.ndarray, agents=(), lanes=None) -> Scene:
    return Scene(
        scene_id="hand", source="synthetic", ego=EGO, ego_log=log,
        agent_ids=np.array([a[0] for a in agents]), agent_classes=np.array([a[1] for a in agents]),
        agent_length_m=np.full(len(agents), AGENT_L), agent_width_m=np.full(len(agents), AGENT_W),
        agent_states=np.stack([a[2] for a in agents]) if agents else np.zeros((0, len(log), 4)),
        lanes=lanes or straight_lanes(1),
    )


def proposals(cache, *logs: np.ndarray) -> np.ndarray:
    """Box-centre logs (T+1, 5) as proposal states on the cache's grid."""
    k = cache.steps + 1
    return np.stack([
        trajectory_states(cache.ego_state, center_to_rear_axle(log[1:k, 1:4], cache.vehicle), log[1:k, 0],
                          cache.steps * DT) for log in logs])


def scored(log, agents=(), lanes=None, others=()):
    """PDM result of the log (index 0) and any other logs scored in the same batch."""
    cache = metric_cache.build(scene_of(log, agents, lanes))
    return score_states(cache, proposals(cache, log, *others))


def track(x0, y0, speed, steps=T, y_rate=0.0, heading=0.0):
    st = constant_track(x0, y0, heading, speed, steps)
    st[:, 1] += y_rate * np.arange(steps + 1) * DT
    return st


def cruise(speed=10.0, y=0.0):
    return log_from_speeds(0.0, y, 0.0, np.full(T + 1, speed))


def brake(v0: float, decel_mps2: float, start_s: float = 0.0) -> np.ndarray:
    t = np.arange(T + 1) * DT
    return np.maximum(v0 - decel_mps2 * np.maximum(t - start_s, 0.0), 0.0)


# ---------------------------------------------------------------- NC: nuPlan's collision types


def test_free_road_scores_one():
    r = scored(cruise())
    assert r.components(0) | {"ego_progress": 1.0} == pytest.approx(
        {"no_at_fault_collisions": 1.0, "drivable_area_compliance": 1.0, "ego_progress": 1.0,
         "time_to_collision_within_bound": 1.0, "comfort": 1.0, "driving_direction_compliance": 1.0, "score": 1.0})
    assert r.progress_raw_m[0] == pytest.approx(40.0, abs=0.3)


def test_collision_at_the_first_step_counts():
    # the car ahead overlaps the ego's front bumper at t = 0 (ego front x = 2.4, its rear x = 1.75)
    r = scored(cruise(), [("lead", "car", track(4.0, 0.0, 10.0))])
    assert r.multi_metrics[M.NO_COLLISION, 0] == 0.0 and r.collision_step[0] == 0
    assert r.scores[0] == 0.0


def test_rear_end_by_a_faster_car_is_not_at_fault():
    r = scored(cruise(5.0), [("fast", "car", track(-12.0, 0.0, 15.0))])
    assert r.multi_metrics[M.NO_COLLISION, 0] == 1.0 and np.isinf(r.collision_step[0])


def test_stopped_car_and_static_object():
    # driving at 10 m/s into a stopped car 20 m ahead: at fault, 0; into a static object: 0.5
    for cls, expected in (("car", 0.0), ("static", 0.5)):
        r = scored(cruise(), [("obj", cls, track(20.0, 0.0, 0.0))])
        assert r.multi_metrics[M.NO_COLLISION, 0] == expected, cls
        # first contact: ego front 2.4 + 10 t reaches the object's rear 17.75 after ~1.5 s (the tracker lags)
        assert 14 <= r.collision_step[0] <= 17


def test_side_collision_at_fault_only_while_straddling_lanes():
    lanes = straight_lanes(2)  # lane boundary at y = 1.75
    # a car alongside in the left lane drifts right at 1 m/s
    straddle = scored(cruise(10.0, y=1.75), [("side", "car", track(0.0, 4.5, 10.0, y_rate=-1.0))], lanes)
    assert straddle.multi_metrics[M.NO_COLLISION, 0] == 0.0
    in_lane = scored(cruise(10.0, y=0.0), [("side", "car", track(0.0, 3.5, 10.0, y_rate=-1.0))], lanes)
    assert in_lane.multi_metrics[M.NO_COLLISION, 0] == 1.0


# ---------------------------------------------------------------- TTC


def test_braking_lead_seen_only_in_the_last_second():
    # the lead keeps a 7.35 m gap at 10 m/s, then brakes at -8 m/s2 from t = 3 s: the ego's box projected
    # 0.9 s ahead meets it from about t = 3.5 s, though no contact happens within the 4 s
    lead_v = brake(10.0, 8.0, start_s=3.0)
    lead = log_from_speeds(12.0, 0.0, 0.0, lead_v)[:, 1:]
    r = scored(cruise(), [("lead", "car", lead)])
    assert r.multi_metrics[M.NO_COLLISION, 0] == 1.0
    assert r.weighted_metrics[W.TTC, 0] == 0.0
    assert 33 <= r.ttc_step[0] <= 39


def test_ttc_holds_behind_a_lead_at_the_same_speed():
    r = scored(cruise(), [("lead", "car", track(12.0, 0.0, 10.0))])
    assert r.weighted_metrics[W.TTC, 0] == 1.0 and r.multi_metrics[M.NO_COLLISION, 0] == 1.0


# ---------------------------------------------------------------- comfort, drivable area, progress


def test_gentle_stop_is_comfortable_a_harsh_one_is_not():
    gentle = log_from_speeds(0.0, 0.0, 0.0, brake(6.0, 2.0))  # stops after 3 s
    assert scored(gentle).weighted_metrics[W.COMFORTABLE, 0] == 1.0
    harsh = log_from_speeds(0.0, 0.0, 0.0, brake(20.0, 4.5))  # -4.5 m/s2 the whole 4 s: below -4.05
    assert scored(harsh).weighted_metrics[W.COMFORTABLE, 0] == 0.0


def slanted_joint() -> tuple[SceneLane, SceneLane]:
    """Two lanes meeting at a joint cut at a slant: from (28, -1.75) to (32, 1.75)."""
    def lane(lane_id, x_right, x_left, succ=(), pred=()):
        right = np.column_stack([np.linspace(x_right[0], x_right[1], 30), np.full(30, -1.75)])
        left = np.column_stack([np.linspace(x_left[0], x_left[1], 30), np.full(30, 1.75)])
        centre = (left + right) / 2
        return SceneLane(lane_id, centre, left, right, 16.7, successors=succ, predecessors=pred)
    return (lane("a", (-20.0, 28.0), (-20.0, 32.0), succ=("b",)), lane("b", (28.0, 200.0), (32.0, 200.0), pred=("a",)))


def test_drivable_area_across_a_slanted_joint_and_off_the_road():
    lanes = slanted_joint()
    assert scored(cruise(), lanes=lanes).multi_metrics[M.DRIVABLE_AREA, 0] == 1.0
    drift = cruise()
    drift[:, 2] = np.linspace(0.0, 4.0, T + 1)  # 4 m to the left over 6 s: the box leaves the road
    drift[:, 3] = np.arctan2(4.0 / 6.0, 10.0)
    r = scored(drift, lanes=lanes)
    assert r.multi_metrics[M.DRIVABLE_AREA, 0] == 0.0 and r.scores[0] == 0.0


def test_progress_normalised_by_the_best_safe_proposal():
    off_road = cruise(15.0, y=0.0)
    off_road[:, 2] = np.linspace(0.0, 8.0, T + 1)
    slowing = log_from_speeds(0.0, 0.0, 0.0, brake(10.0, 2.5))  # 40 - 20 = 20 m in 4 s
    r = scored(cruise(10.0), others=(slowing, off_road))
    ep = r.weighted_metrics[W.PROGRESS]
    assert r.multi_metrics[M.DRIVABLE_AREA].tolist() == [1.0, 1.0, 0.0]
    assert ep[0] == 1.0 and ep[2] == 0.0
    # the tracker lags a braking reference (it tracks the speed 1 s ahead at gain 10/11): 20 m planned
    assert 20.0 <= r.progress_raw_m[1] <= 22.5 and ep[1] == pytest.approx(r.progress_raw_m[1] / r.progress_raw_m[0])
    # below 5 m of progress every proposal that is safe gets EP 1
    slow = scored(cruise(1.0), others=(cruise(0.5),))
    assert slow.weighted_metrics[W.PROGRESS].tolist() == [1.0, 1.0]


def test_score_is_nc_dac_times_the_weighted_mean():
    r = scored(cruise(10.0), [("lead", "car", log_from_speeds(12.0, 0.0, 0.0, brake(10.0, 8.0, 3.0))[:, 1:])],
               others=(cruise(5.0),))
    nc, dac = r.multi_metrics
    ep, ttc, c, _ = r.weighted_metrics
    np.testing.assert_allclose(r.scores, nc * dac * (5 * ep + 5 * ttc + 2 * c) / 12)


# ---------------------------------------------------------------- the vectorised scorer against a plain loop


def dense_scene() -> Scene:
    """Three lanes of traffic around the ego: moving, stopped and static objects, one cutting in."""
    lanes = straight_lanes(3)
    agents = [
        ("lead", "car", track(28.0, 0.0, 7.0)),
        ("left_slow", "car", track(16.0, 3.5, 8.0)),
        ("left_fast", "car", track(-14.0, 3.5, 13.0)),
        ("cut_in", "car", track(14.0, 7.0, 10.0, y_rate=-1.2)),
        ("behind", "car", track(-30.0, 0.0, 8.0)),
        ("parked", "car", track(45.0, 3.5, 0.0)),
        ("cone", "static", track(33.0, 7.0, 0.0)),
        ("walker", "pedestrian", track(38.0, -3.0, 1.2, heading=np.pi / 2)),
    ]
    return scene_of(cruise(10.0), agents, lanes)


def random_logs(rng, n: int, speed_lo=4.0, speed_hi=16.0, lateral_m=8.0) -> list[np.ndarray]:
    """Logs from x = 0 at 10 m/s: a random target speed and a random smooth lateral move."""
    t = np.arange(T + 1) * DT
    out = []
    for _ in range(n):
        v = np.clip(10.0 + (rng.uniform(speed_lo, speed_hi) - 10.0) * np.minimum(t / 3.0, 1.0), 0.0, None)
        log = log_from_speeds(0.0, 0.0, 0.0, v)
        u = np.minimum(t / rng.uniform(2.0, 5.0), 1.0)
        y = rng.uniform(-2.0, lateral_m) * (10 * u**3 - 15 * u**4 + 6 * u**5)
        log[:, 2] = y
        log[:, 3] = np.arctan2(np.gradient(y, DT), np.maximum(v, 0.1))
        out.append(log)
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_vectorised_scorer_equals_the_plain_loop(seed):
    rng = np.random.default_rng(seed)
    cache = metric_cache.build(dense_scene())
    stops = [log_from_speeds(0.0, 0.0, 0.0, brake(10.0, decel)) for decel in (2.5, 3.5, 5.0)]
    sim = simulate(proposals(cache, *stops, *random_logs(rng, 40)), cache.ego_state, cache.vehicle)
    r = PDMScorer(cache.vehicle).score_proposals(sim, cache.observation, cache.centerline, cache.route_lane_ids,
                                                 cache.drivable_map)
    plain = navsim_plain.score(sim, cache.observation, cache.centerline, cache.route_lane_ids, cache.drivable_map,
                               cache.vehicle)
    vec = {"nc": r.multi_metrics[M.NO_COLLISION], "dac": r.multi_metrics[M.DRIVABLE_AREA],
           "ep": r.weighted_metrics[W.PROGRESS], "ttc": r.weighted_metrics[W.TTC],
           "c": r.weighted_metrics[W.COMFORTABLE], "pdms": r.scores, "progress_m": r.progress_raw_m}
    for key, values in plain.items():
        np.testing.assert_allclose(vec[key], values, atol=1e-9, err_msg=key)
    # the scenes exercise every branch: at-fault collisions of both kinds, TTC failures, departures
    for key, values in (("nc", (0.0, 0.5, 1.0)), ("ttc", (0.0, 1.0)), ("dac", (0.0, 1.0))):
        assert set(values) <= set(plain[key].tolist()), key
