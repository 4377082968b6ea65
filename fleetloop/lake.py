"""The lake: ODS as Hive-partitioned Parquet that DuckDB and Spark both read. The one module that spells a lake path.

Layout under ``<lake>/ods/`` (one folder per table, one per day below it; ``dt`` lives in the path, never in a
file; every other column is in the file, typed as ``fleetloop.ingest.schema`` declares)::

    <source>/dt=YYYY-MM-DD/part-0.parquet                 ods.ods_<source>: the source-day's rows
    _quarantine/dt=YYYY-MM-DD/<source>.parquet            ods.ods_quarantine: its rejected rows and files
    _reconciliation/dt=YYYY-MM-DD/<source>.parquet        ods.ods_reconciliation: its counts
    _landing_manifest/dt=YYYY-MM-DD/<source>.parquet      ods.ods_landing_manifest: what its landing held
    _landing_manifest/dt=YYYY-MM-DD/unknown_sources.parquet   landing folders of the day that are no source
    _load_history/dt=YYYY-MM-DD/<source>-<loaded_at>-<id>.parquet   ods.ods_load_history: one file per load

Beside ODS, ``<lake>/scene/<table>/part-0.parquet`` holds the tag store's tables that dbt reads as sources
(``scene_file``): on the Spark engine the tag store is built in DuckDB and published there for Spark's all-days
models.

Every load of a source-day replaces its files, the load history excepted, which only gains one; every load of a
day rewrites ``unknown_sources.parquet`` with what it found (all loads of a day see the same landing). A file is
written beside its target under a hidden name (``.<name>.<id>.tmp``: no ``*.parquet`` glob matches it, Spark
skips dot files) and ``os.replace``d over it, so a reader sees the old file or the new one, never a part. Loads
stage in their own sessions under ``<lake>/.scratch/`` and never open the working warehouse, so loads of
different sources run side by side; the warehouse reads the lake through views (``attach_ods``).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from fleetloop.contract import SOURCES
from fleetloop.ingest.schema import BOOKKEEPING_COLUMNS, SCHEMA, ods_columns, q
from fleetloop.settings import Settings
from fleetloop.warehouse import connect

ODS = "ods"
SCENE = "scene"  # the tag store's tables for Spark (``scene_file``)
PART = "part-0.parquet"  # the one file of a source-day partition
UNKNOWN_SOURCES = "unknown_sources"  # the manifest file of a day's landing folders that are no source
SCRATCH = ".scratch"
_FOLDER = {table: "_" + table.removeprefix("ods_") for table in BOOKKEEPING_COLUMNS}
_TEMP_SUFFIX = ".tmp"


def day_folder(lake: Path, table: str, day: dt.date) -> Path:
    """The partition folder of ``table`` (a source name or a bookkeeping table such as ``ods_quarantine``)."""
    return Path(lake) / ODS / _FOLDER.get(table, table) / f"dt={day.isoformat()}"


def source_file(lake: Path, source: str, day: dt.date) -> Path:
    return day_folder(lake, source, day) / PART


def bookkeeping_file(lake: Path, table: str, source: str, day: dt.date) -> Path:
    """The file of one source-day in a bookkeeping table (``source`` may be ``UNKNOWN_SOURCES`` for the manifest)."""
    return day_folder(lake, table, day) / f"{source}.parquet"


def history_file(lake: Path, source: str, day: dt.date, loaded_at: dt.datetime) -> Path:
    """A new file of the load history: named by source, load time and a random id, never replaced."""
    stamp = loaded_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return day_folder(lake, "ods_load_history", day) / f"{source}-{stamp}-{uuid.uuid4().hex[:8]}.parquet"


def scene_file(lake: Path, table: str) -> Path:
    """The one file of a tag-store table (``schema.table``) in the lake, in a folder named by the table."""
    return Path(lake) / SCENE / table.split(".")[-1] / PART


def write_scene_tables(con: duckdb.DuckDBPyConnection, lake: Path, tables: tuple[str, ...]) -> dict[str, int]:
    """Replace the lake's copy of each tag-store table of ``con`` (all swapped in together); rows per table."""
    with replacing() as batch:
        return {table: batch.copy(con, f"select * from {table}", scene_file(lake, table)) for table in tables}


def scratch_dir(lake: Path) -> Path:
    """Where loads and lake sessions keep their staging files (beside the data: same disk, not read as a table)."""
    path = Path(lake) / SCRATCH
    path.mkdir(parents=True, exist_ok=True)
    return path


