"""``fleetloop status --day D``: reconciliation, quarantine and the gate outcomes of the day's last run."""

from __future__ import annotations

import datetime as dt
import os

import duckdb

from fleetloop.ops.reconciliation import day_reconciliation, quarantine_groups
from fleetloop.ops.warehouse import warehouse_path
from fleetloop.paths import Workspace


def _open_for_reading() -> tuple[duckdb.DuckDBPyConnection, str]:
    """The working file read-only; while a run holds it, the published file (said in the header)."""
    working, published = warehouse_path(), Workspace.from_env().published
    if working.is_file():
        try:
            return duckdb.connect(str(working), read_only=True), f"working warehouse {working}"
        except duckdb.IOException:
            pass
    if published.is_file():
        return duckdb.connect(str(published), read_only=True), f"published warehouse {published} (working file busy)"
    raise FileNotFoundError(f"no warehouse at {working} or {published}: run `fleetloop run` or `fleetloop demo` first")


def _last_run_gates(day: dt.date) -> list[str]:
    import dagster as dg

    from dagster_pipelines.checks.results import run_gate_outcomes

    from fleetloop.ops.runner import DAGSTER_HOME_DEFAULT

    if DAGSTER_HOME_DEFAULT.is_dir():
        os.environ.setdefault("DAGSTER_HOME", str(DAGSTER_HOME_DEFAULT))
    try:
        instance = dg.DagsterInstance.get()
    except Exception:  # no DAGSTER_HOME: no run history to show
        return ["(no Dagster instance: set DAGSTER_HOME to see run history)"]
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": day.isoformat()}), limit=1)
    if not runs:
        return [f"(no Dagster run recorded for {day})"]
    run = runs[0]
    gates = run_gate_outcomes(instance, run.run_id)
    failed = [g for g in gates if not g.passed]
    head = f"last run {run.run_id[:8]}: {run.status.value}, {len(gates) - len(failed)}/{len(gates)} gates passed"
    return [head, *(g.describe() for g in failed)]


def day_status(day: dt.date, source: str | None = None, samples: int = 3) -> str:
    con, where = _open_for_reading()
    try:
        recs = day_reconciliation(con, day, source)
        groups = quarantine_groups(con, day, source, samples)
    finally:
        con.close()
    if not recs:
        raise ValueError(f"no reconciliation for {day}{f' and source {source}' if source else ''} in the {where}")
    lines = [f"fleetloop status {day}  ({where})", "", "reconciliation (read = loaded + quarantined + duplicates):"]
    lines.append(f"  {'source':20s} {'files':>5s} {'read':>10s} {'loaded':>10s} {'quarant.':>9s} {'dupl.':>7s} {'unacc.':>6s}")
    for r in recs:
        flag = "  <-- " + "; ".join(r.problems()) if r.problems() else ""
        lines.append(
            f"  {r.source:20s} {r.files:5d} {r.rows_read:10d} {r.rows_loaded:10d} {r.rows_quarantined:9d} "
            f"{r.rows_duplicate:7d} {r.rows_unaccounted:6d}{flag}"
        )
    lines += ["", "quarantine by reason:" if groups else "quarantine: empty"]
    for g in groups:
        lines.append(f"  {g.source}/{g.reason_code}: {g.rows} rows")
        lines += [f"      {s}" for s in g.samples]
    lines += ["", "gates:", *(f"  {line}" for line in _last_run_gates(day))]
    return "\n".join(lines)
