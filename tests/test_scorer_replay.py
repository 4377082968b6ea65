"""Counterfactual scorer on hand-built scenes with known answers, hand-computed components and real
CommonRoad (NGSIM) scenes."""

from __future__ import annotations

import numpy as np
import pytest

from fleetloop.definitions import trigger_params
from fleetloop.scorer import package, reference, routing, scoring, search
from fleetloop.scorer.commonroad_scene import load_commonroad
from fleetloop.scorer.scene import EgoSpec, Scene, SceneLane, constant_track, log_from_speeds, straight_lanes
from fleetloop.scorer.select import pareto_front
from fleetloop.scorer.solve import SearchConfig, solve
from fleetloop.scorer.triggers import hard_brake_tier, weaving_fired
from fleetloop.scorer.world import TrajBatch, prepare
from tests.fixtures.commonroad import CR_NGSIM_DIR

T = 80
DT = 0.1
CR_DIR = CR_NGSIM_DIR
CR_FILES = sorted(CR_DIR.glob("*/*.xml"))
EGO = EgoSpec.for_class("urban_delivery")


def brake_profile(v0: float, decel: float, brake_at_m: float, steps: int = T) -> np.ndarray:
    """Speeds of a car cruising at v0 that brakes at ``decel`` once it has covered ``brake_at_m``."""
    speeds, dist = [v0], 0.0
    for _ in range(steps):
        v = speeds[-1]
        nv = max(0.0, v + (decel if dist >= brake_at_m else 0.0) * DT)
        dist += (v + nv) / 2 * DT
        speeds.append(nv)
    return np.array(speeds)


def make_scene(log: np.ndarray, agents: list[tuple[str, str, np.ndarray]], lanes=None, name="s") -> Scene:
    return Scene(
        scene_id=name, source="synthetic", ego=EGO, ego_log=log,
        agent_ids=np.array([a[0] for a in agents]), agent_classes=np.array([a[1] for a in agents]),
        agent_length_m=np.full(len(agents), 4.5), agent_width_m=np.full(len(agents), 1.9),
        agent_states=np.stack([a[2] for a in agents]) if agents else np.zeros((0, len(log), 4)),
        lanes=lanes or straight_lanes(1),
    )


def stopped_car_scene() -> Scene:
    # log: 10 m/s, brakes late at -6.5 m/s2 and stops ~0.7 m short of a car stopped at x = 45
    log = log_from_speeds(0.0, 0.0, 0.0, brake_profile(10.0, -6.5, 31.8))
    return make_scene(log, [("car1", "car", constant_track(45.0, 0.0, 0.0, 0.0, T))], name="stopped_car")


def traj_of(world, x, y, h, v, acc=None) -> TrajBatch:
    x, y, h, v = (np.atleast_2d(np.asarray(a, float)) for a in (x, y, h, v))
    s, d = world.ref.project(x, y)
    return TrajBatch(x, y, h, v, s, d, acc=None if acc is None else np.atleast_2d(acc))


def one(world, log_arr, **kw) -> dict[str, float]:
    tr = traj_of(world, log_arr[:, 1], log_arr[:, 2], log_arr[:, 3], log_arr[:, 4])
    return {k: float(v[0]) for k, v in scoring.score(world, tr, **kw).items()}


@pytest.fixture(scope="module")
def stopped_car_result():
    return solve(stopped_car_scene(), SearchConfig(seed=7))


@pytest.fixture(scope="module")
def us101_results():
    return [solve(load_commonroad(f), SearchConfig(seed=0)) for f in CR_FILES]


# ---------------------------------------------------------------- known answers


