"""PDM-Closed's own observation (NAVSIM's ``PDMObservation.update``): the objects seen at t = 0 moved at
constant velocity, one occupancy map every ``observation_sample_res`` steps, the on-route red lights as
obstacles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np
import shapely

from fleetloop.scorer.navsim.enums import BBCoordsIndex
from fleetloop.scorer.navsim.observation import (
    RED_LIGHT_TOKEN,
    Observation,
    OccupancyMap,
    TrackedObject,
    box_coords,
    ego_coords,
    polygons,
)
from fleetloop.scorer.navsim.path import normalize_angle
from fleetloop.scorer.navsim.vehicle import VehicleParameters

if TYPE_CHECKING:
    from fleetloop.scorer.navsim.closed_planner import PDMClosedConfig


class TrackKind(IntEnum):
    """nuPlan's object classes as PDM-Closed tells them apart: three agent classes, and static objects (cones,
    barriers, signs, generic objects)."""

    VEHICLE = 0
    PEDESTRIAN = 1
    BICYCLE = 2
    STATIC = 3


AGENT_KINDS = (TrackKind.VEHICLE, TrackKind.PEDESTRIAN, TrackKind.BICYCLE)
# PDMObjectManager keeps only this many objects of a kind, the nearest to the ego's centre.
MAX_TRACKS = {TrackKind.VEHICLE: 50, TrackKind.PEDESTRIAN: 25, TrackKind.BICYCLE: 10, TrackKind.STATIC: 50}


@dataclass(frozen=True)
class Detections:
    """The objects seen at t = 0: K boxes with their centre, heading, size, global-frame velocity and kind."""

    tokens: Sequence[str]
    center_xy: np.ndarray  # (K, 2)
    heading_rad: np.ndarray  # (K,)
    velocity_xy: np.ndarray  # (K, 2), ignored for static objects
    length_m: np.ndarray  # (K,)
    width_m: np.ndarray  # (K,)
    kind: np.ndarray  # (K,) TrackKind

    @property
    def is_agent(self) -> np.ndarray:
        return np.asarray(self.kind) != TrackKind.STATIC

    @property
    def speed_mps(self) -> np.ndarray:
        return np.where(self.is_agent, np.hypot(*np.asarray(self.velocity_xy, dtype=np.float64).T), 0.0)


def _nearest(candidates: np.ndarray, distance_m: np.ndarray, limit: int) -> np.ndarray:
    """The at most ``limit`` candidates (indices, in detection order) nearest first."""
    return candidates[np.argsort(distance_m[candidates])][:limit]


def _track_velocity_xy(detections: Detections, rows: np.ndarray) -> np.ndarray:
    """(R, 2) forecast velocity: the speed along the heading, flipped when the track drives backwards."""
    heading = np.asarray(detections.heading_rad, dtype=np.float64)[rows]
    velocity = np.asarray(detections.velocity_xy, dtype=np.float64)[rows]
    forward = np.abs(normalize_angle(heading - np.arctan2(velocity[:, 1], velocity[:, 0]))) < np.pi / 2
    track_heading = np.where(forward, heading, normalize_angle(heading + np.pi))
    speed = np.hypot(velocity[:, 0], velocity[:, 1])
    return np.stack([np.cos(track_heading) * speed, np.sin(track_heading) * speed], axis=-1)


def forecast_observation(detections: Detections, ego_state: np.ndarray, vehicle: VehicleParameters,
                         red_lights: Sequence[tuple[str, shapely.Polygon]],
                         config: PDMClosedConfig) -> Observation:
    """The planner's observation of the detections and the (lane-connector id, polygon) of the red lights on
    the route, from the (11,) rear-axle ego state at t = 0.

    Objects whose centre is beyond the map radius from the ego's centre are dropped, the rest capped per
    kind (``MAX_TRACKS``). Agents move at constant velocity, static objects stay. Tracks the ego box already
    touches at t = 0 (red lights: only when the box lies inside one) are recorded as collided."""
    ego_box = ego_coords(np.asarray(ego_state, dtype=np.float64)[None, None], vehicle)[0, 0]
    center_xy = np.asarray(detections.center_xy, dtype=np.float64).reshape(-1, 2)
    kind = np.asarray(detections.kind)
    distance_m = np.sqrt(((center_xy - ego_box[BBCoordsIndex.CENTER]) ** 2).sum(axis=-1))
    kept = np.flatnonzero(distance_m <= config.map_radius_m)

    heading = np.asarray(detections.heading_rad, dtype=np.float64)
    speed = detections.speed_mps
    is_agent = detections.is_agent
    unique_objects = {
        detections.tokens[i]: TrackedObject(
            detections.tokens[i], bool(is_agent[i]), float(heading[i]), float(speed[i]))
        for i in kept
    }

    static = _nearest(kept[kind[kept] == TrackKind.STATIC], distance_m, MAX_TRACKS[TrackKind.STATIC])
    dynamic = np.concatenate(
        [_nearest(kept[kind[kept] == k], distance_m, MAX_TRACKS[k]) for k in AGENT_KINDS]
    ).astype(np.int64)
    coords = box_coords(center_xy, heading, np.asarray(detections.length_m), np.asarray(detections.width_m))
    dynamic_dxy = _track_velocity_xy(detections, dynamic)

    tokens = (
        [detections.tokens[i] for i in static]
        + [detections.tokens[i] for i in dynamic]
        + [f"{RED_LIGHT_TOKEN}_{lane_connector_id}" for lane_connector_id, _ in red_lights]
    )
    static_polygons = polygons(coords[static])
    red_light_polygons = np.array([polygon for _, polygon in red_lights], dtype=object)
    res = config.observation_sample_res
    maps = []
    for step in range(0, config.observation_steps + res, res):
        moved = coords[dynamic] + float(step) * config.dt_s * dynamic_dxy[:, None]
        geometries = np.concatenate([static_polygons, polygons(moved), red_light_polygons])
        maps.append(OccupancyMap(tokens, geometries))

    ego_polygon = polygons(ego_box)
    collided = [
        token for token in maps[0].intersects(ego_polygon)
        if RED_LIGHT_TOKEN not in token or shapely.within(ego_polygon, maps[0][token])
    ]
    return Observation(maps, unique_objects, sample_res=res, collided_track_ids=collided)
