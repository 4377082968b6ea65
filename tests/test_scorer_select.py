"""The resolution rules of ``fleetloop.scorer.select`` on hand-built scenes and score rows: a hard brake is
fixed in the log's own lane (never by overtaking what it braked for), stuck is fixed only by driving on (never
by creeping at the stuck threshold), and DAC is never "fixed" by leaving the lane."""

from __future__ import annotations

import numpy as np
import pytest

from fleetloop.definitions import trigger_catalog, trigger_params
from fleetloop.scorer import select
from fleetloop.scorer.scene import EgoSpec, Scene, log_from_speeds, straight_lanes
from fleetloop.scorer.scoring import COMPONENTS
from fleetloop.scorer.solve import SearchConfig, solve
from fleetloop.scorer.world import TrajBatch, prepare

EGO = EgoSpec.for_class("urban_delivery")
STEPS = 80
DT = 0.1
LANE_W_M = 3.5


def _scene(speeds, agents=(), triggers=None, lanes=None) -> Scene:
    log = log_from_speeds(0.0, 0.0, 0.0, np.asarray(speeds, float))
    return Scene(
        scene_id="select", source="synthetic", ego=EGO, ego_log=log,
        agent_ids=np.array([a[0] for a in agents]), agent_classes=np.array([a[1] for a in agents]),
        agent_length_m=np.full(len(agents), 4.5), agent_width_m=np.full(len(agents), 1.9),
        agent_states=np.stack([a[2] for a in agents]) if agents else np.zeros((0, len(log), 4)),
        lanes=lanes or straight_lanes(1), metadata={} if triggers is None else {"triggers": list(triggers)},
    )


def _scores(**kw) -> dict[str, np.ndarray]:
    base = dict.fromkeys(COMPONENTS, 1.0) | {"ep": 0.7, "hard_brake_tier": 0.0, "weaving": 0.0, "stuck": 0.0,
                                              "pdms": 0.9, "pruned": 0.0, "lateral_dev_m": 0.0,
                                              "centre_offset_m": 0.1}
    return {k: np.array([float(v)]) for k, v in (base | kw).items()}


def _log(**kw) -> dict[str, float]:
    return {k: float(v[0]) for k, v in _scores(**kw).items()}


def test_catalog_limits_are_read_as_numbers():
    cat = trigger_catalog()
    assert cat["hard_brake"]["max_lateral_deviation_m"] == 1.0 and cat["weaving"]["max_lateral_deviation_m"] == 1.0
    assert cat["stuck"]["max_lateral_deviation_m"] is None and cat["takeover"]["max_lateral_deviation_m"] is None
    assert cat["stuck"]["check_window_s"] == 2.0 and cat["hard_brake"]["check_window_s"] is None


@pytest.mark.parametrize("trigger, tier_key, log_tier", [("hard_brake", "hard_brake_tier", 3.0),
                                                          ("weaving", "weaving", 1.0)])
def test_lateral_limit_per_trigger(trigger, tier_key, log_tier):
    limit_m = trigger_catalog()[trigger]["max_lateral_deviation_m"]
    log, checks = _log(**{tier_key: log_tier}), select.case_checks([trigger])
    in_lane = _scores(lateral_dev_m=limit_m - 0.05)
    lane_change = _scores(lateral_dev_m=LANE_W_M)
    assert select.improves(in_lane, log, checks)[0] and not select.improves(lane_change, log, checks)[0]
    (res,) = select.resolution({k: float(v[0]) for k, v in lane_change.items()}, log, checks)
    assert res["solution_tier"] == 0 and not res["resolved"]
    assert f"more than {limit_m:g} m" in select.verdict(checks, log)
    # going around a blocker is driving on: stuck has no limit
    assert select.improves(_scores(lateral_dev_m=LANE_W_M), _log(stuck=1.0), select.case_checks(["stuck"]))[0]


def test_dac_is_never_fixed_by_leaving_the_lane():
    takeover = select.case_checks(["takeover"])
    log = _log(dac=0.0, pdms=0.0, centre_offset_m=0.26)  # fails DAC although it keeps 0.26 m from the centre
    assert not select.improves(_scores(centre_offset_m=1.4), log, takeover)[0]
    assert select.improves(_scores(centre_offset_m=0.2), log, takeover)[0]
    drifted = _log(dac=0.0, pdms=0.0, centre_offset_m=1.2)  # a log that drifts off the road: back to the lane fixes it
    assert select.improves(_scores(centre_offset_m=0.3), drifted, takeover)[0]
    # a TTC fix may swerve when the log passes DAC
    assert select.improves(_scores(centre_offset_m=1.4), _log(ttc=0.0), takeover)[0]


def _batch(world, v: np.ndarray, d_m: float = 0.0) -> TrajBatch:
    v = np.atleast_2d(v)
    s = np.concatenate([np.zeros((len(v), 1)), np.cumsum((v[:, 1:] + v[:, :-1]) / 2 * DT, axis=1)], axis=1)
    y = np.full_like(s, d_m)
    ss, dd = world.ref.project(s, y)
    return TrajBatch(s, y, np.zeros_like(s), v, ss, dd)