def test_stopped_car_smooth_earlier_brake_wins(stopped_car_result):
    r = stopped_car_result
    log, sol = r.log_scores, r.solution_scores
    assert log["hard_brake_tier"] == 3 and log["c"] == 0.0  # late, severe brake
    assert r.improved and len(r.theta) >= 1000
    assert sol["nc"] == 1.0 and sol["c"] == 1.0 and sol["hard_brake_tier"] == 0
    assert sol["pdms"] > log["pdms"] + 0.2
    x = r.solution
    assert np.diff(x.v[0]).min() / DT >= -4.05  # never brakes beyond the comfort floor
    first_slow = np.nonzero(x.v[0] < 9.5)[0][0] * DT
    log_brake = np.nonzero(r.scene.ego_log[:, 4] < 9.5)[0][0] * DT
    assert first_slow < log_brake  # it starts slowing earlier than the log did
    assert x.x[0, -1] + EGO.length_m / 2 < 45.0 - 2.25  # stops behind the car
    dp = r.decision_points()
    assert dp[0]["kind"] == "departure" and dp[0]["t_s"] < log_brake
    assert 0.0 <= r.robustness["collision_free_share"] <= 1.0 and r.robustness["variants"] >= 20


def test_obstacle_needing_a_lateral_offset():
    # a car stopped in lane 0 of a two-lane road; the log brakes gently and waits behind it: a stuck case,
    # which only driving on in the free lane resolves
    lanes = straight_lanes(2)
    log = log_from_speeds(0.0, 0.0, 0.0, brake_profile(10.0, -2.0, 0.0))
    scene = make_scene(log, [("blocker", "car", constant_track(30.0, 0.0, 0.0, 0.0, T))], lanes=lanes, name="nudge")
    scene.metadata["triggers"] = ["stuck"]
    r = solve(scene, SearchConfig(seed=3))
    assert r.improved
    sol = r.solution_scores
    assert r.theta[r.chosen][0] > 2.0  # moves over into the free lane
    assert r.solution.d[0, -1] > 2.5
    assert sol["nc"] == 1.0 and sol["dac"] == 1.0
    assert sol["progress_m"] > r.log_scores["progress_m"] + 10
    assert any(p["kind"] == "max_lateral_offset" for p in r.decision_points())


def test_log_already_best_claims_nothing():
    lanes = straight_lanes(1, speed_limit_mps=12.0)
    log = log_from_speeds(0.0, 0.0, 0.0, np.full(T + 1, 12.0))
    r = solve(make_scene(log, [], lanes=lanes, name="best"), SearchConfig(seed=1))
    assert len(r.theta) >= 1000
    assert not r.improved and r.solution is None and r.counts()["improving"] == 0
    assert r.log_scores["pdms"] == pytest.approx(1.0)
    pair = package.build(r)
    assert pair.optimized_trajectory is None and pair.decision_metadata["improved"] is False


def test_determinism(stopped_car_result):
    again = solve(stopped_car_scene(), SearchConfig(seed=7))
    assert again.chosen == stopped_car_result.chosen
    np.testing.assert_array_equal(again.theta, stopped_car_result.theta)
    assert package.encode(package.build(again)) == package.encode(package.build(stopped_car_result))


# ---------------------------------------------------------------- components, hand-computed


@pytest.fixture(scope="module")
def road_world():
    return prepare(make_scene(log_from_speeds(0, 0, 0, np.full(T + 1, 10.0)), [], lanes=straight_lanes(1)))


def test_comfort_limits_on_constant_deceleration(road_world):
    for decel, expected in ((-2.0, 1.0), (-5.0, 0.0)):
        v = np.maximum(10.0 + decel * np.arange(T + 1) * DT, 0.0)[:15]
        log = log_from_speeds(0, 0, 0, v)
        tr = traj_of(road_world, log[:, 1], log[:, 2], log[:, 3], log[:, 4])
        np.testing.assert_allclose(scoring.lon_acc(tr, DT)[0, :-1], decel, atol=1e-6)
        assert scoring.comfort(tr, DT)[0] == expected
    # a gentle -2 m/s2 stop from 8 m/s, then standing: the jerk of coming to rest stays within 4.13 m/s3
    v = np.maximum(8.0 - 2.0 * np.arange(T + 1) * DT, 0.0)
    log = log_from_speeds(0, 0, 0, v)
    assert scoring.comfort(traj_of(road_world, log[:, 1], log[:, 2], log[:, 3], log[:, 4]), DT)[0] == 1.0


