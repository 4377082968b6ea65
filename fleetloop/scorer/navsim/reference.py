"""PDM-Closed in a scene: the reference trajectory NAVSIM normalises ego progress with.

The planner sees what the ego sees at t = 0 (the scene's agents then, forecast at constant velocity), the
red lights at t = 0 as the lane connectors after their stop lines, and the starting lane's speed limit.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from fleetloop.scorer.navsim import cache as metric_cache
from fleetloop.scorer.navsim.cache import MetricCache, lane_polygon
from fleetloop.scorer.navsim.closed_planner import PDMClosedConfig, pdm_closed_trajectory
from fleetloop.scorer.navsim.forecast import Detections, TrackKind
from fleetloop.scorer.navsim.simulator import rear_axle_to_center
from fleetloop.scorer.scene import STATIC_CLASSES, Scene

# Object classes as nuPlan's tracked-object types (motorised two-wheelers are nuPlan bicycles).
NUPLAN_KIND = {"pedestrian": TrackKind.PEDESTRIAN, "cyclist": TrackKind.BICYCLE, "scooter": TrackKind.BICYCLE}


def detections_at_start(scene: Scene) -> Detections:
    """The scene's objects present at t = 0."""
    st = scene.agent_states[:, 0] if len(scene.agent_ids) else np.zeros((0, 4))
    seen = np.all(np.isfinite(st), axis=1)
    st = st[seen]
    classes = scene.agent_classes[seen]
    kind = np.array([TrackKind.STATIC if c in STATIC_CLASSES else NUPLAN_KIND.get(str(c), TrackKind.VEHICLE)
                     for c in classes], dtype=np.int64)
    return Detections(
        tokens=[str(t) for t in scene.agent_ids[seen]],
        center_xy=st[:, :2],
        heading_rad=st[:, 2],
        velocity_xy=np.column_stack([st[:, 3] * np.cos(st[:, 2]), st[:, 3] * np.sin(st[:, 2])]),
        length_m=scene.agent_length_m[seen],
        width_m=scene.agent_width_m[seen],
        kind=kind,
    )


def red_lights_at_start(scene: Scene) -> list[tuple[str, object]]:
    """(lane id, polygon) of the lanes behind a stop line whose light is red at t = 0."""
    by_id = {lane.lane_id: lane for lane in scene.lanes}
    out = []
    for light in scene.traffic_lights:
        if not light.red_at(0):
            continue
        after = light.successor_ids or tuple(s for i in light.lane_ids if i in by_id for s in by_id[i].successors)
        out += [(lane_id, lane_polygon(by_id[lane_id])) for lane_id in dict.fromkeys(after) if lane_id in by_id]
    return out


def pdm_closed(cache: MetricCache, scene: Scene, config: PDMClosedConfig | None = None) -> np.ndarray:
    """(K, 11) PDM-Closed's trajectory in the scene, rear-axle states every 0.1 s from t = 0."""
    by_id = {lane.lane_id: lane for lane in scene.lanes}
    limit = by_id[cache.centerline_lane_ids[0]].speed_limit_mps
    return pdm_closed_trajectory(cache.ego_state, cache.vehicle, cache.centerline, cache.route_lane_ids,
                                 cache.drivable_map, detections_at_start(scene), red_lights_at_start(scene),
                                 float(limit) if np.isfinite(limit) else None, config or PDMClosedConfig())


def with_pdm_closed(cache: MetricCache, scene: Scene, config: PDMClosedConfig | None = None) -> MetricCache:
    """The cache with PDM-Closed's trajectory in the scene."""
    return replace(cache, pdm_closed_states=pdm_closed(cache, scene, config))


def pdm_closed_centres(scene: Scene, steps: int) -> np.ndarray:
    """(steps + 1, 2) box centres of PDM-Closed driving the scene for ``steps`` steps (the extended score's
    fixed progress bar)."""
    cache = metric_cache.build(scene)
    states = pdm_closed(cache, scene, PDMClosedConfig(proposal_steps=steps, trajectory_steps=steps))
    return rear_axle_to_center(states[: steps + 1, :3], cache.vehicle)[:, :2]
