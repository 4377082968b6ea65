"""What has landed, by content: each source's day folder as a print of its files' names, sizes and SHA-256.

A copy that keeps its modification time (``cp -p``, rsync, tar) still changes the print, so the late-data sensor
compares prints, never times. Hashes are cached by (path, size, mtime_ns, ctime_ns, inode): an unchanged landing
is not read again (the change time, which no copy tool can set, catches a file rewritten in place with its old
size and mtime), and at most ``budget_bytes`` are hashed per scan (the rest next time, its folders left pending). A
bad folder name, a link out of the landing or an unreadable file is reported by name and the rest is scanned.

The reference a print is compared with is what the day's ODS load read (``ods.ods_landing_manifest``, when the
loader has written it) or the sensor's previous scan. Both sides cover the same files: those directly in the
day folder whose names do not start with a dot (copy tools write their partial files as hidden names).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import duckdb

from fleetloop.contract import SOURCES
from fleetloop.paths import PartitionError, parse_partition

HASH_CHUNK_BYTES = 1 << 20
DAY_PREFIX = "dt="
MANIFEST_TABLE = ("ods", "ods_landing_manifest")
MANIFEST_COLUMNS = ("dt", "source", "file_name", "size_bytes", "sha256")

FolderKey = tuple[str, str]  # (day as YYYY-MM-DD, source)


@dataclass(frozen=True)
class FileState:
    """One landed file: what identifies it on disk (size, mtime_ns, ctime_ns, inode) and its content hash."""

    size_bytes: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    sha256: str

    def same_file(self, st: os.stat_result) -> bool:
        return (self.size_bytes, self.mtime_ns, self.ctime_ns, self.inode) == (
            st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


@dataclass(frozen=True)
class LandingProblem:
    """Something in the landing that was not scanned, by its path relative to the landing."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class LandingScan:
    """The result of one scan: file states by relative path, prints of complete folders, folders left
    pending (hash budget spent or a file unreadable), problems, and the bytes hashed."""

    files: dict[str, FileState] = field(default_factory=dict)
    prints: dict[FolderKey, str] = field(default_factory=dict)
    pending: set[FolderKey] = field(default_factory=set)
    problems: list[LandingProblem] = field(default_factory=list)
    hashed_bytes: int = 0


def content_print(files: Iterable[tuple[str, int, str]]) -> str:
    """The print of one folder from its (file name, size, sha256): the same from a scan and from a manifest."""
    h = hashlib.sha256()
    for name, size, sha in sorted(files):
        h.update(f"{name}\0{size}\0{sha}\n".encode())
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK_BYTES):
            h.update(chunk)
    return h.hexdigest()


def scan_landing(landing: Path, cache: Mapping[str, FileState], *, before: dt.date | None = None,
                 budget_bytes: int | None = None) -> LandingScan:
    """Scan every ``<source>/dt=<day>/`` folder of ``landing`` (days before ``before`` only, when given)."""
    scan = LandingScan()
    root = Path(landing).resolve()
    for top in _entries(root, root, scan):
        if top.name.startswith(("_", ".")):  # _truth, hidden folders
            continue
        if top.name not in SOURCES:
            scan.problems.append(LandingProblem(top.name, "not a source of the contract"))
        elif _escapes(top, root):
            scan.problems.append(LandingProblem(top.name, "links outside the landing"))
        elif top.is_dir():
            for folder in _entries(top, root, scan):
                _scan_day_folder(scan, root, top.name, folder, cache, before, budget_bytes)
    return scan


