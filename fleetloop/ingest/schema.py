"""ODS tables generated from the raw log contract (no handwritten DDL): the columns and types of the lake's
Parquet files (``fleetloop.lake``), of the warehouse's ODS views over them, and of an ODS made of plain tables.

``ods.ods_<source>`` holds the contract's columns plus ``dt``, ``_source_file``, ``_line_number`` and
``_loaded_at``; ``ods.ods_quarantine`` and ``ods.ods_reconciliation`` record what was rejected and whether
every row read is accounted for, ``ods.ods_landing_manifest`` what the landing held (read or not) and
``ods.ods_load_history`` the rows read by every load.
"""

from __future__ import annotations

import duckdb

from fleetloop.contract import SOURCES, Source

SCHEMA = "ods"

LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("dt", "DATE"),
    ("_source_file", "VARCHAR"),
    ("_line_number", "BIGINT"),
    ("_loaded_at", "TIMESTAMPTZ"),
)
QUARANTINE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source", "VARCHAR"),
    ("dt", "DATE"),
    ("source_file", "VARCHAR"),
    ("line_number", "BIGINT"),
    ("raw_text", "VARCHAR"),
    ("reason_code", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("scope", "VARCHAR"),
    ("loaded_at", "TIMESTAMPTZ"),
)
RECONCILIATION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source", "VARCHAR"),
    ("dt", "DATE"),
    ("files", "BIGINT"),
    ("rows_read", "BIGINT"),
    ("rows_loaded", "BIGINT"),
    ("rows_quarantined", "BIGINT"),
    ("rows_duplicate", "BIGINT"),
    ("rows_unaccounted", "BIGINT"),
    ("loaded_at", "TIMESTAMPTZ"),
)
# One row per thing the landing held for a source-day: a raw file read (or quarantined whole) with its size,
# content hash and rows read, or something not read (unknown_file, unknown_folder, unknown_source) and why.
MANIFEST_COLUMNS: tuple[tuple[str, str], ...] = (
    ("dt", "DATE"),
    ("source", "VARCHAR"),
    ("file_name", "VARCHAR"),
    ("size_bytes", "BIGINT"),
    ("sha256", "VARCHAR"),
    ("rows_read", "BIGINT"),
    ("outcome", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("loaded_at", "TIMESTAMPTZ"),
)
# One row per load, never replaced: what the reconciliation gate compares a reload with.
LOAD_HISTORY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source", "VARCHAR"),
    ("dt", "DATE"),
    ("files", "BIGINT"),
    ("rows_read", "BIGINT"),
    ("row_drop_accepted", "BOOLEAN"),
    ("loaded_at", "TIMESTAMPTZ"),
)
QUARANTINE, RECONCILIATION = "ods_quarantine", "ods_reconciliation"
MANIFEST, LOAD_HISTORY = "ods_landing_manifest", "ods_load_history"
BOOKKEEPING_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    QUARANTINE: QUARANTINE_COLUMNS, RECONCILIATION: RECONCILIATION_COLUMNS, MANIFEST: MANIFEST_COLUMNS,
    LOAD_HISTORY: LOAD_HISTORY_COLUMNS}
_BOOKKEEPING = {f"{SCHEMA}.{table}": columns for table, columns in BOOKKEEPING_COLUMNS.items()}


def q(name: str) -> str:
    """A quoted SQL identifier (contract names such as ``class`` are keywords)."""
    return '"' + name.replace('"', '""') + '"'


def ods_columns(src: Source) -> list[tuple[str, str]]:
    """Name and DuckDB type of every column of the source's ODS table, in order."""
    return [(f.name, f.type) for f in src.fields] + list(LINEAGE_COLUMNS)


def table_name(src: Source) -> str:
    return f"{SCHEMA}.{src.ods_table}"


def create_sql(table: str, columns: list[tuple[str, str]] | tuple[tuple[str, str], ...], *, temp: bool = False) -> str:
    """``create table`` of ``columns`` (``temp``: a session's temporary table, as the loader stages into)."""
    cols = ",\n    ".join(f"{q(n)} {t}" for n, t in columns)
    return f"create {'temp ' if temp else ''}table if not exists {table} (\n    {cols}\n)"


def ddl() -> list[str]:
    """Every statement that creates the ODS schema, in order."""
    stmts = [f"create schema if not exists {SCHEMA}"]
    stmts += [create_sql(table_name(s), ods_columns(s)) for s in SOURCES.values()]
    stmts += [create_sql(table, columns) for table, columns in _BOOKKEEPING.items()]
    return stmts


def ensure_ods_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ODS tables if missing; refuse a table whose columns drifted from the contract."""
    for stmt in ddl():
        con.execute(stmt)
    expected = {table_name(s): ods_columns(s) for s in SOURCES.values()}
    expected |= {table: list(columns) for table, columns in _BOOKKEEPING.items()}
    rows = con.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = ? order by table_name, ordinal_position", [SCHEMA]
    ).fetchall()
    actual: dict[str, list[tuple[str, str]]] = {}
    for table, column, dtype in rows:
        actual.setdefault(f"{SCHEMA}.{table}", []).append((column, dtype))
    for table, cols in expected.items():
        if [c for c, _ in actual.get(table, [])] != [c for c, _ in cols]:
            raise RuntimeError(
                f"{table} does not match the contract (columns {[c for c, _ in actual.get(table, [])]}, "
                f"expected {[c for c, _ in cols]}); drop it or use a fresh warehouse file"
            )
