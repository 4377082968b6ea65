"""One fleet-day raw -> published through the real Dagster job: per stage wall, CPU and peak RSS, against a scan.

    python benchmarks/bench_fleet_day.py --vehicles 10 [--hours 12] [--dir /tmp/fleetloop_bench_day_10v]
    python benchmarks/bench_fleet_day.py --reuse /tmp/fleetloop_bench_day_10v    # the same landing again

Simulates one day (``fleetloop.sim``, seed 1) into ``<dir>/landing`` unless ``--reuse`` names a folder that holds
one, then runs the daily job as ``fleetloop run`` does (``fleetloop_shell.runner.run_days``) on a fresh warehouse,
published file and Dagster instance in that folder. Stage figures come from Dagster's own step events, taken in
process as each step starts and ends: wall seconds, CPU seconds of this process and its reaped children (dbt runs
as a subprocess, the scorer in worker processes) and the peak RSS of the process tree, sampled every 0.1 s.

The scan baseline is one DuckDB pass (the settings' connection) that reads every column of the day's raw pose and
heartbeat files, and one of every source's files; ``pipeline / scan`` is the ratio of CPU seconds (stable on a
shared machine; wall seconds depend on the neighbours, so the load average is printed). The published file's
ADS and DWS tables are fingerprinted (rows and the exact sum of row hashes, doubles to 6 decimals) so two runs of the
same landing can be compared for identical numbers; ``--dbt-nodes K`` lists the K slowest dbt nodes of each dbt step
(``run_results.json``). ``--scorer-budget-s S`` / ``--scorer-max-cases N`` bound the nightly scorer as the
installation's settings do (default: the whole queue within the night window); the cases scored and not reached
are printed either way. ``--memory-limit 8GB`` sets DuckDB's limit of every connection (default: the settings').
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psutil

from fleetloop.contract import SOURCES
from fleetloop.paths import is_parquet, scan_partition
from fleetloop.settings import Settings
from fleetloop.sim import SimConfig, simulate
from fleetloop.warehouse import connect

DAY = dt.date(2026, 11, 2)
SCAN_SOURCES = ("pose", "heartbeat")  # the baseline: every pose and heartbeat column of the day
FINGERPRINT_SCHEMAS = ("ads", "dws")  # the published numbers
FINGERPRINT_DECIMALS = 6
# step key -> stage (ODS steps and gates are told apart by the check's suffix)
STEP_STAGES = {
    "warehouse_reference": "dbt reference",
    "warehouse_daily": "dbt daily",
    "warehouse_all_days": "dbt all days",
    "tag_store": "tag store",
    "scorer__counterfactual_solutions": "scorer",
    "published_warehouse": "publish",
    "report__fleetloop_report": "report",
}
CHECK_SUFFIXES = ("_reconciliation", "_expectations")
STAGE_ORDER = ("load", "ODS gates", *list(STEP_STAGES.values())[:4], "ADS gates", *list(STEP_STAGES.values())[4:])
DBT_STAGES = {"dbt reference", "dbt daily", "dbt all days"}
RSS_INTERVAL_S = 0.1


def stage_of(step: str) -> str:
    if step.startswith("ods__"):
        return "ODS gates" if step.endswith(CHECK_SUFFIXES) else "load"
    if step.startswith("ads__") and step.endswith(CHECK_SUFFIXES):
        return "ADS gates"
    return STEP_STAGES.get(step, step)


def cpu_seconds() -> float:
    """CPU seconds of this process and of every descendant (user + system): those that have ended through the
    rusage of their parents, those still running (a Spark JVM in this process, pool workers) by their own."""
    t = os.times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in psutil.Process().children(recursive=True):
        try:
            c = child.cpu_times()
            total += c.user + c.system + c.children_user + c.children_system
        except psutil.Error:
            pass
    return total


class TreeRss:
    """Peak resident memory of this process and all its children, sampled in a thread; ``reset`` starts a new
    window (one per step) while ``overall`` keeps the whole run's peak."""

    def __init__(self) -> None:
        self.peak = self.overall = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        me = psutil.Process()
        total = me.memory_info().rss
        for child in me.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = self.sample()
            self.peak, self.overall = max(self.peak, rss), max(self.overall, rss)
            self._stop.wait(RSS_INTERVAL_S)

    def reset(self) -> None:
        self.peak = self.sample()

    def __enter__(self) -> TreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Stage:
    steps: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss: int = 0


