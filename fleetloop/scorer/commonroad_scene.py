"""Scenes from CommonRoad XML scenarios (2018b and 2020a), parsed with commonroad-io.

Any vehicle recorded from the first time step can be the ego; its recorded path is the log to beat. Default
ego: among the vehicles recorded over the longest horizon (up to 8 s), the one with the most neighbours
within 30 m at the start (then the lowest id). What the scene takes from the file:

- Agents: every other dynamic obstacle, whenever it appears (NaN before it appears and after it leaves),
  and every static obstacle as class 'static' with its initial state held and speed 0. Obstacle types that
  are the road's own edges (``ROAD_EDGE_TYPES``), environment and phantom obstacles are left out: the
  drivable area already ends there, or there is nothing to hit.
  Shapes: a rectangle as it is; a circle, polygon or shape group as its bounding rectangle along the
  obstacle's heading.
- Kinematics of every track: heading and speed as recorded, unless the recorded series disagrees with
  the positions. The positions are smoothed by a Savitzky-Golay filter (``SMOOTH_WINDOW`` samples,
  1.0 s at 10 Hz, polynomial order ``SMOOTH_ORDER``); a recorded speed series with gaps or more than
  ``SPEED_TOLERANCE_MPS`` from the smoothed positions' speed at any sample, or a heading series more than
  ``HEADING_TOLERANCE_RAD`` from their direction of travel wherever they move faster than
  ``MIN_TRAVEL_SPEED_MPS``, is replaced by the one the smoothed positions give.
- Lanes: every lanelet with its successors, predecessors, neighbours (the lanelets reachable through
  same-direction adjacency: one road section) and ``in_intersection`` (the successors of a 2020a
  intersection's incoming lanelets that are not incoming lanelets themselves: the lanes that cross it).
  Speed limit: the lowest max-speed sign (2018b ``speedLimit``, which commonroad-io turns into such signs,
  or a 2020a traffic sign element with a MAX_SPEED id of any country, in m/s) referenced by the lanelet;
  else the default of its road type (``road_type``).
- Traffic lights: each 2020a light's state at every scene step from its cycle, offset and active flag
  (red_yellow counts as red), at the stop line (the end) of the lanelets that reference it, directly or
  from their ``<stopLine>``. Where an intersection says which way each successor turns, a light governs
  only the successors its direction covers; of several lights on one movement the most specific governs
  while it is lit, the next while it is dark (a right-turn arrow, then the straight-and-right light).
- Optional elements may be missing (``<location>``, ``<scenarioTags>``, the 2018b ``tags`` attribute,
  parts of a location); a missing required one raises a ValueError naming the file and the element.

The scenario's licence notice (``LICENSE_NOTICE.txt`` beside the file or its folder) travels with the
scene metadata.
"""

from __future__ import annotations

import io
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
from scipy.signal import savgol_filter

from fleetloop.scorer.scene import (
    DT_S,
    HORIZON_S,
    EgoSpec,
    Scene,
    SceneLane,
    TrafficLight,
    default_speed_limit,
)

EGO_CLASS = "urban_delivery"
NEIGHBOUR_RADIUS_M = 30.0
OBJECT_CLASSES = {"car": "car", "truck": "truck", "bus": "bus", "pedestrian": "pedestrian", "bicycle": "cyclist",
                  "motorcycle": "scooter", "priorityVehicle": "car", "taxi": "car", "parkedVehicle": "car"}
STATIC_CLASS = "static"
# Obstacle types that may be the ego, and static types that are the road's edges rather than obstacles on it.
EGO_TYPES = frozenset({"car", "truck", "bus", "priorityVehicle", "taxi"})
ROAD_EDGE_TYPES = frozenset({"roadBoundary", "building", "median_strip"})
SMOOTH_WINDOW = 11
SMOOTH_ORDER = 3
SPEED_TOLERANCE_MPS = 2.0
HEADING_TOLERANCE_RAD = 0.5
MIN_TRAVEL_SPEED_MPS = 1.0
# Road type of a lanelet: non-motorised lanelet types first, then the scenario's tags, then its own lanelet
# types (those are often a generic default), else DEFAULT_ROAD_TYPE.
NON_MOTOR_LANELET_TYPES = frozenset({"bicycleLane", "sidewalk", "crosswalk"})
ROAD_TYPES = {"highway": "elevated", "interstate": "elevated", "mainCarriageWay": "elevated",
              "accessRamp": "elevated", "exitRamp": "elevated", "urban": "trunk", "country": "trunk",
              "rural": "trunk"}
