"""Lane maps of the operating sites, read from ``seeds/sites.csv`` and ``seeds/lane_points.csv``.

Every site frame is local metres (x east, y north) around a WGS84 origin. Lanes are polylines with
left/right bounds; the drivable area of a site is the union of its lanes. Each segment of a lane (point i to
i + 1) carries its map features: junction (id, signalised), crosswalk, merge and the turn of the lane through
the junction; ``features_at`` reads them at positions, ``junction_polygons`` gives each junction's area.
The seed files are produced by the simulator's world builder (``fleetloop.sim.world``) and committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

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
    # per point: the features of the segment from it to the next point (the last point repeats the last one)
    junction_id: tuple[str | None, ...] = ()
    junction_signalised: tuple[bool | None, ...] = ()
    crosswalk: tuple[bool, ...] = ()
    merge: tuple[bool, ...] = ()
    turn: tuple[str, ...] = ()

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

    def features_at(self, x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
        """Map features of the lane segment nearest to each point (within ``FEATURE_STEP_M / 2`` along it):
        junction_id (None outside), junction_signalised (None outside), crosswalk, merge, turn."""
        (lane_of, seg_of), tree = _segment_index(self)
        _, nearest = tree.query(np.column_stack([np.asarray(x, float), np.asarray(y, float)]))
        lane_i, seg_i = lane_of[nearest], seg_of[nearest]
        pairs = list(zip(lane_i.tolist(), seg_i.tolist(), strict=True))
        return {name: np.array([getattr(self.lanes[i], name)[j] for i, j in pairs], dtype=object)
                for name in FEATURE_NAMES}

    def junction_polygons(self) -> dict[str, object]:
        """Each junction's area (a shapely geometry): the union of its lane segments' quads."""
        from shapely.geometry import Polygon
        from shapely.ops import unary_union

        quads: dict[str, list] = {}
        for lane in self.lanes:
            for j, junction in enumerate(lane.junction_id[:-1]):
                if junction:
                    quads.setdefault(junction, []).append(Polygon(
                        [lane.left_bound[j], lane.left_bound[j + 1], lane.right_bound[j + 1], lane.right_bound[j]]))
        return {junction: unary_union(parts) for junction, parts in quads.items()}


FEATURE_NAMES = ("junction_id", "junction_signalised", "crosswalk", "merge", "turn")
FEATURE_STEP_M = 0.1  # resolution of ``features_at`` along a lane
_INDEX_CACHE: dict[str, tuple] = {}
_SEGMENT_CACHE: dict[str, tuple] = {}


def _segment_index(lane_map: LaneMap):
    """((lane index, segment index) per point, cKDTree) over segment interiors sampled every FEATURE_STEP_M."""
    if lane_map.site_id not in _SEGMENT_CACHE:
        from scipy.spatial import cKDTree

        points, lanes, segments = [], [], []
        for i, lane in enumerate(lane_map.lanes):
            a, b = lane.centerline[:-1], lane.centerline[1:]
            n = np.maximum(1, np.ceil(np.linalg.norm(b - a, axis=1) / FEATURE_STEP_M).astype(int))
            seg = np.repeat(np.arange(n.size), n)
            frac = (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + 0.5) / np.repeat(n, n)
            points.append(a[seg] + (b - a)[seg] * frac[:, None])
            lanes.append(np.full(seg.size, i))
            segments.append(seg)
        _SEGMENT_CACHE[lane_map.site_id] = ((np.concatenate(lanes), np.concatenate(segments)),
                                            cKDTree(np.vstack(points)))
    return _SEGMENT_CACHE[lane_map.site_id]


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


def _flag(text: str | None) -> bool | None:
    """A seed boolean: 'true' / 'false', None when empty or absent (imported maps carry no features)."""
    return None if not text else text == "true"


@cache
def load_lane_map(site_id: str) -> LaneMap:
    """The lane map of one site from the committed seeds; a clear error for an unknown site."""
    sites = {r["site_id"]: r for r in read_seed("sites")}
    if site_id not in sites:
        raise KeyError(f"unknown site {site_id!r}; known: {', '.join(sites)}")
    rows = [r for r in read_seed("lane_points") if r["site_id"] == site_id]
    lanes, order = {}, []
    for r in rows:
        if r["lane_id"] not in lanes:
            lanes[r["lane_id"]] = (r, [], [])
            order.append(r["lane_id"])
        lanes[r["lane_id"]][2].append(r)
        lanes[r["lane_id"]][1].append(
            [float(r[k]) for k in ("x_m", "y_m", "left_x_m", "left_y_m", "right_x_m", "right_y_m")]
        )
    result = []
    for lane_id in order:
        head, pts, points = lanes[lane_id]
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
            junction_id=tuple(r.get("junction_id") or None for r in points),
            junction_signalised=tuple(_flag(r.get("junction_signalised")) for r in points),
            crosswalk=tuple(bool(_flag(r.get("crosswalk"))) for r in points),
            merge=tuple(bool(_flag(r.get("merge"))) for r in points),
            turn=tuple(r.get("turn") or "straight" for r in points),
        ))
    site = sites[site_id]
    return LaneMap(site_id, site["city"], float(site["origin_lat"]), float(site["origin_lon"]), result)
