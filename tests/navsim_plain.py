"""A plain-loop reading of NAVSIM v1.1's PDMScorer (one proposal, one step, one track at a time, shapely
objects throughout): the oracle the vectorised scorer is compared with."""

from __future__ import annotations

import math

import numpy as np
from shapely.geometry import LineString, Point, Polygon

from fleetloop.scorer.navsim.comfort import comfort_checks
from fleetloop.scorer.navsim.observation import MapLayer

AHEAD_DEG, BEHIND_DEG = 20.0, 150.0
EGO_STOPPED, TRACK_STOPPED, TTC_STOPPED = 5e-2, 5e-3, 5e-3


def corners(x, y, h, vehicle):
    cx, cy = x + vehicle.rear_axle_to_center_m * math.cos(h), y + vehicle.rear_axle_to_center_m * math.sin(h)
    hl, hw = vehicle.length_m / 2, vehicle.width_m / 2
    c, s = math.cos(h), math.sin(h)

    def at(lon, lat):
        return (cx + lon * c - lat * s, cy + lon * s + lat * c)

    return [at(hl, hw), at(-hl, hw), at(-hl, -hw), at(hl, -hw)], (cx, cy)


def angle_to(ex, ey, eh, px, py):
    vx, vy = px - ex, py - ey
    norm = math.hypot(vx, vy)
    if norm == 0:
        return float("nan")
    return math.acos(max(-1.0, min(1.0, (math.cos(eh) * vx + math.sin(eh) * vy) / norm)))


def score(states, observation, centerline, route_lane_ids, dmap, vehicle, dt_s=0.1):
    n, t1, _ = states.shape
    lanes = [i for i, layer in enumerate(dmap.layers) if layer in (MapLayer.LANE, MapLayer.LANE_CONNECTOR)]
    drivable = [i for i, layer in enumerate(dmap.layers) if layer in
                (MapLayer.ROADBLOCK, MapLayer.INTERSECTION, MapLayer.DRIVABLE_AREA, MapLayer.CARPARK_AREA)]
    intersections = [i for i, layer in enumerate(dmap.layers) if layer == MapLayer.INTERSECTION]
    nc, dac, ttc, progress = np.ones(n), np.ones(n), np.ones(n), np.zeros(n)
    for p in range(n):
        multiple, off_road = [False] * t1, [False] * t1
        boxes = []
        for t in range(t1):
            x, y, h = states[p, t, :3]
            pts, centre = corners(x, y, h, vehicle)
            boxes.append((Polygon(pts), pts, centre))
            contains = [[dmap.geometries[g].contains(Point(*q)) for q in pts] for g in range(len(dmap.geometries))]
            lanes_hit = [g for g in lanes if any(contains[g])]
            multiple[t] = len(lanes_hit) > 1 and not any(all(contains[g]) for g in lanes)
            off_road[t] = not all(any(contains[g][k] for g in drivable) for k in range(4))
        dac[p] = 0.0 if any(off_road) else 1.0
        ignored = set(observation.collided_track_ids)
        for t in range(t1):
            poly, pts, _ = boxes[t]
            occ = observation[t]
            for token, geom in zip(occ.tokens, occ.geometries, strict=True):
                if observation.red_light_token in token or token in ignored or not poly.intersects(geom):
                    continue
                obj = observation.unique_objects[token]
                speed = math.hypot(states[p, t, 3], states[p, t, 4])
                c = geom.centroid
                if speed <= EGO_STOPPED:
                    kind = "stopped_ego"
                elif not obj.is_agent or obj.speed_mps <= TRACK_STOPPED:
                    kind = "stopped_track"
                elif angle_to(states[p, t, 0], states[p, t, 1], states[p, t, 2], c.x, c.y) > math.radians(BEHIND_DEG):
                    kind = "rear"
                elif LineString([pts[0], pts[3]]).intersects(geom):
                    kind = "front"
                else:
                    kind = "lateral"
                if kind in ("front", "stopped_track") or (kind == "lateral" and (multiple[t] or off_road[t])):
                    nc[p] = min(nc[p], 0.0 if obj.is_agent else 0.5)
                else:
                    ignored.add(token)
        ignored = set(observation.collided_track_ids)
        for t in range(t1):
            x, y, h, vx, vy = states[p, t, :5]
            speed = math.hypot(vx, vy)
            _, pts, _ = boxes[t]
            in_junction = any(dmap.geometries[g].contains(Point(x, y)) for g in intersections)
            for k in (0, 3, 6, 9):
                dx, dy = math.cos(h) * speed * k * dt_s, math.sin(h) * speed * k * dt_s
                moved = Polygon([(qx + dx, qy + dy) for qx, qy in pts])
                occ = observation[t + k]
                for token, geom in zip(occ.tokens, occ.geometries, strict=True):
                    if (observation.red_light_token in token or token in ignored or speed < TTC_STOPPED
                            or not moved.intersects(geom)):
                        continue
                    c = geom.centroid
                    angle = angle_to(x, y, h, c.x, c.y)
                    ahead, behind = angle < math.radians(AHEAD_DEG), angle > math.radians(BEHIND_DEG)
                    if ahead or ((multiple[t] or off_road[t] or in_junction) and not behind):
                        ttc[p] = 0.0
                    else:
                        ignored.add(token)
        progress[p] = max(0.0, centerline.linestring.project(Point(*boxes[-1][2]))
                          - centerline.linestring.project(Point(*boxes[0][2])))
    comfort = comfort_checks(states, dt_s).all(axis=-1).astype(float)
    raw = progress * nc * dac
    ep = raw / raw.max() if raw.max() > 5.0 else np.where(nc * dac == 0, 0.0, 1.0)
    pdms = nc * dac * (5 * ep + 5 * ttc + 2 * comfort) / 12
    return {"nc": nc, "dac": dac, "ep": ep, "ttc": ttc, "c": comfort, "progress_m": progress, "pdms": pdms}