def test_collision_scores():
    # ego drives at 10 m/s into a car stopped 20 m ahead: at-fault collision
    log = log_from_speeds(0, 0, 0, np.full(T + 1, 10.0))
    w = prepare(make_scene(log, [("c", "car", constant_track(20.0, 0.0, 0.0, 0.0, T))]))
    s = one(w, log)
    assert s["nc"] == 0.0 and s["pdms"] == 0.0
    assert s["first_collision_step"] == pytest.approx(np.ceil((20 - 4.5 / 2 - EGO.length_m / 2) / 10.0 / DT))
    ws = prepare(make_scene(log, [("cone", "static", constant_track(20.0, 0.0, 0.0, 0.0, T))]))
    assert one(ws, log)["nc"] == 0.5
    # a stopped ego hit from behind is not at fault
    stopped = log_from_speeds(0, 0, 0, np.zeros(T + 1))
    wr = prepare(make_scene(stopped, [("r", "car", constant_track(-20.0, 0.0, 0.0, 10.0, T))]))
    assert one(wr, stopped)["nc"] == 1.0


def test_ttc_projection():
    # ego at 10 m/s behind a car at 10 m/s: a gap of 8 m stays 8 m (> 0): TTC fine;
    # a stopped car 6 m (front to rear) ahead is hit by the 1 s projection at the first sample: TTC 0
    log = log_from_speeds(0, 0, 0, np.full(T + 1, 10.0))
    gap = 8.0 + (4.5 + EGO.length_m) / 2
    w = prepare(make_scene(log, [("lead", "car", constant_track(gap, 0.0, 0.0, 10.0, T))]))
    s = one(w, log)
    assert s["nc"] == 1.0 and s["ttc"] == 1.0
    slow = log_from_speeds(0, 0, 0, np.concatenate([[10.0], np.zeros(T)]))
    w2 = prepare(make_scene(slow, [("c", "car", constant_track(6.0 + (4.5 + EGO.length_m) / 2, 0.0, 0.0, 0.0, T))]))
    assert one(w2, slow)["ttc"] == 0.0
    assert one(w2, slow)["nc"] == 1.0


def test_drivable_area_lane_keeping_speed_limit(road_world):
    n = T + 1
    x = np.arange(n) * DT * 10.0
    # DAC: half width 1.75 m, ego half width 0.95 m: offset 0.7 stays inside, 0.9 pokes out
    for off, dac in ((0.7, 1.0), (0.9, 0.0)):
        tr = traj_of(road_world, x, np.full(n, off), np.zeros(n), np.full(n, 10.0))
        assert scoring.drivable_area(road_world, tr)[0] == dac
    # LK: 0.6 m off the centre for 8 s fails, 0.6 m for 2.0 s (20 samples) passes, 2.1 s fails
    for k, lk in ((n, 0.0), (20, 1.0), (21, 0.0)):
        y = np.zeros(n)
        y[10:10 + k] = 0.6
        tr = traj_of(road_world, x, y, np.zeros(n), np.full(n, 10.0))
        assert scoring.lane_components(road_world, tr)["lk"][0] == lk
    # SLC: limit 16.7; 1.115 m/s over on average -> 0.5; 2.23 over -> 0
    for over, slc in ((1.115, 0.5), (2.23, 0.0), (0.0, 1.0)):
        tr = traj_of(road_world, x, np.zeros(n), np.zeros(n), np.full(n, 16.7 + over))
        assert scoring.lane_components(road_world, tr)["slc"][0] == pytest.approx(slc)


def test_driving_direction():
    # lane 1 (y = 3.5) runs westbound; the ego drives east in it at 4 m/s (4 m per second against
    # traffic: 0.5) and at 7 m/s (7 m: 0)
    east = straight_lanes(1)[0]
    c = east.centerline[::-1] + [0.0, 3.5]
    west = SceneLane("west", c, c + [0.0, -1.75], c + [0.0, 1.75], 16.7)
    ref_lane = SceneLane("east", east.centerline, east.left_bound, east.right_bound, 16.7)
    for speed, ddc in ((1.5, 1.0), (4.0, 0.5), (7.0, 0.0)):
        log = log_from_speeds(0.0, 3.5, 0.0, np.full(T + 1, speed))
        w = prepare(make_scene(log_from_speeds(0, 0, 0, np.full(T + 1, 10.0)), [], lanes=(ref_lane, west)))
        assert scoring.lane_components(w, traj_of(w, log[:, 1], log[:, 2], log[:, 3], log[:, 4]))["ddc"][0] == ddc


