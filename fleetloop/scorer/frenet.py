"""The Frenet frame of the reference lane and the road corridor read from it.

``RefPath``: the ego's lane and its successors as one polyline resampled every ``STEP_M``, extended
straight at both ends, with (s, d) <-> (x, y) conversions (d positive to the left).
``Corridor``: every lane roughly parallel to the reference path cut into stations along s; at each
station each lane is an interval [lo, hi] of d with its centre offset, direction and speed limit. A lane is
present from the first to the last station its outline reaches, so consecutive lanes overlap where a joint
is cut at a slant. Driving direction, lane keeping and speed limit are then array look-ups, vectorised
over candidates x time. The drivable area is exact instead: points are mapped back to x, y and tested
against the union of every lane polygon of the scene (crossing lanes included), ``ROAD_TOLERANCE_M``
wide of its edge (numerical slivers between lanes that share a bound).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import cKDTree

from fleetloop.scorer.scene import Scene, SceneLane

STEP_M = 0.5
EXTEND_M = 150.0
MAX_LATERAL_M = 40.0
# A lane belongs to the corridor when it runs within this angle of the reference (or of its reverse).
MAX_ALIGN_RAD = np.deg2rad(35.0)
ROAD_TOLERANCE_M = 0.01


def _resample(points: np.ndarray, step: float) -> np.ndarray:
    pts = np.asarray(points, dtype=float)
    keep = np.concatenate([[True], np.linalg.norm(np.diff(pts, axis=0), axis=1) > 1e-6])
    pts = pts[keep]
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    grid = np.arange(0.0, s[-1] + 1e-9, step)
    if grid[-1] < s[-1] - 1e-6:
        grid = np.append(grid, s[-1])
    return np.column_stack([np.interp(grid, s, pts[:, 0]), np.interp(grid, s, pts[:, 1])])


class RefPath:
    """A reference polyline with arc length s; s = 0 at the first point of the unextended path."""

    def __init__(self, points: np.ndarray, extend_m: float = EXTEND_M):
        pts = _resample(points, STEP_M)
        if len(pts) < 2:
            raise ValueError("reference path needs at least two distinct points")
        h0 = np.arctan2(*(pts[1] - pts[0])[::-1])
        h1 = np.arctan2(*(pts[-1] - pts[-2])[::-1])
        n_ext = int(extend_m / STEP_M)
        back = pts[0] - np.outer(np.arange(n_ext, 0, -1) * STEP_M, [np.cos(h0), np.sin(h0)])
        ahead = pts[-1] + np.outer(np.arange(1, n_ext + 1) * STEP_M, [np.cos(h1), np.sin(h1)])
        self.points = np.vstack([back, pts, ahead])
        seg = np.linalg.norm(np.diff(self.points, axis=0), axis=1)
        self.s = np.concatenate([[0.0], np.cumsum(seg)]) - n_ext * STEP_M
        d = np.diff(self.points, axis=0)
        h = np.unwrap(np.arctan2(d[:, 1], d[:, 0]))
        self.heading = np.concatenate([h, h[-1:]])
        self._tree = cKDTree(self.points)

    def heading_at(self, s: np.ndarray) -> np.ndarray:
        return np.interp(s, self.s, self.heading)

    def to_xy(self, s: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = self.heading_at(s)
        x = np.interp(s, self.s, self.points[:, 0]) - d * np.sin(h)
        y = np.interp(s, self.s, self.points[:, 1]) + d * np.cos(h)
        return x, y

    def project(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(s, d) of points: nearest vertex, then the better of its two segments."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        shape = x.shape
        q = np.column_stack([x.ravel(), y.ravel()])
        ok = np.all(np.isfinite(q), axis=1)
        s_out = np.full(len(q), np.nan)
        d_out = np.full(len(q), np.nan)
        _, idx = self._tree.query(q[ok])
        best_s = best_d = best_e = None
        for lo in (idx - 1, idx):
            i = np.clip(lo, 0, len(self.points) - 2)
            a = self.points[i]
            seg = self.points[i + 1] - a
            seg_len = np.linalg.norm(seg, axis=1)
            u = seg / seg_len[:, None]
            rel = q[ok] - a
            along = np.clip(np.einsum("ij,ij->i", rel, u), 0.0, seg_len)
            foot = a + u * along[:, None]
            err = np.linalg.norm(q[ok] - foot, axis=1)
            cross = u[:, 0] * rel[:, 1] - u[:, 1] * rel[:, 0]
            s_val = self.s[i] + along
            d_val = np.sign(cross) * err
            if best_e is None:
                best_s, best_d, best_e = s_val, d_val, err
            else:
                better = err < best_e
                best_s = np.where(better, s_val, best_s)
                best_d = np.where(better, d_val, best_d)
                best_e = np.where(better, err, best_e)
        s_out[ok] = best_s
        d_out[ok] = best_d
        return s_out.reshape(shape), d_out.reshape(shape)


@dataclass
class Corridor:
    """Lanes cut into stations along the reference path: arrays (S, K) over stations x lanes."""

    s0: float
    ds: float
    lo: np.ndarray
    hi: np.ndarray
    centre: np.ndarray
    present: np.ndarray
    same_dir: np.ndarray  # (K,)
    speed_limit: np.ndarray  # (K,)
    lane_ids: tuple[str, ...]
    ref: RefPath
    road: shapely.Geometry  # the drivable area, prepared for point queries

    @classmethod
    def build(cls, ref: RefPath, lanes: tuple[SceneLane, ...], ds: float = STEP_M) -> Corridor:
        s_grid = np.arange(ref.s[0], ref.s[-1] + 1e-9, ds)
        cols = {k: [] for k in ("lo", "hi", "centre", "present")}
        same_dir, limits, ids = [], [], []
        for lane in lanes:
            c = _resample(lane.centerline, STEP_M)
            sc, dc = ref.project(c[:, 0], c[:, 1])
            if not np.any(np.abs(dc) < MAX_LATERAL_M):
                continue
            lane_h = np.unwrap(np.arctan2(*np.diff(c, axis=0).T[::-1]))
            rel = np.angle(np.exp(1j * (lane_h - ref.heading_at(sc[:-1]))))
            aligned = np.abs(rel) < MAX_ALIGN_RAD
            opposed = np.abs(rel) > np.pi - MAX_ALIGN_RAD
            if not (aligned.mean() > 0.8 or opposed.mean() > 0.8):
                continue
            sl, dl = ref.project(*_resample(lane.left_bound, STEP_M).T)
            sr, dr = ref.project(*_resample(lane.right_bound, STEP_M).T)
            s_lo, s_hi = min(sc.min(), sl.min(), sr.min()), max(sc.max(), sl.max(), sr.max())
            present = (s_grid >= s_lo) & (s_grid <= s_hi)
            order_c, order_l, order_r = np.argsort(sc), np.argsort(sl), np.argsort(sr)
            centre = np.interp(s_grid, sc[order_c], dc[order_c])
            left = np.interp(s_grid, sl[order_l], dl[order_l])
            right = np.interp(s_grid, sr[order_r], dr[order_r])
            cols["lo"].append(np.minimum(left, right))
            cols["hi"].append(np.maximum(left, right))
            cols["centre"].append(centre)
            cols["present"].append(present)
            same_dir.append(bool(aligned.mean() > 0.8))
            limits.append(lane.speed_limit_mps)
            ids.append(lane.lane_id)
        if not ids:
            raise ValueError("no lane runs along the reference path")
        arr = {k: np.column_stack(v) for k, v in cols.items()}
        return cls(s0=float(s_grid[0]), ds=ds, same_dir=np.array(same_dir), speed_limit=np.array(limits),
                   lane_ids=tuple(ids), ref=ref, road=drivable_area(lanes), **arr)

    def station(self, s: np.ndarray) -> np.ndarray:
        return np.clip(np.rint((s - self.s0) / self.ds).astype(np.int64), 0, len(self.lo) - 1)

    def inside(self, s: np.ndarray, d: np.ndarray) -> np.ndarray:
        """(..., K) whether each point lies inside each lane."""
        i = self.station(s)
        dd = d[..., None]
        return self.present[i] & (dd >= self.lo[i]) & (dd <= self.hi[i])

    def on_road_xy(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Whether each point lies on the drivable area."""
        return shapely.contains_xy(self.road, x, y)

    def lane_facts(self, s: np.ndarray, d: np.ndarray) -> dict[str, np.ndarray]:
        """Per point: the lane it is in (same direction preferred) or else the nearest one: its centre
        offset |d - centre|, whether it runs against the reference, and its speed limit."""
        i = self.station(s)
        inside = self.inside(s, d)
        dist = np.abs(d[..., None] - self.centre[i])
        dist = np.where(self.present[i], dist, np.inf)
        # rank: inside same-direction lanes first, then inside any, then nearest
        key = dist + np.where(inside, 0.0, 1e6) + np.where(inside & self.same_dir, 0.0, 1e3)
        k = np.argmin(key, axis=-1)
        centre_dist = np.take_along_axis(dist, k[..., None], axis=-1)[..., 0]
        return {
            "centre_dist_m": centre_dist,
            "against": inside.any(axis=-1) & ~(inside & self.same_dir).any(axis=-1),
            "speed_limit_mps": np.where(np.isfinite(centre_dist), self.speed_limit[k], np.nan),
        }

    def lane_centres_at(self, s: float) -> np.ndarray:
        """Centre offsets of the same-direction lanes present at station s."""
        i = int(self.station(np.asarray(s)))
        return self.centre[i][self.present[i] & self.same_dir]