NON_MOTOR_ROAD_TYPE = "non_motor_lane"
DEFAULT_ROAD_TYPE = "elevated"
LIGHT_COLOURS = {"red": "red", "redYellow": "red", "yellow": "yellow", "green": "green", "inactive": "inactive"}
LIGHT_MOVEMENTS = {"right": {"right"}, "straight": {"straight"}, "left": {"left"},
                   "leftStraight": {"left", "straight"}, "straightRight": {"straight", "right"},
                   "leftRight": {"left", "right"}, "all": {"left", "straight", "right"}}
SUPPORTED_VERSIONS = ("2018b", "2020a")
REQUIRED_ATTRIBUTES = ("timeStepSize", "commonRoadVersion", "benchmarkID")
# element (path from the root) -> the children it must have, for the parts of the file the scene reads
REQUIRED_CHILDREN = {
    "lanelet": ("leftBound", "rightBound"),
    "lanelet/leftBound": ("point",),
    "lanelet/rightBound": ("point",),
    "obstacle": ("role", "type", "shape", "initialState"),
    "dynamicObstacle": ("type", "shape", "initialState"),
    "staticObstacle": ("type", "shape", "initialState"),
    "*/initialState": ("position", "orientation", "time"),
    "*/trajectory/state": ("position", "orientation", "time"),
    "trafficSign": ("trafficSignElement",),
    "trafficSign/trafficSignElement": ("trafficSignID",),
    "trafficLight": ("cycle",),
    "trafficLight/cycle/cycleElement": ("duration", "color"),
}


def read_scenario(path: str | Path):
    """The commonroad-io Scenario of a file, optional elements defaulted, required ones checked."""
    from commonroad.common.file_reader import CommonRoadFileReader  # heavy import, only when used

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no CommonRoad file at {path}")
    root, defaulted = _checked_root(path)
    source = io.BytesIO(ElementTree.tostring(root)) if defaulted else str(path)
    try:
        scenario, _ = CommonRoadFileReader(source).open()
    except (AssertionError, AttributeError, KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path.name}: commonroad-io cannot read the scenario ({type(e).__name__}: {e})") from e
    return scenario


def _checked_root(path: Path) -> tuple[ElementTree.Element, bool]:
    """The file's XML root with defaults for missing optional elements, and whether any was missing."""
    from commonroad.scenario.scenario import Location

    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as e:
        raise ValueError(f"{path.name}: not well-formed XML ({e})") from e
    if root.tag != "commonRoad":
        raise ValueError(f"{path.name}: the root element is <{root.tag}>, not <commonRoad>")
    missing = [a for a in REQUIRED_ATTRIBUTES if root.get(a) is None]
    if missing:
        raise ValueError(f"{path.name}: <commonRoad> has no attribute {', '.join(missing)}")
    version = root.get("commonRoadVersion")
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"{path.name}: CommonRoad version {version!r}; supported: {', '.join(SUPPORTED_VERSIONS)}")
    if root.find("lanelet") is None:
        raise ValueError(f"{path.name}: no <lanelet> (the scene needs a lane map)")
    for where, children in REQUIRED_CHILDREN.items():
        for el in root.findall(where):
            lacking = [c for c in children if el.find(c) is None]
            if lacking:
                ident = f' id="{el.get("id")}"' if el.get("id") else ""
                raise ValueError(f"{path.name}: <{el.tag}{ident}> has no <{lacking[0]}>")
    if version == "2018b":
        defaulted = root.get("tags") is None
        root.attrib.setdefault("tags", "")
        return root, defaulted
    defaulted = root.find("scenarioTags") is None
    if defaulted:
        root.insert(0, ElementTree.Element("scenarioTags"))
    location = root.find("location")
    if location is not None:
        default = Location()
        for child, value in (("geoNameId", default.geo_name_id), ("gpsLatitude", default.gps_latitude),
                             ("gpsLongitude", default.gps_longitude)):
            if location.find(child) is None:
                ElementTree.SubElement(location, child).text = str(value)
                defaulted = True
    return root, defaulted


