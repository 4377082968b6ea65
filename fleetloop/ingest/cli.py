"""``fleetloop load``: load one day of the landing into the lake's ODS, then point a warehouse's ODS views at it."""

from __future__ import annotations

import argparse
from pathlib import Path

from fleetloop.contract import SOURCES
from fleetloop.ingest.loader import load_partition
from fleetloop.lake import attach_ods
from fleetloop.paths import PartitionError, parse_partition
from fleetloop.reconciliation import ACCEPT_ROW_DROP_FLAG
from fleetloop.runlock import holding
from fleetloop.warehouse import connect


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("load", help="load a day of raw landing files into ODS (validate, quarantine, reconcile)",
                       epilog="examples:\n  fleetloop load --day 2026-11-30\n"
                              "  fleetloop load --day 2026-11-30 --source pose --source heartbeat")
    p.add_argument("--landing", type=Path, default=None, help="landing root (default: <home>/landing)")
    p.add_argument("--lake", type=Path, default=None, help="lake folder written (default: <home>/lake)")
    p.add_argument("--warehouse", type=Path, default=None,
                   help="DuckDB file whose ODS views read the lake (default: the working warehouse)")
    p.add_argument("--day", required=True, type=_day, help="partition day YYYY-MM-DD (required)")
    p.add_argument("--source", action="append", choices=sorted(SOURCES),
                   help="source to load (repeatable; default all)")
    p.add_argument(ACCEPT_ROW_DROP_FLAG, action="store_true",
                   help="confirm loads that read far fewer rows than the previous load of the day")
    p.set_defaults(func=_run)


def _day(text: str):
    try:
        return parse_partition(text)
    except PartitionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _run(args: argparse.Namespace) -> int:
    landing = args.landing or args.settings.landing
    if not Path(landing).is_dir():
        raise FileNotFoundError(f"landing folder {landing} does not exist")
    unbalanced = []
    lake = args.lake or args.settings.lake
    for name in args.source or list(SOURCES):
        r = load_partition(lake, landing, name, args.day, settings=args.settings, accept_row_drop=args.accept_row_drop)
        print(f"{r.source:<20} {r.day} files={r.files:<4} read={r.rows_read:<10} loaded={r.rows_loaded:<10} "
              f"quarantined={r.rows_quarantined:<7} duplicate={r.rows_duplicate:<7} "
              f"unaccounted={r.rows_unaccounted} ({r.seconds:.1f} s)")
        if not r.balanced:
            unbalanced.append(name)
    warehouse = args.warehouse or args.settings.warehouse
    with holding(warehouse, None, purpose="fleetloop load"), connect(warehouse, args.settings) as con:
        attach_ods(con, lake)
    if unbalanced:
        print(f"fleetloop load: rows unaccounted for in {', '.join(unbalanced)}")
        return 1
    return 0
