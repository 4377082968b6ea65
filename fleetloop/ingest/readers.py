"""Reading raw files: JSON lines as numbered text lines, Parquet file checks, file-level problems.

JSON lines are handed to DuckDB as Arrow tables ``(_line_number, _raw_text, _bad_encoding)``; parsing and
validation happen in SQL. One line-splitting rule serves every path (first read, damaged gzip, re-reads of
rejected lines): a line ends at LF; carriage returns right before the LF belong to the line ending (so LF
and CRLF files agree), a lone CR inside a line does not split it, and a UTF-8 byte-order mark at the start
of the file is dropped. Line numbers are ``wc -l`` style, 1-based; a last line without LF counts.
Compression is told from the content (gzip magic bytes, also gzip inside gzip), never from the name; so is
Parquet content in a file named like JSON lines (``has_parquet_magic``).
"""

from __future__ import annotations

import hashlib
import itertools
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

LINE_SCHEMA = pa.schema([("_line_number", pa.int64()), ("_raw_text", pa.string()), ("_bad_encoding", pa.bool_())])
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
UTF8_BOM = b"\xef\xbb\xbf"
_BLOCK_BYTES = 32 << 20  # bytes of (decompressed) text split into lines at a time
_GZIP_READ_BYTES = 1 << 20  # compressed bytes per decompression step
_GZIP_SALVAGE_BYTES = 1 << 10  # ... and per step when a step fails, to keep the text before the damage
_GZIP_MAX_LAYERS = 4  # gzip inside gzip is decompressed again, this many layers at most
_HASH_BYTES = 8 << 20


@dataclass(frozen=True)
class Issue:
    """A problem found while reading a file: scope 'file' (line 0) or a 'row' that never reaches SQL."""

    scope: str
    line_number: int
    reason_code: str
    reason: str
    raw_text: str | None = None


def is_gzip(path: Path) -> bool:
    """Whether the file starts with the gzip magic bytes (False when it cannot be read)."""
    try:
        with open(path, "rb") as f:
            return f.read(len(GZIP_MAGIC)) == GZIP_MAGIC
    except OSError:
        return False


def has_parquet_magic(path: Path) -> bool:
    """Whether the file starts and ends with the Parquet magic bytes (False when it cannot be read)."""
    try:
        with open(path, "rb") as f:
            head = f.read(len(PARQUET_MAGIC))
            if f.seek(0, 2) < 2 * len(PARQUET_MAGIC):
                return False
            f.seek(-len(PARQUET_MAGIC), 2)
            return head == PARQUET_MAGIC and f.read() == PARQUET_MAGIC
    except OSError:
        return False


def sha256(path: Path) -> str | None:
    """Hex SHA-256 of the file's content (None when it cannot be read)."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while block := f.read(_HASH_BYTES):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


class JsonLines:
    """The lines of one JSON-lines file (plain or gzip) as Arrow tables, plus what went wrong reading it.

    Iterate ``tables()`` once; afterwards ``lines`` is the number of lines handed out and ``issues`` lists
    file-scope problems and lines that could not be handed out (the cut-off last line of a damaged gzip).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.lines = 0
        self.issues: list[Issue] = []
        self.damage: str | None = None
        self.layers = 0  # gzip layers decompressed (0: plain text)

    def damaged(self, why: str) -> None:
        """Note damage to the gzip stream (the first noted is the cause, later ones follow from it)."""
        self.damage = self.damage or why

    def tables(self) -> Iterator[pa.Table]:
        try:
            yield from self._tables()
        except OSError as exc:  # unreadable (permissions, I/O error): the lines handed out so far stay
            self.issues.append(Issue("file", 0, "unreadable_file", f"file cannot be read: {exc}"))

    def _tables(self) -> Iterator[pa.Table]:
        if self.path.stat().st_size == 0:
            self.issues.append(Issue("file", 0, "empty_file", "file is empty (0 bytes)"))
            return
        tail = b""
        for block in _blocks(self.path, self):
            data = tail + block
            if self.lines == 0 and not tail:
                data = data.removeprefix(UTF8_BOM)
            end = data.rfind(b"\n") + 1
            tail = data[end:]
            if end:
                yield self._table(data[:end])
        if tail and self.damage is None:  # a complete file: a last line without LF is an ordinary line
            yield self._table(tail + b"\n")
        elif tail:
            self.lines += 1
            self.issues.append(Issue("row", self.lines, "truncated_gzip",
                                     "last line cut off by the damaged gzip stream",
                                     tail.decode("utf-8", errors="replace")))
        if self.damage:
            self.issues.append(Issue("file", 0, "truncated_gzip", f"gzip stream is damaged: {self.damage}"))
        if self.lines == 0 and not self.issues:
            self.issues.append(Issue("file", 0, "empty_file", "file has no lines"))

    def _table(self, data: bytes) -> pa.Table:
        """Lines of ``data`` (which ends with LF), numbered on from the lines already handed out."""
        ends = np.flatnonzero(np.frombuffer(data, np.uint8) == ord("\n")).astype(np.int64) + 1
        offsets = pa.py_buffer(np.concatenate([[0], ends]).astype(np.int64 if len(data) >> 31 else np.int32))
        kind = pa.large_binary() if len(data) >> 31 else pa.binary()
        chunk = pa.Array.from_buffers(kind, len(ends), [None, offsets, pa.py_buffer(data)])
        text, bad = _decode(chunk)
        start = self.lines
        self.lines += len(ends)
        numbers = pa.array(np.arange(start + 1, self.lines + 1, dtype=np.int64))
        return pa.Table.from_arrays([numbers, text, bad], schema=LINE_SCHEMA)


