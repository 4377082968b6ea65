"""``fleetloop quality``: regenerate the ODS suites, or validate a table of a DuckDB file."""

from __future__ import annotations

import argparse
import json
from datetime import date

from fleetloop.quality.runner import validate_table
from fleetloop.quality.suites import write_ods_suites
from fleetloop.warehouse import connect


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("quality", help="Great Expectations suites: regenerate or validate",
                       epilog="examples:\n  fleetloop quality suites\n"
                              "  fleetloop quality validate --table ods.ods_pose")
    verbs = p.add_subparsers(dest="verb", required=True)
    suites = verbs.add_parser("suites", help="rewrite the ODS suites (fleetloop/quality/expectations/ods_*.json) "
                                             "from the contract and seeds",
                              epilog="example:\n  fleetloop quality suites")
    suites.set_defaults(func=_suites)
    v = verbs.add_parser("validate", help="validate one table against one suite",
                         epilog="examples:\n  fleetloop quality validate --table ods.ods_pose --day 2026-11-30\n"
                                "  fleetloop quality validate --table ads.ads_fleet_overview_1d --json")
    v.add_argument("--warehouse", default=None, help="DuckDB file, opened read-only (default: the working warehouse)")
    v.add_argument("--table", required=True, help="schema.table, e.g. ods.ods_pose (required)")
    v.add_argument("--suite", help="suite name (default: the table name without schema)")
    v.add_argument("--day", help="validate only dt = DAY, YYYY-MM-DD (default: every day)")
    v.add_argument("--json", action="store_true", help="print the result as JSON")
    v.set_defaults(func=_validate)


def _suites(args: argparse.Namespace) -> int:
    for path in write_ods_suites():
        print(path)
    return 0


def _validate(args: argparse.Namespace) -> int:
    where = f"dt = '{date.fromisoformat(args.day)}'::date" if args.day else None
    with connect(args.warehouse or args.settings.warehouse, args.settings, read_only=True) as con:
        result = validate_table(con, args.table, args.suite or args.table.split(".")[-1], where=where)
    print(json.dumps(result.__dict__, default=str, indent=2) if args.json else result.summary())
    return 0 if result.success else 1