class StageMeter(logging.Handler):
    """Adds up wall, CPU and peak RSS per stage from the run's STEP_START / step-end events (the job runs its
    steps one after another in this process); keeps each dbt step's ``run_results.json``."""

    def __init__(self, rss: TreeRss, dbt_target: Path) -> None:
        super().__init__(logging.DEBUG)
        self.rss, self.dbt_target = rss, dbt_target
        self.stages: dict[str, Stage] = {}
        self.dbt_results: dict[str, dict] = {}
        self._open: tuple[str, float, float] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        from fleetloop_shell.runner import STEP_ENDS

        event = getattr(record, "dagster_meta", {}).get("dagster_event")
        if event is None or event.step_key is None:
            return
        if event.event_type_value == "STEP_START":
            self.rss.reset()
            self._open = (event.step_key, time.perf_counter(), cpu_seconds())
        elif event.event_type_value in STEP_ENDS and self._open and self._open[0] == event.step_key:
            step, t0, cpu0 = self._open
            self._open = None
            stage = self.stages.setdefault(stage_of(step), Stage())
            stage.steps += 1
            stage.wall_s += time.perf_counter() - t0
            stage.cpu_s += cpu_seconds() - cpu0
            stage.peak_rss = max(stage.peak_rss, self.rss.peak)
            results = self.dbt_target / "run_results.json"
            if stage_of(step) in DBT_STAGES and results.is_file():
                self.dbt_results[stage_of(step)] = json.loads(results.read_text())


def make_landing(home: Path, vehicles: int, hours: float, seed: int) -> None:
    landing = home / "landing"
    shutil.rmtree(home, ignore_errors=True)
    t0, cpu0 = time.perf_counter(), cpu_seconds()
    result = simulate(SimConfig(vehicles=vehicles, days=1, start=DAY, seed=seed, landing=landing,
                                hours_per_day=hours, workers=min(2, os.cpu_count() or 1)))
    print(f"simulated {vehicles} vehicles x {hours:g} h: {sum(result.rows.values()):,} rows "
          f"({result.rows.get('pose', 0):,} pose) in {time.perf_counter() - t0:.0f} s, "
          f"{cpu_seconds() - cpu0:.0f} CPU s", flush=True)


def fresh_home(home: Path, **overrides) -> Settings:
    """Settings for ``home`` (and ``overrides``) with everything but the landing removed (a first run of the day)."""
    for child in home.iterdir():
        if child.name != "landing":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    settings = Settings.for_home(home, start_date=DAY, **{k: v for k, v in overrides.items() if v is not None})
    settings.validate()
    return settings


def scan(settings: Settings, sources) -> tuple[int, float, float, int]:
    """One DuckDB pass reading every column of the day's files of ``sources``: rows, wall s, CPU s, bytes."""
    files = [p for name in sources for p in scan_partition(settings.landing, name, DAY).files]
    con = connect(settings.home / "scan.duckdb", settings)
    try:
        t0, cpu0, rows, size = time.perf_counter(), cpu_seconds(), 0, 0
        for path in files:  # one file at a time: a corrupt file (the simulator's faults) is left out
            reader = ("read_parquet(?)" if is_parquet(path)
                      else "read_json(?, format = 'newline_delimited', ignore_errors = true)")
            try:
                rows += con.execute(f"select count(*), max(hash(columns(*))) from {reader}", [str(path)]).fetchone()[0]
                size += path.stat().st_size
            except duckdb.Error:
                pass
        return rows, time.perf_counter() - t0, cpu_seconds() - cpu0, size
    finally:
        con.close()
        for p in settings.home.glob("scan.duckdb*"):
            shutil.rmtree(p) if p.is_dir() else p.unlink()


