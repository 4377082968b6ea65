"""``fleetloop simulate``: write a simulated fleet's raw logs and truth into a landing folder."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("simulate", help="simulate a fleet into a landing folder (deterministic by seed)",
                              epilog="examples:\n  fleetloop simulate --vehicles 5 --days 1\n"
                                     "  fleetloop simulate --start 2026-11-29 --fault-rate 0.05 --landing /tmp/landing")
    p.add_argument("--vehicles", type=int, default=20, help="vehicles in the fleet")
    p.add_argument("--days", type=int, default=2, help="consecutive days to simulate")
    p.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2026, 11, 2), help="first day, YYYY-MM-DD")
    p.add_argument("--seed", type=int, default=1, help="random seed (same seed and options, same files)")
    p.add_argument("--landing", type=Path, default=None, help="landing root (default: <home>/landing)")
    p.add_argument("--hours-per-day", type=float, default=12.0, help="operating hours per vehicle and day")
    p.add_argument("--fault-rate", type=float, default=0.01, help="share of raw lines given a data fault")
    p.add_argument("--event-rate-scale", type=float, default=1.0, help="multiplier of every event rate")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="worker processes")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from fleetloop.sim import SimConfig, simulate

    landing = args.landing or args.settings.landing
    config = SimConfig(vehicles=args.vehicles, days=args.days, start=args.start, seed=args.seed, landing=landing,
                       hours_per_day=args.hours_per_day, fault_rate=args.fault_rate,
                       event_rate_scale=args.event_rate_scale, workers=args.workers)
    t0 = time.perf_counter()
    result = simulate(config)
    wall = time.perf_counter() - t0
    print(f"simulated {config.vehicles} vehicles x {config.days} days into {result.landing} in {wall:.1f} s")
    for source, n in sorted(result.rows.items()):
        print(f"  {source:20s} {n:>12,d} rows")
    print(f"  truth: {result.truth_dir}")
    return 0
