"""Declared tables: ``(name, DuckDB type, description)`` columns made into a table whose column comments are the
descriptions (they travel with the publication), rows written by name."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from fleetloop.publish import sql_string
from fleetloop.warehouse import insert_rows

Columns = Sequence[tuple[str, str, str]]


def create_table(con: duckdb.DuckDBPyConnection, table: str, columns: Columns, replace: bool = True) -> None:
    """Create ``table`` (empty when ``replace``, else only if missing) with its column comments."""
    verb = "create or replace table" if replace else "create table if not exists"
    con.execute(f"{verb} {table} ({', '.join(f'{n} {t}' for n, t, _ in columns)})")
    for name, _, description in columns:
        con.execute(f"comment on column {table}.{name} is {sql_string(description)}")


def write_rows(con: duckdb.DuckDBPyConnection, table: str, columns: Columns, rows: Sequence[dict]) -> int:
    """Replace the rows of ``table`` (created with its comments) by ``rows``; return how many."""
    create_table(con, table, columns)
    names = [n for n, _, _ in columns]
    return insert_rows(con, table, names, rows)


def row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"select count(*) from {table}").fetchall()[0][0]


def records(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    """The result of ``sql`` as one dict per row (nulls as None)."""
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