def _glob(lake: Path, table: str) -> str:
    return str(Path(lake) / ODS / _FOLDER.get(table, table) / "dt=*" / "*.parquet")


class Replacement:
    """Files written beside their targets and swapped in together by ``commit``; ``abort`` removes what was
    written. Writing everything before the first swap keeps a failed load from replacing anything."""

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []

    def beside(self, target: Path) -> Path:
        """The hidden temporary path to write ``target``'s new content to (its folder created)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}{_TEMP_SUFFIX}")
        self._pending.append((temp, target))
        return temp

    def copy(self, con: duckdb.DuckDBPyConnection, select: str, target: Path, params: list | None = None) -> int:
        """Write the rows of ``select`` as Parquet to be swapped over ``target``; the number of rows written."""
        temp = self.beside(target)
        return con.execute(f"copy ({select}) to {_lit(str(temp))} (format parquet)", params or []).fetchone()[0]

    def commit(self) -> None:
        for temp, target in self._pending:
            os.replace(temp, target)
        self._pending.clear()

    def abort(self) -> None:
        for temp, _ in self._pending:
            temp.unlink(missing_ok=True)
        self._pending.clear()


@contextmanager
def replacing() -> Iterator[Replacement]:
    """A ``Replacement`` committed when the block ends normally and aborted when it raises."""
    batch = Replacement()
    try:
        yield batch
    except BaseException:
        batch.abort()
        raise
    batch.commit()


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def has_partitions(lake: Path, table: str) -> bool:
    """Whether ``table`` (a source name or a bookkeeping table) has a file in the lake."""
    return next(Path(lake).glob(str(Path(ODS) / _FOLDER.get(table, table) / "dt=*" / "*.parquet")), None) is not None


def _view_sql(lake: Path, table: str, columns: list[tuple[str, str]]) -> str:
    """The select of one ODS view: the table's columns in order over its Parquet files, ``dt`` from the path;
    an empty relation of the same types while the table has no partition yet (DuckDB refuses an empty glob)."""
    names = ", ".join(q(name) for name, _ in columns)
    if not has_partitions(lake, table):
        return "select " + ", ".join(f"cast(null as {dtype}) as {q(name)}" for name, dtype in columns) + " where false"
    return (f"select {names} from read_parquet({_lit(_glob(lake, table))}, hive_partitioning = true, "
            "hive_types = {'dt': 'DATE'})")


def views(lake: Path) -> dict[str, str]:
    """Every ODS view (``ods.ods_<source>`` and the bookkeeping tables) by name, as its select over the lake."""
    out = {s.ods_table: _view_sql(lake, s.name, ods_columns(s)) for s in SOURCES.values()}
    out |= {table: _view_sql(lake, table, list(columns)) for table, columns in BOOKKEEPING_COLUMNS.items()}
    return out


def attach_ods(con: duckdb.DuckDBPyConnection, lake: Path) -> None:
    """Create or replace the ODS views of ``con``'s database over the lake, in one transaction. A source without
    a partition gets an empty typed view, so call this again after a source's first load; once a table has
    files, its view sees every day added later. ODS tables of a warehouse from before the lake are dropped
    (their days load again into the lake)."""
    con.execute("begin transaction")
    try:
        con.execute(f"create schema if not exists {SCHEMA}")
        tables = {name for (name,) in con.execute(
            "select table_name from duckdb_tables() where database_name = current_database() and schema_name = ?",
            [SCHEMA]).fetchall()}
        for name, select in views(lake).items():
            if name in tables:
                con.execute(f"drop table {SCHEMA}.{q(name)}")
            con.execute(f"create or replace view {SCHEMA}.{q(name)} as {select}")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


@contextmanager
def session(lake: Path, settings: Settings | None = None, *, ods: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A scratch DuckDB session under the lake's scratch folder (bounded like every session by
    ``fleetloop.warehouse.connect``), removed afterwards; with ``ods``, its ``ods`` schema views the lake. Loads
    stage in one; the gates read the ODS through one, never opening the working warehouse."""
    with tempfile.TemporaryDirectory(prefix="session-", dir=scratch_dir(lake)) as tmp:
        con = connect(Path(tmp) / "session.duckdb", settings)
        try:
            if ods:
                attach_ods(con, lake)
            yield con
        finally:
            con.close()
