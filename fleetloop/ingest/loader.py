"""Load one source and day from the landing into the lake's ODS (``fleetloop.lake``), losslessly, in DuckDB.

Each load stages in a DuckDB session of its own (``fleetloop.lake.session``) and never opens the working
warehouse, so loads of different sources run side by side. Steps:

1. stage (``fleetloop.ingest.staging``): every row typed and given its first failing row rule or ok.
2. cross-row rules among the valid rows: keys seen more than once are found from the key columns alone;
   only those rows are compared in full: exact duplicates (same typed content; the first by file and line
   is kept, the others counted), primary-key conflicts (same key, different content: every version
   quarantined); then km/h spikes among a vehicle's neighbouring heartbeats.
3. write the valid rows minus those as the day's partition of ``ods.ods_<source>``; the rejects as its
   quarantine (the scan for row-rule rejects is skipped when the counts show there are none).
4. the reconciliation ``rows_read = loaded + quarantined + duplicates``, the rows read (a new load history
   file, kept across reloads) and what the landing held, read or not (the landing manifest).

Every file is written beside its target and swapped in only once all are written, so a failed load leaves
the day as it was and a reload replaces it. A day folder that does not exist is refused
(``MissingPartitionError``): only an existing, empty folder is an empty day.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from fleetloop import lake as layout
from fleetloop.contract import Source
from fleetloop.contract import source as contract_source
from fleetloop.ingest import rules
from fleetloop.ingest.readers import Issue, JsonLines, has_parquet_magic, is_gzip, parquet_rows, sha256
from fleetloop.ingest.schema import (
    BOOKKEEPING_COLUMNS,
    LOAD_HISTORY,
    MANIFEST,
    QUARANTINE,
    RECONCILIATION,
    create_sql,
    q,
)
from fleetloop.ingest.staging import (
    JSON_STAGE,
    LINES,
    PARQUET_VARIABLE_PREFIX,
    ParquetGroup,
    create_json_stage,
    parquet_groups,
    pk_hash,
    readable_parquet,
    stage_json,
)
from fleetloop.paths import PartitionScan, Unknown, is_parquet, parse_partition, raw_suffix, scan_partition
from fleetloop.reconciliation import Reconciliation
from fleetloop.settings import Settings

_STAGE, _FULL = "_ingest_stage", "_ingest_full"
_MULTI, _XROW = "_ingest_multi", "_ingest_xrow"
_OUT = {table: f"_ingest_{table}" for table in BOOKKEEPING_COLUMNS}  # the load's bookkeeping rows before writing
_TEMP_TABLES = (JSON_STAGE, _MULTI, _XROW, *_OUT.values())
_TEMP_VIEWS = (_STAGE, _FULL)
_KEYS_PER_PASS = 100_000_000  # rows per hash-aggregate pass of the duplicate search (DuckDB spills beyond memory_limit)


@dataclass(frozen=True)
class LoadReport(Reconciliation):
    """What one load of a source and day did: its reconciliation (``rows_unaccounted`` must be 0), the files
    quarantined whole and how long it took."""

    files_quarantined: int = 0
    seconds: float = 0.0

    @property
    def balanced(self) -> bool:
        return self.rows_unaccounted == 0

    def as_dict(self) -> dict:
        return asdict(self) | {"day": self.day.isoformat()}


def load_partition(lake: Path, landing: Path, source: str, day: str | dt.date, *, settings: Settings | None = None,
                   accept_row_drop: bool = False) -> LoadReport:
    """Load ``<landing>/<source>/dt=<day>/`` into the lake's ODS, replacing whatever that day held before.

    Stages in a session of its own under the lake's scratch folder, bounded by ``settings`` (default: the default
    settings' memory limit and all cores); ``accept_row_drop`` records that an operator confirmed this load even if
    it reads far fewer rows than the previous one (``fleetloop.reconciliation.row_drops``). Raises
    ``PartitionError`` for a hostile source, day or file path and ``MissingPartitionError`` for a day folder that
    does not exist, before anything is written. A Parquet file DuckDB cannot decode quarantines itself and the day
    loads again without it.
    """
    started = time.perf_counter()
    d = parse_partition(day)
    scan = scan_partition(landing, source, d)
    src = contract_source(source)
    root = Path(landing).resolve()
    with layout.session(lake, settings) as con, \
            tempfile.TemporaryDirectory(prefix="ingest-", dir=layout.scratch_dir(lake)) as tmp:
        attempt = _Attempt(con, Path(lake), src, d, scan, root, Path(tmp), accept_row_drop)
        try:
            report = attempt.run({})
        except duckdb.Error:
            undecodable = attempt.undecodable_parquet()
            if not undecodable:
                raise
            report = attempt.run(undecodable)
    return replace(report, seconds=round(time.perf_counter() - started, 3))


@dataclass
class _Staged:
    """What staging found: rows read, reader issues, Parquet groups, JSON files, the manifest of the files."""

    files: int
    rows_read: int
    issues: list[tuple[str, Issue]]
    groups: list[ParquetGroup]
    json_files: dict[str, Path]
    manifest: list[tuple]  # (file, size_bytes, sha256, rows_read, outcome, reason)

    @property
    def rows_staged(self) -> int:
        return self.rows_read - sum(1 for _, i in self.issues if i.scope == "row")


@dataclass
class _Attempt:
    """One source-day load, repeatable with more files quarantined as undecodable."""

    con: duckdb.DuckDBPyConnection
    lake: Path
    src: Source
    day: dt.date
    scan: PartitionScan
    root: Path
    tmp: Path
    accept_row_drop: bool
    runs: int = 0

    def rel(self, p: Path) -> str:
        return p.relative_to(self.root).as_posix()

    def parquet(self) -> list[Path]:
        """The day's files read as Parquet: named so, or named like JSON lines with Parquet content."""
        return [p for p in self.scan.files if is_parquet(p) or has_parquet_magic(p)]

    def run(self, undecodable: dict[str, str]) -> LoadReport:
        """Stage and load the day; files in ``undecodable`` (landing name -> reader message) are quarantined."""
        self.runs += 1
        scratch = self.tmp / f"run-{self.runs}"
        scratch.mkdir()
        con = self.con
        try:
            # Every step runs in auto-commit mode: committed temporary data can spill to disk under
            # memory_limit, transaction-local appends cannot. Nothing replaces a lake file before all are written.
            _drop_temp(con)
            staged = self._stage(scratch, undecodable)
            with layout.replacing() as out:
                return _load(con, out, self.lake, self.src, self.day, staged, self.scan, self.accept_row_drop)
        finally:
            _drop_temp(con)

    def undecodable_parquet(self) -> dict[str, str]:
        """The Parquet files of the day whose pages DuckDB cannot decode, with its message."""
        found = {}
        for n, path in enumerate(self.parquet()):
            link = self.tmp / f"check-{n:06d}.parquet"
            link.symlink_to(path.resolve())
            try:
                self.con.execute("select min(hash(columns(*))) from read_parquet(?)", [[str(link)]]).fetchall()
            except duckdb.Error as exc:
                found[self.rel(path)] = str(exc).replace(str(link), self.rel(path))
        return found

    def _stage(self, scratch: Path, undecodable: dict[str, str]) -> _Staged:
        """Stage every file; ``_FULL`` (with ``_row_json``) and ``_STAGE`` (without) view all staged rows."""
        con, src, day = self.con, self.src, self.day
        files, parquet = self.scan.files, self.parquet()  # both in file-name order
        as_parquet = set(parquet)
        staged = _Staged(len(files), 0, [], [], {self.rel(p): p for p in files if p not in as_parquet}, [])
        create_json_stage(con, src)
        rows_of: dict[str, int] = {}
        notes: dict[str, list[str]] = {}
        for name, path in staged.json_files.items():
            reader = JsonLines(path)
            stage_json(con, src, day, reader, name)
            rows_of[name] = reader.lines
            staged.issues += [(name, i) for i in reader.issues]
            if is_gzip(path) != (raw_suffix(path.name) == ".jsonl.gz"):
                notes.setdefault(name, []).append(
                    "gzip content read as gzip" if is_gzip(path) else "plain content read as plain text")
            if reader.layers > 1:
                notes.setdefault(name, []).append(f"gzip inside gzip: decompressed {reader.layers} times")
        readable: dict[str, Path] = {}
        for n, path in enumerate(parquet):
            name = self.rel(path)
            if not is_parquet(path):
                notes.setdefault(name, []).append("Parquet content read as Parquet")
            rows, issue = parquet_rows(path)
            if issue is None and name in undecodable:
                issue = Issue("file", 0, "unreadable_file", f"Parquet pages cannot be decoded: {undecodable[name]}")
            if issue is None:
                try:
                    readable[name] = readable_parquet(src, name, path, scratch, n)
                except (OSError, pa.ArrowException) as exc:
                    issue = Issue("file", 0, "unreadable_file", f"not a readable Parquet file: {exc}")
            if issue is not None:
                rows = 0
                staged.issues.append((name, issue))
            rows_of[name] = rows
        staged.rows_read = sum(rows_of.values())
        staged.groups = parquet_groups(con, src, day, readable)
        con.execute(f"create temp view {_FULL} as " + " union all by name ".join(
            [f"select *, null::varchar as _row_json from {JSON_STAGE}", *(g.select() for g in staged.groups)]))
        con.execute(f"create temp view {_STAGE} as select * exclude (_row_json) from {_FULL}")
        staged.manifest = [self._entry(p, rows_of, staged.issues, notes) for p in files]
        return staged

    def _entry(self, path: Path, rows_of: dict[str, int], issues: list[tuple[str, Issue]],
               notes: dict[str, list[str]]) -> tuple:
        """The manifest row of a raw file: read, or quarantined whole when a file issue left no row to read."""
        name = self.rel(path)
        file_issues = [i for f, i in issues if f == name and i.scope == "file"]
        reasons = [i.reason for i in file_issues] + notes.get(name, [])
        suffix = raw_suffix(path.name)
        if not path.name.endswith(suffix):
            reasons.append(f"suffix matched as {suffix} regardless of case")
        outcome = "quarantined" if file_issues and not rows_of[name] else "read"
        return name, _size(path), sha256(path), rows_of[name], outcome, "; ".join(reasons) or None