def _blocks(path: Path, reader: JsonLines) -> Iterator[bytes]:
    """The file's bytes in blocks, decompressed when it is gzip (any number of members, and again while the
    decompressed content is gzip itself); damage to a gzip stream ends the blocks and is noted on
    ``reader.damage``."""
    with open(path, "rb") as f:
        if f.read(len(GZIP_MAGIC)) != GZIP_MAGIC:
            f.seek(0)
            while block := f.read(_BLOCK_BYTES):
                yield block
            return
        f.seek(0)
        stream = _gunzip(iter(lambda: f.read(_GZIP_READ_BYTES), b""), reader)
        reader.layers = 1
        while reader.layers < _GZIP_MAX_LAYERS:
            head, stream = _peek(stream, len(GZIP_MAGIC))
            if head[:len(GZIP_MAGIC)] != GZIP_MAGIC:
                break
            reader.layers += 1
            stream = _gunzip(stream, reader)
        yield from stream


def _peek(stream: Iterator[bytes], n: int) -> tuple[bytes, Iterator[bytes]]:
    """The first ``n`` bytes of a stream of blocks (fewer when it is shorter) and the whole stream again."""
    head = b""
    for block in stream:
        head += block
        if len(head) >= n:
            break
    return head, itertools.chain([head], stream)


def _gunzip(chunks: Iterator[bytes], reader: JsonLines) -> Iterator[bytes]:
    """Decompressed blocks of a gzip stream given in compressed chunks (any number of members)."""
    d = zlib.decompressobj(wbits=31)
    for chunk in chunks:
        while chunk:
            if d.eof:  # the next gzip member
                d = zlib.decompressobj(wbits=31)
            before = d.copy()
            try:
                yield d.decompress(chunk)
            except zlib.error as exc:  # keep what decompresses before the damage
                yield from _salvage(before, chunk)
                reader.damaged(f"corrupt gzip data ({exc})")
                return
            chunk = d.unused_data if d.eof else b""
    if not d.eof:
        reader.damaged("stream ends before the gzip end-of-stream marker")


def _salvage(d, chunk: bytes) -> Iterator[bytes]:
    """What ``chunk`` decompresses to before the damage: in small steps, the failing step byte by byte (a
    wrong checksum in the trailer fails the call that would also return the last of the data)."""
    for i in range(0, len(chunk), _GZIP_SALVAGE_BYTES):
        step, keep = chunk[i:i + _GZIP_SALVAGE_BYTES], d.copy()
        try:
            yield d.decompress(step)
        except zlib.error:
            for j in range(len(step)):
                try:
                    yield keep.decompress(step[j:j + 1])
                except zlib.error:
                    return
            return


def _decode(chunk: pa.Array) -> tuple[pa.Array, pa.Array]:
    """UTF-8 text of binary lines (each ending with LF) without their line ending, and a flag per line whose
    bytes were not valid UTF-8 (shown with replacement characters)."""
    try:
        text = chunk.cast(pa.string())
        bad = pa.nulls(len(chunk), pa.bool_()).fill_null(False)
    except pa.ArrowInvalid:
        raw = chunk.to_pylist()
        flags = []
        for b in raw:
            try:
                b.decode("utf-8")
                flags.append(False)
            except UnicodeDecodeError:
                flags.append(True)
        text = pa.array([b.decode("utf-8", errors="replace") for b in raw], pa.string())
        bad = pa.array(flags, pa.bool_())
    return pc.utf8_rtrim(pc.utf8_rtrim(text, characters="\n"), characters="\r"), bad


def parquet_rows(path: Path) -> tuple[int, Issue | None]:
    """Row count of a Parquet file from its footer, or a file-scope issue when it has none or is unreadable."""
    try:
        if path.stat().st_size == 0:
            return 0, Issue("file", 0, "empty_file", "file is empty (0 bytes)")
        rows = pq.ParquetFile(path).metadata.num_rows
    except (OSError, pa.ArrowException) as exc:
        return 0, Issue("file", 0, "unreadable_file", f"not a readable Parquet file: {exc}")
    if rows == 0:
        return 0, Issue("file", 0, "empty_file", "Parquet file has no rows")
    return rows, None
