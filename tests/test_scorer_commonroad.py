"""CommonRoad scenes read faithfully: every obstacle, speed limits, traffic lights, lane context, a drivable
area that holds at lanelet joints, kinematics checked against positions, clear errors, and a real map as a
site. Truth: hand-made XML with known answers and the values recorded in the shipped files."""

from __future__ import annotations

import argparse
import re
import shutil
from xml.etree import ElementTree

import numpy as np
import pytest
import shapely

from fleetloop import definitions, lanemap
from fleetloop.definitions import trigger_params
from fleetloop.realdata import cli as realdata_cli
from fleetloop.scorer import scoring
from fleetloop.scorer.commonroad_scene import load_commonroad, read_scenario
from fleetloop.scorer.scene import EgoSpec, Scene, SceneLane, log_from_speeds
from fleetloop.scorer.triggers import hard_brake_tier
from fleetloop.scorer.world import prepare
from tests.fixtures.commonroad import CARCARANA, CR_DATA_DIR, LANKERSHIM, TUTORIAL, US101_FILES

DT = 0.1
SEED_DEFAULTS = {r["road_type"]: float(r["default_speed_limit_mps"]) for r in definitions.read_seed("road_types")}


# ---------------------------------------------------------------- hand-made scenario files


def _points(xy) -> str:
    return "".join(f"<point><x>{x:.4f}</x><y>{y:.4f}</y></point>" for x, y in xy)


def lanelet(lid: int, y: float, x0: float = 0.0, x1: float = 200.0, extra: str = "", width: float = 3.5) -> str:
    """A straight eastbound lanelet centred on y from x0 to x1."""
    x = np.linspace(x0, x1, 11)
    left = np.column_stack([x, np.full_like(x, y + width / 2)])
    right = np.column_stack([x, np.full_like(x, y - width / 2)])
    return (f'<lanelet id="{lid}"><leftBound>{_points(left)}</leftBound><rightBound>{_points(right)}</rightBound>'
            f"{extra}</lanelet>")


def _state(tag: str, k: int, x: float, y: float, h: float, v: float | None) -> str:
    vel = "" if v is None else f"<velocity><exact>{v}</exact></velocity>"
    return (f"<{tag}><position><point><x>{x:.6f}</x><y>{y:.6f}</y></point></position>"
            f"<orientation><exact>{h:.6f}</exact></orientation><time><exact>{k}</exact></time>{vel}</{tag}>")


def rect(length: float, width: float) -> str:
    return f"<rectangle><length>{length}</length><width>{width}</width></rectangle>"


def dynamic(oid: int, otype: str, shape: str, states, role: str | None = None) -> str:
    """states: (k, x, y, heading, speed or None) rows; role: '2018b' writes the 2018b <obstacle>."""
    first, *rest = states
    body = (f"<type>{otype}</type><shape>{shape}</shape>{_state('initialState', *first)}"
            f"<trajectory>{''.join(_state('state', *s) for s in rest)}</trajectory>")
    if role == "2018b":
        return f'<obstacle id="{oid}"><role>dynamic</role>{body}</obstacle>'
    return f'<dynamicObstacle id="{oid}">{body}</dynamicObstacle>'


def static(oid: int, otype: str, shape: str, x: float, y: float, h: float) -> str:
    return (f'<staticObstacle id="{oid}"><type>{otype}</type><shape>{shape}</shape>'
            f"{_state('initialState', 0, x, y, h, None)}</staticObstacle>")


def straight(oid_k0: int, k1: int, x0: float, y: float, v: float, h: float = 0.0):
    """(k, x, y, heading, speed) of a vehicle driving east at constant speed from step oid_k0 to k1."""
    return [(k, x0 + v * (k - oid_k0) * DT, y, h, v) for k in range(oid_k0, k1 + 1)]


HEAD_2020A = ("<location><geoNameId>2950159</geoNameId><gpsLatitude>52.52</gpsLatitude>"
              "<gpsLongitude>13.40</gpsLongitude></location><scenarioTags><urban/></scenarioTags>")


def scenario(tmp_path, body: str, name: str = "DEU_Test-1_1_T-1", version: str = "2020a", head: str = HEAD_2020A,
             attrs: str = "") -> str:
    path = tmp_path / f"{name}.xml"
    path.write_text(f'<?xml version="1.0" ?><commonRoad timeStepSize="0.1" commonRoadVersion="{version}" '
                    f'benchmarkID="{name}" author="t" affiliation="t" source="hand-made" date="2026-01-01" {attrs}>'
                    f"{head if version == '2020a' else ''}{body}</commonRoad>", encoding="utf-8")
    return path