def _load(con, out: layout.Replacement, lake: Path, src: Source, day: dt.date, staged: _Staged,
          scan: PartitionScan, accept_row_drop: bool) -> LoadReport:
    """Write the day's lake files from the staged rows into ``out`` (swapped in by the caller)."""
    for table, columns in BOOKKEEPING_COLUMNS.items():
        con.execute(create_sql(_OUT[table], columns, temp=True))
    quarantine = _OUT[QUARANTINE]
    _cross_row_rules(con, src, staged.groups, staged.rows_staged)
    cross = con.execute(f"select count(*) from {_XROW}").fetchone()[0]
    anti = (f" and not exists (select 1 from {_XROW} x where x._source_file = s._source_file "
            f"and x._line_number = s._line_number)") if cross else ""
    loaded_at = con.execute("select now()").fetchone()[0]
    cols = ", ".join(q(f.name) for f in src.fields)
    rows_loaded = out.copy(
        con, f"select {cols}, _source_file, _line_number, ?::timestamptz as _loaded_at from {_STAGE} s where _ok{anti}",
        layout.source_file(lake, src.name, day), [loaded_at])
    if rows_loaded + cross < staged.rows_staged:  # some rows failed a row rule: find them (skipped when none did)
        con.execute(
            f"insert into {quarantine} select ?, ?, _source_file, _line_number, _raw_text, _reason_code, "
            f"_reason, 'row', ? from {_STAGE} where not _ok", [src.name, day, loaded_at])
    for file, i in staged.issues:
        con.execute(f"insert into {quarantine} values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [src.name, day, file, i.line_number, i.raw_text, i.reason_code, i.reason, i.scope, loaded_at])
    if cross:
        _quarantine_cross_row(con, src, day, loaded_at, staged.json_files)
    _write_manifest(con, src, day, staged.manifest, scan.unknown, loaded_at)

    rows_quarantined, files_quarantined = con.execute(
        f"select count(*) filter (where scope = 'row'), count(distinct source_file) filter (where scope = 'file') "
        f"from {quarantine}").fetchone()
    rows_duplicate = con.execute(f"select count(*) from {_XROW} where _kind = 'duplicate'").fetchone()[0]
    report = LoadReport(
        source=src.name, day=day, files=staged.files, rows_read=staged.rows_read, rows_loaded=rows_loaded,
        rows_quarantined=rows_quarantined, rows_duplicate=rows_duplicate,
        rows_unaccounted=staged.rows_read - rows_loaded - rows_quarantined - rows_duplicate,
        files_quarantined=files_quarantined, seconds=0.0,
    )
    con.execute(
        f"insert into {_OUT[RECONCILIATION]} values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [src.name, day, report.files, report.rows_read, report.rows_loaded, report.rows_quarantined,
         report.rows_duplicate, report.rows_unaccounted, loaded_at],
    )
    con.execute(f"insert into {_OUT[LOAD_HISTORY]} values (?, ?, ?, ?, ?, ?)",
                [src.name, day, report.files, report.rows_read, accept_row_drop, loaded_at])
    manifest = f"select * exclude (dt) from {_OUT[MANIFEST]} where outcome {{}} 'unknown_source'"
    out.copy(con, manifest.format("<>"), layout.bookkeeping_file(lake, MANIFEST, src.name, day))
    out.copy(con, manifest.format("="), layout.bookkeeping_file(lake, MANIFEST, layout.UNKNOWN_SOURCES, day))
    for table in (QUARANTINE, RECONCILIATION):
        out.copy(con, f"select * exclude (dt) from {_OUT[table]}", layout.bookkeeping_file(lake, table, src.name, day))
    out.copy(con, f"select * exclude (dt) from {_OUT[LOAD_HISTORY]}",
             layout.history_file(lake, src.name, day, loaded_at))
    return report


