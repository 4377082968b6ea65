"""Red lights as stop lines: the extended score's traffic-light compliance (TLC).

A light stands at the end of the lanes it controls (``TrafficLight.lane_ids``): its stop line joins the ends
of their left and right bounds. A trajectory violates it when its centre crosses the line in the driving
direction at a step where the light is red, and then takes a movement the light governs (a lane of
``TrafficLight.successor_ids``; every movement when the light names none, or when the trajectory enters none
of the lanes after the line before the horizon ends).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from fleetloop.scorer.scene import Scene


@dataclass(frozen=True)
class StopLine:
    left_xy: np.ndarray  # (2,)
    right_xy: np.ndarray  # (2,)
    red: np.ndarray  # (T+1,) bool: the light is red at each step
    governed: shapely.Geometry | None  # the lanes after the line the light governs (None: every movement)
    after: shapely.Geometry | None  # every lane after the line


def _lanes(scene: Scene, ids) -> shapely.Geometry | None:
    by_id = {lane.lane_id: lane for lane in scene.lanes}
    polys = [shapely.make_valid(shapely.Polygon(by_id[i].polygon())) for i in ids if i in by_id]
    return shapely.union_all(polys) if polys else None


def stop_lines(scene: Scene) -> tuple[StopLine, ...]:
    """Every controlled lane end of the scene's traffic lights."""
    by_id = {lane.lane_id: lane for lane in scene.lanes}
    out = []
    for light in scene.traffic_lights:
        red = np.array([light.red_at(t) for t in range(scene.steps + 1)], dtype=bool)
        if not red.any():
            continue
        governed = _lanes(scene, light.successor_ids) if light.successor_ids else None
        for lane_id in light.lane_ids:
            lane = by_id.get(lane_id)
            if lane is not None:
                out.append(StopLine(lane.left_bound[-1], lane.right_bound[-1], red, governed,
                                    _lanes(scene, lane.successors)))
    return tuple(out)


def _cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """z of (a - o) x (b - o), broadcasting over leading axes of the (..., 2) points."""
    return (a[..., 0] - o[..., 0]) * (b[..., 1] - o[..., 1]) - (a[..., 1] - o[..., 1]) * (b[..., 0] - o[..., 0])


def red_light_violations(lines: tuple[StopLine, ...], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(N,) whether each trajectory of centres (N, T+1) runs a red light."""
    out = np.zeros(len(x), dtype=bool)
    p = np.stack([x, y], axis=-1)
    p0, p1 = p[:, :-1], p[:, 1:]
    for line in lines:
        a, b = line.left_xy, line.right_xy
        # a -> b runs left to right across the lane: points before the line are on its right (negative side)
        side0, side1 = _cross(a, b, p0), _cross(a, b, p1)
        crosses = (side0 < 0) & (side1 >= 0) & (_cross(p0, p1, a) * _cross(p0, p1, b) <= 0)
        crosses &= line.red[1:]
        hit = crosses.any(axis=1)
        for i in np.nonzero(hit)[0]:
            t = int(np.argmax(crosses[i])) + 1
            later = p[i, t:]
            if line.governed is None:
                out[i] = True
                continue
            in_governed = shapely.contains_xy(line.governed, later[:, 0], later[:, 1]).any()
            entered = line.after is not None and shapely.contains_xy(line.after, later[:, 0], later[:, 1]).any()
            out[i] |= bool(in_governed or not entered)
    return out
