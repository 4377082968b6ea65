"""``fleetloop import <dataset>``: turn recorded real driving into raw landing files."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from fleetloop.paths import Workspace

DEFAULT_COMMA2K19 = Path("/work/shared/realdata/comma2k19_example1")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="import recorded real driving into the landing (raw contract)")
    datasets = p.add_subparsers(dest="dataset", required=True, metavar="DATASET")
    c = datasets.add_parser("comma2k19", help="a comma2k19 example segment (telemetry CSVs + LICENSE_NOTICE)")
    c.add_argument("--src", type=Path, default=DEFAULT_COMMA2K19, help=f"segment folder (default {DEFAULT_COMMA2K19})")
    c.add_argument("--landing", type=Path, default=None, help="landing root (default $FLEETLOOP_HOME/landing)")
    c.add_argument("--vehicle-id", default=None, help="vehicle id (default comma2k19_<dongle id>)")
    c.add_argument("--date", type=dt.date.fromisoformat, default=None,
                   help="move the drive by whole days onto this UTC day (default: the recorded day)")
    c.add_argument("--vehicle-class", default="urban_delivery", help="seed vehicle class for the registry")
    c.add_argument("--version", default="v3.2.0", help="seed software version for the deployment record")
    c.add_argument("--road-type", default="trunk", help="road_type of the heartbeats")
    c.set_defaults(func=_run_comma2k19)


def _run_comma2k19(args: argparse.Namespace) -> int:
    from fleetloop.realdata.comma2k19 import ImportOptions, import_comma2k19

    landing = args.landing or Workspace.from_env().landing
    options = ImportOptions(vehicle_id=args.vehicle_id, day=args.date, vehicle_class=args.vehicle_class,
                            version=args.version, road_type=args.road_type)
    result = import_comma2k19(args.src, landing, options)
    print(f"imported comma2k19 drive as {result.vehicle_id} on {result.day} into {landing}")
    for source, n in result.rows.items():
        print(f"  {source:20s} {n:>8,d} rows")
    print(f"  licence notice copied beside every file ({len({f.parent for f in result.files})} folders)")
    return 0