def drivable_area(lanes: tuple[SceneLane, ...]) -> shapely.Geometry:
    """The union of the lane polygons grown by ``ROAD_TOLERANCE_M``, prepared for fast point queries."""
    road = shapely.union_all([shapely.make_valid(shapely.Polygon(lane.polygon())) for lane in lanes])
    road = shapely.buffer(road, ROAD_TOLERANCE_M)
    shapely.prepare(road)
    return road


def pick_reference(scene: Scene) -> tuple[SceneLane, list[SceneLane]]:
    """The lane the ego starts in (aligned with its heading, smallest offset) and the successor chain that
    follows the logged path best."""
    by_id = {lane.lane_id: lane for lane in scene.lanes}
    _, x0, y0, h0, _ = scene.ego_log[0]
    best, best_cost = None, np.inf
    for lane in scene.lanes:
        c = _resample(lane.centerline, STEP_M)
        dist = np.hypot(c[:, 0] - x0, c[:, 1] - y0)
        j = int(np.argmin(dist))
        j2 = min(j + 1, len(c) - 1)
        j1 = j2 - 1
        lane_h = np.arctan2(c[j2, 1] - c[j1, 1], c[j2, 0] - c[j1, 0])
        if abs(np.angle(np.exp(1j * (lane_h - h0)))) > np.pi / 4:
            continue
        if dist[j] < best_cost:
            best, best_cost = lane, dist[j]
    if best is None:
        raise ValueError(f"scene {scene.scene_id}: no lane runs in the ego's initial heading")
    chain = [best]
    end_xy = scene.ego_log[-1, 1:3]
    while chain[-1].successors and len(chain) < 20:
        options = [by_id[i] for i in chain[-1].successors if i in by_id and by_id[i] not in chain]
        if not options:
            break
        chain.append(min(options, key=lambda ln: np.min(np.linalg.norm(ln.centerline - end_xy, axis=1))))
    return best, chain


def reference_path(scene: Scene) -> RefPath:
    _, chain = pick_reference(scene)
    return RefPath(np.vstack([lane.centerline for lane in chain]))
