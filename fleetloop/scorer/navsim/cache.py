"""NAVSIM's metric cache built from a fleetloop Scene: what ``pdm_score`` needs besides the trajectory.

- ego state at t = 0 (rear axle; velocity and acceleration along the heading, steering angle 0);
- the logged agents as NAVSIM reads them: sampled at 2 Hz over 5 s, then interpolated linearly at 10 Hz
  (heading unwrapped); a track seen at one 2 Hz sample only stands still over the whole horizon; agents
  (vehicles, pedestrians, cyclists) and static objects;
- the map: each lane's polygon (a lane connector inside a junction), road sections (a lane and its
  same-direction neighbours, nuPlan's roadblocks) and junction areas (the area the crossing lanes of a
  junction enclose), within the map radius of the ego;
- the route: every road section the logged ego drives along (a lane of it runs its way), in order, and the
  lanes they hold;
- the centreline: the on-route lane under the ego's rear axle with the smallest heading error, followed
  through on-route successors (the one closest to the log's end where it forks), the lanes' poses joined as
  they are;
- PDM-Closed's trajectory in the scene (its normaliser for EP).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from fleetloop.scorer.navsim.enums import STATE_SIZE, StateIndex
from fleetloop.scorer.navsim.observation import (
    LANE_LAYERS,
    DrivableMap,
    MapLayer,
    Observation,
    OccupancyMap,
    TrackedObject,
    box_coords,
    polygons,
)
from fleetloop.scorer.navsim.path import PolylinePath, normalize_angle
from fleetloop.scorer.navsim.simulator import center_to_rear_axle
from fleetloop.scorer.navsim.vehicle import VehicleParameters
from fleetloop.scorer.scene import Scene, SceneLane

DT_S = 0.1
PROPOSAL_STEPS = 40  # 4 s scored (or the scene's whole log when it is shorter)
MIN_STEPS = 10
OBSERVATION_STEPS = 50  # 5 s of logged agents
OBSERVATION_STRIDE = 5  # agents are read at 2 Hz, then interpolated
MAP_RADIUS_M = 100.0
ROUTE_HEADING_TOLERANCE_RAD = np.pi / 4  # PDM-Closed's heading tolerance for the roadblock under the ego


@dataclass
class MetricCache:
    """Everything ``pdm_score`` scores a trajectory against."""

    ego_state: np.ndarray  # (11,)
    vehicle: VehicleParameters
    observation: Observation
    centerline: PolylinePath
    route_lane_ids: list[str]
    drivable_map: DrivableMap
    centerline_lane_ids: list[str]
    steps: int = PROPOSAL_STEPS  # scored horizon in steps of DT_S
    pdm_closed_states: np.ndarray | None = None  # (K, 11) PDM-Closed's trajectory, rear axle at 0.1 s


def scene_vehicle(scene: Scene) -> VehicleParameters:
    """The recorded ego's box with its class's wheelbase, the rear axle half a wheelbase behind the centre."""
    return VehicleParameters(scene.ego.length_m, scene.ego.width_m, scene.ego.wheelbase_m, scene.ego.wheelbase_m / 2)


def initial_ego_state(scene: Scene, vehicle: VehicleParameters) -> np.ndarray:
    """(11,) rear-axle state at t = 0 from the logged ego."""
    _, x, y, h, v = scene.ego_log[0]
    state = np.zeros(STATE_SIZE)
    state[[StateIndex.X, StateIndex.Y, StateIndex.HEADING]] = center_to_rear_axle(np.array([x, y, h]), vehicle)
    state[StateIndex.VELOCITY_X] = v
    state[StateIndex.ACCELERATION_X] = scene.initial_state["acc_mps2"]
    dh = normalize_angle(scene.ego_log[1, 3] - h)
    state[StateIndex.ANGULAR_VELOCITY] = dh / scene.dt_s
    return state


# ---------------------------------------------------------------------- agents
def logged_observation(scene: Scene) -> Observation:
    """51 occupancy maps (0..5 s) of the scene's agents, read at 2 Hz and interpolated at 10 Hz."""
    st = scene.agent_states  # (A, T+1, 4)
    samples = np.arange(0, OBSERVATION_STEPS + 1, OBSERVATION_STRIDE)
    samples = samples[samples < st.shape[1]] if st.size else samples[:0]
    times = np.arange(OBSERVATION_STEPS + 1)
    per_step: list[tuple[list[str], list]] = [([], []) for _ in times]
    unique: dict[str, TrackedObject] = {}
    static = scene.agent_is_static
    for a, token in enumerate(map(str, scene.agent_ids)):
        seen = samples[np.all(np.isfinite(st[a, samples]), axis=1)] if len(samples) else samples
        if not len(seen):
            continue
        x, y, h, v = st[a, seen].T
        h = np.unwrap(h)
        vx, vy = (np.zeros_like(v), np.zeros_like(v)) if static[a] else (v * np.cos(h), v * np.sin(h))
        table = np.column_stack([x, y, h, vx, vy])
        if len(seen) == 1:
            steps, values = times, np.repeat(table, len(times), axis=0)
        else:
            steps = times[(times >= seen[0]) & (times <= seen[-1])]
            values = np.column_stack([np.interp(steps, seen, table[:, j]) for j in range(table.shape[1])])
        values[:, 2] = normalize_angle(values[:, 2])
        boxes = polygons(box_coords(values[:, :2], values[:, 2], scene.agent_length_m[a], scene.agent_width_m[a]))
        unique[token] = TrackedObject(token, not static[a], float(values[0, 2]), float(np.hypot(*values[0, 3:5])))
        for step, box in zip(steps, boxes, strict=True):
            per_step[step][0].append(token)
            per_step[step][1].append(box)
    maps = [OccupancyMap(tokens, np.array(geoms, dtype=object)) for tokens, geoms in per_step]
    return Observation(maps, unique)