def fingerprint(published: Path) -> tuple[int, str]:
    """Tables and one digest of every published ADS and DWS table's rows and exact sum of row hashes. Doubles
    count rounded to ``FINGERPRINT_DECIMALS`` (a parallel sum of doubles differs in its last bits from run to run)
    and file paths (``*_path``, under the benchmark's home) are left out."""
    with duckdb.connect(str(published), read_only=True) as con:
        columns: dict[str, list[str]] = {}
        for table, name, kind in con.execute(
                "select table_schema || '.' || table_name, column_name, data_type from information_schema.columns "
                f"where table_schema in {FINGERPRINT_SCHEMAS} order by 1, ordinal_position").fetchall():
            if not name.endswith("_path"):
                columns.setdefault(table, []).append(
                    f"round({name}, {FINGERPRINT_DECIMALS})" if kind == "DOUBLE" else name)
        sums = {t: con.execute(f"select count(*), coalesce(sum(hash({', '.join(cols)})::hugeint), 0) from {t}")
                .fetchone() for t, cols in columns.items()}
    return len(sums), hashlib.sha256(repr(sorted(sums.items())).encode()).hexdigest()[:16]


def scorer_summary(published: Path) -> str:
    """The night's scorer outcome: cases replayed by status, not reached by cause, raw-upload requests."""
    with duckdb.connect(str(published), read_only=True) as con:
        def by(table: str, column: str) -> str:
            rows = con.execute(f"select {column}, count(*) from scorer.{table} where dt = ? group by 1 order by 1",
                               [DAY]).fetchall()
            return ", ".join(f"{key} {n:,}" for key, n in rows) or "none"

        replayed, missed = by("solutions", "status"), by("not_reached", "cause")
        uploads = con.execute("select count(*) from scorer.raw_upload_requests where dt = ?", [DAY]).fetchone()[0]
    return f"scorer: replayed {replayed}; not reached {missed}; raw-upload requests {uploads:,}"


