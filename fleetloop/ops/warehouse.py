"""The working warehouse: where it is (``FLEETLOOP_WAREHOUSE`` as in profiles.yml, else the workspace)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path

import duckdb

from fleetloop.paths import Workspace


def warehouse_path() -> Path:
    env = os.environ.get("FLEETLOOP_WAREHOUSE")
    return Path(env).resolve() if env else Workspace.from_env().warehouse


@contextmanager
def working_connection(path: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the working file for one step, closed at the end (dbt needs the file free)."""
    path = path or warehouse_path()
    if not path.is_file():
        raise FileNotFoundError(f"no working warehouse at {path}: run `fleetloop run` or `fleetloop demo` first")
    con = duckdb.connect(str(path))
    try:
        yield con
    finally:
        con.close()