TWO_LANES = (lanelet(1, 0.0, extra='<adjacentLeft ref="2" drivingDir="same"/><laneletType>urban</laneletType>')
             + lanelet(2, 3.5, extra='<adjacentRight ref="1" drivingDir="same"/><laneletType>urban</laneletType>'))
EGO = dynamic(10, "car", rect(4.5, 1.8), straight(0, 40, 0.0, 0.0, 10.0))


# ---------------------------------------------------------------- data shipped with the tests


def test_shipped_scenarios_are_in_the_repository_with_their_notices():
    files = sorted(CR_DATA_DIR.rglob("*.xml"))
    assert len(files) == 5 and set(US101_FILES) | {LANKERSHIM, CARCARANA, TUTORIAL} == set(files)
    assert sum(f.stat().st_size for f in files) < 3_000_000
    for f in files:
        notice = next(p / "LICENSE_NOTICE.txt" for p in (f.parent, f.parent.parent)
                      if (p / "LICENSE_NOTICE.txt").is_file())
        assert ("BSD 3-Clause" in notice.read_text(encoding="utf-8")
                and "OpenStreetMap" in notice.read_text(encoding="utf-8"))


def test_default_ego_rule_unchanged():
    # the rule's picks on the shipped files (most neighbours within 30 m at the start, then lowest id)
    picks = {f.name: load_commonroad(f).metadata["ego_obstacle_id"]
             for f in (*US101_FILES, LANKERSHIM, CARCARANA, TUTORIAL)}
    assert picks == {"USA_US101-3_3_T-1.xml": 395, "USA_US101-4_1_T-1.xml": 442, "USA_Lanker-1_11_T-1.xml": 1996,
                     "ARG_Carcarana-4_5_T-1.xml": 3142, "ZAM_Tutorial-1_2_T-1.xml": 42}


# ---------------------------------------------------------------- every obstacle


def test_late_static_and_non_rectangular_obstacles(tmp_path):
    circle = "<circle><radius>0.5</radius><center><x>0.2</x><y>0.0</y></center></circle>"
    poly = "<polygon>" + _points([(-0.3, -0.2), (0.5, -0.2), (0.5, 0.4), (-0.3, 0.4)]) + "</polygon>"
    walker = [(k, 80.0, 7.0 + 0.12 * k, np.pi / 2, 1.2) for k in range(41)]
    boundary = "<polygon>" + _points([(0, -2), (200, -2), (200, -3), (0, -3)]) + "</polygon>"
    body = (TWO_LANES + EGO + dynamic(11, "car", rect(4.0, 1.7), straight(5, 20, 30.0, 3.5, 8.0))
            + static(12, "constructionZone", circle, 60.0, 3.5, 0.3) + dynamic(13, "pedestrian", poly, walker)
            + static(14, "roadBoundary", boundary, 0.0, 0.0, 0.0)
            + dynamic(15, "car", rect(4.0, 1.7), straight(60, 70, 0.0, 3.5, 8.0)))
    scene = load_commonroad(scenario(tmp_path, body))
    assert scene.steps == 40 and scene.metadata["ego_obstacle_id"] == 10
    agents = {a: i for i, a in enumerate(scene.agent_ids)}
    assert set(agents) == {"11", "12", "13"}  # the road boundary and the car after the horizon are no agents
    assert [scene.agent_classes[agents[a]] for a in ("11", "12", "13")] == ["car", "static", "pedestrian"]
    late = scene.agent_states[agents["11"]]
    assert np.isnan(late[:5]).all() and np.isnan(late[21:]).all()
    np.testing.assert_allclose(late[5], [30.0, 3.5, 0.0, 8.0], atol=1e-6)
    np.testing.assert_allclose(late[20], [30.0 + 8.0 * 1.5, 3.5, 0.0, 8.0], atol=1e-6)
    cone = scene.agent_states[agents["12"]]
    np.testing.assert_allclose(cone, np.tile([60 + 0.2 * np.cos(0.3), 3.5 + 0.2 * np.sin(0.3), 0.3, 0.0], (41, 1)))
    assert (scene.agent_length_m[agents["12"]], scene.agent_width_m[agents["12"]]) == (1.0, 1.0)
    i = agents["13"]
    assert scene.agent_length_m[i] == pytest.approx(0.8) and scene.agent_width_m[i] == pytest.approx(0.6)
    # box centre (0.1, 0.1) in the walker's frame, heading north: (-0.1, +0.1) in the world
    np.testing.assert_allclose(scene.agent_states[i, 10], [79.9, 7.0 + 1.2 + 0.1, np.pi / 2, 1.2], atol=1e-6)
    assert scene.metadata["static_obstacles"] == 1 and scene.metadata["late_obstacles"] == 1
    assert scene.agent_is_static.tolist() == [scene.agent_classes[k] == "static" for k in range(3)]
    with pytest.raises(ValueError, match="pedestrian, not a vehicle"):
        load_commonroad(scenario(tmp_path, body), ego_id=13)
    with pytest.raises(ValueError, match="not recorded over the whole"):
        load_commonroad(scenario(tmp_path, body), ego_id=11)


