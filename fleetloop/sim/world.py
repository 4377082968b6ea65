"""The simulated world: cities, sites, routes and their lane maps, built deterministically.

``build_world()`` is the single source of ``seeds/sites.csv``, ``seeds/routes.csv`` and
``seeds/lane_points.csv`` (``write_seeds``); the simulator drives on the same geometry it writes.

Map features (junctions, signalised or not, crosswalks, merges, turn lanes) are spans of a route's primitives,
shared by its driven and passing lanes. In ``lane_points.csv`` a point's feature columns describe the segment
from that point to the next one (a lane's last point repeats its last segment); points are added at every span
boundary, so a position's features are those of the segment it projects onto.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from fleetloop.definitions import read_seed
from fleetloop.sim.geometry import Loop, PathTable

WORLD_SEED = 20261101
LANE_POINT_DECIMALS = 3

# name, city, origin lat/lon, route kinds (the first kinds fill small fleets first)
_SITES = (
    ("bj_yizhuang", "beijing", 39.7950, 116.5060, ("campus", "urban", "highway")),
    ("su_logistics", "suzhou", 31.3200, 120.6200, ("urban", "campus", "highway")),
    ("sz_nanshan", "shenzhen", 22.5330, 113.9300, ("campus", "urban")),
    ("gz_nansha_port", "guangzhou", 22.7500, 113.6000, ("highway", "urban")),
    ("sh_lingang", "shanghai", 30.9000, 121.9300, ("campus", "urban")),
    ("wh_econ_zone", "wuhan", 30.4900, 114.1700, ("highway", "campus")),
)

# kind -> vehicle class, lane width, loop size ranges (w, h), radius, road types of the four sides,
# lane point spacing on straights
_KINDS = {
    "campus": ("campus_robot", 3.0, (250, 400), (150, 260), 15.0,
               ("closed_campus", "in_park", "closed_campus", "non_motor_lane"), 5.0),
    "urban": ("urban_delivery", 3.5, (1400, 2200), (900, 1400), 60.0,
              ("trunk", "tunnel", "trunk", "trunk"), 25.0),
    "highway": ("highway_truck", 3.75, (7000, 9000), (2500, 3500), 500.0,
                ("elevated", "tunnel", "elevated", "elevated"), 100.0),
}
# speed limits that differ from the road type's default (expressway tunnels)
_LIMIT_OVERRIDES = {("highway", "tunnel"): 27.8}
_ARC_POINT_ANGLE_RAD = 0.03  # arc points every 0.03 rad, at least 0.75 m apart
_LANE_KINDS = (("L", 0.0), ("P", 1.0))  # driven lane, passing lane one lane width to its left
# map features per route kind: (feature, primitive, start and end as fractions of it, signalised, turn).
# Corners are left-turn junctions; urban straights get a signalised junction behind a crosswalk; merges join
# from the right. No junction in a tunnel (urban corner 3 follows the tunnel side).
CROSSWALK_M = 4.0  # crosswalk width along the lane
CROSSWALK_GAP_M = 1.0  # between a crosswalk and the junction it guards
MID_JUNCTION_M = 20.0  # a straight-through junction on a straight
_FEATURES = {
    "campus": (("junction", 1, 0.0, 1.0, False, "left"), ("junction", 3, 0.0, 1.0, False, "left"),
               ("junction", 5, 0.0, 1.0, False, "left"), ("junction", 7, 0.0, 1.0, False, "left"),
               ("crosswalk", 0, 0.5, None, None, None), ("crosswalk", 4, 0.3, None, None, None),
               ("crosswalk", 6, 0.6, None, None, None)),
    "urban": (("junction", 1, 0.0, 1.0, True, "left"), ("junction", 5, 0.0, 1.0, True, "left"),
              ("junction", 7, 0.0, 1.0, False, "left"),
              ("junction", 0, 0.5, None, True, "straight"), ("junction", 4, 0.5, None, True, "straight"),
              ("crosswalk", 6, 0.35, None, None, None), ("merge", 6, 0.6, 0.7, None, None)),
    "highway": (("merge", 0, 0.4, 0.45, None, None), ("merge", 4, 0.6, 0.65, None, None)),
}


@dataclass(frozen=True)
class Site:
    site_id: str
    city: str
    origin_lat: float
    origin_lon: float


@dataclass(frozen=True)
class Feature:
    """A map feature on one primitive of a route: arc-length span [u0_m, u1_m) from the primitive's start."""

    kind: str  # junction | crosswalk | merge
    prim: int
    u0_m: float
    u1_m: float
    junction_id: str | None = None
    signalised: bool | None = None
    turn: str | None = None  # junctions: the movement of the route through it


