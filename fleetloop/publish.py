"""Atomic publication of the working warehouse as the read-only file analysts query.

The working DuckDB file (``Workspace.warehouse``) is rebuilt day by day by runs; analysts read
``Workspace.published``. Publication copies a consistent snapshot of the working file into a temporary
file in the published folder, stamps it with a ``meta.publication`` row, fsyncs it and swaps it in with
``os.replace``. Readers that hold the old file keep reading the old inode; new readers see the new file;
nobody sees a half-written file or a lock (the published file is never opened for writing). A process
killed at any point leaves the previous publication intact; its temp file is removed by the next publish.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

TEMP_MARK = ".publishing-"
METHODS = ("copy_database", "file_copy")


class PublishError(RuntimeError):
    """The working warehouse cannot be published (missing, or not gated)."""


@dataclass(frozen=True)
class Publication:
    """What one publication produced."""

    path: Path
    method: str
    bytes: int
    seconds: float
    tables: int
    published_at: dt.datetime
    run_id: str
    days: tuple[str, ...]

    def as_metadata(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "method": self.method,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "tables": self.tables,
            "published_at": self.published_at.isoformat(),
            "run_id": self.run_id,
            "days": list(self.days),
        }


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temp_files(published: Path) -> list[Path]:
    """Remove temp files left by publishers that died (their pid is gone); return what was removed."""
    removed = []
    folder = published.parent
    if not folder.is_dir():
        return removed
    for p in folder.glob(f"{published.name}{TEMP_MARK}*"):
        pid_part = p.name[len(published.name) + len(TEMP_MARK):].split(".", 1)[0]
        if pid_part.isdigit() and _pid_alive(int(pid_part)) and int(pid_part) != os.getpid():
            continue
        p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _user_tables(con: duckdb.DuckDBPyConnection, catalog: str) -> int:
    return con.execute(
        "select count(*) from duckdb_tables() where database_name = ? and not internal", [catalog]
    ).fetchone()[0]


def _snapshot_copy_database(working: Path, temp: Path) -> None:
    """COPY FROM DATABASE: a compact, transactionally consistent copy of every schema, table and view."""
    con = duckdb.connect(str(working))
    try:
        src = con.execute("select current_database()").fetchone()[0]
        con.execute(f"attach '{temp}' as publish_target")
        con.execute(f'copy from database "{src}" to publish_target')
        con.execute("detach publish_target")
    finally:
        con.close()


def _snapshot_file_copy(working: Path, temp: Path) -> None:
    """CHECKPOINT the working file (folds the WAL in), then copy its bytes."""
    con = duckdb.connect(str(working))
    try:
        con.execute("checkpoint")
        shutil.copyfile(working, temp)
    finally:
        con.close()


def _stamp(temp: Path, run_id: str, published_at: dt.datetime) -> tuple[int, tuple[str, ...]]:
    """Write ``meta.publication`` into the snapshot and return (user tables, days present in ODS)."""
    con = duckdb.connect(str(temp))
    try:
        catalog = con.execute("select current_database()").fetchone()[0]
        has_recon = con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'ods' and table_name = 'ods_reconciliation'"
        ).fetchone()[0]
        days: tuple[str, ...] = ()
        if has_recon:
            days = tuple(
                str(r[0]) for r in con.execute("select distinct dt from ods.ods_reconciliation order by 1").fetchall()
            )
        con.execute("create schema if not exists meta")
        con.execute(
            "create or replace table meta.publication as select ?::varchar as run_id, "
            "?::timestamptz as published_at, ?::varchar[] as days",
            [run_id, published_at, list(days)],
        )
        con.execute("checkpoint")
        return _user_tables(con, catalog), days
    finally:
        con.close()


def publish(
    working: Path, published: Path, *, run_id: str = "manual", method: str = "file_copy"
) -> Publication:
    """Replace ``published`` atomically with a snapshot of ``working``.

    Call only after a complete, gated run (the Dagster ``published_warehouse`` asset runs behind the
    blocking checks). The previous published file stays in place until the final ``os.replace``.
    """
    if method not in METHODS:
        raise ValueError(f"publish method must be one of {METHODS}, got {method!r}")
    working, published = Path(working), Path(published)
    if not working.is_file():
        raise PublishError(f"no working warehouse at {working}: run the pipeline first")
    published.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temp_files(published)
    started = time.perf_counter()
    temp = published.with_name(f"{published.name}{TEMP_MARK}{os.getpid()}.{time.time_ns()}")
    try:
        (_snapshot_copy_database if method == "copy_database" else _snapshot_file_copy)(working, temp)
        published_at = dt.datetime.now(dt.timezone.utc)
        tables, days = _stamp(temp, run_id, published_at)
        Path(f"{temp}.wal").unlink(missing_ok=True)  # the stamp checkpointed; nothing may be pending
        os.chmod(temp, 0o444)
        _fsync(temp)
        os.replace(temp, published)
        _fsync(published.parent)
    except BaseException:
        temp.unlink(missing_ok=True)
        Path(f"{temp}.wal").unlink(missing_ok=True)
        raise
    return Publication(
        path=published,
        method=method,
        bytes=published.stat().st_size,
        seconds=time.perf_counter() - started,
        tables=tables,
        published_at=published_at,
        run_id=run_id,
        days=days,
    )


def connect_published(published: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse (what analysts use)."""
    if not Path(published).is_file():
        raise FileNotFoundError(f"nothing published yet at {published}: run `fleetloop demo` or `fleetloop run`")
    return duckdb.connect(str(published), read_only=True)


def publication_info(published: Path) -> dict[str, object]:
    """The ``meta.publication`` row of the published file."""
    con = connect_published(published)
    try:
        row = con.execute("select run_id, published_at, days from meta.publication").fetchone()
    finally:
        con.close()
    return {"run_id": row[0], "published_at": row[1].isoformat(), "days": [str(d) for d in row[2]]}

