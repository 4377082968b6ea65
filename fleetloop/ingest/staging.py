"""Staging: the raw rows of one source and day as SQL relations with typed columns and a verdict.

Every staged relation has the contract's columns (coerced), ``_source_file``, ``_line_number``, ``_ok``
(no row rule fails), ``_reason_code``, ``_reason`` and ``_raw_text`` (only for rows that are not ok).

- JSON lines: split into numbered lines by ``readers.JsonLines`` and parsed, coerced and classified in SQL
  into the temporary table ``_ingest_json`` (it holds typed values; raw text only of rejected lines).
- Parquet: ``ParquetGroup.select`` is a query over ``read_parquet`` (one per file schema), optionally
  restricted to given primary keys before any per-row work is done. DuckDB expands glob patterns even in
  a list of file names, so it never sees a landing name: each file is read through a link of a plain name
  in the scratch folder, the file list and the landing names travel as bound variables, and a row's file
  is ``file_index``. A file with a data column named like a reader column (``file_index``,
  ``file_row_number``) is read from a copy of its contract columns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from fleetloop.contract import Source
from fleetloop.ingest import rules
from fleetloop.ingest.readers import JsonLines
from fleetloop.ingest.schema import q

JSON_STAGE = "_ingest_json"
LINES = "_ingest_lines"
READER_COLUMNS = ("file_index", "file_row_number")  # DuckDB's columns of a read_parquet row
PARQUET_VARIABLE_PREFIX = "_ingest_parquet_"
_VARIABLE = PARQUET_VARIABLE_PREFIX + "{kind}_{index}"  # session variables: a group's file list and landing names
_TABLES_PER_INSERT = 4


def pk_hash(src: Source, typed: dict[str, str] | None = None) -> str:
    """``hash(<primary key>)`` over the typed key columns (or the given typed expressions)."""
    typed = typed or {}
    return "hash(" + ", ".join(typed.get(c, q(c)) for c in src.primary_key) + ")"


def create_json_stage(con, src: Source) -> None:
    cols = [f"{q(f.name)} {f.type}" for f in src.fields]
    cols += ["_source_file VARCHAR", "_line_number BIGINT", "_ok BOOLEAN", "_reason_code VARCHAR",
             "_reason VARCHAR", "_raw_text VARCHAR"]
    con.execute(f"create temp table {JSON_STAGE} ({', '.join(cols)})")


def stage_json(con, src: Source, day: dt.date, reader: JsonLines, file: str) -> None:
    """Parse, coerce and classify the lines of one JSON-lines file into the JSON stage."""
    fields = [rules.json_field(f, i) for i, f in enumerate(src.fields, start=1)]
    paths = "[" + ", ".join(rules.lit(f"$.{f.name}") for f in src.fields) + "]"
    typed = ", ".join(f"{fs.typed} as {q(fs.field.name)}" for fs in fields)
    ok, code, reason = rules.classify_sql(rules.JSON_SHAPE_CHECKS + rules.row_checks(src, fields, day))
    names = ", ".join(q(f.name) for f in src.fields)
    shape_columns = rules.json_shape_columns(src)
    shape = ", ".join(f"{expr} as {name}" for name, expr in shape_columns.items())
    sql = f"""
insert into {JSON_STAGE}
select {names}, ?::varchar, _line_number, _ok, _reason_code, _reason,
       case when not _ok then _raw_text end