def test_static_and_late_obstacles_count_in_the_score(tmp_path):
    # the ego drives east at 10 m/s in lane 1; a cone stands in its path at x = 25 -> NC 0.5
    cone = static(12, "constructionZone", rect(0.5, 0.5), 25.0, 0.0, 0.0)
    world = prepare(load_commonroad(scenario(tmp_path, TWO_LANES + EGO + cone)))
    assert scoring.score(world, world.log)["nc"][0] == 0.5
    # a car stopped at x = 24 from step 25 on: the ego (front at x = k + 2.25) would touch it from step 20,
    # but it is only there from step 25
    late = dynamic(11, "car", rect(4.0, 1.7), [(k, 24.0, 0.0, 0.0, 0.0) for k in range(25, 41)])
    world = prepare(load_commonroad(scenario(tmp_path, TWO_LANES + EGO + late)))
    s = scoring.score(world, world.log)
    assert s["nc"][0] == 0.0 and s["first_collision_step"][0] == 25


def test_tutorial_static_obstacle():
    scene = load_commonroad(TUTORIAL)
    i = list(scene.agent_ids).index("43")  # the parked vehicle: <staticObstacle id="43"> at (30, 3.5), 0.02 rad
    assert scene.agent_classes[i] == "static" and scene.metadata["static_obstacles"] == 1
    np.testing.assert_allclose(scene.agent_states[i], np.tile([30.0, 3.5, 0.02, 0.0], (scene.steps + 1, 1)))
    assert (scene.agent_length_m[i], scene.agent_width_m[i]) == (4.5, 2.0)


# ---------------------------------------------------------------- speed limits


def test_speed_limits_from_signs_and_2018b(tmp_path):
    signs = ('<trafficSign id="100"><trafficSignElement><trafficSignID>274</trafficSignID>'
             "<additionalValue>13.89</additionalValue></trafficSignElement></trafficSign>"
             '<trafficSign id="101"><trafficSignElement><trafficSignID>274</trafficSignID>'
             "<additionalValue>22.22</additionalValue></trafficSignElement><trafficSignElement>"
             "<trafficSignID>274</trafficSignID><additionalValue>16.67</additionalValue></trafficSignElement>"
             "</trafficSign>")
    lanes = (lanelet(1, 0.0, extra='<successor ref="3"/><trafficSignRef ref="100"/>')
             + lanelet(2, 3.5, extra='<trafficSignRef ref="101"/>') + lanelet(3, 0.0, 200.0, 300.0)
             + lanelet(4, 7.0, extra="<laneletType>bicycleLane</laneletType>"))
    limits = {ln.lane_id: ln.speed_limit_mps for ln in load_commonroad(scenario(tmp_path, lanes + signs + EGO)).lanes}
    assert limits == {"1": 13.89, "2": 16.67, "3": SEED_DEFAULTS["trunk"], "4": SEED_DEFAULTS["non_motor_lane"]}
    us = signs.replace("274", "R2-1").replace("13.89", "11.176")
    limits = {ln.lane_id: ln.speed_limit_mps
              for ln in load_commonroad(scenario(tmp_path, lanes + us + EGO, name="USA_Test-1_1_T-1")).lanes}
    assert limits["1"] == 11.176 and limits["2"] == 16.67
    old = (lanelet(1, 0.0, extra="<speedLimit>20.0</speedLimit>") + lanelet(2, 3.5)
           + dynamic(10, "car", rect(4.5, 1.8), straight(0, 40, 0.0, 0.0, 10.0), role="2018b"))
    scene = load_commonroad(scenario(tmp_path, old, name="USA_Old-1_1_T-1", version="2018b", attrs='tags="interstate"'))
    assert {ln.lane_id: ln.speed_limit_mps for ln in scene.lanes} == {"1": 20.0, "2": SEED_DEFAULTS["elevated"]}


