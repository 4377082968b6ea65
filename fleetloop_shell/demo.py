"""``fleetloop demo``: simulate the default fleet, run every day through Dagster with its gates, score,
publish, print the overview and write the HTML report."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from fleetloop.contract import SOURCES
from fleetloop.report.overview import overview_text
from fleetloop.settings import Settings
from fleetloop_shell.runner import prepare_home, run_days


@dataclass(frozen=True)
class DemoConfig:
    """The default fleet: small enough to finish in a few minutes on 2 cores."""

    vehicles: int = 12
    days: int = 2
    seed: int = 7
    hours_per_day: float = 4.0
    start: dt.date | None = None  # default: the last ``days`` complete UTC days

    def day_list(self) -> list[dt.date]:
        start = self.start or dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=self.days)
        return [start + dt.timedelta(days=i) for i in range(self.days)]


class Clock:
    """Prints each step with its elapsed time."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def __call__(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.t0:6.1f} s] {message}", flush=True)


def clear_simulated_days(landing: Path, days: list[dt.date]) -> None:
    """Remove the demo days from a simulated landing (so a re-run leaves no stale files); refuse to touch
    a landing that holds files for those days but was not written by the simulator."""
    folders = [p for name in SOURCES for day in days if (p := landing / name / f"dt={day.isoformat()}").is_dir()]
    if folders and not (landing / "_truth" / "fleet.json").is_file():
        raise ValueError(f"{landing} holds non-simulated files for {days[0]}..{days[-1]}; "
                         "give the demo another home (--home DIR or FLEETLOOP_HOME)")
    for folder in folders:
        shutil.rmtree(folder)


def run_demo(settings: Settings, cfg: DemoConfig) -> int:
    from fleetloop.report.html import write_report
    from fleetloop.sim import SimConfig, simulate

    clock = Clock()
    ws = prepare_home(settings)
    days = cfg.day_list()
    clock(f"simulating {cfg.vehicles} vehicles x {cfg.days} days x {cfg.hours_per_day:g} h ({days[0]} .. {days[-1]}, "
          f"seed {cfg.seed}) into {ws.landing}")
    clear_simulated_days(ws.landing, days)
    sim = simulate(SimConfig(vehicles=cfg.vehicles, days=cfg.days, start=days[0], seed=cfg.seed,
                             hours_per_day=cfg.hours_per_day, landing=ws.landing, workers=2))
    clock(f"simulated {sum(sim.rows.values()):,} raw rows: "
          + ", ".join(f"{k} {v:,}" for k, v in sorted(sim.rows.items(), key=lambda kv: -kv[1])[:4]))
    runs = run_days(settings, days, tags={"fleetloop/trigger": "demo"}, progress=clock)
    failed = [r for r in runs if not r.ok]
    if failed:
        clock(f"{len(failed)} day(s) failed their gates; the last good publication (if any) stays in place. "
              f"See `fleetloop status --day {failed[0].day}`.")
        return 1
    clock("overview:")
    print(overview_text(ws.published), flush=True)
    report = write_report(ws.published, ws.reports / "fleetloop_report.html")
    clock(f"report written: {report}")
    clock(f"published warehouse (read-only, for analysts): {ws.published}")
    clock("lineage and run history: `python3 run.py ui` -> http://127.0.0.1:3000")
    return 0
