"""Streaming writers of one shard-day: JSON lines (plain or gzip) and Parquet, one row group per vehicle.

Files are ``<landing>/<source>/dt=<day>/part-<shard>.<ext>``; file-level faults add ``late-*``,
``resend-*`` and ``empty-*`` files. Every written fault is returned as a truth row with its 1-based line
(or Parquet row) number in its file, 0 for a whole file.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from fleetloop.paths import partition_dir
from fleetloop.sim.faults import Label, Lines

GZIP_SOURCES = ("heartbeat", "error_code", "perception_summary", "environment")


def gzip_bytes(data: bytes) -> bytes:
    """Deterministic gzip (no name, mtime 0)."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=1) as gz:
        gz.write(data)
    return buf.getvalue()


class ShardDayWriter:
    """All landing files of one shard and day."""

    def __init__(self, landing: Path, day: dt.date, shard: int):
        self.landing, self.day, self.shard = Path(landing), day, shard
        self._json: dict[str, tuple] = {}
        self._parquet: dict[str, tuple] = {}
        self.faults: list[dict] = []
        self.rows: dict[str, int] = {}

    def folder(self, source: str) -> Path:
        """The source's day folder, created: a quiet source lands an empty folder (an empty day), not none."""
        folder = partition_dir(self.landing, source, self.day)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def path(self, source: str, name: str) -> Path:
        return self.folder(source) / name

    def rel(self, path: Path) -> str:
        return path.relative_to(self.landing.resolve()).as_posix()

    def label(self, source: str, path: Path, line: int, label: Label) -> None:
        self.faults.append({"source": source, "dt": self.day, "file": self.rel(path), "line_number": line,
                            "fault_class": label.fault_class, "expected_handling": label.handling,
                            "expected_reason_code": label.reason_code})

    def write_json(self, source: str, lines: Lines) -> None:
        """Append lines to the shard's file of a JSON-lines source, recording fault labels."""
        if not lines.lines:
            self.folder(source)
            return
        if source not in self._json:
            gz = source in GZIP_SOURCES
            path = self.path(source, f"part-{self.shard:03d}.jsonl" + (".gz" if gz else ""))
            raw = path.open("wb")
            stream = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=1) if gz else raw
            self._json[source] = (path, raw, stream, [0])
        path, _, stream, count = self._json[source]
        self.write_lines(source, path, stream, lines, count)

    def write_lines(self, source: str, path: Path, stream, lines: Lines, count: list[int]) -> None:
        for i, label in sorted(lines.labels.items()):
            self.label(source, path, count[0] + i + 1, label)
        stream.write(("\n".join(lines.lines) + "\n").encode("utf-8"))
        count[0] += len(lines.lines)
        self.rows[source] = self.rows.get(source, 0) + len(lines.lines)

    def write_file(self, source: str, name: str, lines: Lines, file_label: Label | None) -> Path:
        """A whole extra JSON-lines file (late or resent batch); labels its lines and the file itself."""
        path = self.path(source, name)
        with path.open("wb") as f:
            self.write_lines(source, path, f, lines, [0])
        if file_label is not None:
            self.label(source, path, 0, file_label)
        return path

    def write_raw(self, source: str, name: str, data: bytes, file_label: Label) -> None:
        path = self.path(source, name)
        path.write_bytes(data)
        self.label(source, path, 0, file_label)

    def write_parquet(self, source: str, table: pa.Table, labels: dict[int, str] | None = None) -> None:
        """Append one row group (one vehicle) to the shard's Parquet file of a source."""
        if table is None or table.num_rows == 0:
            self.folder(source)
            return
        if source not in self._parquet:
            path = self.path(source, f"part-{self.shard:03d}.parquet")
            strings = [f.name for f in table.schema if pa.types.is_dictionary(f.type) or pa.types.is_string(f.type)]
            # no stored Arrow schema: the dictionary-encoded strings read back as plain strings
            writer = pq.ParquetWriter(path, table.schema, compression="snappy", use_dictionary=strings,
                                      store_schema=False)
            self._parquet[source] = (path, writer, [0])
        path, writer, count = self._parquet[source]
        for pos, kind in sorted((labels or {}).items()):
            self.label(source, path, count[0] + pos + 1, Label(kind))
        writer.write_table(table, row_group_size=table.num_rows)
        count[0] += table.num_rows
        self.rows[source] = self.rows.get(source, 0) + table.num_rows

    def close(self) -> None:
        for _, raw, stream, _ in self._json.values():
            if stream is not raw:
                stream.close()
            raw.close()
        for _, writer, _ in self._parquet.values():
            writer.close()