def _xml_sign_limits(path) -> dict[str, float]:
    """Lanelet id -> the lowest max-speed value among its sign references, read straight from the XML."""
    root = ElementTree.parse(path).getroot()
    values = {s.get("id"): [float(e.findtext("additionalValue")) for e in s.findall("trafficSignElement")
                            if e.findtext("trafficSignID") in ("R2-1", "274")]
              for s in root.findall("trafficSign")}
    out = {}
    for ll in root.findall("lanelet"):
        found = [v for r in ll.findall("trafficSignRef") for v in values[r.get("ref")]]
        if found:
            out[ll.get("id")] = min(found)
    return out


@pytest.mark.parametrize("path", [LANKERSHIM, CARCARANA], ids=lambda p: p.stem)
def test_real_speed_limits_match_the_signs(path):
    signed = _xml_sign_limits(path)
    lanes = load_commonroad(path).lanes
    assert len(signed) >= 50
    for lane in lanes:
        assert lane.speed_limit_mps == pytest.approx(signed.get(lane.lane_id, SEED_DEFAULTS["trunk"]))
    if path == LANKERSHIM:  # 25 and 30 mph
        assert {round(ln.speed_limit_mps / 0.44704) for ln in lanes} == {25, 30}


# ---------------------------------------------------------------- traffic lights


def _cycle(*phases, offset: int = 0) -> str:
    els = "".join(f"<cycleElement><duration>{d}</duration><color>{c}</color></cycleElement>" for c, d in phases)
    return f"<cycle>{els}<timeOffset>{offset}</timeOffset></cycle>"


def test_traffic_light_phases_and_movements(tmp_path):
    lights = (f'<trafficLight id="200">{_cycle(("green", 20), ("yellow", 5), ("redYellow", 3), ("red", 12), offset=7)}'
              "<direction>straight</direction><active>true</active></trafficLight>"
              f'<trafficLight id="201">{_cycle(("green", 10), ("red", 30))}<direction>right</direction>'
              "<active>false</active></trafficLight>"
              f'<trafficLight id="202">{_cycle(("red", 15), ("green", 25))}'
              "<position><point><x>50</x><y>-2</y></point></position><direction>all</direction></trafficLight>")
    lanes = (lanelet(1, 0.0, 0.0, 50.0, '<successor ref="2"/><successor ref="3"/><stopLine><lineMarking>solid'
                                       '</lineMarking><trafficLightRef ref="202"/></stopLine>'
                                       '<trafficLightRef ref="200"/><trafficLightRef ref="201"/>')
             + lanelet(2, 0.0, 50.0, 100.0, '<predecessor ref="1"/>')
             + lanelet(3, -3.5, 50.0, 60.0, '<predecessor ref="1"/>'))
    junction = ('<intersection id="300"><incoming id="301"><incomingLanelet ref="1"/><successorsRight ref="3"/>'
                '<successorsStraight ref="2"/></incoming></intersection>')
    scene = load_commonroad(scenario(tmp_path, lanes + lights + junction + EGO))
    # light 200 at step k: phase (k - 7) mod 40: green 0-19, yellow 20-24, red_yellow 25-27 (red), red 28-39
    k = np.arange(41)
    straight_states = np.where(k < 7, "red", np.where(k < 27, "green", np.where(k < 32, "yellow", "red")))
    general = np.where(k < 15, "red", np.where(k < 40, "green", "red"))  # 202: phase k mod 40
    got = {tl.light_id: (tl.lane_ids, tl.successor_ids, list(tl.states)) for tl in scene.traffic_lights}
    # straight: light 200 (lit throughout); right: the dark arrow 201 hands over to 202
    assert got == {"200+202": (("1",), ("2",), list(straight_states)), "201+202": (("1",), ("3",), list(general))}
    tl = next(t for t in scene.traffic_lights if t.light_id == "200+202")
    assert tl.red_at(0) and not tl.red_at(7) and not tl.red_at(27) and tl.red_at(32)


