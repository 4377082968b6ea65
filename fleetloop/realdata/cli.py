"""``fleetloop import <dataset>``: turn recorded real driving into raw landing files."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from fleetloop.definitions import SEEDS_DIR


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="import recorded real driving into the landing (raw contract)",
                       epilog="examples:\n  fleetloop import comma2k19 --src tests/data/comma2k19\n"
                              "  fleetloop import commonroad-map SCENE.xml --site my_site")
    datasets = p.add_subparsers(dest="dataset", required=True, metavar="DATASET")
    c = datasets.add_parser("comma2k19", help="a comma2k19 example segment (telemetry CSVs + LICENSE_NOTICE)",
                            epilog="examples:\n  fleetloop import comma2k19 --src tests/data/comma2k19\n"
                                   "  fleetloop import comma2k19 --src tests/data/comma2k19 --date 2026-11-30")
    c.add_argument("--src", type=Path, required=True,
                   help="segment folder, e.g. tests/data/comma2k19 (the sample shipped with the repository; required)")
    c.add_argument("--landing", type=Path, default=None, help="landing root (default: <home>/landing)")
    c.add_argument("--vehicle-id", default=None, help="vehicle id (default comma2k19_<dongle id>)")
    c.add_argument("--date", type=dt.date.fromisoformat, default=None,
                   help="move the drive by whole days onto this UTC day (default: the recorded day)")
    c.add_argument("--vehicle-class", default="urban_delivery", help="seed vehicle class for the registry")
    c.add_argument("--version", default="v3.2.0", help="seed software version for the deployment record")
    c.add_argument("--road-type", default="trunk", help="road_type of the heartbeats")
    c.set_defaults(func=_run_comma2k19)
    m = datasets.add_parser("commonroad-map", help="a CommonRoad scenario's lanelets as a site of the lane-map seeds",
                            epilog="example:\n  fleetloop import commonroad-map SCENE.xml --site us101 --replace")
    m.add_argument("scene", type=Path, metavar="SCENE.xml", help="CommonRoad scenario (2018b or 2020a)")
    m.add_argument("--site", required=True, help="site id to create (required)")
    m.add_argument("--out", type=Path, default=None, help=f"seed folder to write into (default: {SEEDS_DIR})")
    m.add_argument("--city", default=None, help="city code (default the scenario's map name)")
    m.add_argument("--vehicle-class", default="urban_delivery", help="seed vehicle class of the site's route")
    m.add_argument("--origin", type=float, nargs=2, metavar=("LAT", "LON"), default=None,
                   help="WGS84 origin of the site frame (default the scenario's <location>)")
    m.add_argument("--notice", type=Path, default=None,
                   help="licence notice to keep with the seeds (default LICENSE_NOTICE.txt beside SCENE)")
    m.add_argument("--replace", action="store_true", help="replace the site if it exists")
    m.set_defaults(func=_run_commonroad_map)


def _run_comma2k19(args: argparse.Namespace) -> int:
    from fleetloop.realdata.comma2k19 import ImportOptions, import_comma2k19

    landing = args.landing or args.settings.landing
    options = ImportOptions(vehicle_id=args.vehicle_id, day=args.date, vehicle_class=args.vehicle_class,
                            version=args.version, road_type=args.road_type)
    result = import_comma2k19(args.src, landing, options)
    print(f"imported comma2k19 drive as {result.vehicle_id} on {result.day} into {landing}")
    for source, n in result.rows.items():
        print(f"  {source:20s} {n:>8,d} rows")
    print(f"  licence notice copied beside every file ({len({f.parent for f in result.files})} folders)")
    return 0


def _run_commonroad_map(args: argparse.Namespace) -> int:
    from fleetloop.realdata.commonroad_map import import_commonroad_map

    result = import_commonroad_map(args.scene, args.site, seeds_dir=args.out or SEEDS_DIR, city=args.city,
                                   vehicle_class=args.vehicle_class, origin=args.origin,
                                   notice_path=args.notice, replace=args.replace)
    print(f"imported {args.scene.name} as site {result.site_id}: {result.lanes} lanes, {result.points} lane points")
    for path in result.files:
        print(f"  {path}")
    return 0
