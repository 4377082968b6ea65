"""Operators' verbs: ``demo``, ``run --from D --to D``, ``rerun --day D``, ``status --day D``, ``report``."""

from __future__ import annotations

import argparse
import datetime as dt

from fleetloop.paths import parse_partition


def _day(text: str) -> dt.date:
    try:
        return parse_partition(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _exit_code(runs) -> int:
    return 0 if runs and all(r.ok for r in runs) else 1


def cmd_run(args: argparse.Namespace) -> int:
    from fleetloop.ops.runner import days_between, prepare_environment, run_days

    days = days_between(args.start, args.end)
    prepare_environment()
    return _exit_code(run_days(days))


def cmd_rerun(args: argparse.Namespace) -> int:
    from fleetloop.ops.runner import prepare_environment, run_days

    prepare_environment()
    return _exit_code(run_days([args.day], tags={"fleetloop/trigger": "rerun"}))


def cmd_status(args: argparse.Namespace) -> int:
    from fleetloop.ops.status import day_status

    print(day_status(args.day, source=args.source, samples=args.samples))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from fleetloop.ops.runner import prepare_environment
    from fleetloop.report.html import write_report

    ws = prepare_environment()
    print(f"report: {write_report(ws.published, args.out or ws.reports / 'fleetloop_report.html')}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from fleetloop.ops.demo import DemoConfig, run_demo

    cfg = DemoConfig(vehicles=args.vehicles, days=args.days, seed=args.seed, hours_per_day=args.hours_per_day,
                     start=args.start)
    return run_demo(cfg)


def register(sub: argparse._SubParsersAction) -> None:
    from fleetloop.ops.demo import DemoConfig

    default = DemoConfig()
    p = sub.add_parser("demo", help="simulate the default fleet, run every day with its gates, publish, report")
    p.add_argument("--vehicles", type=int, default=default.vehicles)
    p.add_argument("--days", type=int, default=default.days)
    p.add_argument("--seed", type=int, default=default.seed)
    p.add_argument("--hours-per-day", type=float, default=default.hours_per_day, help="operating hours per day")
    p.add_argument("--start", type=_day, default=None, help="first day (default: DAYS days before today, UTC)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("run", help="run a date range of day partitions through Dagster (gated, then published)")
    p.add_argument("--from", dest="start", type=_day, required=True, metavar="YYYY-MM-DD")
    p.add_argument("--to", dest="end", type=_day, required=True, metavar="YYYY-MM-DD")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("rerun", help="rebuild one day (ODS reload replaces the day; dbt replaces it downstream)")
    p.add_argument("--day", type=_day, required=True, metavar="YYYY-MM-DD")
    p.set_defaults(func=cmd_rerun)

    p = sub.add_parser("status", help="a day's reconciliation, quarantine and the gates of its last run")
    p.add_argument("--day", type=_day, required=True, metavar="YYYY-MM-DD")
    p.add_argument("--source", default=None, help="only this raw source")
    p.add_argument("--samples", type=int, default=3, help="example quarantined rows per reason")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("report", help="write the HTML report from the published warehouse")
    p.add_argument("--out", default=None)
    p.set_defaults(func=cmd_report)