def test_lankershim_lights_follow_commonroad_phases_and_directions():
    scene = load_commonroad(LANKERSHIM)
    lights = {tl.traffic_light_id: tl for tl in read_scenario(LANKERSHIM).lanelet_network.traffic_lights}
    by_id = {tl.light_id: tl for tl in scene.traffic_lights}
    assert len(lights) == 8 and len(scene.traffic_lights) == 8
    for tl in scene.traffic_lights:
        first = lights[int(tl.light_id.split("+")[0])]
        if "+" not in tl.light_id:
            expected = [first.get_state_at_time_step(k).value for k in range(scene.steps + 1)]
            assert list(tl.states) == [{"redYellow": "red"}.get(s, s) for s in expected]
    # lanelet 3440 refers to 11114 (straight-right) and 11115 (left); its only successor 3667 turns left
    assert "3440" in by_id["11115"].lane_ids and "3440" not in by_id["11114"].lane_ids
    # lanelet 3570 goes straight to 3632 under 11111 and right to 3678 under the arrow 11112, then 11111
    assert "3632" in by_id["11111"].successor_ids and "3678" in by_id["11112+11111"].successor_ids


# ---------------------------------------------------------------- lane context


def test_lane_context(tmp_path):
    lanes = (lanelet(1, 0.0, 0.0, 50.0, '<successor ref="5"/><adjacentLeft ref="2" drivingDir="same"/>')
             + lanelet(2, 3.5, 0.0, 50.0, '<adjacentRight ref="1" drivingDir="same"/><adjacentLeft ref="3" '
                                          'drivingDir="same"/>')
             + lanelet(3, 7.0, 0.0, 50.0, '<adjacentRight ref="2" drivingDir="same"/><adjacentLeft ref="4" '
                                          'drivingDir="opposite"/>')
             + lanelet(4, 10.5, 0.0, 50.0, '<adjacentLeft ref="3" drivingDir="opposite"/>')
             + lanelet(5, 0.0, 50.0, 70.0, '<predecessor ref="1"/><successor ref="6"/>')
             + lanelet(6, 0.0, 70.0, 200.0, '<predecessor ref="5"/>'))
    junction = '<intersection id="300"><incoming id="301"><incomingLanelet ref="1"/></incoming></intersection>'
    lanes_by_id = {ln.lane_id: ln for ln in load_commonroad(scenario(tmp_path, lanes + junction + EGO)).lanes}
    assert {i: ln.neighbours for i, ln in lanes_by_id.items()} == {
        "1": ("2", "3"), "2": ("1", "3"), "3": ("1", "2"), "4": (), "5": (), "6": ()}
    assert lanes_by_id["5"].predecessors == ("1",) and lanes_by_id["1"].successors == ("5",)
    assert [i for i, ln in lanes_by_id.items() if ln.in_intersection] == ["5"]


def test_lankershim_lane_context_matches_the_xml():
    root = ElementTree.parse(LANKERSHIM).getroot()
    crossing = {r.get("ref") for tag in ("successorsLeft", "successorsStraight", "successorsRight")
                for r in root.iter(tag)}
    lanes = {ln.lane_id: ln for ln in load_commonroad(LANKERSHIM).lanes}
    assert {i for i, ln in lanes.items() if ln.in_intersection} == crossing and len(crossing) == 20
    assert set(lanes["3570"].neighbours) == {"3561", "3564", "3567", "3573"}


# ---------------------------------------------------------------- drivable area


def _joint_lanes(y: float, slant_m: float, joint_x: float, name: str) -> tuple[SceneLane, SceneLane]:
    """Two consecutive lanes centred on y, joined by an edge cut at a slant (left end slant_m ahead)."""
    def lane(lane_id, left_x, right_x, successors=()):
        left = np.column_stack([left_x, np.full_like(left_x, y + 1.75)])
        right = np.column_stack([right_x, np.full_like(right_x, y - 1.75)])
        return SceneLane(lane_id, (left + right) / 2, left, right, 16.7, successors)
    n = 30
    a = lane(f"{name}a", np.linspace(-20, joint_x + slant_m, n), np.linspace(-20, joint_x - slant_m, n), (f"{name}b",))
    b = lane(f"{name}b", np.linspace(joint_x + slant_m, 200, n), np.linspace(joint_x - slant_m, 200, n))
    return a, b


