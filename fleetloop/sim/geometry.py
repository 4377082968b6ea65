"""Route geometry: closed counter-clockwise loops of straights and quarter arcs, evaluated exactly.

A route's driven lane is a rounded rectangle (four straights joined by quarter arcs of radius R). The
loop is convex and turns left only, so normal driving never swings the yaw rate across zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Loop:
    """A rounded-rectangle loop: centre, outer width/height and corner radius (metres), CCW."""

    cx: float
    cy: float
    width_m: float
    height_m: float
    radius_m: float

    def primitives(self, offset_m: float = 0.0) -> list[tuple]:
        """(kind, x0, y0, heading0, length, curvature) of the 8 primitives, offset to the left by offset_m."""
        r = self.radius_m - offset_m
        half_w, half_h = self.width_m / 2, self.height_m / 2
        straight_w, straight_h = self.width_m - 2 * self.radius_m, self.height_m - 2 * self.radius_m
        inset = offset_m
        # start of each straight (after the previous corner), heading of the straight
        starts = (
            (self.cx - half_w + self.radius_m, self.cy - half_h + inset, 0.0, straight_w),
            (self.cx + half_w - inset, self.cy - half_h + self.radius_m, np.pi / 2, straight_h),
            (self.cx + half_w - self.radius_m, self.cy + half_h - inset, np.pi, straight_w),
            (self.cx - half_w + inset, self.cy + half_h - self.radius_m, 3 * np.pi / 2, straight_h),
        )
        prims = []
        for x0, y0, h0, length in starts:
            prims.append(("straight", x0, y0, h0, length, 0.0))
            x1, y1 = x0 + length * np.cos(h0), y0 + length * np.sin(h0)
            prims.append(("arc", x1, y1, h0, r * np.pi / 2, 1.0 / r))
        return prims


@dataclass(frozen=True)
class PathTable:
    """Primitive boundaries of one lane chain, for vectorised evaluation at arc length s."""

    s0: np.ndarray  # start arc length of each primitive
    x0: np.ndarray
    y0: np.ndarray
    h0: np.ndarray
    kappa: np.ndarray
    length_m: float

    @classmethod
    def from_primitives(cls, prims: list[tuple]) -> PathTable:
        lengths = np.array([p[4] for p in prims])
        s0 = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
        return cls(
            s0=s0,
            x0=np.array([p[1] for p in prims]),
            y0=np.array([p[2] for p in prims]),
            h0=np.array([p[3] for p in prims]),
            kappa=np.array([p[5] for p in prims]),
            length_m=float(lengths.sum()),
        )

    def evaluate(self, s: np.ndarray) -> tuple[np.ndarray, ...]:
        """x, y, heading (unwrapped within a lap), curvature and primitive index at arc lengths s."""
        s = np.mod(np.asarray(s, dtype=float), self.length_m)
        idx = np.searchsorted(self.s0, s, side="right") - 1
        u = s - self.s0[idx]
        k = self.kappa[idx]
        h0 = self.h0[idx]
        heading = h0 + k * u
        straight = k == 0.0
        safe_k = np.where(straight, 1.0, k)
        dx = np.where(straight, u * np.cos(h0), (np.sin(heading) - np.sin(h0)) / safe_k)
        dy = np.where(straight, u * np.sin(h0), (np.cos(h0) - np.cos(heading)) / safe_k)
        return self.x0[idx] + dx, self.y0[idx] + dy, heading, k, idx


def wrap_angle(a: np.ndarray) -> np.ndarray:
    """Angles wrapped to [-pi, pi)."""
    return np.mod(np.asarray(a) + np.pi, 2 * np.pi) - np.pi
