"""Load one source and day from the landing into ODS, losslessly, inside DuckDB.

Steps, all in one transaction (so a reload replaces the day atomically):

1. stage: JSON lines are split into numbered lines (Arrow) and parsed, coerced and classified in SQL into a
   temporary table; Parquet files are read through a view (``read_parquet``) with the same columns.
   Every row gets its first failing reason code or NULL (see ``fleetloop.ingest.rules``).
2. cross-row rules on the valid rows: exact duplicates (same typed content; the first by file and line
   is kept, the others counted), primary-key conflicts (same key, different content: every version
   quarantined), km/h spikes among a vehicle's neighbouring heartbeats.
3. insert the valid rows into ``ods.ods_<source>``, the rejected ones into ``ods.ods_quarantine``, and
   the reconciliation ``rows_read = loaded + quarantined + duplicates`` into ``ods.ods_reconciliation``.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fleetloop.contract import Source, source as contract_source
from fleetloop.ingest import rules
from fleetloop.ingest.readers import Issue, JsonLines, parquet_rows
from fleetloop.ingest.schema import QUARANTINE_TABLE, RECONCILIATION_TABLE, ensure_ods_schema, q, table_name
from fleetloop.paths import parse_partition, raw_files

_STAGE, _JSON_STAGE, _PARQUET_STAGE = "_ingest_stage", "_ingest_json", "_ingest_parquet"
_MULTI, _XROW, _LINES = "_ingest_multi", "_ingest_xrow", "_ingest_lines"
_TEMP_TABLES = (_JSON_STAGE, _MULTI, _XROW)
_TEMP_VIEWS = (_STAGE, _PARQUET_STAGE)
_TABLES_PER_INSERT = 4


@dataclass(frozen=True)
class LoadReport:
    """What one load of a source and day did; ``rows_unaccounted`` must be 0."""

    source: str
    day: dt.date
    files: int
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_duplicate: int
    rows_unaccounted: int
    files_quarantined: int
    seconds: float

    @property
    def balanced(self) -> bool:
        return self.rows_unaccounted == 0

    def as_dict(self) -> dict:
        return asdict(self) | {"day": self.day.isoformat()}


def load_partition(con: duckdb.DuckDBPyConnection, landing: Path, source: str, day: str | dt.date,
                   *, scratch: Path | None = None) -> LoadReport:
    """Load ``<landing>/<source>/dt=<day>/`` into ODS, replacing whatever that day held before.

    ``scratch`` is where damaged gzip files are salvaged (default: a temporary directory).
    Raises ``PartitionError`` for a hostile source, day or file path, before anything is written.
    """
    started = time.perf_counter()
    d = parse_partition(day)
    files = raw_files(landing, source, d)
    src = contract_source(source)
    root = Path(landing).resolve()
    con.execute("set TimeZone = 'UTC'")
    ensure_ods_schema(con)
    with tempfile.TemporaryDirectory(prefix="fleetloop-ingest-", dir=scratch) as tmp:
        con.execute("begin transaction")
        try:
            report = _load(con, src, d, files, root, Path(tmp))
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        finally:
            _drop_temp(con)
    return LoadReport(**(asdict(report) | {"seconds": round(time.perf_counter() - started, 3)}))


def _load(con, src: Source, day: dt.date, files: list[Path], root: Path, tmp: Path) -> LoadReport:
    con.execute(f"delete from {table_name(src)} where dt = ?", [day])
    for table in (QUARANTINE_TABLE, RECONCILIATION_TABLE):
        con.execute(f"delete from {table} where source = ? and dt = ?", [src.name, day])
    _drop_temp(con)

    def rel(p: Path) -> str:
        return p.relative_to(root).as_posix()

    issues: list[tuple[str, Issue]] = []
    rows_read = 0
    json_files = [p for p in files if not p.name.endswith(".parquet")]
    parquet_files = []
    _create_json_stage(con, src)
    for path in json_files:
        reader = JsonLines(path, tmp)
        _stage_json(con, src, day, reader, rel(path))
        rows_read += reader.lines
        issues += [(rel(path), i) for i in reader.issues]
    for path in (p for p in files if p.name.endswith(".parquet")):
        rows, issue = parquet_rows(path)
        rows_read += rows
        if issue:
            issues.append((rel(path), issue))
        else:
            parquet_files.append(path)
    _create_parquet_stage(con, src, day, parquet_files, root)
    con.execute(f"create temp view {_STAGE} as select * from {_JSON_STAGE} union all by name "
                f"select * exclude (_row_json) from {_PARQUET_STAGE}")

    loaded_at = con.execute("select now()").fetchone()[0]
    con.execute(
        f"insert into {QUARANTINE_TABLE} select ?, ?, _source_file, _line_number, _raw_text, _reason_code, "
        f"_reason, 'row', ? from {_STAGE} where not _ok",
        [src.name, day, loaded_at],
    )
    for file, i in issues:
        con.execute(f"insert into {QUARANTINE_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [src.name, day, file, i.line_number, i.raw_text, i.reason_code, i.reason, i.scope, loaded_at])

    _cross_row_rules(con, src)
    has_xrow = con.execute(f"select count(*) from {_XROW}").fetchone()[0] > 0
    anti = (f" and not exists (select 1 from {_XROW} x where x._source_file = s._source_file "
            f"and x._line_number = s._line_number)") if has_xrow else ""
    cols = ", ".join(q(f.name) for f in src.fields)
    con.execute(
        f"insert into {table_name(src)} select {cols}, ?::date, _source_file, _line_number, ? "
        f"from {_STAGE} s where _ok{anti}",
        [day, loaded_at],
    )
    if has_xrow:
        _quarantine_cross_row(con, src, day, loaded_at, {rel(p): p for p in json_files}, tmp)

    rows_loaded = con.execute(f"select count(*) from {table_name(src)} where dt = ?", [day]).fetchone()[0]
    rows_quarantined, files_quarantined = con.execute(
        f"select count(*) filter (where scope = 'row'), count(distinct source_file) filter (where scope = 'file') "
        f"from {QUARANTINE_TABLE} where source = ? and dt = ?", [src.name, day]).fetchone()
    rows_duplicate = con.execute(f"select count(*) from {_XROW} where _kind = 'duplicate'").fetchone()[0]
    report = LoadReport(
        source=src.name, day=day, files=len(files), rows_read=rows_read, rows_loaded=rows_loaded,
        rows_quarantined=rows_quarantined, rows_duplicate=rows_duplicate,
        rows_unaccounted=rows_read - rows_loaded - rows_quarantined - rows_duplicate,
        files_quarantined=files_quarantined, seconds=0.0,
    )
    con.execute(
        f"insert into {RECONCILIATION_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [src.name, day, report.files, report.rows_read, report.rows_loaded, report.rows_quarantined,
         report.rows_duplicate, report.rows_unaccounted, loaded_at],
    )
    return report


def _stage_columns(src: Source) -> str:
    cols = [f"{q(f.name)} {f.type}" for f in src.fields]
    cols += ["_source_file VARCHAR", "_line_number BIGINT", "_reason_code VARCHAR", "_reason VARCHAR",
             "_raw_text VARCHAR", "_ok BOOLEAN"]
    return ", ".join(cols)


def _create_json_stage(con, src: Source) -> None:
    con.execute(f"create temp table {_JSON_STAGE} ({_stage_columns(src)})")


def _stage_json(con, src: Source, day: dt.date, reader: JsonLines, file: str) -> None:
    """Parse, coerce and classify the lines of one JSON-lines file into the JSON stage."""
    fields = [rules.json_field(f, i) for i, f in enumerate(src.fields, start=1)]
    paths = "[" + ", ".join(rules.lit(f"$.{f.name}") for f in src.fields) + "]"
    typed = ", ".join(f"{fs.typed} as {q(fs.field.name)}" for fs in fields)
    ok, code, reason = rules.classify_sql(rules.JSON_SHAPE_CHECKS + rules.row_checks(src, fields, day))
    names = ", ".join(q(f.name) for f in src.fields)
    sql = f"""