def _box_dac(lanes, log, length, width) -> bool:
    """The truth: every corner of the recorded box within 1 cm of the union of the lane polygons."""
    road = shapely.union_all([shapely.Polygon(ln.polygon()) for ln in lanes]).buffer(0.01)
    _, x, y, h, _ = log.T
    c, s = np.cos(h), np.sin(h)
    corners = [(x + a * c - b * s, y + a * s + b * c)
               for a in (length / 2, -length / 2) for b in (width / 2, -width / 2)]
    return bool(all(shapely.contains_xy(road, cx, cy).all() for cx, cy in corners))


def test_drivable_area_holds_at_a_slanted_joint():
    ego = EgoSpec.for_class("urban_delivery")  # 4.8 x 1.9 m
    one = _joint_lanes(0.0, 2.0, 50.0, "r")
    two = one + _joint_lanes(3.5, -3.0, 45.0, "l")
    for lanes, y, expected in ((one, 0.0, 1.0), (one, 0.9, 0.0), (two, 1.75, 1.0), (two, 2.7, 1.0), (two, 4.5, 0.0)):
        log = log_from_speeds(0.0, y, 0.0, np.full(81, 10.0))  # crosses the joints between x = 43 and 52
        scene = Scene("joint", "synthetic", ego, log, np.array([]), np.array([]), np.array([]), np.array([]),
                      np.zeros((0, 81, 4)), lanes)
        world = prepare(scene)
        assert scoring.drivable_area(world, world.log)[0] == expected == _box_dac(lanes, log, ego.length_m, ego.width_m)


def _human_logs(path, horizon_s: float):
    ids = [o.obstacle_id for o in read_scenario(path).dynamic_obstacles if o.initial_state.time_step == 0]
    for i in ids:
        try:
            yield load_commonroad(path, ego_id=i, horizon_s=horizon_s)
        except ValueError:  # not recorded over the horizon (or not a vehicle)
            continue


@pytest.mark.parametrize("path", [*US101_FILES, CARCARANA, LANKERSHIM], ids=lambda p: p.stem)
def test_real_human_logs_drivable_area(path):
    """Every vehicle recorded over the whole horizon as the ego: the scorer's DAC equals the exact box test
    against the lanelet polygons, and a log fails only where its recorded box leaves the lanelets by more
    than 0.25 m (the scene's own geometry, not a lanelet joint)."""
    scored, truth, outside_m = [], [], []
    for scene in _human_logs(path, 8.0):
        world = prepare(scene)
        scored.append(scoring.drivable_area(world, world.log)[0])
        truth.append(float(_box_dac(scene.lanes, scene.ego_log, scene.ego.length_m, scene.ego.width_m)))
        if not truth[-1]:
            outside_m.append(_max_outside_m(scene))
    assert scored == truth and len(scored) >= 8
    assert all(d > 0.25 for d in outside_m)
    expected_failures = {"USA_US101-4_1_T-1": 1, "USA_Lanker-1_11_T-1": 1}.get(path.stem, 0)
    assert truth.count(0.0) == expected_failures


def _max_outside_m(scene) -> float:
    road = shapely.union_all([shapely.Polygon(ln.polygon()) for ln in scene.lanes])
    _, x, y, h, _ = scene.ego_log.T
    length, width = scene.ego.length_m, scene.ego.width_m
    c, s = np.cos(h), np.sin(h)
    pts = [shapely.points(x + a * c - b * s, y + a * s + b * c) for a in (length / 2, -length / 2)
           for b in (width / 2, -width / 2)]
    return float(max(shapely.distance(road, p).max() for p in pts))


# ---------------------------------------------------------------- kinematics of the log


def test_speed_spike_in_the_record_is_replaced_by_the_positions(tmp_path):
    # positions: a steady 7.2 m/s; the recorded speed jumps 7.2 -> 11.3 -> 7.7 over six samples
    rows = straight(0, 40, 0.0, 0.0, 7.2)
    recorded = np.full(41, 7.2)
    recorded[20:26] = [8.6, 10.0, 11.3, 10.1, 8.9, 7.7]
    hb = trigger_params("hard_brake", "urban_delivery")
    acc = np.diff(recorded, append=recorded[-1]) / DT
    assert hard_brake_tier(acc[None], recorded[None], hb, DT)[0] == 3  # trusted, the record is a severe brake
    body = TWO_LANES + dynamic(10, "car", rect(4.5, 1.8),
                               [(k, x, y, h, v) for (k, x, y, h, _), v in zip(rows, recorded, strict=True)])
    scene = load_commonroad(scenario(tmp_path, body))
    assert scene.metadata["ego_kinematics"] == {"speed": "positions", "heading": "recorded"}
    np.testing.assert_allclose(scene.ego_log[:, 4], 7.2, atol=1e-6)
    world = prepare(scene)
    assert scoring.score(world, world.log)["hard_brake_tier"][0] == 0