def _scan_day_folder(scan: LandingScan, root: Path, source: str, folder: Path, cache: Mapping[str, FileState],
                     before: dt.date | None, budget_bytes: int | None) -> None:
    rel = _rel(folder, root)
    if folder.name.startswith("."):
        return
    try:
        if not folder.name.startswith(DAY_PREFIX):
            raise PartitionError(f"expected {DAY_PREFIX}YYYY-MM-DD, got {folder.name!r}")
        day = parse_partition(folder.name.removeprefix(DAY_PREFIX))
    except PartitionError as exc:
        scan.problems.append(LandingProblem(rel, f"bad day folder: {exc}"))
        return
    if before is not None and day >= before:
        return
    if _escapes(folder, root):
        scan.problems.append(LandingProblem(rel, "links outside the landing"))
        return
    if not folder.is_dir():
        scan.problems.append(LandingProblem(rel, "a day folder that is not a folder"))
        return
    key = (day.isoformat(), source)
    entries = []
    for path in _entries(folder, root, scan, on_error=lambda: scan.pending.add(key)):
        if path.name.startswith("."):
            continue
        state = _file_state(scan, root, key, path, cache, budget_bytes)
        if state is None:
            continue
        scan.files[_rel(path, root)] = state
        entries.append((path.name, state.size_bytes, state.sha256))
    if key not in scan.pending:
        scan.prints[key] = content_print(entries)


def _file_state(scan: LandingScan, root: Path, key: FolderKey, path: Path, cache: Mapping[str, FileState],
                budget_bytes: int | None) -> FileState | None:
    """The file's state (hashed unless the cache knows it), or None: a subfolder (the loader's to report, never
    read), a reported problem, or not hashed yet (over budget, unreadable: its folder is left pending)."""
    rel = _rel(path, root)
    try:
        if path.is_dir():
            return None
        if _escapes(path, root):
            scan.problems.append(LandingProblem(rel, "links outside the landing"))
            return None
        if not path.is_file():
            scan.problems.append(LandingProblem(rel, "not a regular file (a broken link?)"))
            return None
        st = path.stat()
        cached = cache.get(rel)
        if cached is not None and cached.same_file(st):
            return cached
        if budget_bytes is not None and scan.hashed_bytes and scan.hashed_bytes + st.st_size > budget_bytes:
            scan.pending.add(key)
            return None
        sha = file_sha256(path)
        scan.hashed_bytes += st.st_size
        return FileState(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, sha)
    except OSError as exc:
        scan.problems.append(LandingProblem(rel, f"unreadable: {exc.strerror or exc}"))
        scan.pending.add(key)
        return None


def _entries(folder: Path, root: Path, scan: LandingScan, on_error=None) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError as exc:
        scan.problems.append(LandingProblem(_rel(folder, root) or ".", f"cannot list: {exc.strerror or exc}"))
        if on_error is not None:
            on_error()
        return []


def _escapes(path: Path, root: Path) -> bool:
    return root not in path.resolve().parents


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path != root else ""


def manifest_prints(con: duckdb.DuckDBPyConnection, keys: Iterable[FolderKey]) -> dict[FolderKey, str]:
    """The print of what the ODS load read for each of ``keys`` it has manifest rows for; empty while the
    warehouse has no landing manifest (rows of subfolders and hidden files are outside the prints)."""
    schema, table = MANIFEST_TABLE
    columns = {r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        [schema, table]).fetchall()}
    wanted = set(keys)
    if not wanted or not set(MANIFEST_COLUMNS) <= columns:
        return {}
    rows = con.execute(
        f"select cast(dt as varchar), source, file_name, size_bytes, sha256 from {schema}.{table} "
        "where list_contains(?, cast(dt as varchar) || '/' || source)",
        [sorted(f"{d}/{s}" for d, s in wanted)]).fetchall()
    by_key: dict[FolderKey, list[tuple[str, int, str]]] = {}
    for day, source, name, size, sha in rows:
        entries = by_key.setdefault((day, source), [])
        path = PurePosixPath(name)  # a bare name, or a path ending in the day folder
        name = path.name if path.parent.name in ("", f"{DAY_PREFIX}{day}") else str(path)
        if sha is not None and "/" not in name and not name.startswith("."):
            entries.append((name, int(size), sha))
    return {key: content_print(entries) for key, entries in by_key.items()}
