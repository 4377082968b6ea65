"""Run day partitions through the one Dagster job, in process, recorded in the persistent instance."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from fleetloop.paths import parse_partition
from fleetloop.runlock import RunLockBusy
from fleetloop.settings import Settings

RUN_CONFIG = {"loggers": {"step_events": {}}}  # the events reach the shell's log file and its progress


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
    failures: dict[str, list[str]] = field(default_factory=dict)  # failed step -> why: its error, failed dbt nodes
    deferred: bool = False  # publication refused only for a day that a later run of the batch rebuilt
    phase_seconds: dict[str, float] = field(default_factory=dict)  # step time per phase (ods, warehouse, ...)

    @property
    def ok(self) -> bool:
        return self.success or self.deferred

    @property
    def failed_steps(self) -> list[str]:
        return list(self.failures)

    @property
    def failure_details(self) -> list[str]:
        return [line for lines in self.failures.values() for line in lines]

    def failure_groups(self) -> dict[tuple[str, ...], list[str]]:
        """Failed steps grouped by their failure (eleven loads failing alike are one problem)."""
        groups: dict[tuple[str, ...], list[str]] = {}
        for step, lines in self.failures.items():
            groups.setdefault(tuple(lines), []).append(step)
        return groups

    def summary(self) -> str:
        state = ("ok, published" if self.published else "ok" if self.success
                 else "ok, publication deferred to a later day of this batch" if self.deferred
                 else "FAILED, not published")
        phases = ", ".join(f"{name} {seconds:.1f}" for name, seconds in self.phase_seconds.items())
        return f"{self.day}  {state}  {self.seconds:.1f} s" + (f" ({phases})" if phases else "") + \
            f"  run {self.run_id[:8]}"

    def explain(self) -> str:
        lines = [g.describe() for g in self.failed_gates]
        for details, steps in self.failure_groups().items():
            lines.append(f"step failed: {', '.join(steps)}" if len(steps) == 1
                         else f"{len(steps)} steps failed alike: {', '.join(steps)}")
            lines += [f"    {d}" for d in details]
        return "\n".join(lines)


class RunRefused(RuntimeError):
    """A run that did not start because another run holds the warehouse (the run lock's message)."""


class RunWatcher:
    """What a batch of day runs reports as it goes; this one prints each day's outcome through ``progress``."""

    def __init__(self, progress: Callable[[str], None] = print) -> None:
        self.progress = progress

    def stage(self, description: str) -> contextlib.AbstractContextManager:
        """A preparation step without day (building the definitions)."""
        return contextlib.nullcontext()

    def day(self, index: int, count: int, day: dt.date, steps: int) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def step_started(self, step: str) -> None:
        pass

    def step_finished(self, step: str) -> None:
        pass

    def day_finished(self, index: int, count: int, run: DayRun) -> None:
        self.progress(f"[{index}/{count}] {run.summary()}")
        if not run.ok:
            self.progress(run.explain())


RUN_STEP = "run"  # where a failure outside any step is filed
STEP_ENDS = frozenset({"STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"})


class StepEvents(logging.Handler):
    """Turns the run's Dagster events into watcher calls and adds up each phase's time (the step key's first
    part: ods, warehouse, ads, ...)."""

    def __init__(self, watcher: RunWatcher) -> None:
        super().__init__(logging.DEBUG)
        self.watcher = watcher
        self.phase_seconds: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_meta", {}).get("dagster_event")
        if event is None or event.step_key is None:
            return
        kind, step = event.event_type_value, event.step_key
        if kind == "STEP_START":
            self.watcher.step_started(step)
        elif kind in STEP_ENDS:
            duration_ms = getattr(event.event_specific_data, "duration_ms", None) or 0.0
            phase = step.split("__")[0]
            self.phase_seconds[phase] = self.phase_seconds.get(phase, 0.0) + duration_ms / 1000
            self.watcher.step_finished(step)


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
    watcher: RunWatcher | None = None,
) -> list[DayRun]:
    """Run the daily job for each day in order (one DuckDB writer), each with its gates and publication;
    ``selection`` restricts the runs to some assets (e.g. a late source and what depends on it). Raises
    ``RunRefused`` when another run holds the warehouse."""
    import dagster as dg

    from dagster_pipelines.definitions import build_definitions
    from dagster_pipelines.jobs import DAILY_JOB, STEP_LOGGER
    from dagster_pipelines.partitions import first_day

    watcher = watcher or RunWatcher(progress)
    days = list(days)
    if days:  # the partitions must hold every requested day (one without landing is refused by its load)
        settings = settings.replace(start_date=min(first_day(settings), *days))
    with watcher.stage("loading the Dagster definitions"), warnings.catch_warnings():
        # preview: partitioned checks; dbt vs. other assets' backfill policies
        warnings.filterwarnings("ignore", category=dg.PreviewWarning)
        warnings.filterwarnings("ignore", category=dg.BetaWarning)
        warnings.filterwarnings("ignore", message=".*varying BackfillPolicies")
        job = build_definitions(settings).resolve_job_def(DAILY_JOB)
        instance = dagster_instance(settings)
    steps = len((job.get_subset(asset_selection=set(selection)) if selection else job).graph.nodes)
    handler = StepEvents(watcher)
    logging.getLogger(STEP_LOGGER).addHandler(handler)
    try:
        out = []
        for i, day in enumerate(days, 1):
            handler.phase_seconds = {}
            with watcher.day(i, len(days), day, steps):
                out.append(_run_day(job, instance, day, selection, tags))
            out[-1].phase_seconds = handler.phase_seconds
            watcher.day_finished(i, len(days), out[-1])
        _mark_deferred(out)
        for i, run in enumerate(out, 1):
            if run.deferred:
                watcher.day_finished(i, len(out), run)
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
    from dagster_pipelines.checks.results import blocking_failures
    from dagster_pipelines.jobs import TRIGGER_TAG
    from dagster_pipelines.publish.assets import PUBLISHED_KEY

    started = time.perf_counter()
    result = job.execute_in_process(
        run_config=RUN_CONFIG, instance=instance, partition_key=day.isoformat(), raise_on_error=False,
        asset_selection=selection, tags={TRIGGER_TAG: "cli", **(tags or {})},
    )
    refusal = next((e for e in _errors(result) if e.cls_name == RunLockBusy.__name__), None)
    if refusal:
        raise RunRefused(_message(refusal))
    failures = {e.step_key: _why(e.event_specific_data.error) for e in result.get_step_failure_events()}
    if not result.success and not failures:  # the run itself failed (e.g. a resource would not start)
        error = next(_errors(result), None)
        failures = {RUN_STEP: _why(error) if error else ["the run failed outside any step (see the log)"]}
    materialized = {e.event_specific_data.materialization.asset_key for e in result.get_asset_materialization_events()}
    return DayRun(
        day=day, run_id=result.run_id, success=result.success, seconds=time.perf_counter() - started,
        published=PUBLISHED_KEY in materialized, failed_gates=blocking_failures(instance, result.run_id),
        failures=failures,
    )


def _why(error) -> list[str]:
    """A step's failure in a few lines: the user's exception, then the dbt nodes that failed."""
    from dagster_pipelines.checks.results import dbt_failures

    return [_headline(error), *dbt_failures(_error_text(error))]


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


def _message(error) -> str:
    """An error's message without its class name (``pkg.mod.Class: text`` -> ``text``)."""
    head, sep, rest = error.message.strip().partition(": ")
    return rest if sep and head.rsplit(".", 1)[-1] == error.cls_name else error.message.strip()


def _errors(result):
    """The innermost error of every event of the run that carries one."""
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None)
        if error is not None:
            while error.cause is not None:
                error = error.cause
            yield error