def test_heading_that_ignores_the_path_is_replaced(tmp_path):
    h = 0.5
    rows = [(k, 6.0 * k * DT * np.cos(h), 6.0 * k * DT * np.sin(h), 0.0, 6.0) for k in range(41)]  # heading stuck at 0
    scene = load_commonroad(scenario(tmp_path, lanelet(1, 0.0, x1=40.0, width=60.0)
                                     + dynamic(10, "car", rect(4.5, 1.8), rows)))
    assert scene.metadata["ego_kinematics"] == {"speed": "recorded", "heading": "positions"}
    np.testing.assert_allclose(scene.ego_log[:, 3], h, atol=1e-6)
    np.testing.assert_allclose(scene.ego_log[:, 4], 6.0)


def _recorded_velocity(path, oid: int) -> np.ndarray:
    root = ElementTree.parse(path).getroot()
    ob = next(o for o in root if o.get("id") == str(oid))
    return np.array([float(st.findtext("velocity/exact")) for st in [ob.find("initialState"), *ob.iter("state")]])


def test_real_record_kept_when_consistent_and_a_spike_removed(tmp_path):
    path = US101_FILES[-1]  # USA_US101-4_1_T-1, default ego 442
    scene = load_commonroad(path)
    recorded = _recorded_velocity(path, 442)[: scene.steps + 1]
    np.testing.assert_array_equal(scene.ego_log[:, 4], recorded)  # consistent: the record as it is
    # the same file with a spike in the ego's record of +4.1 m/s at steps 30-32
    root = ElementTree.parse(path).getroot()
    ob = next(o for o in root if o.get("id") == "442")
    for st in ob.iter("state"):
        if 30 <= int(st.findtext("time/exact")) <= 32:
            v = st.find("velocity/exact")
            v.text = str(float(v.text) + 4.1)
    spiked = tmp_path / "ngsim" / "USA_US101-4_1_T-1" / path.name
    spiked.parent.mkdir(parents=True)
    ElementTree.ElementTree(root).write(spiked)
    again = load_commonroad(spiked)
    assert again.metadata["ego_kinematics"]["speed"] == "positions"
    assert np.abs(again.ego_log[:, 4] - recorded).max() < 1.0  # back to what was recorded, within the smoothing
    worlds = [prepare(s) for s in (scene, again)]
    tiers = [scoring.score(w, w.log)["hard_brake_tier"][0] for w in worlds]
    assert tiers[0] == tiers[1]


# ---------------------------------------------------------------- missing elements


def _edited(tmp_path, source, name: str, pattern: str, repl: str = "", count: int = 0):
    text = source.read_text(encoding="utf-8")
    edited, n = re.subn(pattern, repl, text, count=count, flags=re.DOTALL)
    assert n >= 1
    path = tmp_path / name
    path.write_text(edited, encoding="utf-8")
    return path


def test_missing_optional_elements_get_defaults(tmp_path):
    no_loc = load_commonroad(_edited(tmp_path, TUTORIAL, "a.xml", r"<location>.*?</location>"))
    assert no_loc.metadata["location"] is None and no_loc.steps == 40
    no_tags = load_commonroad(_edited(tmp_path, TUTORIAL, "b.xml", r"<scenarioTags>.*?</scenarioTags>"))
    assert no_tags.metadata["tags"] == [] and len(no_tags.agent_ids) == 2
    part = load_commonroad(_edited(tmp_path, TUTORIAL, "c.xml", r"<geoNameId>.*?</geoNameId>"))
    assert part.metadata["location"]["lat_deg"] == 999.0  # the tutorial's own placeholder
    old = load_commonroad(_edited(tmp_path, US101_FILES[0], "d.xml", r' tags="[^"]*"'))
    assert old.metadata["tags"] == [] and old.metadata["ego_obstacle_id"] == 395


