"""``fleetloop demo``: simulate the default fleet, run every day through Dagster with its gates, score,
publish, print the overview and write the HTML report."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

from fleetloop.contract import SOURCES
from fleetloop.report.overview import overview_text
from fleetloop.settings import Settings
from fleetloop_shell.runner import prepare_home, run_days
from fleetloop_shell.terminal import Shell, ShellWatcher


@dataclass(frozen=True)
class DemoConfig:
    """The default fleet: small enough to finish in a few minutes on 2 cores."""

    vehicles: int = 12
    days: int = 2
    seed: int = 7
    hours_per_day: float = 4.0
    start: dt.date | None = None  # default: the last ``days`` complete UTC days

    def day_list(self) -> list[dt.date]:
        start = self.start or dt.datetime.now(dt.UTC).date() - dt.timedelta(days=self.days)
        return [start + dt.timedelta(days=i) for i in range(self.days)]


def clear_simulated_days(landing: Path, days: list[dt.date]) -> None:
    """Remove the demo days from a simulated landing (so a re-run leaves no stale files); refuse to touch
    a landing that holds files for those days but was not written by the simulator."""
    folders = [p for name in SOURCES for day in days if (p := landing / name / f"dt={day.isoformat()}").is_dir()]
    if folders and not (landing / "_truth" / "fleet.json").is_file():
        raise ValueError(f"{landing} holds non-simulated files for {days[0]}..{days[-1]}; "
                         "give the demo another home (--home DIR or FLEETLOOP_HOME)")
    for folder in folders:
        shutil.rmtree(folder)


def run_demo(settings: Settings, cfg: DemoConfig, shell: Shell) -> int:
    from dagster_pipelines.jobs import TRIGGER_TAG
    from fleetloop.report.html import write_report
    from fleetloop.sim import SimConfig, simulate

    ws = prepare_home(settings)
    days = cfg.day_list()
    fleet = (f"{cfg.vehicles} vehicles x {cfg.days} days x {cfg.hours_per_day:g} h ({days[0]} .. {days[-1]}, "
             f"seed {cfg.seed})")
    clear_simulated_days(ws.landing, days)
    with shell.task(f"simulating {fleet}", total=None) as task:
        sim = simulate(SimConfig(vehicles=cfg.vehicles, days=cfg.days, start=days[0], seed=cfg.seed,
                                 hours_per_day=cfg.hours_per_day, landing=ws.landing, workers=2),
                       progress=lambda done, total: task.update(completed=done, total=total))
    shell.line(f"simulated {fleet} into {ws.landing}: {sum(sim.rows.values()):,} raw rows")
    runs = run_days(settings, days, tags={TRIGGER_TAG: "demo"}, watcher=ShellWatcher(shell))
    failed = [r for r in runs if not r.ok]
    if failed:
        shell.line(f"{len(failed)} day(s) failed; the last good publication (if any) stays in place. "
                   f"See `fleetloop status --day {failed[0].day}`.")
        return 1
    with shell.task("reading the overview"):
        overview = overview_text(ws.published)
    shell.line("overview of the published warehouse:")
    shell.block(overview)
    with shell.task("writing the HTML report"):
        report = write_report(ws.published, ws.reports / "fleetloop_report.html")
    shell.line(f"report: {report}")
    shell.line(f"published warehouse (read-only, for analysts): {ws.published}")
    shell.line("lineage and run history: `fleetloop ui` (or `python3 run.py ui`), then http://127.0.0.1:3000")
    return 0
