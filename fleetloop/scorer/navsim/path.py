"""A path of poses with arc length: projection of points and interpolation of poses (NAVSIM's ``PDMPath``)."""

from __future__ import annotations

import numpy as np
import shapely
import shapely.ops
from scipy.interpolate import interp1d


def normalize_angle(angle: np.ndarray) -> np.ndarray:
    """Angles wrapped to [-pi, pi]."""
    return np.arctan2(np.sin(angle), np.cos(angle))


class PolylinePath:
    """Poses (K, 3) x, y, heading along a polyline; s is the cumulative distance between the points."""

    def __init__(self, poses: np.ndarray):
        poses = np.array(poses, dtype=np.float64)
        if poses.ndim != 2 or poses.shape[1] != 3 or len(poses) < 2:
            raise ValueError(f"a path needs (K >= 2, 3) poses, got {poses.shape}")
        poses[:, 2] = np.unwrap(poses[:, 2])
        self.poses = poses
        self.progress_m = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(poses[:, :2], axis=0).T))])
        self.linestring = shapely.linestrings(poses[:, :2])
        self._interpolator = interp1d(self.progress_m, poses, axis=0)

    @classmethod
    def from_points(cls, points: np.ndarray) -> PolylinePath:
        """A path through (K, 2) points, headings from the segments (the last repeats the one before)."""
        pts = np.asarray(points, dtype=np.float64)
        keep = np.concatenate([[True], np.hypot(*np.diff(pts, axis=0).T) > 1e-9])
        pts = pts[keep]
        d = np.diff(pts, axis=0)
        h = np.arctan2(d[:, 1], d[:, 0])
        return cls(np.column_stack([pts, np.append(h, h[-1:])]))

    @property
    def length_m(self) -> float:
        return float(self.progress_m[-1])

    def project(self, xy: np.ndarray) -> np.ndarray:
        """Arc length of the nearest point of the path to each point (..., 2), clamped to [0, length]."""
        xy = np.asarray(xy, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            return shapely.line_locate_point(self.linestring, shapely.points(xy))

    def interpolate(self, s_m: np.ndarray) -> np.ndarray:
        """Poses (..., 3) at arc lengths s (clipped to the path), headings wrapped."""
        out = self._interpolator(np.clip(s_m, 1e-5, self.length_m))
        out[..., 2] = normalize_angle(out[..., 2])
        return np.nan_to_num(out, nan=0.0)

    def substring(self, start_m: float, end_m: float) -> shapely.LineString:
        """The part of the path between two arc lengths."""
        start_m, end_m = np.clip([start_m, end_m], 0.0, self.length_m)
        inside = (start_m <= self.progress_m) & (self.progress_m <= end_m)
        if inside.sum() > 1:
            return shapely.LineString(self.poses[inside, :2])
        return shapely.ops.substring(self.linestring, start_m, end_m)
