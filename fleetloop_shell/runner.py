"""Run day partitions through the one Dagster job, in process, recorded in the persistent instance."""

from __future__ import annotations

import datetime as dt
import logging
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from fleetloop.paths import parse_partition
from fleetloop.settings import Settings

RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}, "step_events": {}}}


# One run at a time per DAGSTER_HOME (every run writes the one DuckDB file); no telemetry banner.
INSTANCE_YAML = """\
concurrency:
  runs:
    max_concurrent_runs: 1
telemetry:
  enabled: false
"""


def prepare_home(settings: Settings) -> Settings:
    """Create the installation's folders and its Dagster instance (``settings.dagster_home``)."""
    for folder in (settings.landing, settings.warehouse.parent, settings.published.parent, settings.reports,
                   settings.logs, settings.dagster_home):
        folder.mkdir(parents=True, exist_ok=True)
    instance_yaml = settings.dagster_home / "dagster.yaml"
    if not instance_yaml.exists():
        instance_yaml.write_text(INSTANCE_YAML)
    return settings


def dagster_instance(settings: Settings):
    """The persistent Dagster instance of this installation (run history the UI shows)."""
    import dagster as dg

    prepare_home(settings)
    return dg.DagsterInstance.from_config(str(settings.dagster_home))


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
    failure_details: list[str] = field(default_factory=list)  # why: the error, failed dbt nodes
    deferred: bool = False  # publication refused only for a day that a later run of the batch rebuilt

    @property
    def ok(self) -> bool:
        return self.success or self.deferred

    def summary(self) -> str:
        state = ("ok, published" if self.published else "ok" if self.success
                 else "ok, publication deferred to a later day of this batch" if self.deferred else "FAILED, not published")
        return f"{self.day}  {state}  ({self.seconds:.1f} s, run {self.run_id[:8]})"

    def explain(self) -> str:
        lines = [g.describe() for g in self.failed_gates]
        lines += [f"step failed: {s}" for s in self.failed_steps]
        lines += [f"    {d}" for d in self.failure_details]
        return "\n".join(lines)


class StepProgress(logging.Handler):
    """Prints each finished step of a run (with its duration and how many assets it materialised)."""

    def __init__(self, progress: Callable[[str], None]) -> None:
        super().__init__(logging.DEBUG)
        self.progress = progress
        self.assets: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_meta", {}).get("dagster_event")
        if event is None or event.step_key is None:
            return
        kind, step = event.event_type_value, event.step_key.replace("__", "/")
        if kind == "ASSET_MATERIALIZATION":
            self.assets[step] = self.assets.get(step, 0) + 1
        elif kind == "ASSET_CHECK_EVALUATION" and not event.event_specific_data.passed:
            data = event.event_specific_data
            self.progress(f"      gate FAILED: {data.asset_key.to_user_string()} :: {data.check_name}")
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
            seconds = getattr(event.event_specific_data, "duration_ms", None)
            took = f" {seconds / 1000:.1f} s" if seconds else ""
            n = self.assets.get(step, 0)
            what = {"STEP_SUCCESS": "done", "STEP_FAILURE": "FAILED", "STEP_SKIPPED": "skipped"}[kind]
            self.progress(f"      {step}: {what}{took}" + (f" ({n} assets)" if n > 1 else ""))


def days_between(start: str | dt.date, end: str | dt.date) -> list[dt.date]:
    a, b = parse_partition(start), parse_partition(end)
    if b < a:
        raise ValueError(f"--to {b} is before --from {a}")
    return [a + dt.timedelta(days=i) for i in range((b - a).days + 1)]


def run_days(
    settings: Settings,
    days: Iterable[dt.date],
    *,
    selection: list | None = None,
    tags: dict[str, str] | None = None,
    progress: Callable[[str], None] = print,
) -> list[DayRun]:
    """Run the daily job for each day in order (one DuckDB writer), each with its gates and publication;
    ``selection`` restricts the runs to some assets (e.g. a late source and what depends on it)."""
    import dagster as dg

    from dagster_pipelines.definitions import build_definitions
    from dagster_pipelines.jobs import DAILY_JOB, STEP_LOGGER
    from dagster_pipelines.partitions import first_day

    days = list(days)
    if days:  # the partitions must hold every requested day (one without landing is refused by its load)
        settings = settings.replace(start_date=min(first_day(settings), *days))
    with warnings.catch_warnings():  # preview: partitioned checks; dbt vs. other assets' backfill policies
        warnings.filterwarnings("ignore", category=dg.PreviewWarning)
        warnings.filterwarnings("ignore", category=dg.BetaWarning)
        warnings.filterwarnings("ignore", message=".*varying BackfillPolicies")
        job = build_definitions(settings).resolve_job_def(DAILY_JOB)
    instance = dagster_instance(settings)
    handler = StepProgress(progress)
    logging.getLogger(STEP_LOGGER).addHandler(handler)
    try:
        out = []
        for i, day in enumerate(days, 1):
            handler.assets.clear()
            progress(f"[{i}/{len(days)}] {day}: raw -> ODS -> gates -> dbt -> gates -> scorer -> publish")
            out.append(_run_day(job, instance, day, selection, tags))
            progress(f"      {out[-1].summary()}")
            if not out[-1].success:
                progress(out[-1].explain())
        _mark_deferred(out)
        for run in out:
            if run.deferred:
                progress(f"      {run.summary()} (another day of the batch had to be rebuilt first)")
        return out
    finally:
        logging.getLogger(STEP_LOGGER).removeHandler(handler)


def _mark_deferred(runs: list[DayRun]) -> None:
    """A day whose only failure is the refused publication (another day was reloaded but not yet gated,
    e.g. after a killed run) is fine when a later run of the batch rebuilt that day and published."""
    for i, run in enumerate(runs):
        later = runs[i + 1:]
        if (not run.success and not run.failed_gates and run.failed_steps == ["published_warehouse"]
                and any(r.published for r in later)):
            run.deferred = True


def _run_day(job, instance, day: dt.date, selection: list | None, tags: dict[str, str] | None) -> DayRun:
    from dagster_pipelines.checks.results import blocking_failures, dbt_failures
    from dagster_pipelines.publish.assets import PUBLISHED_KEY

    started = time.perf_counter()
    result = job.execute_in_process(
        run_config=RUN_CONFIG, instance=instance, partition_key=day.isoformat(), raise_on_error=False,
        asset_selection=selection, tags={"fleetloop/trigger": "cli", **(tags or {})},
    )
    failures = result.get_step_failure_events()
    materialized = {e.event_specific_data.materialization.asset_key for e in result.get_asset_materialization_events()}
    return DayRun(
        day=day, run_id=result.run_id, success=result.success, seconds=time.perf_counter() - started,
        published=PUBLISHED_KEY in materialized, failed_gates=blocking_failures(instance, result.run_id),
        failed_steps=[e.step_key for e in failures],
        failure_details=[
            line for e in failures
            for line in [_headline(e.event_specific_data.error), *dbt_failures(_error_text(e.event_specific_data.error))]
        ],
    )


def _headline(error) -> str:
    """The innermost error's first line (the user's exception, not Dagster's wrapper)."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip().splitlines()[0][:300]


def _error_text(error) -> str:
    """The message of an error and of its causes."""
    parts = []
    while error is not None:
        parts.append(error.message)
        error = error.cause
    return "\n".join(parts)
