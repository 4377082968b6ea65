"""Atomic publication of the analysts' read-only file, built table by table from the working warehouse.

The working DuckDB file (``Settings.warehouse``) keeps everything (ODS raw rows, quarantined lines, operator
ids, voice-note transcripts) and is readable only by the pipeline's user (file 0600, folder 0700). Analysts
read ``Settings.published``, built fresh on each publication into a temporary file in the published folder:

- every base table of the schemas in ``PUBLISHED_SCHEMAS`` (ADS, DWS, DWD, the scorer's tables, the reference
  seeds), column by column: operator ids (``OPERATOR_ID``, also as a key of JSON attributes) become keyed
  pseudonyms, the columns of ``WITHHELD_COLUMNS`` (transcripts: only their keyword hits travel) are left out;
- no ODS table: the load's accounting as ``quality.reconciliation`` and the quarantine as counts per day,
  source and reason (``quality.quarantine_by_reason``), never its lines;
- a ``meta.publication`` row (run id, time, days).

A pseudonym is ``op_`` and the first hex digits of HMAC-SHA256(key, operator id), computed in SQL; the key
(``<secrets>/pseudonym.key``, 32 random bytes made on first use) never enters the published file, so the same
operator has the same pseudonym in every publication and nobody holding only the file can reverse it.

The temp file is checkpointed, fsynced and swapped in with ``os.replace``. Readers that hold the old file keep
reading the old inode; new readers see the new file; nobody sees a half-written file or a lock (the published
file is never opened for writing). A process killed at any point leaves the previous publication intact; its
temp file is removed by the next publish.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from fleetloop.settings import Settings
from fleetloop.warehouse import connect

TEMP_MARK = ".publishing-"
SOURCE_CATALOG = "working"  # the working file, attached read-only while the publication is built
PUBLISHED_SCHEMAS = ("ads", "dws", "dwd", "scorer", "ref")
OPERATOR_ID = "operator_id"  # the contract's column of a remote operator's id
WITHHELD_COLUMNS = {("dwd", "dwd_asr_note"): ("text",)}  # transcripts stay in the working file
KEY_FILE = "pseudonym.key"
KEY_BYTES = 32
PSEUDONYM_PREFIX = "op_"
PSEUDONYM_HEX_DIGITS = 10
HMAC_BLOCK_BYTES = 64  # SHA-256's block size
HMAC_IPAD, HMAC_OPAD = 0x36, 0x5C
PRIVATE_FILE, PRIVATE_FOLDER, PUBLISHED_FILE = 0o600, 0o700, 0o444


class PublishError(RuntimeError):
    """The working warehouse cannot be published (missing, or not gated), or the pseudonym key is unusable."""


@dataclass(frozen=True)
class Publication:
    """What one publication produced."""

    path: Path
    bytes: int
    seconds: float
    tables: int
    published_at: dt.datetime
    run_id: str
    days: tuple[str, ...]

    def as_metadata(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "tables": self.tables,
            "published_at": self.published_at.isoformat(),
            "run_id": self.run_id,
            "days": list(self.days),
        }


def sql_string(text: str) -> str:
    """``text`` as a SQL string literal (single quotes doubled), for the few places that take no parameter
    (``attach``); refuses NUL, which would end the string early."""
    if "\x00" in text:
        raise ValueError(f"NUL byte in a SQL string: {text!r}")
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _is_shared_folder(folder: Path) -> bool:
    """A sticky folder (``/tmp``) belongs to everyone: its mode is never changed."""
    return bool(folder.stat().st_mode & stat.S_ISVTX)


def restrict_working_files(settings: Settings) -> None:
    """Make the working warehouse (file, WAL) readable only by this user, and its folder private (0700)."""
    folder = settings.warehouse.parent
    if folder.is_dir() and not _is_shared_folder(folder):
        os.chmod(folder, PRIVATE_FOLDER)
    for path in (settings.warehouse, Path(f"{settings.warehouse}.wal")):
        if path.is_file():
            os.chmod(path, PRIVATE_FILE)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def pseudonym_key(settings: Settings) -> bytes:
    """The operator pseudonym key in ``settings.secrets`` (0700), created on first use (32 random bytes, 0600;
    written aside and linked into place, so a crash or a concurrent publisher never leaves a partial key)."""
    folder = settings.secrets
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, PRIVATE_FOLDER)
    path = folder / KEY_FILE
    if not path.exists():
        draft = folder / f".{KEY_FILE}.{os.getpid()}.{time.time_ns()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        try:
            os.write(fd, secrets.token_bytes(KEY_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another publisher made it first: use theirs
        finally:
            draft.unlink()
        _fsync(folder)
    os.chmod(path, PRIVATE_FILE)
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise PublishError(f"pseudonym key {path} holds {len(key)} bytes, expected {KEY_BYTES}: restore it "
                           "from backup (a new key changes every operator's pseudonym)")
    return key


def _define_pseudonym(con: duckdb.DuckDBPyConnection, key: bytes) -> None:
    """Session-only (temp) key pads and the macro ``pseudonym(id)``: HMAC-SHA256 as
    ``sha256((key ^ opad) || sha256((key ^ ipad) || id))``, truncated to a readable prefix."""
    padded = key.ljust(HMAC_BLOCK_BYTES, b"\x00")
    ipad, opad = (bytes(b ^ pad for b in padded) for pad in (HMAC_IPAD, HMAC_OPAD))
    con.execute("create temp table pseudonym_pads as select ?::blob as ipad, ?::blob as opad", [ipad, opad])
    con.execute(
        f"create temp macro pseudonym(id) as (select {sql_string(PSEUDONYM_PREFIX)} || "
        f"left(sha256(opad || unhex(sha256(ipad || encode(id)))), {PSEUDONYM_HEX_DIGITS}) from pseudonym_pads)"
    )


def _column_expr(name: str, data_type: str) -> str:
    col = _ident(name)
    if name == OPERATOR_ID:
        return f"pseudonym({col}) as {col}"
    if data_type == "JSON":
        path, key = sql_string(f"$.{OPERATOR_ID}"), sql_string(OPERATOR_ID)
        return (f"case when json_exists({col}, {path}) then json_merge_patch({col}, "
                f"json_object({key}, pseudonym({col} ->> {key}))) else {col} end as {col}")
    return col


def _source_tables(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(schema, table) -> [(column, type)] of every base table of the published schemas in the working file."""
    rows = con.execute(
        "select schema_name, table_name, column_name, data_type from duckdb_columns() "
        "where database_name = ? and list_contains(?, schema_name) order by schema_name, table_name, column_index",
        [SOURCE_CATALOG, list(PUBLISHED_SCHEMAS)],
    ).fetchall()
    tables: dict[tuple[str, str], list[tuple[str, str]]] = {}
    base = {(s, t) for s, t in con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = ?", [SOURCE_CATALOG]).fetchall()}
    for schema, table, column, data_type in rows:
        if (schema, table) in base:
            tables.setdefault((schema, table), []).append((column, data_type))
    return tables


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.tables "  # views too: the working file's ODS views the lake
        "where table_catalog = ? and table_schema = ? and table_name = ?",
        [SOURCE_CATALOG, schema, table]).fetchone()[0])