def print_dbt_nodes(results: dict[str, dict], top: int) -> None:
    for stage, run in results.items():
        nodes = sorted(run["results"], key=lambda r: -r["execution_time"])
        kinds: dict[str, float] = {}
        for r in run["results"]:
            kind = r["unique_id"].split(".")[0]
            kinds[kind] = kinds.get(kind, 0.0) + r["execution_time"]
        print(f"{stage}: {len(nodes)} nodes, {run['elapsed_time']:.1f} s elapsed; node seconds by kind: "
              + ", ".join(f"{k} {v:.1f}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])))
        for r in nodes[:top]:
            print(f"    {r['execution_time']:7.2f} s  {r['unique_id']}")


def run_day(settings: Settings, rss: TreeRss) -> tuple[StageMeter, float, float, bool]:
    import dagster as dg

    from dagster_pipelines.jobs import STEP_LOGGER
    from fleetloop_shell.runner import run_days

    meter = StageMeter(rss, settings.home / "dbt" / "target")
    logging.getLogger(STEP_LOGGER).addHandler(meter)
    try:
        warnings.filterwarnings("ignore", category=dg.PreviewWarning)
        warnings.filterwarnings("ignore", category=dg.BetaWarning)
        t0, cpu0 = time.perf_counter(), cpu_seconds()
        (run,) = run_days(settings, [DAY], progress=lambda line: print(f"  {line}", flush=True))
        return meter, time.perf_counter() - t0, cpu_seconds() - cpu0, run.published
    finally:
        logging.getLogger(STEP_LOGGER).removeHandler(meter)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vehicles", type=int, default=10)
    ap.add_argument("--hours", type=float, default=12.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dir", type=Path, default=None, help="the benchmark's home (default: /tmp, named by fleet)")
    ap.add_argument("--reuse", type=Path, default=None, help="a home whose landing holds the simulated day")
    ap.add_argument("--dbt-nodes", type=int, default=0, help="list the slowest K dbt nodes of each dbt step")
    ap.add_argument("--scorer-budget-s", type=float, default=None, help="the scorer's wall budget (default: settings')")
    ap.add_argument("--scorer-max-cases", type=int, default=None, help="score at most N cases (default: all)")
    ap.add_argument("--memory-limit", default=None, help="DuckDB's memory limit per connection (default: settings')")
    args = ap.parse_args(argv)
    home = (args.reuse or args.dir or Path("/tmp") / f"fleetloop_bench_day_{args.vehicles}v").resolve()
    if args.reuse is None:
        make_landing(home, args.vehicles, args.hours, args.seed)
    elif not (home / "landing" / "pose" / f"dt={DAY.isoformat()}").is_dir():
        raise SystemExit(f"--reuse {home}: no simulated {DAY} in {home / 'landing'}")
    settings = fresh_home(home, scorer_budget_s=args.scorer_budget_s, scorer_max_cases=args.scorer_max_cases,
                          memory_limit=args.memory_limit)
    load0 = psutil.getloadavg()[0]
    with TreeRss() as rss:
        meter, wall, cpu, published = run_day(settings, rss)
        scans = {what: scan(settings, sources) for what, sources in
                 (("pose + heartbeat", SCAN_SOURCES), ("all sources", tuple(SOURCES)))}
    pose_rows = scans["pose + heartbeat"][0]
    print(f"\nfleet-day {DAY}: {home} ({pose_rows:,} pose + heartbeat rows); load average "
          f"{load0:.1f} -> {psutil.getloadavg()[0]:.1f}, {psutil.cpu_count()} cores")
    print(f"{'stage':<14} {'steps':>5} {'wall s':>8} {'CPU s':>8} {'peak RSS':>9}")
    stages = meter.stages
    for name in [*[s for s in STAGE_ORDER if s in stages], *sorted(set(stages) - set(STAGE_ORDER))]:
        s = stages[name]
        print(f"{name:<14} {s.steps:>5} {s.wall_s:>8.1f} {s.cpu_s:>8.1f} {s.peak_rss / 2**30:>6.2f} GB")
    in_steps_wall, in_steps_cpu = sum(s.wall_s for s in stages.values()), sum(s.cpu_s for s in stages.values())
    print(f"{'outside steps':<14} {'':>5} {wall - in_steps_wall:>8.1f} {cpu - in_steps_cpu:>8.1f}")
    print(f"{'pipeline':<14} {sum(s.steps for s in stages.values()):>5} {wall:>8.1f} {cpu:>8.1f} "
          f"{rss.overall / 2**30:>6.2f} GB")
    if "scorer" in stages:  # the night's replays run in their own window (scorer_budget_s), after the numbers
        night = stages["scorer"]
        print(f"{'without scorer':<14} {'':>5} {wall - night.wall_s:>8.1f} {cpu - night.cpu_s:>8.1f}")
    for what, (rows, scan_wall, scan_cpu, size) in scans.items():
        print(f"scan of {what}: {rows:,} rows, {size / 2**30:.2f} GiB in {scan_wall:.1f} s wall, {scan_cpu:.1f} CPU s; "
              f"pipeline / scan = {cpu / scan_cpu:.1f}x CPU ({wall / scan_wall:.1f}x wall)")
    if not published:  # the stages up to the failure are measured all the same
        print("the day was NOT published (see the lines above)")
        return 1
    tables, digest = fingerprint(settings.published)
    print(f"published numbers: {tables} ADS and DWS tables, fingerprint {digest}")
    print(scorer_summary(settings.published))
    if args.dbt_nodes:
        print_dbt_nodes(meter.dbt_results, args.dbt_nodes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
