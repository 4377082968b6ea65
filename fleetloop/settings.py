"""One settings object for a fleetloop installation, resolved once at the edge and passed down.

The edges are the operators' shell (CLI arguments over the environment), the Dagster code location (its
resources are built from these settings) and the tests. This module is the only place that reads the process
environment; everything below receives a ``Settings``.

| setting | environment variable | default |
|---|---|---|
| home | ``FLEETLOOP_HOME`` | ``./data`` (resolved against the working directory) |
| landing | ``FLEETLOOP_LANDING`` | ``<home>/landing`` |
| warehouse | ``FLEETLOOP_WAREHOUSE`` | ``<home>/warehouse/fleetloop.duckdb`` |
| published | ``FLEETLOOP_PUBLISHED`` | ``<home>/published/fleetloop.duckdb`` |
| lake | ``FLEETLOOP_LAKE`` | ``<home>/lake`` (the ODS as Hive-partitioned Parquet: ``fleetloop/lake.py``) |
| dagster_home | ``DAGSTER_HOME`` | ``<home>/dagster`` |
| engine | ``FLEETLOOP_ENGINE`` | ``duckdb`` |
| memory_limit | ``FLEETLOOP_DUCKDB_MEMORY_LIMIT`` | ``8GB`` |
| threads | ``FLEETLOOP_DUCKDB_THREADS`` | DuckDB's default (all cores) |
| max_quarantine_share | ``FLEETLOOP_MAX_QUARANTINE_SHARE`` | 0.05 |
| min_quarantined_rows | ``FLEETLOOP_MIN_QUARANTINED_ROWS`` | 50 |
| max_row_drop_share | ``FLEETLOOP_MAX_ROW_DROP_SHARE`` | 0.2 |
| start_date | ``FLEETLOOP_START_DATE`` | the first landed day (else today) |
| scorer_budget_s | ``FLEETLOOP_SCORER_BUDGET_S`` | 21600 (the night window: 6 h of wall time for the nightly replays) |
| scorer_processes | ``FLEETLOOP_SCORER_PROCESSES`` | the machine's cores (``scorer_cores``) |
| scorer_max_cases | ``FLEETLOOP_SCORER_MAX_CASES`` | none: the whole queue, within the budget |
| dbt_profiles_dir | ``FLEETLOOP_DBT_PROFILES_DIR`` | none: ``<home>/dbt/profiles.yml`` written from these settings |
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENGINES = ("duckdb", "spark")
TIME_ZONE = "UTC"  # every timestamp is UTC; casts of TIMESTAMPTZ to DATE follow the session time zone


class SettingsError(ValueError):
    """A setting that cannot be used, named with where it came from."""


@dataclass(frozen=True)
class Settings:
    """Where an installation's files are, which engine runs it, its DuckDB bounds and its gate thresholds."""

    home: Path
    landing: Path
    warehouse: Path
    published: Path
    lake: Path
    dagster_home: Path
    engine: str = "duckdb"
    # per DuckDB connection: under 4GB the pose and second-feature models of a 100-vehicle day spill, and dbt's
    # daily build costs 214 CPU s against 165 under 8GB (benchmarks/bench_fleet_day.py --memory-limit)
    memory_limit: str = "8GB"
    threads: int | None = None
    time_zone: str = TIME_ZONE
    # a source-day fails its gate when more than this share of its rows is quarantined ...
    max_quarantine_share: float = 0.05
    # ... and more than this many rows (small event sources can lose one line to a fault without alarm)
    min_quarantined_rows: int = 50
    # a reload that reads this share fewer rows than the previous load of the day waits for an operator
    max_row_drop_share: float = 0.2
    start_date: dt.date | None = None
    # the nightly scorer's wall-clock budget (the night window) and worker processes (None: the machine's cores)
    scorer_budget_s: float = 6 * 3600.0
    scorer_processes: int | None = None
    # at most this many cases a night from the head of the queue, the rest reported as not reached (None: all)
    scorer_max_cases: int | None = None
    # a folder with the installation's own dbt profile (a Spark cluster's: deploy/profiles.yml), used as it is
    dbt_profiles_dir: Path | None = None

    @classmethod
    def for_home(cls, home: Path | str, **overrides) -> Settings:
        """Settings with every file under ``home`` (the defaults of the table above)."""
        root = Path(home).resolve()
        paths = {
            "landing": root / "landing",
            "warehouse": root / "warehouse" / "fleetloop.duckdb",
            "published": root / "published" / "fleetloop.duckdb",
            "lake": root / "lake",
            "dagster_home": root / "dagster",
        }
        return cls(home=root, **(paths | overrides))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        """Settings from the environment (``os.environ`` unless given), then ``overrides`` (e.g. CLI options)."""
        env = os.environ if environ is None else environ
        found: dict[str, object] = {}
        for name, (var, parse) in _ENV.items():
            text = env.get(var, "").strip()
            if text:
                try:
                    found[name] = parse(text)
                except ValueError as exc:
                    raise SettingsError(f"{var}={text!r}: {exc}") from None
        found |= {k: v for k, v in overrides.items() if v is not None}
        home = found.pop("home", Path("data"))
        settings = cls.for_home(home, **found)
        settings.validate()
        return settings

    def replace(self, **changes) -> Settings:
        return dataclasses.replace(self, **changes)

    def validate(self) -> None:
        if self.engine not in ENGINES:
            raise SettingsError(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if not 0 <= self.max_quarantine_share <= 1 or not 0 <= self.max_row_drop_share <= 1:
            raise SettingsError("shares must lie in [0, 1]")
        if not self.scorer_budget_s > 0 or any(n is not None and n < 1
                                               for n in (self.scorer_processes, self.scorer_max_cases)):
            raise SettingsError("scorer_budget_s must be > 0, scorer_processes and scorer_max_cases >= 1")

    @property
    def scorer_cores(self) -> int:
        """The nightly scorer's worker processes: ``scorer_processes``, else the cores this process may run on."""
        if self.scorer_processes is not None:
            return self.scorer_processes
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1

    @property
    def packages(self) -> Path:
        """Counterfactual solution packages."""
        return self.home / "packages"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def logs(self) -> Path:
        """dbt's and Dagster's detailed logs (shown by the shell only when a step fails)."""
        return self.home / "logs"

    @property
    def secrets(self) -> Path:
        """Keys that must not travel with the published file (the operator pseudonym key), mode 0700."""
        return self.home / "secrets"

    def subprocess_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment for a child process (dbt, the Dagster UI): the parent's (or ``base``), every setting
        under its variable (so the child resolves the same settings), and this interpreter's ``bin`` first on
        PATH (the UI's dbt parse runs the ``dbt`` it finds there)."""
        env = dict(os.environ if base is None else base)
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        for name, (var, _) in _ENV.items():
            value = getattr(self, name)
            if value is not None:
                env[var] = value.isoformat() if isinstance(value, dt.date) else str(value)
        return env | {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def spark_workers_run_this_python() -> None:
    """PySpark started in process launches its Python workers with ``PYSPARK_PYTHON`` (else ``python3`` on PATH;
    spark-submit would set it from ``spark.pyspark.python``): make it this interpreter, where fleetloop is
    installed (the nightly scorer's Spark tasks import it)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _path(text: str) -> Path:
    return Path(text).resolve()


# settings field -> (environment variable, parser)
_ENV = {
    "home": ("FLEETLOOP_HOME", _path),
    "landing": ("FLEETLOOP_LANDING", _path),
    "warehouse": ("FLEETLOOP_WAREHOUSE", _path),
    "published": ("FLEETLOOP_PUBLISHED", _path),
    "lake": ("FLEETLOOP_LAKE", _path),
    "dagster_home": ("DAGSTER_HOME", _path),
    "engine": ("FLEETLOOP_ENGINE", str),
    "memory_limit": ("FLEETLOOP_DUCKDB_MEMORY_LIMIT", str),
    "threads": ("FLEETLOOP_DUCKDB_THREADS", int),
    "max_quarantine_share": ("FLEETLOOP_MAX_QUARANTINE_SHARE", float),
    "min_quarantined_rows": ("FLEETLOOP_MIN_QUARANTINED_ROWS", int),
    "max_row_drop_share": ("FLEETLOOP_MAX_ROW_DROP_SHARE", float),
    "start_date": ("FLEETLOOP_START_DATE", _date),
    "scorer_budget_s": ("FLEETLOOP_SCORER_BUDGET_S", float),
    "scorer_processes": ("FLEETLOOP_SCORER_PROCESSES", int),
    "scorer_max_cases": ("FLEETLOOP_SCORER_MAX_CASES", int),
    "dbt_profiles_dir": ("FLEETLOOP_DBT_PROFILES_DIR", _path),
}