def _copy_analyst_tables(con: duckdb.DuckDBPyConnection) -> None:
    for (schema, table), columns in _source_tables(con).items():
        withheld = WITHHELD_COLUMNS.get((schema, table), ())
        exprs = ", ".join(_column_expr(c, t) for c, t in columns if c not in withheld)
        con.execute(f"create schema if not exists {_ident(schema)}")
        con.execute(f"create table {_ident(schema)}.{_ident(table)} as select {exprs} "
                    f"from {SOURCE_CATALOG}.{_ident(schema)}.{_ident(table)}")
    _copy_comments(con)


def _copy_comments(con: duckdb.DuckDBPyConnection) -> None:
    """The working file's table and column descriptions (dbt's persist_docs) travel with the analysts' copy: one
    transaction of ``comment on`` statements for the tables and columns the copy has (withheld columns have none)."""
    copied = {(s, t, c) for s, t, c in con.execute(
        "select schema_name, table_name, column_name from duckdb_columns() "
        "where database_name = current_database()").fetchall()}
    tables = {(s, t) for s, t, _ in copied}
    described = con.execute(
        "select schema_name, table_name, null as column_name, comment from duckdb_tables() "
        "where database_name = $db and comment is not null and list_contains($schemas, schema_name) "
        "union all "
        "select schema_name, table_name, column_name, comment from duckdb_columns() "
        "where database_name = $db and comment is not null and list_contains($schemas, schema_name)",
        {"db": SOURCE_CATALOG, "schemas": list(PUBLISHED_SCHEMAS)}).fetchall()
    statements = [
        f"comment on table {_ident(s)}.{_ident(t)} is {sql_string(text)}" if c is None else
        f"comment on column {_ident(s)}.{_ident(t)}.{_ident(c)} is {sql_string(text)}"
        for s, t, c, text in described if ((s, t) in tables if c is None else (s, t, c) in copied)]
    if statements:
        con.execute("begin")
        for statement in statements:
            con.execute(statement)
        con.execute("commit")