# ---------------------------------------------------------------------- map and route
def lane_polygon(lane: SceneLane):
    poly = shapely.Polygon(lane.polygon())
    return poly if poly.is_valid else shapely.make_valid(poly).buffer(0)


def road_sections(scene: Scene) -> list[list[str]]:
    """Groups of lanes joined by the same-direction neighbour relation (nuPlan's roadblocks)."""
    ids = [lane.lane_id for lane in scene.lanes]
    parent = {i: i for i in ids}

    def find(i: str) -> str:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for lane in scene.lanes:
        for other in lane.neighbours:
            if other in parent:
                parent[find(other)] = find(lane.lane_id)
    groups: dict[str, list[str]] = {}
    for i in ids:
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def drivable_map(scene: Scene, centre_xy: np.ndarray, radius_m: float = MAP_RADIUS_M) -> tuple[DrivableMap, dict]:
    """The map polygons reaching into the square of half-side ``radius_m`` around the ego (nuPlan's proximal
    map query), and the road sections by id (lists of lane ids)."""
    by_id = {lane.lane_id: lane for lane in scene.lanes}
    poly = {i: lane_polygon(lane) for i, lane in by_id.items()}
    square = shapely.box(*(np.asarray(centre_xy) - radius_m), *(np.asarray(centre_xy) + radius_m))
    near = {i for i, p in poly.items() if p.intersects(square)}
    tokens, layers, geoms, sections = [], [], [], {}
    for group in road_sections(scene):
        if not near.intersection(group):
            continue
        junction = all(by_id[i].in_intersection for i in group)
        section_id = "section_" + "_".join(sorted(group))
        sections[section_id] = group
        tokens.append(section_id)
        layers.append(MapLayer.ROADBLOCK_CONNECTOR if junction else MapLayer.ROADBLOCK)
        geoms.append(shapely.union_all([poly[i] for i in group]))
        for i in group:
            tokens.append(i)
            layers.append(MapLayer.LANE_CONNECTOR if by_id[i].in_intersection else MapLayer.LANE)
            geoms.append(poly[i])
    junctions = shapely.union_all([poly[i] for i in near if by_id[i].in_intersection])
    for k, area in enumerate(shapely.get_parts(junctions)):
        if area.area > 0:  # the junction is the area its crossing lanes enclose, holes filled
            tokens.append(f"junction_{k}")
            layers.append(MapLayer.INTERSECTION)
            geoms.append(shapely.Polygon(area.exterior))
    return DrivableMap(tokens, layers, np.array(geoms, dtype=object)), sections


