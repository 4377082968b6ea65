"""``fleetloop status [--day D]``: reconciliation, quarantine and the gate outcomes of the day's last run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from fleetloop import lake
from fleetloop.ingest.schema import RECONCILIATION
from fleetloop.reconciliation import (
    PUBLISHED_RECONCILIATION,
    WORKING_RECONCILIATION,
    day_reconciliation,
    published_quarantine_groups,
    quarantine_groups,
)
from fleetloop.settings import Settings
from fleetloop.warehouse import connect


@contextmanager
def open_for_reading(settings: Settings) -> Iterator[tuple[duckdb.DuckDBPyConnection, str, bool]]:
    """The lake's ODS, the loads' own record (readable during a run, and after gates that stopped a first run
    before any warehouse was built); without one, the published file (said in the header; it holds the load's
    counts but not the quarantined lines). The flag says whether the lake was read."""
    if lake.has_partitions(settings.lake, RECONCILIATION):
        with lake.session(settings.lake, settings, ods=True) as con:
            yield con, f"lake {settings.lake}", True
        return
    if not settings.published.is_file():
        raise FileNotFoundError(f"no warehouse at {settings.warehouse} or {settings.published}: run `fleetloop run` "
                                "or `fleetloop demo` first")
    con = connect(settings.published, settings, read_only=True)
    try:
        yield con, f"published warehouse {settings.published} (no lake: counts only, no quarantined lines)", False
    finally:
        con.close()


def _last_run_gates(settings: Settings, day: dt.date) -> list[str]:
    import dagster as dg

    from dagster_pipelines.checks.results import run_gate_outcomes
    from fleetloop_shell.runner import dagster_instance

    instance = dagster_instance(settings)
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": day.isoformat()}), limit=1)
    if not runs:
        return [f"(no Dagster run recorded for {day})"]
    run = runs[0]
    gates = run_gate_outcomes(instance, run.run_id)
    failed = [g for g in gates if not g.passed]
    head = f"last run {run.run_id[:8]}: {run.status.value}, {len(gates) - len(failed)}/{len(gates)} gates passed"
    return [head, *(g.describe() for g in failed)]


def _loaded(con: duckdb.DuckDBPyConnection, table: str) -> tuple[list[dt.date], list[str]]:
    days = [r[0] for r in con.execute(f"select distinct dt from {table} order by dt").fetchall()]
    sources = [r[0] for r in con.execute(f"select distinct source from {table} order by 1").fetchall()]
    return days, sources


def _unread_entries(con: duckdb.DuckDBPyConnection, day: dt.date, source: str | None) -> list[tuple]:
    """Files, folders and sources of the day's landing that were reported, not read (the manifest's word)."""
    return con.execute(
        "select source, file_name, outcome, reason from ods.ods_landing_manifest "
        "where dt = ? and (? is null or source = ?) and outcome like 'unknown%' order by all",
        [day, source, source]).fetchall()


def day_status(settings: Settings, day: dt.date | None = None, source: str | None = None, samples: int = 3) -> str:
    """The status page of ``day`` (default: the latest loaded day); a wrong day or source lists the valid ones."""
    with open_for_reading(settings) as (con, where, working):
        table = WORKING_RECONCILIATION if working else PUBLISHED_RECONCILIATION
        days, sources = _loaded(con, table)
        if not days:
            raise ValueError(f"nothing loaded yet in the {where}")
        day = day or days[-1]
        if day not in days:
            raise ValueError(f"no reconciliation for {day} in the {where}; loaded days: "
                             + ", ".join(map(str, days)))
        if source is not None and source not in sources:
            raise ValueError(f"unknown source {source!r}; sources: {', '.join(sources)}")
        recs = day_reconciliation(con, day, source, table)
        groups = (quarantine_groups(con, day, source, samples) if working
                  else published_quarantine_groups(con, day, source))
        unread = _unread_entries(con, day, source) if working else []
    lines = [f"fleetloop status {day}  ({where})", "", "reconciliation (read = loaded + quarantined + duplicates):"]
    lines.append(f"  {'source':20s} {'files':>5s} {'read':>10s} {'loaded':>10s} {'quarant.':>9s} {'dupl.':>7s} "
                 f"{'unacc.':>6s}")
    for r in recs:
        problems = r.problems(settings)
        flag = "  <-- " + "; ".join(problems) if problems else ""
        lines.append(
            f"  {r.source:20s} {r.files:5d} {r.rows_read:10d} {r.rows_loaded:10d} {r.rows_quarantined:9d} "
            f"{r.rows_duplicate:7d} {r.rows_unaccounted:6d}{flag}"
        )
    lines += ["", "quarantine by reason:" if groups else "quarantine: empty"]
    for g in groups:
        lines.append(f"  {g.source}/{g.reason_code}: {g.rows} rows")
        lines += [f"      {s}" for s in g.samples]
    if unread:
        lines += ["", "landing entries not read (see ods.ods_landing_manifest):"]
        lines += [f"  {source}/{name}: {outcome} ({reason})" for source, name, outcome, reason in unread]
    lines += ["", "gates:", *(f"  {line}" for line in _last_run_gates(settings, day))]
    return "\n".join(lines)