def license_notice(path: Path) -> str:
    """The ``LICENSE_NOTICE.txt`` beside a scenario file or its folder ('' if there is none)."""
    for folder in (path.parent, path.parent.parent):
        notice = folder / "LICENSE_NOTICE.txt"
        if notice.is_file():
            return notice.read_text(encoding="utf-8")
    return ""


# ---------------------------------------------------------------- obstacles


def _outline(shape) -> np.ndarray:
    """Points (N, 2) that bound a shape in its obstacle's frame."""
    from commonroad.geometry.shape import Circle, ShapeGroup

    if isinstance(shape, Circle):
        return shape.center + shape.radius * np.array([[-1.0, -1.0], [1.0, 1.0]])
    if isinstance(shape, ShapeGroup):
        return np.vstack([_outline(s) for s in shape.shapes])
    return np.asarray(shape.vertices, dtype=float)


def obstacle_box(shape) -> tuple[float, float, np.ndarray, float]:
    """(length, width, centre (2,), heading offset) of an obstacle's box in its own frame: a rectangle as it
    is, any other shape as its bounding rectangle along the obstacle's heading."""
    from commonroad.geometry.shape import Rectangle

    if isinstance(shape, Rectangle):
        return float(shape.length), float(shape.width), np.asarray(shape.center, float), float(shape.orientation)
    pts = _outline(shape)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return float(hi[0] - lo[0]), float(hi[1] - lo[1]), (lo + hi) / 2, 0.0


def smoothed_kinematics(xy: np.ndarray, heading: np.ndarray, speed: np.ndarray,
                        dt_s: float = DT_S) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """Heading and speed (n,) of a recorded track, each the recorded series or, where that disagrees with
    the smoothed positions (see the module docstring), the series the positions give; and which one."""
    n = len(xy)
    window = min(SMOOTH_WINDOW, n - (1 - n % 2))
    if window <= SMOOTH_ORDER or not np.all(np.isfinite(xy)):
        return heading, speed, {"speed": "recorded", "heading": "recorded"}
    vx, vy = savgol_filter(xy, window, SMOOTH_ORDER, deriv=1, delta=dt_s, axis=0, mode="interp").T
    travel_speed = np.hypot(vx, vy)
    travel_heading = np.arctan2(vy, vx)
    moving = travel_speed >= MIN_TRAVEL_SPEED_MPS
    speed_ok = bool(np.all(np.abs(speed - travel_speed) <= SPEED_TOLERANCE_MPS))
    off = np.abs(np.angle(np.exp(1j * (heading - travel_heading))))
    heading_ok = bool(np.all(~moving | (off <= HEADING_TOLERANCE_RAD)) and np.all(np.isfinite(heading)))
    if not heading_ok:
        # hold the direction of travel through the samples where the track hardly moves
        idx = np.maximum.accumulate(np.where(moving, np.arange(n), 0))
        held = travel_heading[idx] if moving.any() else np.nan_to_num(heading)
        heading = np.where(moving, travel_heading, held)
    return (heading, speed if speed_ok else travel_speed,
            {"speed": "recorded" if speed_ok else "positions", "heading": "recorded" if heading_ok else "positions"})


def _states(obstacle) -> list:
    trajectory = getattr(obstacle.prediction, "trajectory", None)
    return [obstacle.initial_state] + (list(trajectory.state_list) if trajectory is not None else [])


def _value(state, name: str) -> float:
    value = getattr(state, name, None)
    return np.nan if value is None else float(value)


