"""What the scorer collides with: per-step occupancy maps of agents, static objects and red lights, and the
drivable-area map of lane, road-section and intersection polygons (NAVSIM's ``PDMObservation``,
``PDMOccupancyMap``, ``PDMDrivableMap``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import shapely
from shapely.strtree import STRtree

from fleetloop.scorer.navsim.enums import BBCoordsIndex, StateIndex
from fleetloop.scorer.navsim.vehicle import VehicleParameters

NODE_CAPACITY = 10
RED_LIGHT_TOKEN = "red_light"


class MapLayer(IntEnum):
    """nuPlan's semantic map layers that the drivable-area map holds."""

    LANE = 0
    LANE_CONNECTOR = 1
    ROADBLOCK = 2
    ROADBLOCK_CONNECTOR = 3
    INTERSECTION = 4
    CARPARK_AREA = 5
    DRIVABLE_AREA = 6


DRIVABLE_LAYERS = (MapLayer.ROADBLOCK, MapLayer.INTERSECTION, MapLayer.DRIVABLE_AREA, MapLayer.CARPARK_AREA)
LANE_LAYERS = (MapLayer.LANE, MapLayer.LANE_CONNECTOR)


@dataclass(frozen=True)
class TrackedObject:
    """An observed object as first seen: agents (vehicles, pedestrians, bicycles) or static objects."""

    token: str
    is_agent: bool
    heading_rad: float
    speed_mps: float


class OccupancyMap:
    """Tokens and polygons in a shapely STR-tree."""

    def __init__(self, tokens: list[str], geometries: np.ndarray):
        if len(tokens) != len(geometries):
            raise ValueError(f"{len(tokens)} tokens for {len(geometries)} geometries")
        self.tokens = list(tokens)
        self.geometries = np.asarray(geometries, dtype=object)
        self.token_to_idx = {t: i for i, t in enumerate(self.tokens)}
        self.tree = STRtree(self.geometries, NODE_CAPACITY)

    def __getitem__(self, token: str):
        return self.geometries[self.token_to_idx[token]]

    def __len__(self) -> int:
        return len(self.tokens)

    def query(self, geometry, predicate: str | None = None) -> np.ndarray:
        return self.tree.query(geometry, predicate=predicate)

    def intersects(self, geometry) -> list[str]:
        return [self.tokens[i] for i in self.query(geometry, predicate="intersects")]


class DrivableMap(OccupancyMap):
    """Map polygons with their layer."""

    def __init__(self, tokens: list[str], layers: list[MapLayer], geometries: np.ndarray):
        super().__init__(tokens, geometries)
        if len(layers) != len(tokens):
            raise ValueError(f"{len(layers)} layers for {len(tokens)} polygons")
        self.layers = list(layers)

    def indices_of(self, layers) -> list[int]:
        return [i for i, layer in enumerate(self.layers) if layer in layers]

    def points_in_polygons(self, points: np.ndarray) -> np.ndarray:
        """(P, ...) whether each point (..., 2) lies strictly inside each polygon."""
        flat = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        out = np.zeros((len(self.geometries), len(flat)), dtype=bool)
        for i, polygon in enumerate(self.geometries):
            out[i] = shapely.contains_xy(polygon, flat[:, 0], flat[:, 1])
        return out.reshape((len(self.geometries),) + points.shape[:-1])

    def is_in_layer(self, x_m: float, y_m: float, layer: MapLayer) -> bool:
        idx = self.tree.query(shapely.Point(x_m, y_m), predicate="within")
        return any(self.layers[i] == layer for i in idx)


@dataclass
class Observation:
    """One occupancy map per time step (``sample_res`` steps share one), the objects as first seen, and the
    tracks the ego already touched at the start (ignored by NC and TTC)."""

    maps: list[OccupancyMap]
    unique_objects: dict[str, TrackedObject]
    sample_res: int = 1
    collided_track_ids: list[str] = field(default_factory=list)
    red_light_token: str = RED_LIGHT_TOKEN

    def __getitem__(self, time_idx: int) -> OccupancyMap:
        local = time_idx // self.sample_res
        if not 0 <= local < len(self.maps):
            raise IndexError(f"observation has no step {time_idx}")
        return self.maps[local]

    def __len__(self) -> int:
        return len(self.maps) * self.sample_res


def box_coords(center_xy: np.ndarray, heading_rad: np.ndarray, length_m, width_m) -> np.ndarray:
    """(..., 5, 2) corners FL, RL, RR, FR and the centre of boxes."""
    c, s = np.cos(heading_rad)[..., None], np.sin(heading_rad)[..., None]
    lon = np.stack([c, s], axis=-1)[..., 0, :]
    lat = np.stack([-s, c], axis=-1)[..., 0, :]
    hl, hw = np.asarray(length_m)[..., None] / 2, np.asarray(width_m)[..., None] / 2
    out = np.empty(center_xy.shape[:-1] + (len(BBCoordsIndex), 2))
    out[..., BBCoordsIndex.FRONT_LEFT, :] = center_xy + hl * lon + hw * lat
    out[..., BBCoordsIndex.REAR_LEFT, :] = center_xy - hl * lon + hw * lat
    out[..., BBCoordsIndex.REAR_RIGHT, :] = center_xy - hl * lon - hw * lat
    out[..., BBCoordsIndex.FRONT_RIGHT, :] = center_xy + hl * lon - hw * lat
    out[..., BBCoordsIndex.CENTER, :] = center_xy
    return out


def ego_coords(states: np.ndarray, vehicle: VehicleParameters) -> np.ndarray:
    """(N, T+1, 5, 2) box points of rear-axle ego states (N, T+1, 11)."""
    h = states[..., StateIndex.HEADING]
    centre = states[..., :2] + vehicle.rear_axle_to_center_m * np.stack([np.cos(h), np.sin(h)], axis=-1)
    return box_coords(centre, h, vehicle.length_m, vehicle.width_m)


def polygons(coords: np.ndarray) -> np.ndarray:
    """Shapely polygons of box points (..., 5, 2): the ring FL, RL, RR, FR, FL."""
    ring = coords.copy()
    ring[..., BBCoordsIndex.CENTER, :] = ring[..., BBCoordsIndex.FRONT_LEFT, :]
    return shapely.polygons(ring)