def _write_manifest(con, src: Source, day: dt.date, files: list[tuple], unknown: list[Unknown], loaded_at) -> None:
    """The day's manifest: every raw file with its outcome, and everything in the landing that is not read."""
    rows = [(day, src.name, *entry, loaded_at) for entry in files]
    for u in unknown:
        size, digest = (_size(u.path), sha256(u.path)) if u.path is not None else (None, None)
        owner = u.rel.split("/")[0] if u.outcome == "unknown_source" else src.name
        rows.append((day, owner, u.rel, size, digest, None, u.outcome, u.reason, loaded_at))
    if rows:
        con.executemany(f"insert into {_OUT[MANIFEST]} values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


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
            [f"select *, null::varchar as _row_json from {JSON_STAGE} "
             f"where {pk_hash(src)} in (select _k from {_MULTI})",
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


def _quarantine_cross_row(con, src: Source, day: dt.date, loaded_at, json_files: dict[str, Path]) -> None:
    """Quarantine the cross-row rejects with their raw text: the original line of a JSON-lines file (read
    again, only these lines are kept), the raw values as JSON for a Parquet row."""
    rejects = f"(select * from {_XROW} where _kind <> 'duplicate')"
    wanted: dict[str, set[int]] = {}
    for file, line in con.execute(f"select _source_file, _line_number from {rejects}").fetchall():
        if file in json_files:
            wanted.setdefault(file, set()).add(line)
    texts = [(file, n, text) for file, lines in wanted.items()
             for n, text in _lines_of(json_files[file], lines).items()]
    con.register(LINES, pa.table({"_source_file": pa.array([t[0] for t in texts], pa.string()),
                                  "_line_number": pa.array([t[1] for t in texts], pa.int64()),
                                  "_raw_text": pa.array([t[2] for t in texts], pa.string())}))
    con.execute(
        f"insert into {_OUT[QUARANTINE]} select ?, ?, x._source_file, x._line_number, "
        f"coalesce(l._raw_text, x._raw_text), x._reason_code, x._reason, 'row', ? from {rejects} x "
        f"left join {LINES} l on l._source_file = x._source_file and l._line_number = x._line_number",
        [src.name, day, loaded_at])
    con.unregister(LINES)


def _lines_of(path: Path, wanted: set[int]) -> dict[int, str]:
    """The text of some lines of a JSON-lines file, by 1-based line number."""
    found: dict[int, str] = {}
    for table in JsonLines(path).tables():
        hit = table.filter(pc.is_in(table.column("_line_number"), value_set=pa.array(sorted(wanted), pa.int64())))
        found.update(zip(hit.column("_line_number").to_pylist(), hit.column("_raw_text").to_pylist(), strict=True))
    return found


def _drop_temp(con) -> None:
    for name in _TEMP_VIEWS:
        con.execute(f"drop view if exists {name}")
    for name in _TEMP_TABLES:
        con.execute(f"drop table if exists {name}")
    for (name,) in con.execute("select name from duckdb_variables() where starts_with(name, ?)",
                               [PARQUET_VARIABLE_PREFIX]).fetchall():
        con.execute(f"reset variable {q(name)}")
