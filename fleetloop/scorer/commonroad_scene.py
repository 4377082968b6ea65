"""Scenes from CommonRoad XML scenarios (real NGSIM traffic), parsed with commonroad-io.

Any recorded vehicle can be the ego; its recorded path is the log to beat, every other recorded obstacle
is a log-replayed agent. Default ego: among the vehicles recorded over the longest horizon (up to 8 s),
the one with the most neighbours within 30 m at the start (then the lowest id). Lanelets without a speed
limit get the default of the 'elevated' (expressway) road type. The scenario's licence notice
(``LICENSE_NOTICE.txt`` beside the scenario folder) travels with the scene metadata.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fleetloop.scorer.scene import DT_S, HORIZON_S, EgoSpec, Scene, SceneLane, default_speed_limit

EGO_CLASS = "urban_delivery"
ROAD_TYPE = "elevated"
NEIGHBOUR_RADIUS_M = 30.0
OBJECT_CLASSES = {"car": "car", "truck": "truck", "bus": "bus", "pedestrian": "pedestrian", "bicycle": "cyclist",
                  "motorcycle": "scooter", "priorityVehicle": "car", "taxi": "car"}


def _track(obstacle, steps: int) -> np.ndarray:
    """(steps+1, 4) x, y, heading, speed from time step 0; NaN where not recorded."""
    out = np.full((steps + 1, 4), np.nan)
    states = [obstacle.initial_state] + list(obstacle.prediction.trajectory.state_list if obstacle.prediction else [])
    for st in states:
        k = int(st.time_step)
        if 0 <= k <= steps:
            out[k] = (st.position[0], st.position[1], st.orientation, getattr(st, "velocity", np.nan))
    return out


def _license_notice(path: Path) -> str:
    for folder in (path.parent, path.parent.parent):
        notice = folder / "LICENSE_NOTICE.txt"
        if notice.is_file():
            return notice.read_text(encoding="utf-8")
    return ""


def load_commonroad(path: str | Path, ego_id: int | None = None, horizon_s: float = HORIZON_S) -> Scene:
    """Build a scene from a CommonRoad XML file, optionally choosing the ego by obstacle id."""
    from commonroad.common.file_reader import CommonRoadFileReader  # heavy import, only when used

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no CommonRoad file at {path}")
    scenario, _ = CommonRoadFileReader(str(path)).open()
    if abs(scenario.dt - DT_S) > 1e-9:
        raise ValueError(f"{path.name}: time step {scenario.dt} s, the scorer needs {DT_S} s")
    obstacles = [o for o in scenario.dynamic_obstacles if o.initial_state.time_step == 0]
    if not obstacles:
        raise ValueError(f"{path.name}: no obstacle recorded from time step 0")
    last = {o.obstacle_id: int(_last_step(o)) for o in obstacles}
    steps = min(int(round(horizon_s / DT_S)), max(last.values()))
    tracks = {o.obstacle_id: _track(o, steps) for o in obstacles}
    if ego_id is None:
        full = [o.obstacle_id for o in obstacles if last[o.obstacle_id] >= steps]

        def neighbours(oid: int) -> int:
            p = tracks[oid][0, :2]
            return sum(np.hypot(*(tracks[j][0, :2] - p)) < NEIGHBOUR_RADIUS_M for j in tracks if j != oid)

        ego_id = sorted(full, key=lambda oid: (-neighbours(oid), oid))[0]
    if ego_id not in tracks:
        raise KeyError(f"{path.name}: no obstacle {ego_id} recorded from time step 0")
    ego_track = tracks[ego_id]
    if not np.all(np.isfinite(ego_track)):
        raise ValueError(f"{path.name}: obstacle {ego_id} is not recorded over the whole {steps * DT_S:.1f} s horizon")
    ego_obs = next(o for o in obstacles if o.obstacle_id == ego_id)
    ego = EgoSpec.for_class(EGO_CLASS)
    ego = EgoSpec.for_class(EGO_CLASS, length_m=float(ego_obs.obstacle_shape.length),
                            width_m=float(ego_obs.obstacle_shape.width),
                            max_speed_mps=max(ego.max_speed_mps, float(np.max(ego_track[:, 3]))))
    others = [o for o in obstacles if o.obstacle_id != ego_id]
    limit = default_speed_limit(ROAD_TYPE)
    lanes = tuple(
        SceneLane(
            lane_id=str(ll.lanelet_id),
            centerline=np.asarray(ll.center_vertices, float),
            left_bound=np.asarray(ll.left_vertices, float),
            right_bound=np.asarray(ll.right_vertices, float),
            speed_limit_mps=float(getattr(ll, "speed_limit", None) or limit),
            successors=tuple(str(s) for s in ll.successor),
        )
        for ll in scenario.lanelet_network.lanelets
    )
    t = np.arange(steps + 1) * DT_S
    return Scene(
        scene_id=f"{path.stem}:{ego_id}",
        source="commonroad",
        ego=ego,
        ego_log=np.column_stack([t, ego_track]),
        agent_ids=np.array([str(o.obstacle_id) for o in others]),
        agent_classes=np.array([OBJECT_CLASSES.get(o.obstacle_type.value, "unknown") for o in others]),
        agent_length_m=np.array([float(o.obstacle_shape.length) for o in others]),
        agent_width_m=np.array([float(o.obstacle_shape.width) for o in others]),
        agent_states=np.stack([tracks[o.obstacle_id] for o in others]) if others else np.zeros((0, steps + 1, 4)),
        lanes=lanes,
        metadata={
            "source_file": path.name,
            "benchmark_id": str(scenario.scenario_id),
            "ego_obstacle_id": int(ego_id),
            "raw_bytes": path.stat().st_size,
            "license_notice": _license_notice(path),
        },
    )


def _last_step(obstacle) -> int:
    states = obstacle.prediction.trajectory.state_list if obstacle.prediction else []
    return states[-1].time_step if states else obstacle.initial_state.time_step
