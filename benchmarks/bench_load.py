"""ODS load throughput: simulate one fleet-day, load every source into a fresh lake, print figures.

    python benchmarks/bench_load.py [--vehicles 50] [--hours 12] [--dir /tmp/fleetloop_bench_load]
    python benchmarks/bench_load.py --vehicles 500 --hours 12      # the issue's target day (~216M pose rows)

Prints, per source, rows read and loaded, wall seconds and rows/s; the total wall time; and peak RSS
(this process plus its children, sampled every 0.2 s, and the kernel's high-water marks). Target:
>= 1M pose rows/s on 2 cores with peak RSS <= 8 GB. The simulation is timed separately.
On a shared machine wall time depends on the neighbours; the CPU seconds of each load are printed too,
with ``rows/s@2cpu`` = rows / (CPU seconds / 2), the rate if the load had both cores to itself.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import shutil
import threading
import time
from pathlib import Path

import psutil

from fleetloop.contract import SOURCES
from fleetloop.ingest import load_partition
from fleetloop.settings import Settings
from fleetloop.sim import SimConfig, simulate

DAY = dt.date(2026, 11, 2)


class PeakRss:
    """Peak resident memory of this process and all its children, sampled in a thread."""

    def __init__(self, interval_s: float = 0.2):
        self.interval_s, self.peak = interval_s, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        me = psutil.Process()
        total = me.memory_info().rss
        for child in me.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self.interval_s)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


def _cpu() -> float:
    t = psutil.Process().cpu_times()
    return t.user + t.system


def _gb(n: float) -> str:
    return f"{n / 2**30:.2f} GB"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vehicles", type=int, default=50)
    ap.add_argument("--hours", type=float, default=12.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fault-rate", type=float, default=0.01)
    ap.add_argument("--workers", type=int, default=2, help="simulator worker processes")
    ap.add_argument("--memory-limit", default=None, help="DuckDB memory_limit (default: the settings')")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/fleetloop_bench_load"))
    ap.add_argument("--reuse", action="store_true", help="reuse an existing simulated landing in --dir")
    ap.add_argument("--keep", action="store_true", help="keep the landing and lake afterwards")
    ap.add_argument("--source", action="append", choices=sorted(SOURCES),
                    help="load only this source (repeatable; default all) to save disk on a shared machine")
    args = ap.parse_args()

    landing, lake = args.dir / "landing", args.dir / "lake"
    if not args.reuse:
        shutil.rmtree(args.dir, ignore_errors=True)
        args.dir.mkdir(parents=True)
        t0 = time.perf_counter()
        with PeakRss() as sim_rss:
            simulate(SimConfig(vehicles=args.vehicles, days=1, start=DAY, seed=args.seed, landing=landing,
                               hours_per_day=args.hours, fault_rate=args.fault_rate, workers=args.workers))
        landing_bytes = sum(p.stat().st_size for p in landing.rglob('*') if p.is_file())
        print(f"simulated {args.vehicles} vehicles x {args.hours:g} h in {time.perf_counter() - t0:.1f} s "
              f"(peak RSS {_gb(sim_rss.peak)}); landing {landing_bytes / 1e9:.2f} GB")
    shutil.rmtree(lake, ignore_errors=True)

    print(f"{'source':<20} {'files':>5} {'rows read':>13} {'loaded':>13} {'quarantined':>11} {'dupes':>8} "
          f"{'seconds':>8} {'rows/s':>12} {'cpu s':>8} {'rows/s@2cpu':>12}")
    t0, cpu0 = time.perf_counter(), _cpu()
    total = 0
    with PeakRss() as load_rss:
        settings = Settings.for_home(args.dir, lake=lake)
        settings = settings.replace(memory_limit=args.memory_limit or settings.memory_limit)
        for name in args.source or list(SOURCES):
            cpu = _cpu()
            r = load_partition(lake, landing, name, DAY, settings=settings)
            cpu = _cpu() - cpu
            total += r.rows_read
            rate = r.rows_read / r.seconds if r.seconds else 0.0
            print(f"{name:<20} {r.files:>5} {r.rows_read:>13,} {r.rows_loaded:>13,} {r.rows_quarantined:>11,} "
                  f"{r.rows_duplicate:>8,} {r.seconds:>8.1f} {rate:>12,.0f} {cpu:>8.1f} "
                  f"{r.rows_read / (cpu / 2) if cpu else 0:>12,.0f}"
                  + ("" if r.balanced else f"  UNACCOUNTED {r.rows_unaccounted}"), flush=True)
    wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
    high_water = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"total: {total:,} rows in {wall:.1f} s = {total / wall:,.0f} rows/s ({cpu:.0f} CPU s, "
          f"{total / (cpu / 2):,.0f} rows/s@2cpu; load average {psutil.getloadavg()[0]:.1f}); "
          f"peak RSS during load {_gb(load_rss.peak)} (process high-water {_gb(high_water)}); "
          f"lake {sum(p.stat().st_size for p in lake.rglob('*.parquet')) / 1e9:.2f} GB; {psutil.cpu_count()} cores")
    if not args.keep:
        shutil.rmtree(args.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