def _box_pose(obstacle, xy: np.ndarray, heading: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre (n, 2) and heading (n,) of the obstacle's box, given its recorded reference poses."""
    _, _, centre, offset = obstacle_box(obstacle.obstacle_shape)
    c, s = np.cos(heading), np.sin(heading)
    return xy + np.column_stack([c * centre[0] - s * centre[1], s * centre[0] + c * centre[1]]), heading + offset


def _dynamic_track(obstacle, steps: int) -> tuple[np.ndarray, dict[str, str]]:
    """(steps+1, 4) x, y, heading, speed from time step 0 (NaN where not recorded) and the kinematics'
    source."""
    states = _states(obstacle)
    k = np.array([int(st.time_step) for st in states])
    xy = np.array([st.position for st in states], dtype=float)
    heading, speed, source = smoothed_kinematics(xy, np.array([_value(st, "orientation") for st in states]),
                                                 np.array([_value(st, "velocity") for st in states]))
    xy, heading = _box_pose(obstacle, xy, heading)
    out = np.full((steps + 1, 4), np.nan)
    keep = k <= steps
    out[k[keep]] = np.column_stack([xy, heading, speed])[keep]
    return out, source


def _static_track(obstacle, steps: int) -> np.ndarray:
    """(steps+1, 4): the initial state held, speed 0."""
    st = obstacle.initial_state
    xy, heading = _box_pose(obstacle, np.array([st.position], float), np.array([_value(st, "orientation")]))
    return np.tile([xy[0, 0], xy[0, 1], heading[0], 0.0], (steps + 1, 1))


def _last_step(obstacle) -> int:
    return int(_states(obstacle)[-1].time_step)


# ---------------------------------------------------------------- lanes and lights


def road_type(lanelet, tags: set[str]) -> str:
    """The seed road type of a lanelet (the rule above ``NON_MOTOR_LANELET_TYPES``)."""
    types = {t.value for t in lanelet.lanelet_type}
    if types & NON_MOTOR_LANELET_TYPES:
        return NON_MOTOR_ROAD_TYPE
    for name in sorted(tags) + sorted(types):
        if name in ROAD_TYPES:
            return ROAD_TYPES[name]
    return DEFAULT_ROAD_TYPE


def _sign_limit(network, lanelet) -> float | None:
    limits = [float(e.additional_values[0])
              for sign_id in lanelet.traffic_signs
              for e in network.find_traffic_sign_by_id(sign_id).traffic_sign_elements
              if e.traffic_sign_element_id.name == "MAX_SPEED" and e.additional_values]
    return min(limits) if limits else None


def _road_sections(lanelets) -> dict[int, set[int]]:
    """Lanelet id -> the lanelets joined to it by same-direction adjacency (transitively), itself included."""
    known = {ll.lanelet_id for ll in lanelets}
    links = {ll.lanelet_id: {n for n, same in ((ll.adj_left, ll.adj_left_same_direction),
                                               (ll.adj_right, ll.adj_right_same_direction))
                             if n in known and same}
             for ll in lanelets}
    section: dict[int, set[int]] = {}
    for start in links:
        if start in section:
            continue
        group, todo = set(), [start]
        while todo:
            i = todo.pop()
            if i not in group:
                group.add(i)
                todo.extend(links[i] | {j for j in links if i in links[j]})
        for i in group:
            section[i] = group
    return section


def _crossing_lanes(network) -> set[int]:
    crossing = set()
    for intersection in network.intersections:
        incoming = set().union(*(inc.incoming_lanelets for inc in intersection.incomings))
        for i in incoming:
            crossing |= set(network.find_lanelet_by_id(i).successor) - incoming
    return crossing


def scene_lanes(scenario) -> tuple[SceneLane, ...]:
    """Every lanelet of the scenario as a SceneLane."""
    network = scenario.lanelet_network
    tags = {t.value for t in (scenario.tags or ())}
    section = _road_sections(network.lanelets)
    crossing = _crossing_lanes(network)
    lanes = []
    for ll in network.lanelets:
        limit = _sign_limit(network, ll)
        lanes.append(SceneLane(
            lane_id=str(ll.lanelet_id),
            centerline=np.asarray(ll.center_vertices, float),
            left_bound=np.asarray(ll.left_vertices, float),
            right_bound=np.asarray(ll.right_vertices, float),
            speed_limit_mps=limit if limit is not None else default_speed_limit(road_type(ll, tags)),
            successors=tuple(str(s) for s in ll.successor),
            predecessors=tuple(str(p) for p in ll.predecessor),
            neighbours=tuple(str(n) for n in sorted(section[ll.lanelet_id] - {ll.lanelet_id})),
            in_intersection=ll.lanelet_id in crossing,
        ))
    return tuple(lanes)


def light_states(light, steps: int) -> np.ndarray:
    """(steps+1,) colour of a commonroad-io traffic light at scene steps 0..steps (periodic cycle from its
    offset)."""
    if not light.active:
        return np.full(steps + 1, "inactive", dtype=object)
    durations = np.array([c.duration for c in light.cycle], dtype=np.int64)
    colours = np.array([LIGHT_COLOURS[c.state.value] for c in light.cycle], dtype=object)
    phase = (np.arange(steps + 1) - int(light.time_offset)) % int(durations.sum())
    return colours[np.searchsorted(np.cumsum(durations), phase, side="right")]


def _movements(network) -> dict[tuple[int, int], str]:
    """(incoming lanelet, successor) -> 'left' | 'straight' | 'right', from the intersections."""
    out = {}
    for intersection in network.intersections:
        for inc in intersection.incomings:
            turns = (("left", inc.successors_left), ("straight", inc.successors_straight),
                     ("right", inc.successors_right))
            for i in inc.incoming_lanelets:
                for succ in network.find_lanelet_by_id(i).successor:
                    for turn, targets in turns:
                        if succ in (targets or ()):
                            out[(i, succ)] = turn
    return out


def scene_lights(scenario, steps: int) -> tuple[TrafficLight, ...]:
    """The signals the scene's movements obey, with the stop lines and successors they govern and their
    states per scene step. A movement covered by several lights gets one combined signal (id 'a+b'): the
    most specific light while it is lit, the next one while it is dark."""
    network = scenario.lanelet_network
    lights = {tl.traffic_light_id: tl for tl in network.traffic_lights}
    states = {i: light_states(tl, steps) for i, tl in lights.items()}
    movements = _movements(network)
    governs: dict[tuple[int, ...], tuple[set[str], set[str]]] = {}
    for ll in network.lanelets:
        stop_line_refs = (ll.stop_line.traffic_light_ref or set()) if ll.stop_line is not None else set()
        refs = (set(ll.traffic_lights) | stop_line_refs) & set(lights)
        for succ in ll.successor or [None]:
            turn = movements.get((ll.lanelet_id, succ))
            covering = tuple(sorted(
                (i for i in refs if turn is None or turn in LIGHT_MOVEMENTS[lights[i].direction.value]),
                key=lambda i: (len(LIGHT_MOVEMENTS[lights[i].direction.value]), i)))
            if covering:
                lanes, succs = governs.setdefault(covering, (set(), set()))
                lanes.add(str(ll.lanelet_id))
                succs.update(() if succ is None else (str(succ),))
    out = []
    for covering, (lanes, succs) in sorted(governs.items()):
        combined = states[covering[0]].copy()
        for i in covering[1:]:
            combined = np.where(combined == "inactive", states[i], combined)
        out.append(TrafficLight(light_id="+".join(map(str, covering)), lane_ids=tuple(sorted(lanes)),
                                states=combined, successor_ids=tuple(sorted(succs))))
    return tuple(out)


# ---------------------------------------------------------------- the scene


def load_commonroad(path: str | Path, ego_id: int | None = None, horizon_s: float = HORIZON_S) -> Scene:
    """Build a scene from a CommonRoad XML file, optionally choosing the ego by obstacle id."""
    path = Path(path)
    scenario = read_scenario(path)
    if abs(scenario.dt - DT_S) > 1e-9:
        raise ValueError(f"{path.name}: time step {scenario.dt} s, the scorer needs {DT_S} s")
    egos = [o for o in scenario.dynamic_obstacles
            if o.initial_state.time_step == 0 and o.obstacle_type.value in EGO_TYPES]
    if not egos:
        raise ValueError(f"{path.name}: no vehicle recorded from time step 0")
    steps = min(round(horizon_s / DT_S), max(_last_step(o) for o in egos))
    dynamic = {o.obstacle_id: (o, *_dynamic_track(o, steps)) for o in scenario.dynamic_obstacles
               if o.initial_state.time_step <= steps}
    static = {o.obstacle_id: (o, _static_track(o, steps)) for o in scenario.static_obstacles
              if o.obstacle_type.value not in ROAD_EDGE_TYPES}
    if ego_id is None:
        starts = [t[0, :2] for _, t, *_ in (*dynamic.values(), *static.values())]

        def neighbours(oid: int) -> int:
            p = dynamic[oid][1][0, :2]
            return sum(np.hypot(*(q - p)) < NEIGHBOUR_RADIUS_M for q in starts) - 1

        full = [o.obstacle_id for o in egos if _last_step(o) >= steps]
        ego_id = min(full, key=lambda oid: (-neighbours(oid), oid))
    if ego_id not in dynamic:
        raise KeyError(f"{path.name}: no dynamic obstacle {ego_id}")
    ego_obs, ego_track, ego_source = dynamic[ego_id]
    if ego_obs.obstacle_type.value not in EGO_TYPES:
        raise ValueError(f"{path.name}: obstacle {ego_id} is a {ego_obs.obstacle_type.value}, not a vehicle")
    if not np.all(np.isfinite(ego_track)):
        raise ValueError(f"{path.name}: obstacle {ego_id} is not recorded over the whole {steps * DT_S:.1f} s horizon")
    length, width, _, _ = obstacle_box(ego_obs.obstacle_shape)
    ego = EgoSpec.for_class(EGO_CLASS)
    ego = EgoSpec.for_class(EGO_CLASS, length_m=length, width_m=width,
                            max_speed_mps=max(ego.max_speed_mps, float(np.max(ego_track[:, 3]))))
    movers = [(o, t) for oid, (o, t, _) in dynamic.items() if oid != ego_id and np.isfinite(t).any()]
    others = movers + list(static.values())
    classes = [OBJECT_CLASSES.get(o.obstacle_type.value, "unknown") for o, _ in movers] + [STATIC_CLASS] * len(static)
    boxes = [obstacle_box(o.obstacle_shape) for o, _ in others]
    location = scenario.location
    return Scene(
        scene_id=f"{path.stem}:{ego_id}",
        source="commonroad",
        ego=ego,
        ego_log=np.column_stack([np.arange(steps + 1) * DT_S, ego_track]),
        agent_ids=np.array([str(o.obstacle_id) for o, _ in others]),
        agent_classes=np.array(classes),
        agent_length_m=np.array([b[0] for b in boxes]),
        agent_width_m=np.array([b[1] for b in boxes]),
        agent_states=np.stack([t for _, t in others]) if others else np.zeros((0, steps + 1, 4)),
        lanes=scene_lanes(scenario),
        traffic_lights=scene_lights(scenario, steps),
        metadata={
            "source_file": path.name,
            "benchmark_id": str(scenario.scenario_id),
            "ego_obstacle_id": int(ego_id),
            "ego_kinematics": ego_source,
            "static_obstacles": len(static),
            "late_obstacles": sum(o.initial_state.time_step > 0 for o, _ in movers),
            "tags": sorted(t.value for t in (scenario.tags or ())),
            "location": None if location is None else {
                "geo_name_id": int(location.geo_name_id), "lat_deg": float(location.gps_latitude),
                "lon_deg": float(location.gps_longitude)},
            "raw_bytes": path.stat().st_size,
            "license_notice": license_notice(path),
        },
    )