def test_stuck_means_the_trigger_definition_over_the_horizons_last_part():
    params = trigger_params("stuck", EGO.vehicle_class)
    world = prepare(_scene(np.zeros(STEPS + 1), triggers=["stuck"]))
    t = np.arange(STEPS + 1) * DT
    v_stop = params["max_speed_mps"]
    creep = np.full(STEPS + 1, v_stop)  # ends exactly at the threshold, 2.4 m past the standing log
    creep_above = np.full(STEPS + 1, v_stop + 0.2)  # above the threshold, 1 m over the last 2 s
    coast = np.maximum(1.2 - 0.11 * t, v_stop + 0.01)  # a slow coast up to a blocker: 0.76 -> 0.31 m/s from 4 s
    late = np.where(t < 6.2, 0.0, 2.0 * (t - 6.2))  # starts at 6.2 s: still standing at the window's start
    drive_on = np.minimum(1.0 * t, 5.0)
    gentle = np.where(t < 4.5, 0.0, 0.5 * (t - 4.5))  # from standstill at 4.5 s, 0.5 m/s2
    tiers = select.case_tiers(world, _batch(world, np.stack([creep, creep_above, coast, late, drive_on, gentle])))
    assert tiers["stuck"].tolist() == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    assert select.case_tiers(world, world.log)["stuck"].tolist() == [1.0]


def _cut_in(steps: int = STEPS) -> np.ndarray:
    """A car in the passing lane at x = 22 m, 6 m/s, that cuts into the ego's lane over its first 1.5 s."""
    t = np.arange(steps + 1) * DT
    y = LANE_W_M * np.clip(1.0 - t / 1.5, 0.0, 1.0)
    h = np.where(t < 1.5, np.arctan2(-LANE_W_M / 1.5, 6.0), 0.0)
    return np.column_stack([22.0 + 6.0 * t, y, h, np.full_like(t, 6.0)])


def _hard_brake_speeds(v0: float, decel: float, brake_at_s: float, v_end: float) -> np.ndarray:
    t = np.arange(STEPS + 1) * DT
    return np.maximum(v0 + decel * np.clip(t - brake_at_s, 0.0, None), v_end)


def test_cut_in_brake_is_fixed_in_lane_never_by_overtaking():
    # the log brakes at -6 m/s2 from 12 to 6 m/s behind the car that cut in; the passing lane is free
    speeds = _hard_brake_speeds(12.0, -6.0, 1.0, 6.0)
    lanes = straight_lanes(2, length_m=260.0)
    r = solve(_scene(speeds, [("cutter", "car", _cut_in())], ["hard_brake"], lanes), SearchConfig(seed=5))
    assert r.log_scores["hard_brake_tier"] == 3
    limit_m = trigger_catalog()["hard_brake"]["max_lateral_deviation_m"]
    sc = r.scores
    overtakes = (select.no_worse(sc, r.log_scores) & (np.nan_to_num(sc["hard_brake_tier"], nan=9) < 3)
                 & (sc["lateral_dev_m"] > LANE_W_M / 2))
    assert overtakes.any()  # overtaking in the passing lane is on offer, safe and brake-free ...
    assert r.improved  # ... but the chosen fix brakes earlier and gentler in the log's lane
    sol = r.solution
    assert np.abs(sol.d[0] - r.world.log.d[0]).max() <= limit_m and np.abs(sol.d[0]).max() < limit_m
    assert r.solution_scores["hard_brake_tier"] < 3 and r.solution_scores["nc"] == 1.0
    cutter = _cut_in()
    assert (sol.x[0] + EGO.length_m / 2 < cutter[:, 0] - 4.5 / 2).all()  # never passes the car
    assert sol.v[0, -1] < 9.0  # matches the car's speed instead of driving on at 12 m/s
    assert not select.improves(sc, r.log_scores, r.checks)[overtakes].any()


def test_no_claim_for_creeping_behind_a_car_that_pulls_away_late():
    # the ego stands 5 m behind a stopped car that pulls away only at 6 s (1 m/s2): there is room to creep up
    # to it at the stuck threshold, none to drive on within the horizon
    t, gap_m, go_s = np.arange(STEPS + 1) * DT, 5.0, 6.0
    car_x = EGO.length_m / 2 + gap_m + 4.5 / 2 + np.where(t < go_s, 0.0, 0.5 * (t - go_s) ** 2)
    car = np.column_stack([car_x, np.zeros_like(t), np.zeros_like(t), np.where(t < go_s, 0.0, t - go_s)])
    r = solve(_scene(np.zeros(STEPS + 1), [("blocker", "car", car)], ["stuck"]), SearchConfig(seed=4))
    assert r.log_scores["stuck"] == 1
    params = trigger_params("stuck", EGO.vehicle_class)
    sc = r.scores
    creeps = (select.no_worse(sc, r.log_scores) & (r.candidates.v[:, -1] >= params["max_speed_mps"])
              & (r.candidates.s[:, -1] > r.world.log.s[0, -1] + params["max_displacement_m"]))
    assert creeps.any()  # safe creeps that end at the threshold, more than 2 m past the log: the old claims
    assert not select.improves(sc, r.log_scores, r.checks)[creeps].any()
    assert not r.improved, r.verdict()


def test_a_free_stuck_ego_still_drives_on():
    stand = np.maximum(6.0 - 2.0 * np.arange(STEPS + 1) * DT, 0.0)
    r = solve(_scene(stand, triggers=["stuck"]), SearchConfig(seed=2))
    assert r.improved and r.fixed()["trigger"] == "stuck"
    params = trigger_params("stuck", EGO.vehicle_class)
    w = round(trigger_catalog()["stuck"]["check_window_s"] / DT)
    assert (r.solution.v[0, -w - 1:] > params["max_speed_mps"]).all()
    assert r.solution.s[0, -1] - r.solution.s[0, -w - 1] > params["max_displacement_m"]