@pytest.mark.parametrize(("pattern", "repl", "message"), [
    (r'(<dynamicObstacle id="44">.*?)<shape>.*?</shape>', r"\1", '<dynamicObstacle id="44"> has no <shape>'),
    (r' timeStepSize="0.1"', "", "no attribute timeStepSize"),
    (r'<lanelet id=.*?</lanelet>', "", "no <lanelet>"),
    (r'commonRoadVersion="2020a"', 'commonRoadVersion="2017a"', "version '2017a'"),
    (r'(<staticObstacle id="43">.*?<initialState>.*?)<orientation>.*?</orientation>', r"\1",
     '<initialState> has no <orientation>'),
    (r"</commonRoad>", "", "not well-formed XML"),
])
def test_missing_required_elements_are_named(tmp_path, pattern, repl, message):
    path = _edited(tmp_path, TUTORIAL, "broken.xml", pattern, repl)
    with pytest.raises(ValueError, match=re.escape("broken.xml: ") + ".*" + re.escape(message)):
        load_commonroad(path)


# ---------------------------------------------------------------- a real map as a site


@pytest.fixture
def seed_copy(tmp_path, monkeypatch):
    out = tmp_path / "seeds"
    shutil.copytree(definitions.SEEDS_DIR, out)
    monkeypatch.setattr(definitions, "SEEDS_DIR", out)
    definitions.read_seed.cache_clear()
    lanemap.load_lane_map.cache_clear()
    yield out
    definitions.read_seed.cache_clear()
    lanemap.load_lane_map.cache_clear()


def _import(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    realdata_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["import", "commonroad-map", *argv])
    return args.func(args)


def test_import_commonroad_map_as_a_site(seed_copy):
    before = {name: (seed_copy / f"{name}.csv").read_text(encoding="utf-8").splitlines()
              for name in ("sites", "routes", "lane_points")}
    assert _import(str(LANKERSHIM), "--site", "us_lankershim", "--out", str(seed_copy)) == 0
    after = {name: (seed_copy / f"{name}.csv").read_text(encoding="utf-8").splitlines() for name in before}
    for name, lines in before.items():  # the existing sites are untouched, the new one appended
        assert after[name][: len(lines)] == lines and all("us_lankershim" in ln for ln in after[name][len(lines):])
    site = lanemap.load_lane_map("us_lankershim")
    assert (site.city, site.origin_lat, site.origin_lon) == ("lanker", 34.139045, -118.362223)  # <location>
    root = ElementTree.parse(LANKERSHIM).getroot()
    xml = {ll.get("id"): ll for ll in root.findall("lanelet")}
    assert len(site.lanes) == len(xml) == 95
    limits = _xml_sign_limits(LANKERSHIM)
    for lane in site.lanes:
        ll = xml[lane.lane_id.removeprefix("us_lankershim-")]
        left = np.array([[float(p.findtext("x")), float(p.findtext("y"))] for p in ll.find("leftBound").iter("point")])
        np.testing.assert_allclose(lane.left_bound, left, atol=5e-4)
        assert lane.speed_limit_mps == pytest.approx(limits[lane.lane_id.removeprefix("us_lankershim-")], abs=5e-4)
        assert lane.successors == tuple(f"us_lankershim-{s.get('ref')}" for s in ll.findall("successor"))
        assert lane.road_type == "trunk" and lane.route_id == "us_lankershim-r1"
    notice = (seed_copy / "us_lankershim_LICENSE_NOTICE.txt").read_text(encoding="utf-8")
    assert "USA_Lanker-1_11_T-1.xml" in notice and "BSD 3-Clause" in notice and "OpenStreetMap" in notice
    with pytest.raises(ValueError, match="already exists"):
        _import(str(LANKERSHIM), "--site", "us_lankershim", "--out", str(seed_copy))
    assert _import(str(LANKERSHIM), "--site", "us_lankershim", "--out", str(seed_copy), "--replace") == 0
    assert [len((seed_copy / f"{n}.csv").read_text(encoding="utf-8").splitlines()) for n in before] == [
        len(v) for v in after.values()]


def test_import_needs_an_origin_where_the_scenario_has_none(seed_copy):
    with pytest.raises(ValueError, match="no GPS location"):  # 2018b: no <location>
        _import(str(US101_FILES[0]), "--site", "us101_3", "--out", str(seed_copy))
    assert _import(str(US101_FILES[0]), "--site", "us101_3", "--out", str(seed_copy),
                   "--origin", "34.14", "-118.36") == 0
    site = lanemap.load_lane_map("us101_3")
    assert len(site.lanes) == 12 and {ln.road_type for ln in site.lanes} == {"elevated"}  # tagged interstate
    assert (site.origin_lat, site.origin_lon) == (34.14, -118.36)
