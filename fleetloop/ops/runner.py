"""Run day partitions through the one Dagster job, in process, recorded in the persistent instance."""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from fleetloop.definitions import PROJECT_DIR
from fleetloop.ops.warehouse import warehouse_path
from fleetloop.paths import Workspace, parse_partition

DAGSTER_HOME_DEFAULT = PROJECT_DIR / ".dagster_home"
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def prepare_environment(workspace: Workspace | None = None) -> Workspace:
    """Point dbt, Dagster and the loaders at one workspace; create its folders; default DAGSTER_HOME."""
    ws = workspace or Workspace.from_env()
    os.environ["FLEETLOOP_HOME"] = str(ws.root)
    os.environ.setdefault("FLEETLOOP_WAREHOUSE", str(ws.warehouse))
    os.environ.setdefault("DAGSTER_HOME", str(DAGSTER_HOME_DEFAULT))
    bin_dir = str(Path(sys.executable).parent)  # dagster-dbt runs the `dbt` found on PATH
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    for folder in (ws.landing, warehouse_path().parent, ws.published.parent, ws.reports, Path(os.environ["DAGSTER_HOME"])):
        folder.mkdir(parents=True, exist_ok=True)
    return ws


@dataclass
class DayRun:
    """The outcome of one day's run."""

    day: dt.date
    run_id: str
    success: bool
    seconds: float
    published: bool
    failed_gates: list = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)

    def summary(self) -> str:
        state = "ok, published" if self.published else ("ok" if self.success else "FAILED, not published")
        return f"{self.day}  {state}  ({self.seconds:.1f} s, run {self.run_id[:8]})"

    def explain(self) -> str:
        lines = [g.describe() for g in self.failed_gates]
        lines += [f"step failed: {s}" for s in self.failed_steps]
        return "\n".join(lines)


def days_between(start: str | dt.date, end: str | dt.date) -> list[dt.date]:
    a, b = parse_partition(start), parse_partition(end)
    if b < a:
        raise ValueError(f"--to {b} is before --from {a}")
    return [a + dt.timedelta(days=i) for i in range((b - a).days + 1)]


def run_days(
    days: Iterable[dt.date],
    *,
    selection: list | None = None,
    tags: dict[str, str] | None = None,
    progress: Callable[[str], None] = print,
) -> list[DayRun]:
    """Run the daily job for each day in order (one DuckDB writer), each with its gates and publication."""
    import dagster as dg

    from dagster_pipelines.checks.results import blocking_failures
    from dagster_pipelines.definitions import build_definitions
    from dagster_pipelines.jobs import DAILY_JOB
    from dagster_pipelines.publish.assets import PUBLISHED_KEY

    from dagster_pipelines.warehouse import prepare_manifest

    days = list(days)
    prepare_manifest()
    defs = build_definitions()
    job = defs.resolve_job_def(DAILY_JOB)
    instance = dg.DagsterInstance.get()
    out = []
    for i, day in enumerate(days, 1):
        progress(f"[{i}/{len(days)}] {day}: raw -> ODS -> dbt -> gates -> scorer -> publish ...")
        started = time.perf_counter()
        result = job.execute_in_process(
            run_config=QUIET_LOGS, instance=instance, partition_key=day.isoformat(),
            raise_on_error=False, asset_selection=selection, tags={"fleetloop/trigger": "cli", **(tags or {})},
        )
        published = PUBLISHED_KEY in {
            e.event_specific_data.materialization.asset_key for e in result.get_asset_materialization_events()
        }
        run = DayRun(
            day=day, run_id=result.run_id, success=result.success, seconds=time.perf_counter() - started,
            published=published, failed_gates=blocking_failures(instance, result.run_id),
            failed_steps=[e.step_key for e in result.get_step_failure_events()],
        )
        progress(f"      {run.summary()}")
        if not run.success:
            progress(run.explain())
        out.append(run)
    return out

