"""Reading raw files: JSON lines as numbered text lines, Parquet file checks, file-level problems.

JSON lines are handed to DuckDB as Arrow tables ``(_line_number, _raw_text, _bad_encoding)``; parsing and
validation happen in SQL. Arrow's CSV reader does the line splitting (one text column, no quoting); when it
cannot (stray control bytes, a truncated gzip) the file is read again in Python from the first line not yet
handed out, so line numbers always match ``wc -l`` style 1-based line counts.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

LINE_SCHEMA = pa.schema([("_line_number", pa.int64()), ("_raw_text", pa.string()), ("_bad_encoding", pa.bool_())])
_BLOCK_BYTES = 32 << 20
_PY_BATCH_LINES = 200_000
_GZIP_CHUNK = 1 << 16


@dataclass(frozen=True)
class Issue:
    """A problem found while reading a file: scope 'file' (line 0) or a 'row' that never reaches SQL."""

    scope: str
    line_number: int
    reason_code: str
    reason: str
    raw_text: str | None = None


class JsonLines:
    """The lines of one ``.jsonl`` or ``.jsonl.gz`` file as Arrow tables, plus what went wrong reading it.

    Iterate ``tables()`` once; afterwards ``lines`` is the number of lines handed out and ``issues`` lists
    file-scope problems and lines that could not be handed out (the cut-off last line of a truncated gzip).
    """

    def __init__(self, path: Path, scratch: Path):
        self.path = Path(path)
        self.scratch = Path(scratch)
        self.lines = 0
        self.issues: list[Issue] = []

    @property
    def gzipped(self) -> bool:
        return self.path.name.endswith(".gz")

    def tables(self) -> Iterator[pa.Table]:
        if self.path.stat().st_size == 0:
            self.issues.append(Issue("file", 0, "empty_file", "file is empty (0 bytes)"))
            return
        try:
            yield from self._numbered(_arrow_chunks(self.path))
        except (OSError, pa.ArrowInvalid):
            yield from self._recover()
        if self.lines == 0 and not self.issues:
            self.issues.append(Issue("file", 0, "empty_file", "file has no lines"))

    def _recover(self) -> Iterator[pa.Table]:
        """Continue from the first line not yet handed out, splitting lines in Python; salvage a gzip."""
        if not self.gzipped:
            yield from self._numbered(_python_chunks(self.path), skip=self.lines)
            return
        plain, partial, damage = _salvage_gzip(self.path, self.scratch)
        try:
            yield from self._numbered(_python_chunks(plain), skip=self.lines)
        finally:
            plain.unlink(missing_ok=True)
        if damage:
            self.issues.append(Issue("file", 0, "truncated_gzip", f"gzip stream is damaged: {damage}"))
        if partial is not None:
            self.lines += 1
            self.issues.append(Issue("row", self.lines, "truncated_gzip",
                                     "last line cut off by the damaged gzip stream", partial))

    def _numbered(self, chunks: Iterator[pa.Array], skip: int = 0) -> Iterator[pa.Table]:
        seen = 0
        for chunk in chunks:
            start, seen = seen, seen + len(chunk)
            if seen <= skip:
                continue
            if start < skip:
                chunk, start = chunk.slice(skip - start), skip
            text, bad = _decode(chunk)
            numbers = pa.array(np.arange(start + 1, start + 1 + len(chunk), dtype=np.int64))
            self.lines = start + len(chunk)
            yield pa.Table.from_arrays([numbers, text, bad], schema=LINE_SCHEMA)


def _arrow_chunks(path: Path) -> Iterator[pa.Array]:
    """Lines as binary arrays via Arrow's CSV reader (gzip detected from the name)."""
    reader = pacsv.open_csv(
        str(path),
        read_options=pacsv.ReadOptions(column_names=["line"], block_size=_BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(delimiter="\x1f", quote_char=False, escape_char=False,
                                         newlines_in_values=False, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(column_types={"line": pa.binary()}, strings_can_be_null=False,
                                             quoted_strings_can_be_null=False),
    )
    for batch in reader:
        yield batch.column(0)


def _python_chunks(path: Path) -> Iterator[pa.Array]:
    """Lines split on ``\\n`` in Python (a trailing ``\\r`` is dropped), for files Arrow refuses."""
    buf: list[bytes] = []
    with open(path, "rb") as f:
        for line in f:
            buf.append(line.rstrip(b"\n").removesuffix(b"\r"))
            if len(buf) >= _PY_BATCH_LINES:
                yield pa.array(buf, pa.binary())
                buf = []
    if buf:
        yield pa.array(buf, pa.binary())


def _decode(chunk: pa.Array) -> tuple[pa.Array, pa.Array]:
    """UTF-8 text of a binary chunk and a flag per line whose bytes were not valid UTF-8."""
    try:
        return chunk.cast(pa.string()), pa.nulls(len(chunk), pa.bool_()).fill_null(False)
    except pa.ArrowInvalid:
        raw = chunk.to_pylist()
        bad = []
        for b in raw:
            try:
                b.decode("utf-8")
                bad.append(False)
            except UnicodeDecodeError:
                bad.append(True)
        text = [b.decode("utf-8", errors="replace") for b in raw]
        return pa.array(text, pa.string()), pa.array(bad, pa.bool_())


def _salvage_gzip(path: Path, scratch: Path) -> tuple[Path, str | None, str | None]:
    """Decompress what can be decompressed into a plain file in ``scratch``.

    Returns the plain file, the cut-off text after the last newline of a damaged stream (or None) and a
    description of the damage (None when the stream is complete).
    """
    scratch.mkdir(parents=True, exist_ok=True)
    out_path = scratch / f"salvage-{path.parent.parent.name}-{path.name}.jsonl"
    damage: str | None = None
    tail = b""
    d = zlib.decompressobj(wbits=31)
    with open(path, "rb") as f, open(out_path, "wb") as out:
        try:
            while chunk := f.read(_GZIP_CHUNK):
                while chunk:
                    if d.eof:  # next gzip member
                        d = zlib.decompressobj(wbits=31)
                    head, sep, tail = (tail + d.decompress(chunk)).rpartition(b"\n")
                    out.write(head + sep)
                    chunk = d.unused_data if d.eof else b""
            if not d.eof:
                damage = "stream ends before the gzip end-of-stream marker"
        except zlib.error as exc:
            damage = f"corrupt gzip data ({exc})"
        if damage is None:  # a complete stream: a last line without newline is an ordinary line
            out.write(tail)
            tail = b""
    partial = tail.decode("utf-8", errors="replace") if tail else None
    return out_path, partial, damage


def parquet_rows(path: Path) -> tuple[int, Issue | None]:
    """Row count of a Parquet file from its footer, or a file-scope issue when it has none or is unreadable."""
    if path.stat().st_size == 0:
        return 0, Issue("file", 0, "empty_file", "file is empty (0 bytes)")
    try:
        rows = pq.ParquetFile(path).metadata.num_rows
    except (OSError, pa.ArrowException) as exc:
        return 0, Issue("file", 0, "unreadable_file", f"not a readable Parquet file: {exc}")
    if rows == 0:
        return 0, Issue("file", 0, "empty_file", "Parquet file has no rows")
    return rows, None