insert into {_JSON_STAGE}
select {names}, {rules.lit(file)}, _line_number, _reason_code, _reason,
       case when not _ok then _raw_text end, _ok
from (
    select *, {code} as _reason_code, {reason} as _reason
    from (select *, {ok} as _ok from (
        select _line_number, _raw_text, _bad_encoding, _valid, _v, _t, {typed}
        from (
            select _line_number, _raw_text, _bad_encoding, _valid,
                   case when _valid then json_extract_string(_raw_text, {paths}) end as _v,
                   case when _valid then json_type(_raw_text, {paths}) end as _t
            from (select *, not _bad_encoding and json_valid(_raw_text) as _valid from {_LINES})
        )
    ))
)"""
    pending: list[pa.Table] = []

    def flush() -> None:
        if pending:
            con.register(_LINES, pa.concat_tables(pending))
            try:
                con.execute(sql)
            finally:
                con.unregister(_LINES)
            pending.clear()

    for table in reader.tables():
        pending.append(table)
        if len(pending) >= _TABLES_PER_INSERT:
            flush()
    flush()


def _create_parquet_stage(con, src: Source, day: dt.date, files: list[Path], root: Path) -> None:
    """A view over the Parquet files with the stage's columns (plus ``_row_json`` for raw text).

    Files are grouped by schema so that each group is read with its own types and coerced on its own.
    """
    groups: dict[str, list[Path]] = {}
    for path in files:
        groups.setdefault(pq.read_schema(path).to_string(show_schema_metadata=False), []).append(path)
    selects = [_parquet_select(con, src, day, group, root) for group in groups.values()]
    if not selects:
        selects = [f"select *, null::varchar as _row_json from {_JSON_STAGE} where false"]
    con.execute(f"create temp view {_PARQUET_STAGE} as " + " union all by name ".join(selects))


def _parquet_select(con, src: Source, day: dt.date, files: list[Path], root: Path) -> str:
    file_list = "[" + ", ".join(rules.lit(str(p)) for p in files) + "]"
    scan = f"read_parquet({file_list}, filename = true, file_row_number = true)"
    actual = {name: dtype for name, dtype, *_ in con.execute(f"describe select * from {scan}").fetchall()}
    fields = [rules.parquet_field(f, actual.get(f.name)) for f in src.fields]
    inner = [f"{fs.typed} as {q(fs.field.name)}" for fs in fields]
    inner += [f"{q(f.name)} as {q(rules.raw_name(f.name))}" for f in src.fields if f.name in actual]
    ok, code, reason = rules.classify_sql(rules.row_checks(src, fields, day))
    names = ", ".join(q(f.name) for f in src.fields)
    row_json = "to_json({" + ", ".join(
        f"{rules.lit(f.name)}: {q(rules.raw_name(f.name)) if f.name in actual else 'null'}" for f in src.fields
    ) + "})::varchar"
    prefix = len(str(root)) + 2
    return f"""(
select {names}, _source_file, _line_number, _ok, _reason_code, _reason,
       case when not _ok then _row_json end as _raw_text, _row_json
from (
    select *, {code} as _reason_code, {reason} as _reason, {row_json} as _row_json
    from (select *, {ok} as _ok from (
        select {", ".join(inner)}, substr(filename, {prefix}) as _source_file,
               file_row_number + 1 as _line_number
        from {scan}
    ))
))"""


def _cross_row_rules(con, src: Source) -> None:
    """Find exact duplicates, primary-key conflicts and km/h spikes among the valid staged rows."""
    pk = ", ".join(q(c) for c in src.primary_key)
    every = ", ".join(q(f.name) for f in src.fields)
    con.execute(f"create temp table {_XROW} (_source_file VARCHAR, _line_number BIGINT, _kind VARCHAR, "
                f"_reason_code VARCHAR, _reason VARCHAR)")
    con.execute(f"create temp table {_MULTI} as select hash({pk}) as _k from {_STAGE} "
                f"where _ok group by _k having count(*) > 1")
    if con.execute(f"select count(*) from {_MULTI}").fetchone()[0]:
        key_text = " || ', ' || ".join(f"cast({q(c)} as varchar)" for c in src.primary_key)
        con.execute(f"""
