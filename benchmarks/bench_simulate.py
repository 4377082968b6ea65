"""Benchmark the simulator: one fleet-day, rows/s per source, wall time and peak RSS.

    python benchmarks/bench_simulate.py --vehicles 500 --hours 12

Peak RSS is sampled over the whole process tree (parent + worker processes) every 0.2 s. The landing goes to a
temporary folder that is removed afterwards unless --keep is given.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench_load import PeakRss  # the ingest benchmark's process-tree RSS sampler (same folder)

from fleetloop.sim import SimConfig, simulate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vehicles", type=int, default=50)
    ap.add_argument("--hours", type=float, default=12.0)
    ap.add_argument("--days", type=int, default=1)
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--landing", type=Path, default=None)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    landing = args.landing or Path(tempfile.mkdtemp(prefix="bench_sim_")) / "landing"
    config = SimConfig(vehicles=args.vehicles, days=args.days, start=dt.date(2026, 11, 2), seed=args.seed,
                       landing=landing, hours_per_day=args.hours, workers=args.workers)
    try:
        with PeakRss() as peak:
            t0 = time.perf_counter()
            result = simulate(config)
            wall = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file())
        print(f"simulate: {args.vehicles} vehicles x {args.days} day(s) x {args.hours:g} h, "
              f"{args.workers} worker(s), {config.shards} shards")
        print(f"wall time        {wall:10.1f} s")
        print(f"peak RSS (tree)  {peak.peak / 2**20:10.0f} MiB")
        print(f"landing size     {size / 2**30:10.2f} GiB")
        total = sum(result.rows.values())
        for source, n in sorted(result.rows.items(), key=lambda kv: -kv[1]):
            print(f"  {source:20s} {n:>13,d} rows {n / wall:>13,.0f} rows/s")
        print(f"  {'all sources':20s} {total:>13,d} rows {total / wall:>13,.0f} rows/s")
    finally:
        if not args.keep and args.landing is None:
            shutil.rmtree(landing.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
