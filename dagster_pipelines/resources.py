"""The ``warehouse`` resource: the installation's settings as Dagster configuration, and how to connect.

Built from ``fleetloop.settings.Settings`` at the code location's edge (``definitions.py``); every asset, check,
sensor and the publication read their files through it, so a configured resource and the gates can never
point at two different files. Every run that uses it (the CLI's in-process runs, the schedule's, the sensor's and
the UI's) holds the warehouse's run lock (``fleetloop.runlock``) from resource setup to teardown: a second run
is refused at set-up with a message naming the first. The job runs in process, so that is once per run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from fleetloop.runlock import RunLock
from fleetloop.settings import Settings
from fleetloop.warehouse import connect, working_connection


class WarehouseResource(dg.ConfigurableResource):
    """Where the landing, the working and published DuckDB files and the lake are; the DuckDB bounds; the gate
    thresholds (the fields of ``fleetloop.settings.Settings``)."""

    home: str
    landing: str
    database: str
    published: str
    lake: str
    dagster_home: str
    engine: str = "duckdb"
    memory_limit: str = Settings.memory_limit
    threads: int = 0  # 0: DuckDB's default
    max_quarantine_share: float = Settings.max_quarantine_share
    min_quarantined_rows: int = Settings.min_quarantined_rows
    max_row_drop_share: float = Settings.max_row_drop_share
    scorer_budget_s: float = Settings.scorer_budget_s
    scorer_processes: int = 0  # 0: the machine's cores
    scorer_max_cases: int = 0  # 0: the whole queue
    dbt_profiles_dir: str = ""  # "": the profile written from the settings
    _lock: RunLock | None = PrivateAttr(default=None)

    @classmethod
    def from_settings(cls, s: Settings) -> WarehouseResource:
        return cls(home=str(s.home), landing=str(s.landing), database=str(s.warehouse), published=str(s.published),
                   lake=str(s.lake), dagster_home=str(s.dagster_home), engine=s.engine, memory_limit=s.memory_limit,
                   threads=s.threads or 0, max_quarantine_share=s.max_quarantine_share,
                   min_quarantined_rows=s.min_quarantined_rows, max_row_drop_share=s.max_row_drop_share,
                   scorer_budget_s=s.scorer_budget_s, scorer_processes=s.scorer_processes or 0,
                   scorer_max_cases=s.scorer_max_cases or 0, dbt_profiles_dir=str(s.dbt_profiles_dir or ""))

    @property
    def settings(self) -> Settings:
        return Settings(
            home=Path(self.home), landing=Path(self.landing), warehouse=Path(self.database),
            published=Path(self.published), lake=Path(self.lake), dagster_home=Path(self.dagster_home),
            engine=self.engine, memory_limit=self.memory_limit, threads=self.threads or None,
            max_quarantine_share=self.max_quarantine_share, min_quarantined_rows=self.min_quarantined_rows,
            max_row_drop_share=self.max_row_drop_share, scorer_budget_s=self.scorer_budget_s,
            scorer_processes=self.scorer_processes or None, scorer_max_cases=self.scorer_max_cases or None,
            dbt_profiles_dir=Path(self.dbt_profiles_dir) if self.dbt_profiles_dir else None,
        )

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Take the run lock for a run (raises ``RunLockBusy`` naming the holder); no lock outside a run
        (a sensor's evaluation, ``build_resources``)."""
        if context.run is not None:
            self._lock = RunLock(self.database).acquire(context.run.run_id)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    @property
    def landing_path(self) -> Path:
        return Path(self.landing)

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the working file for one step, closed afterwards (one writer per DuckDB file)."""
        settings = self.settings
        if read_only:
            with working_connection(settings, read_only=True) as con:
                yield con
            return
        con = connect(settings.warehouse, settings)
        try:
            yield con
        finally:
            con.close()


def resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    """The resources the domain assets expect, by key."""
    return {"warehouse": WarehouseResource.from_settings(settings)}
