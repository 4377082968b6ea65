"""What has landed: a cheap fingerprint of each source's day folder, for the late-data sensor."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from fleetloop.contract import SOURCES
from fleetloop.paths import landed_days, raw_files


@dataclass(frozen=True)
class FolderPrint:
    """File count, total bytes and newest mtime of one source's day folder."""

    files: int
    bytes: int
    newest_mtime: float

    @property
    def key(self) -> str:
        return f"{self.files}:{self.bytes}:{self.newest_mtime:.6f}"


def folder_print(landing: Path, source: str, day: dt.date) -> FolderPrint | None:
    """The fingerprint of ``<landing>/<source>/dt=<day>``, or None when nothing has landed there."""
    files = raw_files(landing, source, day)
    if not files:
        return None
    stats = [f.stat() for f in files]
    return FolderPrint(len(stats), sum(s.st_size for s in stats), max(s.st_mtime for s in stats))


def landing_prints(landing: Path) -> dict[str, dict[str, FolderPrint]]:
    """``{day: {source: FolderPrint}}`` for every landed day and source."""
    out: dict[str, dict[str, FolderPrint]] = {}
    for day in landed_days(landing):
        for source in SOURCES:
            fp = folder_print(landing, source, day)
            if fp is not None:
                out.setdefault(day.isoformat(), {})[source] = fp
    return out