def _copy_load_accounting(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """``quality.reconciliation`` and ``quality.quarantine_by_reason`` from ODS; return the loaded days."""
    con.execute("create schema quality")
    if not _has_table(con, "ods", "ods_reconciliation"):
        return ()
    con.execute(f"create table quality.reconciliation as select * from {SOURCE_CATALOG}.ods.ods_reconciliation")
    if _has_table(con, "ods", "ods_quarantine"):
        con.execute("create table quality.quarantine_by_reason as select dt, source, reason_code, "
                    f"count(*) as rows_quarantined from {SOURCE_CATALOG}.ods.ods_quarantine group by all")
    return tuple(str(r[0]) for r in con.execute(
        "select distinct dt from quality.reconciliation order by 1").fetchall())


def _build(settings: Settings, temp: Path, run_id: str, published_at: dt.datetime) -> tuple[int, tuple[str, ...]]:
    """Build the analysts' file at ``temp``; return (tables, days)."""
    key = pseudonym_key(settings)
    con = connect(temp, settings)
    try:
        con.execute("set enable_progress_bar = false")  # a pipeline step, not an interactive query
        con.execute(f"attach {sql_string(str(settings.warehouse))} as {SOURCE_CATALOG} (read_only)")
        _define_pseudonym(con, key)
        _copy_analyst_tables(con)
        days = _copy_load_accounting(con)
        con.execute("create schema meta")
        con.execute(
            "create table meta.publication as select ?::varchar as run_id, "
            "?::timestamptz as published_at, ?::varchar[] as days",
            [run_id, published_at, list(days)],
        )
        con.execute(f"detach {SOURCE_CATALOG}")
        con.execute("checkpoint")
        tables = con.execute("select count(*) from duckdb_tables() where database_name = current_database()"
                             ).fetchone()[0]
    finally:
        con.close()
    return tables, days


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temp_files(published: Path) -> list[Path]:
    """Remove temp files (and their WAL, spill folder) left by publishers that died; return what was removed."""
    removed: list[Path] = []
    folder = published.parent
    if not folder.is_dir():
        return removed
    for p in folder.glob(f"{published.name}{TEMP_MARK}*"):
        pid_part = p.name[len(published.name) + len(TEMP_MARK):].split(".", 1)[0]
        if pid_part.isdigit() and _pid_alive(int(pid_part)) and int(pid_part) != os.getpid():
            continue
        _remove(p)
        removed.append(p)
    return removed


def _temp_companions(temp: Path) -> tuple[Path, ...]:
    return temp, Path(f"{temp}.wal"), temp.with_name(temp.name + ".tmp")


def publish(settings: Settings, run_id: str) -> Publication:
    """Replace ``settings.published`` atomically with a fresh analysts' file built from ``settings.warehouse``.

    Call only after a complete, gated run (the Dagster ``published_warehouse`` asset runs behind the
    blocking checks). The previous published file stays in place until the final ``os.replace``.
    """
    working, published = settings.warehouse, settings.published
    if not working.is_file():
        raise PublishError(f"no working warehouse at {working}: run the pipeline first")
    restrict_working_files(settings)
    published.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temp_files(published)
    started = time.perf_counter()
    temp = published.with_name(f"{published.name}{TEMP_MARK}{os.getpid()}.{time.time_ns()}")
    try:
        published_at = dt.datetime.now(dt.UTC)
        tables, days = _build(settings, temp, run_id, published_at)
        for companion in _temp_companions(temp)[1:]:  # checkpointed and closed: nothing may be pending
            _remove(companion)
        os.chmod(temp, PUBLISHED_FILE)
        _fsync(temp)
        os.replace(temp, published)
        _fsync(published.parent)
    except BaseException:
        for companion in _temp_companions(temp):
            _remove(companion)
        raise
    return Publication(
        path=published,
        bytes=published.stat().st_size,
        seconds=time.perf_counter() - started,
        tables=tables,
        published_at=published_at,
        run_id=run_id,
        days=days,
    )


def connect_published(published: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published warehouse (what analysts use)."""
    if not Path(published).is_file():
        raise FileNotFoundError(f"nothing published yet at {published}: run `fleetloop demo` or `fleetloop run`")
    return connect(published, read_only=True)


def publication_info(published: Path) -> dict[str, object]:
    """The ``meta.publication`` row of the published file."""
    con = connect_published(published)
    try:
        row = con.execute("select run_id, published_at, days from meta.publication").fetchone()
    finally:
        con.close()
    return {"run_id": row[0], "published_at": row[1].isoformat(), "days": [str(d) for d in row[2]]}
