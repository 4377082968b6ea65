"""Lane maps of the operating sites, read from ``seeds/sites.csv`` and ``seeds/lane_points.csv``.

Every site frame is local metres (x east, y north) around a WGS84 origin. Lanes are polylines with
left/right bounds; the drivable area of a site is the union of its lanes. The seed files are produced
by the simulator's world builder (``fleetloop.sim.world``) and committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from fleetloop.definitions import read_seed

EARTH_RADIUS_M = 6_371_000.0


@dataclass(frozen=True)
class Lane:
    """One lane: centreline and bounds as (N,2) arrays in the site frame, metres."""

    lane_id: str
    route_id: str
    road_type: str
    centerline: np.ndarray
    left_bound: np.ndarray
    right_bound: np.ndarray
    speed_limit_mps: float
    successors: tuple[str, ...]

    @property
    def width_m(self) -> float:
        return float(np.median(np.linalg.norm(self.left_bound - self.right_bound, axis=1)))

    def polygon(self):
        """The lane's drivable area as a shapely Polygon."""
        from shapely.geometry import Polygon

        return Polygon(np.vstack([self.left_bound, self.right_bound[::-1]]))


@dataclass(frozen=True)
class LaneMap:
    """The lanes of one site and its WGS84 origin."""

    site_id: str
    city: str
    origin_lat: float
    origin_lon: float
    lanes: list[Lane]

    def lane(self, lane_id: str) -> Lane:
        for lane in self.lanes:
            if lane.lane_id == lane_id:
                return lane
        raise KeyError(f"site {self.site_id} has no lane {lane_id!r}")

    def lateral_offset(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each point: distance (m) to the nearest lane centreline, and the index of that lane."""
        pts = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
        best = np.full(len(pts), np.inf)
        best_lane = np.full(len(pts), -1)
        for i, lane in enumerate(self.lanes):
            d = _polyline_distance(pts, lane.centerline)
            better = d < best
            best[better], best_lane[better] = d[better], i
        return best, best_lane

    def nearest_lane(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Index into ``lanes`` of the lane whose centreline is nearest to each point (KD-tree over the
        centrelines resampled every metre; fast enough for millions of points)."""
        lane_idx, tree = _lane_index(self)
        _, nearest = tree.query(np.column_stack([np.asarray(x, float), np.asarray(y, float)]))
        return lane_idx[nearest]

    def road_type_at(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Road type of the nearest lane for each point."""
        return np.array([lane.road_type for lane in self.lanes])[self.nearest_lane(x, y)]

    def on_drivable_area(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """True where a point lies within half a lane width of some lane centreline."""
        d, idx = self.lateral_offset(x, y)
        half = np.array([lane.width_m / 2 for lane in self.lanes])
        return d <= half[idx]

    def to_wgs84(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Site-frame metres to (lat, lon) degrees (local equirectangular projection)."""
        return to_wgs84(self.origin_lat, self.origin_lon, x, y)


_INDEX_CACHE: dict[str, tuple] = {}


def _lane_index(lane_map: LaneMap):
    """(lane index per point, cKDTree) over every lane's centreline resampled at <= 1 m."""
    if lane_map.site_id not in _INDEX_CACHE:
        from scipy.spatial import cKDTree

        points, owner = [], []
        for i, lane in enumerate(lane_map.lanes):
            c = lane.centerline
            seg = np.linalg.norm(np.diff(c, axis=0), axis=1)
            s = np.concatenate([[0.0], np.cumsum(seg)])
            u = np.linspace(0.0, s[-1], max(2, int(np.ceil(s[-1])) + 1))
            points.append(np.column_stack([np.interp(u, s, c[:, 0]), np.interp(u, s, c[:, 1])]))
            owner.append(np.full(u.size, i))
        _INDEX_CACHE[lane_map.site_id] = (np.concatenate(owner), cKDTree(np.vstack(points)))
    return _INDEX_CACHE[lane_map.site_id]


def to_wgs84(origin_lat: float, origin_lon: float, x, y):
    """Local east/north metres around an origin to (lat, lon) degrees."""
    lat = origin_lat + np.degrees(np.asarray(y, float) / EARTH_RADIUS_M)
    lon = origin_lon + np.degrees(np.asarray(x, float) / (EARTH_RADIUS_M * np.cos(np.radians(origin_lat))))
    return lat, lon


def _polyline_distance(pts: np.ndarray, line: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Distance of each point to a polyline (vectorised over segments, chunked over points)."""
    a, b = line[:-1], line[1:]
    ab = b - a
    ab2 = np.maximum((ab * ab).sum(axis=1), 1e-12)
    out = np.empty(len(pts))
    for start in range(0, len(pts), chunk):
        p = pts[start:start + chunk, None, :]
        t = np.clip(((p - a) * ab).sum(axis=2) / ab2, 0.0, 1.0)
        proj = a + t[..., None] * ab
        out[start:start + chunk] = np.sqrt(((p - proj) ** 2).sum(axis=2)).min(axis=1)
    return out


def site_ids() -> list[str]:
    """Every site of the lane-map seed, in file order."""
    return [r["site_id"] for r in read_seed("sites")]


@lru_cache(maxsize=None)
def load_lane_map(site_id: str) -> LaneMap:
    """The lane map of one site from the committed seeds; a clear error for an unknown site."""
    sites = {r["site_id"]: r for r in read_seed("sites")}
    if site_id not in sites:
        raise KeyError(f"unknown site {site_id!r}; known: {', '.join(sites)}")
    rows = [r for r in read_seed("lane_points") if r["site_id"] == site_id]
    lanes, order = {}, []
    for r in rows:
        if r["lane_id"] not in lanes:
            lanes[r["lane_id"]] = (r, [])
            order.append(r["lane_id"])
        lanes[r["lane_id"]][1].append(
            [float(r[k]) for k in ("x_m", "y_m", "left_x_m", "left_y_m", "right_x_m", "right_y_m")]
        )
    result = []
    for lane_id in order:
        head, pts = lanes[lane_id]
        arr = np.array(pts)
        result.append(Lane(
            lane_id=lane_id,
            route_id=head["route_id"],
            road_type=head["road_type"],
            centerline=arr[:, 0:2],
            left_bound=arr[:, 2:4],
            right_bound=arr[:, 4:6],
            speed_limit_mps=float(head["speed_limit_mps"]),
            successors=tuple(s for s in head["successors"].split("|") if s),
        ))
    site = sites[site_id]
    return LaneMap(site_id, site["city"], float(site["origin_lat"]), float(site["origin_lon"]), result)
