"""The warehouse resource: where the DuckDB file and the landing folder are, and how to connect."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from fleetloop.ingest.warehouse import connect
from fleetloop.paths import Workspace


class WarehouseResource(dg.ConfigurableResource):
    """The working DuckDB file and the raw landing root.

    Empty strings mean the defaults: ``FLEETLOOP_WAREHOUSE`` (as in profiles.yml) or the workspace's
    warehouse file, and the workspace's landing folder (``FLEETLOOP_HOME``).
    """

    database: str = ""
    landing: str = ""
    memory_limit: str = ""  # DuckDB memory_limit, e.g. "4GB"; empty: FLEETLOOP_DUCKDB_MEMORY_LIMIT or 4GB

    @property
    def database_path(self) -> Path:
        if self.database:
            return Path(self.database)
        env = os.environ.get("FLEETLOOP_WAREHOUSE")
        return Path(env) if env else Workspace.from_env().warehouse

    @property
    def landing_path(self) -> Path:
        return Path(self.landing) if self.landing else Workspace.from_env().landing

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one step, closed afterwards (one writer per DuckDB file)."""
        con = connect(self.database_path, memory_limit=self.memory_limit or None)
        try:
            yield con
        finally:
            con.close()


def resources() -> dict[str, dg.ConfigurableResource]:
    """The resources the domain assets expect, by key."""
    return {"warehouse": WarehouseResource()}
