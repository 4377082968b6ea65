"""The same fleet-day built by dbt on DuckDB and on local Spark, layer by layer: wall and CPU seconds per layer,
Spark over DuckDB, and local Spark's scaling with its cores.

    python benchmarks/bench_engines.py [--vehicles 10 --hours 12] [--spark-cores 1,2]
    python benchmarks/bench_engines.py --vehicles 4 --hours 2 --spark-cores 2 --dir /tmp/fleetloop_bench_engines_4v
    python benchmarks/bench_engines.py --reuse /tmp/fleetloop_bench_engines    # the same landing and lake again
    python benchmarks/bench_engines.py --vehicles 20 --hours 12 --tests          # larger, with the data tests

Simulates one day (``fleetloop.sim``, as ``bench_fleet_day.py`` does) unless ``--reuse``, loads it into the lake
once, then builds the dbt project once on DuckDB and once per Spark core count (``local[N]``), each in a fresh
home (its own DuckDB file, Spark metastore and warehouse under ``<home>/spark``) over the same lake. Each layer is
its own dbt invocation with the selections of the Dagster assets (``dagster_pipelines/warehouse/assets.py``):
the reference data (seeds and the dims), then the day's models of ``dwd``, ``dws`` and ``ads`` (the day as dbt's
event-time window) and the all-days ADS tables. dbt runs as a subprocess (``fleetloop-dbt``), so a layer's CPU
seconds are the rusage of dbt and of its JVM (this process adopts the JVM when dbt exits and reaps it); a first
invocation per engine, ``select 1``, is the fixed cost of any invocation (dbt's start and parse, on Spark the JVM
and the session). Models (and seeds) only; ``--tests`` adds the data tests of each layer.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import os
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from bench_fleet_day import DAY, make_landing

from dagster_pipelines.warehouse.assets import ALL_DAYS, DAILY, REFERENCE
from fleetloop.contract import SOURCES
from fleetloop.ingest.loader import load_partition
from fleetloop.lake import attach_ods
from fleetloop.settings import Settings
from fleetloop.warehouse import connect, write_dbt_profile

PROJECT_DIR = Path(__file__).resolve().parents[1]
DBT = Path(sys.executable).with_name("fleetloop-dbt")
DAY_WINDOW = ("--event-time-start", DAY.isoformat(), "--event-time-end", (DAY + dt.timedelta(days=1)).isoformat())
STARTUP = "startup"  # the fixed-cost probe, not a layer
# layer -> (dbt selection, whether it takes the day's window), in build order
LAYERS = {
    "ref": (REFERENCE, False),
    "dwd": (f"{DAILY},path:models/dwd", True),
    "dws": (f"{DAILY},path:models/dws", True),
    "ads": (f"{DAILY},path:models/ads", True),
    "ads all days": (ALL_DAYS, False),
}
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
ORPHAN_WAIT_S = 60.0  # a JVM exits once dbt's end closes its stdin


@dataclass
class Timing:
    wall_s: float
    cpu_s: float


def adopt_orphans() -> None:
    """Make this process the reaper of its orphaned descendants, so the JVM that dbt leaves behind is reaped
    here and its CPU reaches this process's children rusage."""
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def reap_orphans(before: set[int]) -> None:
    """Wait for the children this process adopted during a dbt invocation (those not among ``before``)."""
    deadline = time.monotonic() + ORPHAN_WAIT_S
    adopted = {p.pid for p in psutil.Process().children()} - before
    while adopted and time.monotonic() < deadline:
        for pid in list(adopted):
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    adopted.discard(pid)
            except ChildProcessError:
                adopted.discard(pid)
        time.sleep(0.1)
    if adopted:
        raise SystemExit(f"descendants {sorted(adopted)} of dbt still run {ORPHAN_WAIT_S:.0f} s after it ended")


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_dbt(settings: Settings, profiles: Path, args: list[str]) -> Timing:
    """One dbt invocation as a subprocess: wall seconds and CPU of dbt and every process it started."""
    command = [str(DBT), *args, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(profiles),
               "--target-path", str(settings.home / "dbt_target"), "--log-path", str(settings.logs)]
    before = {p.pid for p in psutil.Process().children()}  # e.g. multiprocessing's resource tracker
    t0, cpu0 = time.perf_counter(), children_cpu_s()
    done = subprocess.run(command, cwd=PROJECT_DIR, env=settings.subprocess_env(), capture_output=True, text=True)
    reap_orphans(before)
    timing = Timing(time.perf_counter() - t0, children_cpu_s() - cpu0)
    if done.returncode != 0:
        raise SystemExit(f"dbt {' '.join(args)} failed on {settings.engine}:\n{done.stdout[-4000:]}")
    return timing


def load_lake(home: Path) -> int:
    """The day's every source loaded into ``<home>/lake`` (replacing a previous one); the ODS rows loaded."""
    settings = Settings.for_home(home, start_date=DAY)
    shutil.rmtree(settings.lake, ignore_errors=True)
    t0 = time.perf_counter()
    rows = sum(load_partition(settings.lake, settings.landing, source, DAY, settings=settings).rows_loaded
               for source in SOURCES)
    print(f"loaded {rows:,} ODS rows into {settings.lake} in {time.perf_counter() - t0:.0f} s", flush=True)
    return rows


