"""Where things live: the landing layout, the warehouse files, and safe partition names.

Landing layout: ``<landing>/<source>/dt=YYYY-MM-DD/<file>`` with files ``*.jsonl``, ``*.jsonl.gz`` or
``*.parquet``. Suffixes are matched without regard to case (``PART-001.JSONL`` is read as JSON lines, and
the manifest says so); whether a JSON-lines file is gzip is told from its content, not its suffix. Hidden
files, other suffixes (``.ndjson``, ``.tmp``), subfolders and their files, folders that are not a day of a
known source, pipes and other non-regular files (never opened), broken links and names that are not UTF-8
are never read but always reported (``scan_partition``). Ground truth of a simulation goes
to ``<landing>/_truth/``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from fleetloop.contract import SOURCES

RAW_SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet")
PARQUET_SUFFIX = ".parquet"
RESERVED_FOLDERS = ("_truth",)  # top-level folders of the landing that hold no source
_PARTITION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class PartitionError(ValueError):
    """A partition name or path that must not be used."""


class MissingPartitionError(FileNotFoundError):
    """A source-day whose landing folder does not exist: refused, never loaded as an empty day."""


@dataclass(frozen=True)
class Unknown:
    """Something in the landing that is not read: ``outcome`` is unknown_file, unknown_folder or unknown_source;
    ``path`` is None for a folder."""

    rel: str  # relative to the landing root
    outcome: str
    reason: str
    path: Path | None = None


@dataclass(frozen=True)
class PartitionScan:
    """What a source-day folder holds: the raw files to read (sorted by name) and everything else."""

    folder: Path
    files: list[Path]
    unknown: list[Unknown]


def parse_partition(day: str | dt.date) -> dt.date:
    """Validate a day partition key (``YYYY-MM-DD``) and return it as a date.

    Anything else (path separators, ``..``, wildcards, impossible dates) is refused with a clear error.
    """
    if isinstance(day, dt.date):
        return day
    if not isinstance(day, str) or not _PARTITION_RE.fullmatch(day):
        raise PartitionError(f"partition must be a day as YYYY-MM-DD, got {day!r}")
    try:
        return dt.date.fromisoformat(day)
    except ValueError as exc:
        raise PartitionError(f"partition {day!r} is not a calendar day: {exc}") from None


def partition_dir(landing: Path, source_name: str, day: str | dt.date) -> Path:
    """The folder of one source and day, refusing anything that would leave the landing root."""
    if source_name not in SOURCES:
        raise PartitionError(f"unknown source {source_name!r}")
    d = parse_partition(day)
    root = Path(landing).resolve()
    path = (root / source_name / f"dt={d.isoformat()}").resolve()
    if root not in path.parents:
        raise PartitionError(f"partition path {path} escapes the landing root {root}")
    return path


def raw_suffix(name: str) -> str | None:
    """The raw suffix a file name ends with, matched without regard to case (None: not a raw file)."""
    lower = name.lower()
    return next((s for s in sorted(RAW_SUFFIXES, key=len, reverse=True) if lower.endswith(s)), None)


def is_parquet(path: Path) -> bool:
    return raw_suffix(path.name) == PARQUET_SUFFIX


def scan_partition(landing: Path, source_name: str, day: str | dt.date) -> PartitionScan:
    """The raw files of one source and day and what else its folder holds (recursively).

    Raises ``MissingPartitionError`` naming the folder when it does not exist (an existing, empty folder is
    an empty day) and ``PartitionError`` for a file that links out of the landing.
    """
    folder = partition_dir(landing, source_name, day)
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise MissingPartitionError(
            f"landing folder {folder} of source {source_name!r} {what}: refusing to load the day as "
            f"empty (is the landing mounted? an empty day is an existing, empty folder)")
    root = Path(landing).resolve()
    files, unknown = [], []
    for p in sorted(folder.rglob("*")):
        if p.is_symlink() and not p.exists():
            unknown.append(Unknown(_rel(p, root), "unknown_file", "broken link: its target does not exist"))
            continue
        if root not in p.resolve().parents:
            raise PartitionError(f"raw file {p} points outside the landing root")
        rel = _rel(p, root)
        if p.is_dir():
            unknown.append(Unknown(rel, "unknown_folder", "subfolder of a day folder: its files are not read"))
        elif not p.is_file():
            unknown.append(Unknown(rel, "unknown_file", "not a regular file (a pipe, socket or device): not read"))
        elif p.parent != folder:
            unknown.append(Unknown(rel, "unknown_file", "file in a subfolder of the day folder: not read", p))
        elif p.name.startswith("."):
            unknown.append(Unknown(rel, "unknown_file", "hidden file: not read", p))
        elif raw_suffix(p.name) is None:
            unknown.append(Unknown(rel, "unknown_file",
                                   f"suffix is none of {', '.join(RAW_SUFFIXES)}: not read", p))
        elif rel != p.relative_to(root).as_posix():
            unknown.append(Unknown(rel, "unknown_file", "file name is not valid UTF-8: not read (rename it)", p))
        else:
            files.append(p)
    return PartitionScan(folder, files, unknown + _strays(root, source_name, parse_partition(day)))


def _rel(p: Path, root: Path) -> str:
    """``p`` relative to the landing root as text that can be stored (bytes of a name that are not UTF-8
    shown as backslash escapes)."""
    return p.relative_to(root).as_posix().encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _regular(p: Path) -> Path | None:
    """``p`` when it is a regular file whose content can be hashed (never a pipe, which would block)."""
    return p if p.is_file() else None


def _strays(root: Path, source_name: str, day: dt.date) -> list[Unknown]:
    """Entries of the source folder that are no day, and top-level entries of the landing that are no source
    (an unknown source folder is reported for the days it holds, or for every day when it holds none)."""
    out = []
    base = root / source_name
    for p in sorted(base.iterdir()):
        if not (p.is_dir() and p.name.startswith("dt=") and _is_day(p.name[3:])):
            out.append(Unknown(_rel(p, root), "unknown_folder" if p.is_dir() else "unknown_file",
                               f"not a day folder dt=YYYY-MM-DD of source {source_name!r}: not read", _regular(p)))
    for p in sorted(root.iterdir()):
        if p.name in SOURCES or p.name in RESERVED_FOLDERS:
            continue
        days = [c for c in p.iterdir() if c.name.startswith("dt=")] if p.is_dir() else []
        here = p / f"dt={day.isoformat()}"
        if not days or here in days:
            out.append(Unknown(_rel(here if days else p, root), "unknown_source",
                               f"{p.name!r} is not a source of the contract: not read", _regular(p)))
    return out


def _is_day(text: str) -> bool:
    try:
        parse_partition(text)
    except PartitionError:
        return False
    return True


def raw_files(landing: Path, source_name: str, day: str | dt.date) -> list[Path]:
    """The raw files of one source and day, sorted by name (none when the folder does not exist)."""
    try:
        return scan_partition(landing, source_name, day).files
    except MissingPartitionError:
        return []


def landed_days(landing: Path) -> list[dt.date]:
    """Every day that has a partition folder for any source (folders that are no calendar day are skipped)."""
    days = set()
    for name in SOURCES:
        base = Path(landing) / name
        if base.is_dir():
            for p in base.iterdir():
                if p.name.startswith("dt=") and _is_day(p.name[3:]):
                    days.add(dt.date.fromisoformat(p.name[3:]))
    return sorted(days)
