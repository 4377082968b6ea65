"""A CommonRoad scenario's road network as an operating site of the lane-map seeds.

``import_commonroad_map`` appends one site to ``sites.csv``, one route holding all its lanes to
``routes.csv`` and every lanelet to ``lane_points.csv`` (lane id ``<site>-<lanelet id>``; centreline,
bounds, speed limit and road type as the scorer reads them, see ``fleetloop.scorer.commonroad_scene``), so
that ``fleetloop.lanemap`` and the warehouse can use the real map. The site frame is the scenario's metric
frame; its WGS84 origin is the scenario's ``<location>`` (or one given explicitly). The scenario's licence
notice is written beside the seeds as ``<site>_LICENSE_NOTICE.txt``. An existing site is only replaced
when asked to.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fleetloop.definitions import SEEDS_DIR
from fleetloop.scorer.commonroad_scene import license_notice, read_scenario, road_type, scene_lanes
from fleetloop.sim.world import LANE_POINT_DECIMALS

SEED_TABLES = ("sites", "routes", "lane_points")
ROUTE_KIND = "imported"
NOTICE_SUFFIX = "_LICENSE_NOTICE.txt"


@dataclass(frozen=True)
class MapImport:
    site_id: str
    lanes: int
    points: int
    files: tuple[Path, ...]


def import_commonroad_map(scenario_path: str | Path, site_id: str, seeds_dir: str | Path = SEEDS_DIR,
                          city: str | None = None, vehicle_class: str = "urban_delivery",
                          origin: tuple[float, float] | None = None, notice_path: str | Path | None = None,
                          replace: bool = False) -> MapImport:
    """Write the scenario's lanelets as site ``site_id`` into the seed CSV files in ``seeds_dir``.

    city: default the scenario's map name; origin: (lat, lon) degrees, default the scenario's location;
    notice_path: the licence notice, default the ``LICENSE_NOTICE.txt`` beside the scenario.
    """
    path, seeds_dir = Path(scenario_path), Path(seeds_dir)
    scenario = read_scenario(path)
    notice = Path(notice_path).read_text(encoding="utf-8") if notice_path else license_notice(path)
    if not notice:
        raise ValueError(f"{path.name}: no LICENSE_NOTICE.txt beside the scenario; give the notice explicitly")
    lat, lon = origin or _origin(scenario, path)
    tables = {name: _read(seeds_dir / f"{name}.csv") for name in SEED_TABLES}
    if any(r["site_id"] == site_id for r in tables["sites"][1]):
        if not replace:
            raise ValueError(f"site {site_id!r} already exists in {seeds_dir / 'sites.csv'} (replace it explicitly)")
        for name in SEED_TABLES:
            tables[name][1][:] = [r for r in tables[name][1] if r["site_id"] != site_id]
    tags = {t.value for t in (scenario.tags or ())}
    road_types = {str(ll.lanelet_id): road_type(ll, tags) for ll in scenario.lanelet_network.lanelets}
    lanes = scene_lanes(scenario)
    route_id = f"{site_id}-r1"

    def lane_id(lanelet: str) -> str:
        return f"{site_id}-{lanelet}"

    points = [
        {"site_id": site_id, "route_id": route_id, "lane_id": lane_id(lane.lane_id),
         "road_type": road_types[lane.lane_id], "speed_limit_mps": _num(lane.speed_limit_mps),
         "successors": "|".join(lane_id(s) for s in lane.successors), "seq": seq,
         "x_m": _num(c[0]), "y_m": _num(c[1]), "left_x_m": _num(left[0]), "left_y_m": _num(left[1]),
         "right_x_m": _num(right[0]), "right_y_m": _num(right[1])}
        for lane in lanes
        for seq, (c, left, right) in enumerate(zip(lane.centerline, lane.left_bound, lane.right_bound, strict=True))
    ]
    length_m = sum(float(np.linalg.norm(np.diff(lane.centerline, axis=0), axis=1).sum()) for lane in lanes)
    width_m = float(np.median(np.concatenate([np.linalg.norm(ln.left_bound - ln.right_bound, axis=1) for ln in lanes])))
    tables["sites"][1].append({"site_id": site_id, "city": city or scenario.scenario_id.map_name.lower(),
                               "origin_lat": lat, "origin_lon": lon})
    tables["routes"][1].append({"route_id": route_id, "site_id": site_id, "route_kind": ROUTE_KIND,
                                "vehicle_class": vehicle_class, "length_m": _num(length_m),
                                "lane_width_m": _num(width_m), "first_lane_id": lane_id(lanes[0].lane_id),
                                "road_types": "|".join(dict.fromkeys(road_types.values()))})
    tables["lane_points"][1].extend(points)
    files = [_write(seeds_dir / f"{name}.csv", *tables[name]) for name in SEED_TABLES]
    notice_file = seeds_dir / f"{site_id}{NOTICE_SUFFIX}"
    notice_file.write_text(
        f"Site {site_id} in sites.csv, routes.csv and lane_points.csv (rows with site_id = {site_id}) is derived "
        f"from the CommonRoad scenario {path.name} ({scenario.scenario_id}).\n\n{notice}", encoding="utf-8")
    return MapImport(site_id, len(lanes), len(points), (*files, notice_file))


def _origin(scenario, path: Path) -> tuple[float, float]:
    loc = scenario.location
    if loc is None or abs(loc.gps_latitude) > 90 or abs(loc.gps_longitude) > 180:
        raise ValueError(f"{path.name}: no GPS location in the scenario; give the site origin explicitly")
    return float(loc.gps_latitude), float(loc.gps_longitude)


def _num(value: float) -> float:
    return round(float(value), LANE_POINT_DECIMALS)


def _read(path: Path) -> tuple[list[str], list[dict]]:
    if not path.is_file():
        raise FileNotFoundError(f"no seed file {path}")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or ()), list(reader)


def _write(path: Path, fields: list[str], rows: list[dict]) -> Path:
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)
    return path
