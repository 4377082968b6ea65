"""Load one source and day from the landing into ODS, losslessly, inside DuckDB.

Steps (2 to 4 in one transaction, so a reload replaces the day atomically):

1. stage (``fleetloop.ingest.staging``): every row typed and given its first failing row rule or ok.
2. cross-row rules among the valid rows: keys seen more than once are found from the key columns alone;
   only those rows are compared in full: exact duplicates (same typed content; the first by file and line
   is kept, the others counted), primary-key conflicts (same key, different content: every version
   quarantined); then km/h spikes among a vehicle's neighbouring heartbeats.
3. insert the valid rows minus those into ``ods.ods_<source>``; quarantine the rejects (the scan for
   row-rule rejects is skipped when the counts show there are none).
4. the reconciliation ``rows_read = loaded + quarantined + duplicates`` into ``ods.ods_reconciliation``.
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

from fleetloop.contract import Source, source as contract_source
from fleetloop.ingest import rules
from fleetloop.ingest.readers import Issue, JsonLines, parquet_rows
from fleetloop.ingest.schema import QUARANTINE_TABLE, RECONCILIATION_TABLE, ensure_ods_schema, q, table_name
from fleetloop.ingest.staging import (JSON_STAGE, LINES, ParquetGroup, create_json_stage, parquet_groups, pk_hash,
                                      stage_json)
from fleetloop.paths import parse_partition, raw_files

_STAGE, _FULL = "_ingest_stage", "_ingest_full"
_MULTI, _XROW = "_ingest_multi", "_ingest_xrow"
_TEMP_TABLES = (JSON_STAGE, _MULTI, _XROW)
_TEMP_VIEWS = (_STAGE, _FULL)
_KEYS_PER_PASS = 100_000_000  # rows per hash-aggregate pass of the duplicate search (DuckDB spills beyond memory_limit)


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
        try:
            # Staging fills temporary tables in auto-commit mode: committed temporary data can spill to
            # disk under memory_limit, transaction-local appends cannot.
            _drop_temp(con)
            staged = _stage(con, src, d, files, root, Path(tmp))
            con.execute("begin transaction")
            try:
                report = _load(con, src, d, staged, Path(tmp))
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
        finally:
            _drop_temp(con)
    return LoadReport(**(asdict(report) | {"seconds": round(time.perf_counter() - started, 3)}))


@dataclass
class _Staged:
    """What staging found: rows read, file- and row-level reader issues, Parquet groups, JSON files."""

    files: int
    rows_read: int
    issues: list[tuple[str, Issue]]
    groups: list[ParquetGroup]
    json_files: dict[str, Path]

    @property
    def rows_staged(self) -> int:
        return self.rows_read - sum(1 for _, i in self.issues if i.scope == "row")


def _stage(con, src: Source, day: dt.date, files: list[Path], root: Path, tmp: Path) -> _Staged:
    """Stage every file; ``_FULL`` (with ``_row_json``) and ``_STAGE`` (without) view all staged rows."""

    def rel(p: Path) -> str:
        return p.relative_to(root).as_posix()

    staged = _Staged(len(files), 0, [], [], {rel(p): p for p in files if not p.name.endswith(".parquet")})
    create_json_stage(con, src)
    for name, path in staged.json_files.items():
        reader = JsonLines(path, tmp)
        stage_json(con, src, day, reader, name)
        staged.rows_read += reader.lines
        staged.issues += [(name, i) for i in reader.issues]
    parquet_files = []
    for path in (p for p in files if p.name.endswith(".parquet")):
        rows, issue = parquet_rows(path)
        staged.rows_read += rows
        if issue:
            staged.issues.append((rel(path), issue))
        else:
            parquet_files.append(path)
    staged.groups = parquet_groups(con, src, day, parquet_files, root)
    con.execute(f"create temp view {_FULL} as " + " union all by name ".join(
        [f"select *, null::varchar as _row_json from {JSON_STAGE}", *(g.select() for g in staged.groups)]))
    con.execute(f"create temp view {_STAGE} as select * exclude (_row_json) from {_FULL}")
    return staged


def _load(con, src: Source, day: dt.date, staged: "_Staged", tmp: Path) -> LoadReport:
    """Replace the day in ODS with the staged rows (inside the caller's transaction)."""
    con.execute(f"delete from {table_name(src)} where dt = ?", [day])
    for table in (QUARANTINE_TABLE, RECONCILIATION_TABLE):
        con.execute(f"delete from {table} where source = ? and dt = ?", [src.name, day])
    _cross_row_rules(con, src, staged.groups, staged.rows_staged)
    cross = con.execute(f"select count(*) from {_XROW}").fetchone()[0]
    anti = (f" and not exists (select 1 from {_XROW} x where x._source_file = s._source_file "
            f"and x._line_number = s._line_number)") if cross else ""
    loaded_at = con.execute("select now()").fetchone()[0]
    cols = ", ".join(q(f.name) for f in src.fields)
    inserted = con.execute(
        f"insert into {table_name(src)} select {cols}, ?::date, _source_file, _line_number, ? "
        f"from {_STAGE} s where _ok{anti}", [day, loaded_at]).fetchone()[0]
    if inserted + cross < staged.rows_staged:  # some rows failed a row rule: find them (skipped when none did)
        con.execute(
            f"insert into {QUARANTINE_TABLE} select ?, ?, _source_file, _line_number, _raw_text, _reason_code, "
            f"_reason, 'row', ? from {_STAGE} where not _ok", [src.name, day, loaded_at])
    for file, i in staged.issues:
        con.execute(f"insert into {QUARANTINE_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [src.name, day, file, i.line_number, i.raw_text, i.reason_code, i.reason, i.scope, loaded_at])
    if cross:
        _quarantine_cross_row(con, src, day, loaded_at, staged.json_files, tmp)

    rows_loaded = con.execute(f"select count(*) from {table_name(src)} where dt = ?", [day]).fetchone()[0]
    rows_quarantined, files_quarantined = con.execute(
        f"select count(*) filter (where scope = 'row'), count(distinct source_file) filter (where scope = 'file') "
        f"from {QUARANTINE_TABLE} where source = ? and dt = ?", [src.name, day]).fetchone()
    rows_duplicate = con.execute(f"select count(*) from {_XROW} where _kind = 'duplicate'").fetchone()[0]
    report = LoadReport(
        source=src.name, day=day, files=staged.files, rows_read=staged.rows_read, rows_loaded=rows_loaded,
        rows_quarantined=rows_quarantined, rows_duplicate=rows_duplicate,
        rows_unaccounted=staged.rows_read - rows_loaded - rows_quarantined - rows_duplicate,
        files_quarantined=files_quarantined, seconds=0.0,
    )
    con.execute(
        f"insert into {RECONCILIATION_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [src.name, day, report.files, report.rows_read, report.rows_loaded, report.rows_quarantined,
         report.rows_duplicate, report.rows_unaccounted, loaded_at],
    )
    return report


def _cross_row_rules(con, src: Source, groups: list[ParquetGroup], rows: int) -> None:
    """Fill ``_XROW`` with the duplicates, primary-key conflicts and km/h spikes among the valid rows.

    Keys seen more than once are found with a hash aggregate over the key columns only, in buckets of at
    most ``_KEYS_PER_PASS`` rows; only the rows of those keys then go through the row rules and a full
    comparison.
    """
    pk = ", ".join(q(c) for c in src.primary_key)
    every = ", ".join(q(f.name) for f in src.fields)
    con.execute(f"create temp table {_XROW} (_source_file VARCHAR, _line_number BIGINT, _kind VARCHAR, "
                f"_reason_code VARCHAR, _reason VARCHAR, _raw_text VARCHAR)")
    con.execute(f"create temp table {_MULTI} (_k UBIGINT)")
    keys = " union all ".join([f"select {pk_hash(src)} as _k from {JSON_STAGE}", *(g.keys() for g in groups)])
    passes = max(1, -(-rows // _KEYS_PER_PASS))
    for i in range(passes):
        bucket = f"where _k % {passes} = {i}" if passes > 1 else ""
        con.execute(f"insert into {_MULTI} select _k from ({keys}) {bucket} group by _k having count(*) > 1")
    if con.execute(f"select count(*) from {_MULTI}").fetchone()[0]:
        detail = " union all by name ".join(
            [f"select *, null::varchar as _row_json from {JSON_STAGE} where {pk_hash(src)} in (select _k from {_MULTI})",
             *(g.select(_MULTI) for g in groups)])
        key_text = " || ', ' || ".join(f"cast({q(c)} as varchar)" for c in src.primary_key)
        con.execute(f"""
insert into {_XROW}
with detail as (select * from ({detail}) where _ok),
ranked as (
    select *, row_number() over (partition by {every} order by _source_file, _line_number) as _rn
    from detail
),
versions as (
    select {pk}, count(*) as _versions from ranked where _rn = 1 group by all having count(*) > 1
)
select _source_file, _line_number, 'duplicate', null, null, null from ranked where _rn > 1
union all
select _source_file, _line_number, 'pk_conflict', 'pk_conflict',
       {rules.lit(f'primary key ({", ".join(src.primary_key)}) = (')} || {key_text} || ') has '
       || _versions || ' versions with different content', _row_json
from ranked join versions using ({pk})
where _rn = 1""")
    candidates = (f"(select * from {_FULL} s where _ok and not exists (select 1 from {_XROW} x "
                  f"where x._source_file = s._source_file and x._line_number = s._line_number))")
    spikes = rules.kmh_spike_sql(src, candidates)
    if spikes:
        con.execute(f"insert into {_XROW} select _source_file, _line_number, 'unit_error', 'unit_error', _reason, "
                    f"_row_json from ({spikes})")


def _quarantine_cross_row(con, src: Source, day: dt.date, loaded_at, json_files: dict[str, Path],
                          tmp: Path) -> None:
    """Quarantine the cross-row rejects with their raw text: the original line of a JSON-lines file (read
    again, only these lines are kept), the raw values as JSON for a Parquet row."""
    rejects = f"(select * from {_XROW} where _kind <> 'duplicate')"
    wanted: dict[str, set[int]] = {}
    for file, line in con.execute(f"select _source_file, _line_number from {rejects}").fetchall():
        if file in json_files:
            wanted.setdefault(file, set()).add(line)
    texts = [(file, n, text) for file, lines in wanted.items()
             for n, text in _lines_of(json_files[file], lines, tmp).items()]
    con.register(LINES, pa.table({"_source_file": pa.array([t[0] for t in texts], pa.string()),
                                  "_line_number": pa.array([t[1] for t in texts], pa.int64()),
                                  "_raw_text": pa.array([t[2] for t in texts], pa.string())}))
    con.execute(
        f"insert into {QUARANTINE_TABLE} select ?, ?, x._source_file, x._line_number, "
        f"coalesce(l._raw_text, x._raw_text), x._reason_code, x._reason, 'row', ? from {rejects} x "
        f"left join {LINES} l on l._source_file = x._source_file and l._line_number = x._line_number",
        [src.name, day, loaded_at])
    con.unregister(LINES)


def _lines_of(path: Path, wanted: set[int], tmp: Path) -> dict[int, str]:
    """The text of some lines of a JSON-lines file, by 1-based line number."""
    found: dict[int, str] = {}
    for table in JsonLines(path, tmp).tables():
        hit = table.filter(pc.is_in(table.column("_line_number"), value_set=pa.array(sorted(wanted), pa.int64())))
        found.update(zip(hit.column("_line_number").to_pylist(), hit.column("_raw_text").to_pylist()))
    return found


def _drop_temp(con) -> None:
    for name in _TEMP_VIEWS:
        con.execute(f"drop view if exists {name}")
    for name in _TEMP_TABLES:
        con.execute(f"drop table if exists {name}")