def route_sections(scene: Scene, dmap: DrivableMap, sections: dict) -> list[str]:
    """Road sections the logged ego drives along, in the order it enters them: those under its centre with a
    lane within ``ROUTE_HEADING_TOLERANCE_RAD`` of its heading there (not the crossing lanes of a junction)."""
    by_id = {lane.lane_id: lane for lane in scene.lanes}
    poses = {i: PolylinePath.from_points(lane.centerline).poses for i, lane in by_id.items()}

    def along(lane_id: str, x: float, y: float, h: float) -> bool:
        lane = poses[lane_id]
        k = int(np.argmin(np.hypot(lane[:, 0] - x, lane[:, 1] - y)))
        return abs(float(normalize_angle(lane[k, 2] - h))) < ROUTE_HEADING_TOLERANCE_RAD

    centres = scene.ego_log[:, 1:3]
    hit = dmap.query(shapely.points(centres), predicate="intersects")
    order: dict[str, int] = {}
    for step, g in zip(*hit, strict=True):
        token = dmap.tokens[g]
        _, x, y, h, _ = scene.ego_log[step]
        if token in sections and any(along(i, x, y, h) for i in sections[token]):
            order[token] = min(order.get(token, step), step)
    return sorted(order, key=order.get)


def centerline(scene: Scene, ego_state: np.ndarray, vehicle: VehicleParameters, route_lane_ids: list[str],
               dmap: DrivableMap) -> tuple[PolylinePath, list[str]]:
    """The starting lane's centreline followed through on-route successors, and those lanes' ids."""
    by_id = {lane.lane_id: lane for lane in scene.lanes}
    route = [i for i in route_lane_ids if i in by_id]
    x, y, h = ego_state[:3]
    under = [dmap.tokens[g] for g in dmap.query(shapely.Point(x, y), predicate="intersects")]
    lanes = [i for i in under if i in route and dmap.layers[dmap.token_to_idx[i]] in LANE_LAYERS]

    def heading_error(i: str) -> float:
        path = PolylinePath.from_points(by_id[i].centerline)
        k = int(np.argmin(np.hypot(path.poses[:, 0] - x, path.poses[:, 1] - y)))
        return abs(float(normalize_angle(path.poses[k, 2] - h)))

    if lanes:
        start = min(lanes, key=heading_error)
    elif route:
        _, cx, cy, ch, _ = scene.ego_log[0]
        centre = shapely.Point(cx, cy)
        ego_box = polygons(box_coords(np.array([cx, cy]), np.array(ch), vehicle.length_m, vehicle.width_m))
        inside = [i for i in route if lane_polygon(by_id[i]).contains(centre)]
        start = inside[0] if inside else min(route, key=lambda i: lane_polygon(by_id[i]).distance(ego_box))
    else:
        raise ValueError(f"scene {scene.scene_id}: the logged ego is on no lane (no route for the centreline)")
    end_xy = scene.ego_log[-1, 1:3]
    chain = [start]
    allowed = set(route)
    while True:
        options = [i for i in by_id[chain[-1]].successors if i in allowed and i not in chain]
        if not options:
            break
        chain.append(min(options, key=lambda i: float(np.min(np.hypot(*(by_id[i].centerline - end_xy).T)))))
    # the lanes' own poses one after the other, the shared vertex at each join kept (as PDM-Closed does)
    poses = np.vstack([PolylinePath.from_points(by_id[i].centerline).poses for i in chain])
    return PolylinePath(poses), chain


def build(scene: Scene, vehicle: VehicleParameters | None = None) -> MetricCache:
    """The metric cache of a scene (without PDM-Closed's trajectory: see ``reference.with_pdm_closed``).

    The scored horizon is 4 s, or the scene's whole log when it is shorter (at least ``MIN_STEPS``)."""
    if scene.steps < MIN_STEPS:
        raise ValueError(f"scene {scene.scene_id}: {scene.steps * scene.dt_s:.1f} s of ego log, "
                         f"too short to score (at least {MIN_STEPS * DT_S:.0f} s)")
    if abs(scene.dt_s - DT_S) > 1e-9:
        raise ValueError(f"scene {scene.scene_id}: time step {scene.dt_s} s, NAVSIM scores at {DT_S} s")
    vehicle = vehicle or scene_vehicle(scene)
    state = initial_ego_state(scene, vehicle)
    dmap, sections = drivable_map(scene, scene.ego_log[0, 1:3])
    route = [lane for s in route_sections(scene, dmap, sections) for lane in sections[s]]
    path, chain = centerline(scene, state, vehicle, route, dmap)
    return MetricCache(state, vehicle, logged_observation(scene), path, route, dmap, chain,
                       min(PROPOSAL_STEPS, scene.steps))