@dataclass(frozen=True)
class Route:
    """A closed loop that vehicles of one class drive; lanes ``<route_id>-L0..7`` are the driven chain."""

    route_id: str
    site_id: str
    kind: str
    vehicle_class: str
    loop: Loop
    lane_width_m: float
    road_types: tuple[str, ...]  # per primitive (8)
    speed_limits_mps: tuple[float, ...]  # per primitive (8)
    features: tuple[Feature, ...] = ()

    @property
    def path(self) -> PathTable:
        return PathTable.from_primitives(self.loop.primitives())

    @property
    def length_m(self) -> float:
        return self.path.length_m

    def lane_id(self, index: int, kind: str = "L") -> str:
        return f"{self.route_id}-{kind}{index}"


@dataclass(frozen=True)
class World:
    sites: tuple[Site, ...]
    routes: tuple[Route, ...]

    def site(self, site_id: str) -> Site:
        return next(s for s in self.sites if s.site_id == site_id)

    def routes_of(self, site_id: str) -> list[Route]:
        return [r for r in self.routes if r.site_id == site_id]


@lru_cache(maxsize=1)
def build_world() -> World:
    """The world, identical on every call and machine (seeded by ``WORLD_SEED``)."""
    rng = np.random.default_rng(WORLD_SEED)
    defaults = {r["road_type"]: float(r["default_speed_limit_mps"]) for r in read_seed("road_types")}
    sites, routes = [], []
    for site_id, city, lat, lon, kinds in _SITES:
        sites.append(Site(site_id, city, lat, lon))
        x_cursor = 0.0
        for n, kind in enumerate(kinds):
            vclass, lane_w, w_range, h_range, radius, sides, _ = _KINDS[kind]
            width = float(round(rng.uniform(*w_range)))
            height = float(round(rng.uniform(*h_range)))
            loop = Loop(x_cursor + width / 2, float(round(rng.uniform(-200, 200))), width, height, radius)
            x_cursor += width + 150.0
            road_types = tuple(sides[i // 2] for i in range(8))
            limits = tuple(_LIMIT_OVERRIDES.get((kind, rt), defaults[rt]) for rt in road_types)
            route_id = f"{site_id}-r{n + 1}"
            routes.append(Route(route_id, site_id, kind, vclass, loop, lane_w, road_types, limits,
                                _route_features(route_id, kind, loop)))
    return World(tuple(sites), tuple(routes))


def _route_features(route_id: str, kind: str, loop: Loop) -> tuple[Feature, ...]:
    """The kind's map features on this loop; a mid-straight junction gets the crosswalk before it."""
    lengths = [p[4] for p in loop.primitives()]
    out, n_junction = [], 0
    for feature, prim, f0, f1, signalised, turn in _FEATURES[kind]:
        u0 = round(f0 * lengths[prim], LANE_POINT_DECIMALS)
        if feature == "junction":
            u1 = lengths[prim] if f1 == 1.0 else round(u0 + MID_JUNCTION_M, LANE_POINT_DECIMALS)
            out.append(Feature("junction", prim, u0, u1, f"{route_id}-J{n_junction}", signalised, turn))
            n_junction += 1
            if f1 is None:
                u_end = u0 - CROSSWALK_GAP_M
                out.append(Feature("crosswalk", prim, u_end - CROSSWALK_M, u_end))
        elif feature == "crosswalk":
            out.append(Feature("crosswalk", prim, u0, u0 + CROSSWALK_M))
        else:
            out.append(Feature("merge", prim, u0, round(f1 * lengths[prim], LANE_POINT_DECIMALS)))
    return tuple(out)


def segment_features(route: Route, prim: int, u_m: np.ndarray) -> dict[str, np.ndarray]:
    """Map context at arc lengths ``u_m`` of one primitive: junction_id (None outside), junction_signalised
    (None outside), crosswalk, merge, turn ('straight' outside junctions)."""
    u_m = np.asarray(u_m, float)
    out = {"junction_id": np.full(u_m.size, None, dtype=object), "junction_signalised": np.full(u_m.size, None,
                                                                                                dtype=object),
           "crosswalk": np.zeros(u_m.size, bool), "merge": np.zeros(u_m.size, bool),
           "turn": np.full(u_m.size, "straight", dtype=object)}
    for f in route.features:
        if f.prim != prim:
            continue
        inside = (u_m >= f.u0_m) & (u_m < f.u1_m)
        if f.kind == "junction":
            out["junction_id"][inside] = f.junction_id
            out["junction_signalised"][inside] = f.signalised
            out["turn"][inside] = f.turn
        else:
            out[f.kind] |= inside
    return out


def _sample_primitive(prim: tuple, spacing_m: float, breaks_m=()) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points (N,2), headings and arc lengths along one primitive, both ends and the feature breaks included."""
    _, x0, y0, h0, length, kappa = prim
    n = max(2, int(np.ceil(length / spacing_m)) + 1)
    u = np.linspace(0.0, length, n)
    inner = [b for b in breaks_m if 0.0 < b < length]
    u = np.unique(np.concatenate([u, inner])) if inner else u
    table = PathTable.from_primitives([prim])
    x, y, h, _, _ = table.evaluate(np.minimum(u, length - 1e-9))
    x[-1], y[-1] = _end_point(prim)
    h[-1] = h0 + kappa * length
    return np.column_stack([x, y]), h, u


def _end_point(prim: tuple) -> tuple[float, float]:
    _, x0, y0, h0, length, kappa = prim
    if kappa == 0.0:
        return x0 + length * np.cos(h0), y0 + length * np.sin(h0)
    h1 = h0 + kappa * length
    return x0 + (np.sin(h1) - np.sin(h0)) / kappa, y0 + (np.cos(h0) - np.cos(h1)) / kappa


def lane_point_rows(world: World) -> list[dict]:
    """Rows of ``seeds/lane_points.csv``: every lane's centreline and bounds, lane attributes repeated, map
    features of the segment that starts at the point."""
    rows = []
    for route in world.routes:
        straight_spacing = _KINDS[route.kind][6]
        for kind, offset_lanes in _LANE_KINDS:
            offset = offset_lanes * route.lane_width_m
            prims = route.loop.primitives(offset)
            for i, prim in enumerate(prims):
                spacing = straight_spacing if prim[0] == "straight" else max(0.75, _ARC_POINT_ANGLE_RAD / prim[5])
                # feature spans are fractions of the primitive, the same on both lanes (arcs scale with radius)
                scale = prim[4] / route.loop.primitives()[i][4]
                breaks = [b * scale for f in route.features if f.prim == i for b in (f.u0_m, f.u1_m)]
                pts, heading, u = _sample_primitive(prim, spacing, breaks)
                context = segment_features(route, i, np.append(u[:-1], u[-2]) / scale)
                normal = np.column_stack([-np.sin(heading), np.cos(heading)]) * route.lane_width_m / 2
                left, right = pts + normal, pts - normal
                for seq in range(len(pts)):
                    rows.append({
                        "site_id": route.site_id,
                        "route_id": route.route_id,
                        "lane_id": route.lane_id(i, kind),
                        "road_type": route.road_types[i],
                        "speed_limit_mps": route.speed_limits_mps[i],
                        "successors": route.lane_id((i + 1) % 8, kind),
                        "seq": seq,
                        "x_m": pts[seq, 0], "y_m": pts[seq, 1],
                        "left_x_m": left[seq, 0], "left_y_m": left[seq, 1],
                        "right_x_m": right[seq, 0], "right_y_m": right[seq, 1],
                        "junction_id": context["junction_id"][seq] or "",
                        "junction_signalised": _flag(context["junction_signalised"][seq]),
                        "crosswalk": _flag(context["crosswalk"][seq]),
                        "merge": _flag(context["merge"][seq]),
                        "turn": context["turn"][seq],
                    })
    return rows


def seed_tables(world: World | None = None) -> dict[str, str]:
    """The three seed CSV files as text, keyed by file name."""
    world = world or build_world()
    sites = [{"site_id": s.site_id, "city": s.city, "origin_lat": s.origin_lat, "origin_lon": s.origin_lon}
             for s in world.sites]
    routes = [{"route_id": r.route_id, "site_id": r.site_id, "route_kind": r.kind,
               "vehicle_class": r.vehicle_class, "length_m": round(r.length_m, LANE_POINT_DECIMALS),
               "lane_width_m": r.lane_width_m, "first_lane_id": r.lane_id(0),
               "road_types": "|".join(dict.fromkeys(r.road_types))}
              for r in world.routes]
    return {
        "sites.csv": _csv(sites),
        "routes.csv": _csv(routes),
        "lane_points.csv": _csv(lane_point_rows(world)),
    }


def _flag(value) -> str:
    """A boolean as the seeds write it; empty for None."""
    return "" if value is None else str(bool(value)).lower()


def _csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(v) for k, v in row.items()})
    return buf.getvalue()


def _fmt(value):
    if isinstance(value, (float, np.floating)):
        text = f"{float(value):.{LANE_POINT_DECIMALS}f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return value


def write_seeds(seeds_dir: Path) -> list[Path]:
    """Write the world's seed CSV files into ``seeds_dir``."""
    paths = []
    for name, text in seed_tables().items():
        path = Path(seeds_dir) / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
