"""Operators' verbs: ``demo``, ``run --from D --to D``, ``rerun --day D``, ``status [--day D]``, ``report``,
``ui``."""

from __future__ import annotations

import argparse
import datetime as dt

from fleetloop.paths import parse_partition
from fleetloop.reconciliation import ACCEPT_ROW_DROP_FLAG, ACCEPT_ROW_DROP_TAG


def _day(text: str) -> dt.date:
    try:
        return parse_partition(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _exit_code(runs) -> int:
    return 0 if runs and all(r.ok for r in runs) else 1


def _run_tags(args: argparse.Namespace, trigger: str) -> dict[str, str]:
    from dagster_pipelines.jobs import TRIGGER_TAG

    return {TRIGGER_TAG: trigger} | ({ACCEPT_ROW_DROP_TAG: "true"} if args.accept_row_drop else {})


def _run_in_shell(args: argparse.Namespace, days: list[dt.date], trigger: str) -> int:
    from fleetloop_shell.runner import run_days
    from fleetloop_shell.terminal import ShellWatcher, session

    with session(args.settings, args.command) as shell:
        runs = run_days(args.settings, days, tags=_run_tags(args, trigger), watcher=ShellWatcher(shell))
    return _exit_code(runs)


def cmd_run(args: argparse.Namespace) -> int:
    from fleetloop_shell.runner import days_between

    return _run_in_shell(args, days_between(args.start, args.end), "cli")


def cmd_rerun(args: argparse.Namespace) -> int:
    return _run_in_shell(args, [args.day], "rerun")


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
    from fleetloop_shell.terminal import session

    cfg = DemoConfig(vehicles=args.vehicles, days=args.days, seed=args.seed, hours_per_day=args.hours_per_day,
                     start=args.start)
    with session(args.settings, args.command) as shell:
        return run_demo(args.settings, cfg, shell)


ACCEPT_ROW_DROP_HELP = ("reload even though the landing now holds fewer rows than the day's previous load; "
                        "use after checking the landing is complete")


def register(sub: argparse._SubParsersAction) -> None:
    from fleetloop_shell.demo import DemoConfig

    default = DemoConfig()
    p = sub.add_parser("demo", help="simulate the default fleet, run every day with its gates, publish, report",
                       epilog="examples:\n  fleetloop demo\n  fleetloop --home /tmp/fl demo --vehicles 3 --days 1 "
                              "--hours-per-day 1   a quick one")
    p.add_argument("--vehicles", type=int, default=default.vehicles, help="vehicles in the simulated fleet")
    p.add_argument("--days", type=int, default=default.days, help="days to simulate and run")
    p.add_argument("--seed", type=int, default=default.seed, help="simulation seed (same seed, same fleet)")
    p.add_argument("--hours-per-day", type=float, default=default.hours_per_day, help="operating hours per day")
    p.add_argument("--start", type=_day, default=None, metavar="YYYY-MM-DD",
                   help="first day (default: DAYS days before today, UTC)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("run", help="run a date range of day partitions through Dagster (gated, then published)",
                       epilog="examples:\n  fleetloop run --from 2026-11-29 --to 2026-11-30\n"
                              "  fleetloop run --from 2026-11-30 --to 2026-11-30 --accept-row-drop")
    p.add_argument("--from", dest="start", type=_day, required=True, metavar="YYYY-MM-DD", help="first day (required)")
    p.add_argument("--to", dest="end", type=_day, required=True, metavar="YYYY-MM-DD",
                   help="last day, inclusive (required)")
    p.add_argument(ACCEPT_ROW_DROP_FLAG, action="store_true", help=ACCEPT_ROW_DROP_HELP)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("rerun", help="rebuild one day (ODS reload replaces the day; dbt replaces it downstream)",
                       epilog="examples:\n  fleetloop rerun --day 2026-11-30\n"
                              "  fleetloop rerun --day 2026-11-30 --accept-row-drop   after checking the landing")
    p.add_argument("--day", type=_day, required=True, metavar="YYYY-MM-DD", help="the day to rebuild (required)")
    p.add_argument(ACCEPT_ROW_DROP_FLAG, action="store_true", help=ACCEPT_ROW_DROP_HELP)
    p.set_defaults(func=cmd_rerun)

    p = sub.add_parser("status", help="a day's reconciliation, quarantine and the gates of its last run",
                       epilog="examples:\n  fleetloop status\n  fleetloop status --day 2026-11-30 --source pose")
    p.add_argument("--day", type=_day, default=None, metavar="YYYY-MM-DD", help="the day (default: the latest loaded)")
    p.add_argument("--source", default=None, help="only this raw source (default: all)")
    p.add_argument("--samples", type=int, default=3, help="example quarantined rows per reason")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("report", help="write the HTML report from the published warehouse",
                       epilog="examples:\n  fleetloop report\n  fleetloop report --out /tmp/fleetloop.html")
    p.add_argument("--out", default=None, help="HTML file (default: <home>/reports/fleetloop_report.html)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("ui", help="the Dagster UI on this installation's instance (the demo's runs and lineage)",
                       epilog="examples:\n  fleetloop ui\n  fleetloop --home /tmp/fl ui --port 3001")
    p.add_argument("--port", type=int, default=3000, help="port of the web server")
    p.set_defaults(func=cmd_ui)
