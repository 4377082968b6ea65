"""Opening the warehouse DuckDB file with settings that let big days spill to disk instead of RAM."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

DEFAULT_MEMORY_LIMIT = "4GB"


def connect(path: Path | str, *, memory_limit: str | None = None, temp_directory: Path | None = None,
            threads: int | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse file (created with its folder if missing).

    ``memory_limit`` defaults to ``FLEETLOOP_DUCKDB_MEMORY_LIMIT`` or 4GB, ``temp_directory`` (spill
    space) to ``<file>.tmp`` beside the database; timestamps are shown and parsed in UTC.
    """
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    config = {
        "memory_limit": memory_limit or os.environ.get("FLEETLOOP_DUCKDB_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT),
        "temp_directory": str(temp_directory or path.with_name(path.name + ".tmp")),
        "preserve_insertion_order": False,
    }
    if threads:
        config["threads"] = threads
    con = duckdb.connect(str(path), read_only=read_only, config=config)
    con.execute("set TimeZone = 'UTC'")
    return con