def test_ep_and_pdms_formula():
    prog = np.array([40.0, 50.0, 3.0])
    np.testing.assert_allclose(scoring.finish_ep(prog, 50.0), [0.8, 1.0, 0.06])
    np.testing.assert_allclose(scoring.finish_ep(prog, 4.0), [1.0, 1.0, 1.0])
    out = scoring.finish({"nc": np.array([1.0, 0.5]), "dac": np.array([1.0, 1.0]), "ep": np.array([0.8, 1.0]),
                          "ttc": np.array([1.0, 0.0]), "c": np.array([0.0, 1.0]), "ddc": np.ones(2),
                          "lk": np.array([1.0, 0.0]), "slc": np.ones(2), "tlc": np.ones(2)})
    np.testing.assert_allclose(out["pdms"], [(5 * 0.8 + 5) / 12, 0.5 * 7 / 12])
    np.testing.assert_allclose(out["compliance"], [1.0, 0.5])
    np.testing.assert_allclose(out["safety"], [1.0, 0.25])


def test_triggers_read_the_seed_thresholds():
    p = trigger_params("hard_brake", "urban_delivery")
    speeds = np.full((3, 40), 10.0)
    acc = np.zeros((3, 40))
    acc[0, 10:13] = p["tier_severe_mps2"] - 0.5  # 3 samples = 0.3 s: severe
    acc[1, 10:12] = p["tier_severe_mps2"] - 0.5  # 0.2 s: too short
    acc[2, 10:20] = (p["tier_mild_mps2"] + p["acc_threshold_mps2"]) / 2  # mild tier
    assert hard_brake_tier(acc, speeds, p, DT).tolist() == [3, 0, 1]
    truck = trigger_params("hard_brake", "highway_truck")
    acc_t = np.zeros((1, 40))
    acc_t[0, 5:10] = -3.7  # hard for a truck (-3.5), only mild for the default (-4.0)
    assert hard_brake_tier(acc_t, speeds[:1], truck, DT)[0] == 2
    assert hard_brake_tier(acc_t, speeds[:1], p, DT)[0] == 1
    wp = trigger_params("weaving")
    t = np.arange(60) * DT
    yaw = 0.2 * np.sin(2 * np.pi * 1.0 * t)[None]  # 1 Hz swings: 2 sign changes a second, no net turn
    heading = np.cumsum(yaw, axis=1) * DT
    assert weaving_fired(yaw, np.full_like(yaw, 5.0), heading, wp, DT)[0]
    assert not weaving_fired(yaw, np.full_like(yaw, 2.0), heading, wp, DT)[0]  # below min speed


def test_pareto_front():
    v = np.array([[1, 0.5], [0.5, 1], [0.4, 0.4], [1, 0.5]])
    assert sorted(pareto_front(v).tolist()) == [0, 1, 3]


# ---------------------------------------------------------------- packaging and routing


def test_package_round_trip(stopped_car_result):
    pair = package.build(stopped_car_result)
    blob = package.encode(pair)
    back = package.decode(blob)
    for a, b in ((pair.original_trajectory, back.original_trajectory),
                 (pair.optimized_trajectory, back.optimized_trajectory)):
        assert np.abs(a[:, 1:3] - b[:, 1:3]).max() <= 0.01
        assert np.abs(np.angle(np.exp(1j * (a[:, 3] - b[:, 3])))).max() <= 0.001
        assert np.abs(a[:, 4] - b[:, 4]).max() <= 0.01
        assert np.abs(a[:, 0] - b[:, 0]).max() <= 0.001
    for o1, o2 in zip(pair.dynamic_objects_bev, back.dynamic_objects_bev, strict=True):
        assert np.abs(o1["track"][:, :2] - o2["track"][:, :2]).max() <= 0.01
    assert back.decision_metadata["cost_deltas"]["pdms"] == pytest.approx(stopped_car_result.deltas()["pdms"])
    assert len(blob) < 100_000
    with pytest.raises(ValueError):
        package.decode(b"junk" + blob)