def build(shared: Path, engine: str, cores: int, tests: bool) -> dict[str, Timing]:
    """The project built from scratch on ``engine`` in a fresh home over the shared landing and lake."""
    home = shared / "engines" / f"{engine}_{cores}"
    shutil.rmtree(home, ignore_errors=True)
    settings = Settings.for_home(home, start_date=DAY, engine=engine, threads=cores,
                                 landing=shared / "landing", lake=shared / "lake")
    profiles = write_dbt_profile(settings)
    if engine == "duckdb":  # the working file's ODS views over the lake (Spark registers the lake itself)
        with connect(settings.warehouse, settings) as con:
            attach_ods(con, settings.lake)
    kinds = ("seed", "model", "test") if tests else ("seed", "model")
    resource_types = [arg for kind in kinds for arg in ("--resource-type", kind)]
    print(f"== {engine} on {cores} core(s)", flush=True)
    timings = {STARTUP: timed_dbt(settings, profiles, ["show", "--inline", "select 1 as one", "--limit", "1"])}
    for layer, (select, daily) in LAYERS.items():
        args = ["build", *resource_types, "--select", select, *(DAY_WINDOW if daily else ())]
        timings[layer] = timed_dbt(settings, profiles, args)
        print(f"   {layer:<14}{timings[layer].wall_s:>8.1f} s wall {timings[layer].cpu_s:>8.1f} s CPU", flush=True)
    return timings


def total(timings: dict[str, Timing]) -> Timing:
    layers = [timings[layer] for layer in LAYERS]
    return Timing(sum(t.wall_s for t in layers), sum(t.cpu_s for t in layers))


def print_side_by_side(runs: dict[str, dict[str, Timing]]) -> None:
    print(f"\n{'wall / CPU s':<16}" + "".join(f"{name:>22}" for name in runs))
    for row in (STARTUP, *LAYERS, "total"):
        cells = [total(t) if row == "total" else t[row] for t in runs.values()]
        print(f"{row:<16}" + "".join(f"{c.wall_s:>12.1f} / {c.cpu_s:>6.1f}" for c in cells))


def crossover_line(duckdb_run: dict[str, Timing], spark_run: dict[str, Timing], spark_name: str, rows: int) -> str:
    """Where Spark would catch up, from this day alone: each invocation's fixed cost is its ``select 1``, the
    rest of a layer scales with the rows; Spark catches up once its saving per row pays its extra fixed cost."""
    fixed_extra_s = len(LAYERS) * (spark_run[STARTUP].wall_s - duckdb_run[STARTUP].wall_s)
    # a layer can take less than its probe (the probe's show compiles too): no negative per-row time
    duckdb_rows_s = max(0.0, total(duckdb_run).wall_s - len(LAYERS) * duckdb_run[STARTUP].wall_s)
    spark_rows_s = max(0.0, total(spark_run).wall_s - len(LAYERS) * spark_run[STARTUP].wall_s)
    head = (f"crossover ({spark_name}): Spark's fixed cost is {fixed_extra_s:.0f} s more than DuckDB's over "
            f"{len(LAYERS)} invocations; beyond it Spark spends {spark_rows_s:.0f} s on this day's {rows:,} rows, "
            f"DuckDB {duckdb_rows_s:.0f} s")
    if spark_rows_s >= duckdb_rows_s:
        return head + ": Spark's per-row cost is higher too, so on this machine there is no crossover at any size"
    return head + f": Spark catches up near {rows * fixed_extra_s / (duckdb_rows_s - spark_rows_s):,.0f} rows a day"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vehicles", type=int, default=10)
    ap.add_argument("--hours", type=float, default=12.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--spark-cores", default="1,2", help="local Spark core counts, comma-separated")
    ap.add_argument("--tests", action="store_true", help="run each layer's data tests too")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/fleetloop_bench_engines"))
    ap.add_argument("--reuse", type=Path, default=None, help="a folder whose landing holds the simulated day")
    args = ap.parse_args(argv)
    shared = (args.reuse or args.dir).resolve()
    if args.reuse is None:
        make_landing(shared, args.vehicles, args.hours, args.seed)
    adopt_orphans()
    rows = load_lake(shared)
    machine_cores = psutil.cpu_count()
    spark_cores = [int(c) for c in args.spark_cores.split(",") if c]
    load_before = psutil.getloadavg()
    runs = {f"duckdb[{machine_cores}]": build(shared, "duckdb", machine_cores, args.tests)}
    runs |= {f"spark[local[{c}]]": build(shared, "spark", c, args.tests) for c in spark_cores}
    load_after = psutil.getloadavg()

    print(f"\nfleet-day {DAY}, {rows:,} ODS rows, {'models and tests' if args.tests else 'models'}; "
          f"machine of {machine_cores} cores; load average (1/5/15 min) "
          f"{'/'.join(f'{x:.1f}' for x in load_before)} before, {'/'.join(f'{x:.1f}' for x in load_after)} after")
    print_side_by_side(runs)
    duckdb_name, duckdb_run = next(iter(runs.items()))
    print()
    for name, run in list(runs.items())[1:]:
        ratios = "  ".join(f"{layer} {run[layer].wall_s / duckdb_run[layer].wall_s:.1f}x" for layer in LAYERS)
        print(f"{name} / {duckdb_name}: total {total(run).wall_s / total(duckdb_run).wall_s:.1f}x wall, "
              f"{total(run).cpu_s / total(duckdb_run).cpu_s:.1f}x CPU (per layer, wall: {ratios})")
    if len(spark_cores) > 1:
        lo, hi = min(spark_cores), max(spark_cores)
        slow, fast = total(runs[f"spark[local[{lo}]]"]), total(runs[f"spark[local[{hi}]]"])
        print(f"local[{hi}] vs local[{lo}]: {slow.wall_s / fast.wall_s:.2f}x faster wall "
              f"(ideal {hi / lo:.0f}x), {fast.cpu_s / slow.cpu_s:.2f}x the CPU")
    best = min((name for name in runs if name != duckdb_name), key=lambda name: total(runs[name]).wall_s)
    print(crossover_line(duckdb_run, runs[best], best, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