from (
    select *, {code} as _reason_code, {reason} as _reason
    from (select *, {ok} as _ok from (
        select _line_number, _raw_text, _bad_encoding, _valid, _v, _t, {", ".join(shape_columns)},
               {typed}
        from (
            select _line_number, _raw_text, _bad_encoding, _valid, {shape},
                   case when _valid then json_extract_string(_raw_text, {paths}) end as _v,
                   case when _valid then json_type(_raw_text, {paths}) end as _t
            from (select *, not _bad_encoding and json_valid(_raw_text) as _valid from {LINES})
        )
    ))
)"""
    pending: list[pa.Table] = []

    def flush() -> None:
        if pending:
            con.register(LINES, pa.concat_tables(pending))  # re-registering replaces a stale one after errors
            con.execute(sql, [file])
            con.unregister(LINES)
            pending.clear()

    for table in reader.tables():
        pending.append(table)
        if len(pending) >= _TABLES_PER_INSERT:
            flush()
    flush()


@dataclass(frozen=True)
class ParquetGroup:
    """Parquet files of one source and day that share a schema, with the SQL of each contract field."""

    src: Source
    day: dt.date
    index: int  # the group's number: its session variables hold its file list and landing names
    fields: list[rules.FieldSql]
    columns: frozenset[str]

    @property
    def scan(self) -> str:
        return f"read_parquet(getvariable('{_variable('files', self.index)}'), file_row_number = true)"

    def keys(self) -> str:
        """Primary-key hashes of every row (typed as staged), for the duplicate search."""
        typed = {fs.field.name: fs.typed for fs in self.fields}
        return f"select {pk_hash(self.src, typed)} as _k from {self.scan}"

    def select(self, keys_table: str | None = None) -> str:
        """The staged rows; with ``keys_table``, only rows whose key hash is in its ``_k`` column, filtered
        right above the scan so that the per-row rules run on those rows only. Adds ``_row_json``."""
        src, names = self.src, ", ".join(q(f.name) for f in self.src.fields)
        inner = [f"{fs.typed} as {q(fs.field.name)}" for fs in self.fields]
        inner += [f"{q(f.name)} as {q(rules.raw_name(f.name))}" for f in src.fields if f.name in self.columns]
        ok, code, reason = rules.classify_sql(rules.row_checks(src, self.fields, self.day))
        row_json = "to_json({" + ", ".join(
            f"{rules.lit(f.name)}: {q(rules.raw_name(f.name)) if f.name in self.columns else 'null'}"
            for f in src.fields) + "})::varchar"
        typed = {fs.field.name: fs.typed for fs in self.fields}
        where = f"where {pk_hash(src, typed)} in (select _k from {keys_table})" if keys_table else ""
        return f"""(
select {names}, _source_file, _line_number, _ok, _reason_code, _reason,
       case when not _ok then _row_json end as _raw_text, _row_json
from (
    select *, {code} as _reason_code, {reason} as _reason, {row_json} as _row_json
    from (select *, {ok} as _ok from (
        select {", ".join(inner)},
               getvariable('{_variable('names', self.index)}')[file_index::bigint + 1] as _source_file,
               file_row_number + 1 as _line_number
        from {self.scan}
        {where}
    ))
))"""


def _variable(kind: str, index: int) -> str:
    return _VARIABLE.format(kind=kind, index=index)


def readable_parquet(src: Source, name: str, path: Path, scratch: Path, number: int) -> Path:
    """A path DuckDB reads literally that holds ``path``'s rows: a link of a plain name in ``scratch``, or a
    copy of the contract columns when a data column is named like a reader column."""
    target = scratch / f"parquet-{number:06d}.parquet"
    schema = pq.read_schema(path)
    if any(c in schema.names for c in READER_COLUMNS):
        keep = [c for c in src.columns if c in schema.names]
        pq.write_table(pq.read_table(path, columns=keep), target)
    else:
        target.symlink_to(path.resolve())
    return target


def parquet_groups(con, src: Source, day: dt.date, files: dict[str, Path]) -> list[ParquetGroup]:
    """The Parquet files (landing name -> readable path) grouped by schema, each group read with its own
    types and coerced on its own."""
    by_schema: dict[str, list[tuple[str, Path]]] = {}
    for name, path in files.items():
        by_schema.setdefault(pq.read_schema(path).to_string(show_schema_metadata=False), []).append((name, path))
    groups = []
    for index, members in enumerate(by_schema.values()):
        con.execute(f"set variable {_variable('files', index)} = ?", [[str(p) for _, p in members]])
        con.execute(f"set variable {_variable('names', index)} = ?", [[n for n, _ in members]])
        group = ParquetGroup(src, day, index, [], frozenset())
        actual = {name: dtype for name, dtype, *_ in con.execute(f"describe select * from {group.scan}").fetchall()}
        fields = [rules.parquet_field(f, actual.get(f.name)) for f in src.fields]
        groups.append(ParquetGroup(src, day, index, fields, frozenset(actual)))
    return groups