def test_routing_and_upload_plan():
    import datetime as dt

    t0 = dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC)
    req = routing.raw_upload_request({"case_id": "case_x", "vehicle_id": "v1", "ts_start": t0,
                                      "ts_end": t0 + dt.timedelta(seconds=15), "reason": "phantom object"})
    assert req.est_bytes == 15 * routing.RAW_SENSOR_BYTES_PER_S
    items = [
        {"case_id": "a", "kind": "solution", "bytes": 400, "severity": 3, "uncertainty": 0.5, "improvement": 1.0},
        {"case_id": "b", "kind": "solution", "bytes": 400, "severity": 1, "uncertainty": 0.0, "improvement": 2.0},
        {"case_id": "c", "kind": "solution", "bytes": 700, "severity": 2, "uncertainty": 0.9, "improvement": 1.0},
    ]
    plan = routing.plan_uploads(items, budget_bytes=1000)
    assert [r["case_id"] for r in plan] == ["c", "a", "b"]  # values 1.8, 1.5, 0.2
    assert ([r["selected"] for r in plan] == [True, False, False]
            or [r["selected"] for r in plan] == [True, False, False])
    assert plan[-1]["cumulative_bytes"] <= 1000


# ---------------------------------------------------------------- real CommonRoad scenes and the loop oracle


def test_commonroad_scenes_end_to_end(us101_results):
    assert len(us101_results) == 2
    for r in us101_results:
        assert r.scene.agent_states.shape[0] >= 10 and r.scene.steps >= 30
        assert len(r.theta) >= 1000
        assert "BSD 3-Clause" in r.scene.metadata["license_notice"]
        assert np.isfinite(r.log_scores["pdms"])
        pair = package.decode(package.encode(package.build(r)))
        assert "NGSIM" in pair.scene_metadata["license_notice"]
        if r.improved:
            assert r.solution_scores["pdms"] >= r.log_scores["pdms"] - 1e-9
            assert r.robustness["variants"] >= 20


def test_commonroad_ego_choice():
    scene = load_commonroad(CR_FILES[-1], ego_id=451)
    assert scene.metadata["ego_obstacle_id"] == 451 and "451" not in scene.agent_ids
    with pytest.raises(KeyError):
        load_commonroad(CR_FILES[-1], ego_id=999999)


def test_vectorised_scores_match_the_plain_loop(us101_results):
    r = us101_results[-1]
    idx = np.nonzero(r.feasible)[0][::40]
    cands = r.candidates.take(idx)
    prune = {"nc": r.log_scores["nc"], "dac": r.log_scores["dac"]}
    vec = scoring.score(r.world, cands, progress_ref=r.progress_ref, prune_below=prune)
    loop = reference.score_loop(r.world, cands, r.progress_ref, prune)
    for k in loop:
        np.testing.assert_allclose(np.asarray(vec[k], float), np.asarray(loop[k], float), equal_nan=True, err_msg=k)


def test_reactive_follower_brakes_for_the_ego():
    log = log_from_speeds(0.0, 0.0, 0.0, brake_profile(10.0, -6.5, 31.8))
    scene = make_scene(log, [("car1", "car", constant_track(45.0, 0.0, 0.0, 0.0, T)),
                             ("follower", "car", constant_track(-15.0, 0.0, 0.0, 10.0, T))])
    w = prepare(scene)
    mask = search.followers(w)
    assert mask.tolist() == [False, True]
    traj, _ = search.rollout(w, np.array([[0.0, 10.0, 1.0, 2.0, 4.0]]))
    reacted = search.react(w, traj, mask)
    assert reacted.v[0, 0, -1] < 5.0  # the log-replayed follower would still do 10 m/s
    r = solve(scene, SearchConfig(seed=2, reactive=True, robustness_variants=0))
    assert r.improved and r.solution_scores["nc"] == 1.0
