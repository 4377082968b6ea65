"""Where things live: the landing layout, the warehouse files, and safe partition names.

Landing layout: ``<landing>/<source>/dt=YYYY-MM-DD/<file>`` with files ``*.jsonl``, ``*.jsonl.gz`` or
``*.parquet``. Ground truth of a simulation goes to ``<landing>/_truth/``.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from fleetloop.contract import SOURCES

RAW_SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet")
_PARTITION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class PartitionError(ValueError):
    """A partition name or path that must not be used."""


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


def raw_files(landing: Path, source_name: str, day: str | dt.date) -> list[Path]:
    """The raw files of one source and day, sorted by name; symlinks out of the landing are refused."""
    folder = partition_dir(landing, source_name, day)
    if not folder.is_dir():
        return []
    root = Path(landing).resolve()
    files = []
    for p in sorted(folder.iterdir()):
        if not p.name.endswith(RAW_SUFFIXES) or p.name.startswith("."):
            continue
        real = p.resolve()
        if root not in real.parents:
            raise PartitionError(f"raw file {p} points outside the landing root")
        files.append(p)
    return files


def landed_days(landing: Path) -> list[dt.date]:
    """Every day that has a partition folder for any source."""
    days = set()
    for name in SOURCES:
        base = Path(landing) / name
        if base.is_dir():
            for p in base.iterdir():
                if p.name.startswith("dt=") and _PARTITION_RE.fullmatch(p.name[3:]):
                    days.add(dt.date.fromisoformat(p.name[3:]))
    return sorted(days)
