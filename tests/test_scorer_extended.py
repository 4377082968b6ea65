"""The extended score's traffic-light compliance and its drivable area, on hand-built scenes and the real
Lankershim scene (traffic lights)."""

from __future__ import annotations

import numpy as np
import pytest

from fleetloop.scorer import reference, scoring
from fleetloop.scorer.commonroad_scene import load_commonroad
from fleetloop.scorer.scene import EgoSpec, Scene, SceneLane, TrafficLight, log_from_speeds
from fleetloop.scorer.world import TrajBatch, prepare
from tests.fixtures.commonroad import LANKERSHIM

T = 80
DT = 0.1
EGO = EgoSpec.for_class("urban_delivery")


def lane(lane_id: str, x0: float, x1: float, succ=(), pred=()) -> SceneLane:
    x = np.arange(x0, x1 + 1e-9, 1.0)
    c = np.column_stack([x, np.zeros_like(x)])
    return SceneLane(lane_id, c, c + [0.0, 1.75], c - [0.0, 1.75], 16.7, successors=succ, predecessors=pred)


def signal_scene(states: list[str], speeds: np.ndarray) -> Scene:
    """A lane ending at a stop line at x = 30 with a light, the lane after it to x = 200."""
    light = TrafficLight("tl", ("approach",), np.array(states))
    return Scene("signal", "synthetic", EGO, log_from_speeds(0.0, 0.0, 0.0, speeds), np.array([]), np.array([]),
                 np.zeros(0), np.zeros(0), np.zeros((0, T + 1, 4)),
                 (lane("approach", -20.0, 30.0, succ=("exit",)), lane("exit", 30.0, 200.0, pred=("approach",))),
                 traffic_lights=(light,))


def stop_before(line_x: float, v0: float) -> np.ndarray:
    """Speeds of a stop that ends 2 m before the line (constant deceleration)."""
    decel = v0**2 / (2 * (line_x - 2.0))
    return np.maximum(v0 - decel * np.arange(T + 1) * DT, 0.0)


def both(world) -> tuple[float, float]:
    """TLC of the log from the vectorised score and from the plain loop."""
    log = world.log
    vec = scoring.lane_components(world, log)["tlc"][0]
    tr = {k: getattr(log, k)[0].tolist() for k in ("x", "y", "h", "v", "s", "d")}
    return float(vec), reference.score_one(world, tr)["tlc"]


@pytest.mark.parametrize(("states", "speeds", "expected"), [
    (["red"] * (T + 1), np.full(T + 1, 10.0), 0.0),  # runs the red light
    (["red"] * (T + 1), stop_before(30.0, 10.0), 1.0),  # stops before the line
    (["green"] * (T + 1), np.full(T + 1, 10.0), 1.0),  # crosses on green
    (["red"] * 20 + ["green"] * (T - 19), np.full(T + 1, 10.0), 1.0),  # red until 2 s, crosses at 3 s
    (["green"] * 20 + ["red"] * (T - 19), np.full(T + 1, 10.0), 0.0),  # turns red before the ego gets there
])
def test_red_light_compliance(states, speeds, expected):
    world = prepare(signal_scene(states, speeds))
    assert both(world) == (expected, expected)


def test_red_light_lowers_compliance_but_not_pdms():
    world = prepare(signal_scene(["red"] * (T + 1), np.full(T + 1, 10.0)))
    s = {k: float(v[0]) for k, v in scoring.score(world, world.log, progress_ref=80.0).items()}
    assert s["tlc"] == 0.0 and s["compliance"] == 0.0 and s["pdms"] == pytest.approx(1.0)


def test_exact_corners_on_a_curve():
    # a 90-degree left curve of radius 20 m: an ego centred in the lane stays on the road, 1.2 m to the
    # outside it leaves it (lane half width 1.75, ego half width 0.95)
    theta = np.linspace(-np.pi / 2, 0.0, 80)
    c = np.column_stack([20 * np.cos(theta), 20 + 20 * np.sin(theta)])
    normal = np.column_stack([np.cos(theta), np.sin(theta)])
    curve = SceneLane("curve", c, c - 1.75 * normal, c + 1.75 * normal, 16.7)
    scene = Scene("curve", "synthetic", EGO, log_from_speeds(0.0, 0.0, 0.0, np.full(T + 1, 5.0)), np.array([]),
                  np.array([]), np.zeros(0), np.zeros(0), np.zeros((0, T + 1, 4)), (curve,))
    world = prepare(scene)
    t = np.linspace(-np.pi / 2 + 0.3, -0.3, T + 1)  # the box stays clear of the lane's two ends
    for offset, dac in ((0.0, 1.0), (1.2, 0.0)):
        r = 20 + offset
        x, y = r * np.cos(t), 20 + r * np.sin(t)
        h = t + np.pi / 2
        s, d = world.ref.project(x, y)
        tr = TrajBatch(x[None], y[None], h[None], np.full((1, T + 1), 5.0), s[None], d[None])
        assert scoring.drivable_area(world, tr)[0] == dac


def test_lankershim_lights_are_read_and_scored():
    scene = load_commonroad(LANKERSHIM)
    assert scene.traffic_lights
    world = prepare(scene)
    tlc = scoring.lane_components(world, world.log)["tlc"][0]
    assert tlc == 1.0  # the recorded driver does not run a red light