insert into {_XROW}
with detail as (
    select * from {_STAGE} where _ok and hash({pk}) in (select _k from {_MULTI})
),
ranked as (
    select *, row_number() over (partition by {every} order by _source_file, _line_number) as _rn
    from detail
),
versions as (
    select {pk}, count(*) as _versions from ranked where _rn = 1 group by all having count(*) > 1
)
select _source_file, _line_number, 'duplicate', null, null from ranked where _rn > 1
union all
select _source_file, _line_number, 'pk_conflict', 'pk_conflict',
       {rules.lit(f'primary key ({", ".join(src.primary_key)}) = (')} || {key_text} || ') has '
       || _versions || ' versions with different content'
from ranked join versions using ({pk})
where _rn = 1""")
    candidates = (f"(select * from {_STAGE} s where _ok and not exists (select 1 from "
                  f"{_XROW} x where x._source_file = s._source_file and x._line_number = s._line_number))")
    spikes = rules.kmh_spike_sql(src, candidates)
    if spikes:
        con.execute(f"insert into {_XROW} select _source_file, _line_number, 'unit_error', 'unit_error', _reason "
                    f"from ({spikes})")


def _quarantine_cross_row(con, src: Source, day: dt.date, loaded_at, json_files: dict[str, Path],
                          tmp: Path) -> None:
    """Quarantine the cross-row rejects with their raw text (the original line, or the Parquet row as JSON)."""
    rejects = f"(select * from {_XROW} where _kind <> 'duplicate')"
    con.execute(
        f"insert into {QUARANTINE_TABLE} select ?, ?, x._source_file, x._line_number, p._row_json, "
        f"x._reason_code, x._reason, 'row', ? from {rejects} x join {_PARQUET_STAGE} p "
        f"using (_source_file, _line_number)", [src.name, day, loaded_at])
    wanted: dict[str, set[int]] = {}
    for file, line in con.execute(f"select _source_file, _line_number from {rejects}").fetchall():
        if file in json_files:
            wanted.setdefault(file, set()).add(line)
    for file, lines in wanted.items():
        texts = _lines_of(json_files[file], lines, tmp)
        con.register(_LINES, pa.table({"_source_file": [file] * len(texts), "_line_number": list(texts),
                                       "_raw_text": list(texts.values())}))
        try:
            con.execute(
                f"insert into {QUARANTINE_TABLE} select ?, ?, x._source_file, x._line_number, l._raw_text, "
                f"x._reason_code, x._reason, 'row', ? from {rejects} x join {_LINES} l "
                f"using (_source_file, _line_number)", [src.name, day, loaded_at])
        finally:
            con.unregister(_LINES)


def _lines_of(path: Path, wanted: set[int], tmp: Path) -> dict[int, str]:
    """The text of some lines of a JSON-lines file, by 1-based line number."""
    found: dict[int, str] = {}
    for table in JsonLines(path, tmp).tables():
        numbers = table.column("_line_number")
        mask = pc.is_in(numbers, value_set=pa.array(sorted(wanted), pa.int64()))
        hit = table.filter(mask)
        found.update(zip(hit.column("_line_number").to_pylist(), hit.column("_raw_text").to_pylist()))
    return found


def _drop_temp(con) -> None:
    for name in _TEMP_VIEWS:
        con.execute(f"drop view if exists {name}")
    for name in _TEMP_TABLES:
        con.execute(f"drop table if exists {name}")
