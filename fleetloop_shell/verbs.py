"""Operators' verbs: ``demo``, ``run --from D --to D``, ``rerun --day D``, ``status [--day D]``, ``report``,
``ui``."""

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
    from fleetloop_shell.runner import days_between, run_days

    return _exit_code(run_days(args.settings, days_between(args.start, args.end)))


def cmd_rerun(args: argparse.Namespace) -> int:
    from fleetloop_shell.runner import run_days

    return _exit_code(run_days(args.settings, [args.day], tags={"fleetloop/trigger": "rerun"}))


def cmd_status(args: argparse.Namespace) -> int:
    from fleetloop_shell.status import day_status

    print(day_status(args.settings, args.day, source=args.source, samples=args.samples))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from fleetloop.report.html import write_report

    s = args.settings
    print(f"report: {write_report(s.published, args.out or s.reports / 'fleetloop_report.html')}")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from fleetloop_shell.ui import open_ui

    return open_ui(args.settings, args.port)


def cmd_demo(args: argparse.Namespace) -> int:
    from fleetloop_shell.demo import DemoConfig, run_demo

    cfg = DemoConfig(vehicles=args.vehicles, days=args.days, seed=args.seed, hours_per_day=args.hours_per_day,
                     start=args.start)
    return run_demo(args.settings, cfg)


def register(sub: argparse._SubParsersAction) -> None:
    from fleetloop_shell.demo import DemoConfig

    default = DemoConfig()
    p = sub.add_parser("demo", help="simulate the default fleet, run every day with its gates, publish, report")
    p.add_argument("--vehicles", type=int, default=default.vehicles, help="vehicles in the simulated fleet")
    p.add_argument("--days", type=int, default=default.days, help="days to simulate and run")
    p.add_argument("--seed", type=int, default=default.seed, help="simulation seed (same seed, same fleet)")
    p.add_argument("--hours-per-day", type=float, default=default.hours_per_day, help="operating hours per day")
    p.add_argument("--start", type=_day, default=None, help="first day (default: DAYS days before today, UTC)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("run", help="run a date range of day partitions through Dagster (gated, then published)",
                       epilog="example: fleetloop run --from 2026-11-29 --to 2026-11-30")
    p.add_argument("--from", dest="start", type=_day, required=True, metavar="YYYY-MM-DD", help="first day")
    p.add_argument("--to", dest="end", type=_day, required=True, metavar="YYYY-MM-DD", help="last day (inclusive)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("rerun", help="rebuild one day (ODS reload replaces the day; dbt replaces it downstream)",
                       epilog="example: fleetloop rerun --day 2026-11-30")
    p.add_argument("--day", type=_day, required=True, metavar="YYYY-MM-DD", help="the day to rebuild")
    p.set_defaults(func=cmd_rerun)

    p = sub.add_parser("status", help="a day's reconciliation, quarantine and the gates of its last run",
                       epilog="examples: fleetloop status; fleetloop status --day 2026-11-30 --source pose")
    p.add_argument("--day", type=_day, default=None, metavar="YYYY-MM-DD", help="the day (default: the latest loaded)")
    p.add_argument("--source", default=None, help="only this raw source (default: all)")
    p.add_argument("--samples", type=int, default=3, help="example quarantined rows per reason")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("report", help="write the HTML report from the published warehouse")
    p.add_argument("--out", default=None, help="HTML file (default: <home>/reports/fleetloop_report.html)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("ui", help="the Dagster UI on this installation's instance (the demo's runs and lineage)")
    p.add_argument("--port", type=int, default=3000, help="port of the web server")
    p.set_defaults(func=cmd_ui)
