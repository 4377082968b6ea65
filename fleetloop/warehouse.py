"""Opening DuckDB files: the one ``connect`` every reader and writer uses (UTC, bounded memory, spill space), and
Python rows written into a table in one columnar insert."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from fleetloop.settings import TIME_ZONE, Settings

DEFAULT_MEMORY_LIMIT = Settings.memory_limit
DBT_THREADS = 2  # models dbt builds at once (each DuckDB query uses every core already)
_ROWS_VIEW = "_fleetloop_rows"  # the Arrow table of rows being inserted, registered for the insert


def duckdb_config(path: Path, settings: Settings | None = None, threads: int | None = None) -> dict[str, object]:
    """The DuckDB settings of every session on ``path``, Python's and dbt's alike: memory bound, spill space
    ``<file>.tmp`` beside the database, UTC, no insertion-order bookkeeping."""
    config: dict[str, object] = {
        "memory_limit": settings.memory_limit if settings else DEFAULT_MEMORY_LIMIT,
        "temp_directory": str(path.with_name(path.name + ".tmp")),
        "preserve_insertion_order": False,
        "TimeZone": settings.time_zone if settings else TIME_ZONE,
    }
    threads = threads or (settings.threads if settings else None)
    if threads:
        config["threads"] = threads
    return config


def connect(path: Path | str, settings: Settings | None = None, *, read_only: bool = False,
            threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A connection to the DuckDB file ``path`` (created with its folder if missing and writable), with
    ``duckdb_config`` (defaults without ``settings``: the settings' defaults)."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    config = duckdb_config(path, settings, threads)
    time_zone = config.pop("TimeZone")
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    con.execute(f"set TimeZone = '{time_zone}'")
    return con


def write_dbt_profile(settings: Settings, directory: Path | None = None) -> Path:
    """Write the dbt profile (``profiles.yml``) of these settings into ``directory`` (default
    ``<home>/dbt``) and return the folder: one output per engine, the target ``settings.engine``. dbt opens the
    same DuckDB file with the same settings as ``connect``, or the installation's local Spark (``spark_conf``).

    On a Spark cluster the ``spark`` output uses ``method: thrift`` (a Thrift server: ``host``, ``port`` 10000,
    ``user``) or ``method: http`` (Databricks and other HTTP endpoints: ``host``, ``cluster`` or ``endpoint``,
    ``token``), with the same ``schema`` and no ``server_side_parameters`` beyond the lake setting: such a
    profile lives in ``settings.dbt_profiles_dir`` (``deploy/profiles.yml``), which is used as it is."""
    import yaml

    from fleetloop.spark import spark_conf

    if settings.dbt_profiles_dir is not None:
        if not (settings.dbt_profiles_dir / "profiles.yml").is_file():
            raise FileNotFoundError(f"no profiles.yml in FLEETLOOP_DBT_PROFILES_DIR={settings.dbt_profiles_dir}")
        return settings.dbt_profiles_dir

    directory = directory or settings.home / "dbt"
    directory.mkdir(parents=True, exist_ok=True)
    config = duckdb_config(settings.warehouse, settings)
    # database-wide options once at connect (dbt-duckdb SETs its ``settings`` on every cursor, and DuckDB refuses
    # to switch the spill folder once a query has spilled); the session's time zone on every cursor
    duckdb_output = {"type": "duckdb", "path": str(settings.warehouse), "threads": DBT_THREADS,
                     "config_options": {k: v for k, v in config.items() if k != "TimeZone"},
                     "settings": {"TimeZone": config["TimeZone"]}}
    # one model at a time: each Spark job uses every core of the local session already
    spark_output = {"type": "spark", "method": "session", "host": "NA", "schema": "default", "threads": 1,
                    "server_side_parameters": spark_conf(settings)}
    outputs = {"duckdb": duckdb_output, "spark": spark_output}
    profile = {"fleetloop": {"target": settings.engine, "outputs": outputs}}
    text = "# written by fleetloop from its settings (fleetloop/settings.py); edits are overwritten\n"
    (directory / "profiles.yml").write_text(text + yaml.safe_dump(profile, sort_keys=False))
    return directory


@contextmanager
def working_connection(settings: Settings, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the working warehouse for one step, closed at the end (dbt needs the file free)."""
    if not settings.warehouse.is_file():
        raise FileNotFoundError(f"no working warehouse at {settings.warehouse}: run `fleetloop run` or "
                                "`fleetloop demo` first")
    con = connect(settings.warehouse, settings, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, names: Sequence[str], rows: Sequence[Mapping]) -> int:
    """Insert ``rows`` (dicts; a missing key is NULL) into the columns ``names`` of ``table`` in one columnar
    insert (a prepared insert per row costs milliseconds each); return how many."""
    if rows:
        con.register(_ROWS_VIEW, pa.table({n: [r.get(n) for r in rows] for n in names}))
        try:
            columns = ", ".join(names)
            con.execute(f"insert into {table} ({columns}) select {columns} from {_ROWS_VIEW}")
        finally:
            con.unregister(_ROWS_VIEW)
    return len(rows)
