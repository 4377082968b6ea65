"""Property test: random byte-level corruptions of real simulated landing files (flips, truncation, inserted CR
and NUL bytes, duplicated lines). Whatever the damage, reconciliation balances and every line the damage left
intact is loaded (or, being a copy, counted as a duplicate) exactly as in the clean load."""

import gzip
import random
import zlib

import pytest

from fleetloop.contract import SOURCES
from fleetloop.ingest import connect
from fleetloop.paths import raw_files
from tests.fixtures.ods import load

CASES = 30
SEEDS = range(CASES)
LINES_PER_FILE = 120  # lines kept of each simulated file: enough structure, fast loads
CORRUPTIONS = ("flip", "truncate", "cr", "nul", "duplicate", "truncate_gzip")
# an intact line may lose its place only to a damaged line it collides with (same key, or a km/h neighbour)
COLLATERAL_CODES = {"pk_conflict", "unit_error"}


def _lines(data: bytes) -> list[bytes]:
    """Reference line split: LF ends a line, trailing CRs belong to the ending, a leading BOM is dropped."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    parts = data.split(b"\n")
    if parts and parts[-1] == b"":
        parts.pop()
    return [p.rstrip(b"\r") for p in parts]


@pytest.fixture(scope="module")
def clean(sim_fleet, tmp_path_factory):
    """Small copies of the simulator's JSON-lines files of one day (plain and gzip), and the lines each clean
    load puts into ODS, by source: {(file name, text)}."""
    day = sim_fleet.days[0]
    root = tmp_path_factory.mktemp("clean") / "landing"
    sources = [s for s in SOURCES if SOURCES[s].default_format != "parquet"]
    texts: dict[str, dict[str, list[bytes]]] = {}
    for source in sources:
        folder = root / source / f"dt={day}"
        folder.mkdir(parents=True)
        for path in raw_files(sim_fleet.landing, source, day):
            if path.name.startswith(("empty-", "resend-")):
                continue
            data = path.read_bytes()
            lines = _lines(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)[:LINES_PER_FILE]
            texts.setdefault(source, {})[path.name] = lines
            body = b"".join(line + b"\n" for line in lines)
            (folder / path.name).write_bytes(gzip.compress(body) if path.name.endswith(".gz") else body)
    loaded = {}
    with connect(tmp_path_factory.mktemp("clean_wh") / "wh.duckdb") as con:
        for source in sources:
            load(con, root, source, day)
            loaded[source] = _loaded_texts(con, source, texts[source])
    return root, day, texts, loaded


def _loaded_texts(con, source: str, texts: dict[str, list[bytes]]) -> set[tuple[str, bytes]]:
    rows = con.execute(f"select _source_file, _line_number from ods.{SOURCES[source].ods_table}").fetchall()
    return {(f.rsplit("/", 1)[-1], texts[f.rsplit("/", 1)[-1]][n - 1]) for f, n in rows}


def _corrupt(rng: random.Random, lines: list[bytes], gz: bool) -> tuple[bytes, list[bytes]]:
    """File bytes after one random corruption, and the lines the loader should see (reference split)."""
    kind = rng.choice(CORRUPTIONS if gz else CORRUPTIONS[:-1])
    body = bytearray(b"".join(line + b"\n" for line in lines))
    at = rng.randrange(len(body))
    if kind == "flip":
        body[at] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        del body[at:]
    elif kind in ("cr", "nul"):
        body[at:at] = b"\r" if kind == "cr" else b"\x00"
    elif kind == "duplicate":
        i = rng.randrange(len(lines))
        body = bytearray(b"".join(line + b"\n" for line in lines[:i + 1] + lines[i:]))
    data = bytes(body)
    if not gz:
        return data, _lines(data)
    packed = gzip.compress(data)
    if kind != "truncate_gzip":
        return packed, _lines(data)
    cut = packed[:rng.randrange(10, len(packed))]
    text = zlib.decompressobj(wbits=31).decompress(cut)
    return cut, _lines(text[:text.rfind(b"\n") + 1])  # the cut-off last line is quarantined, never loaded


@pytest.mark.parametrize("seed", SEEDS)
def test_corrupted_landing_balances_and_keeps_every_intact_line(clean, tmp_path, seed):
    root, day, texts, loaded = clean
    rng = random.Random(seed)
    source = rng.choice(sorted(texts))
    landing = tmp_path / "landing"
    folder = landing / source / f"dt={day}"
    folder.mkdir(parents=True)
    seen: dict[str, list[bytes]] = {}
    names = sorted(texts[source])
    damaged = {n for n in names if rng.random() < 0.5} or {rng.choice(names)}
    for name, lines in texts[source].items():
        if name in damaged:
            data, seen[name] = _corrupt(rng, lines, name.endswith(".gz"))
        else:
            data, seen[name] = (root / source / f"dt={day}" / name).read_bytes(), lines
        (folder / name).write_bytes(data)
    with connect(tmp_path / "wh.duckdb") as con:
        r = load(con, landing, source, day)
        assert r.rows_unaccounted == 0
        assert r.rows_read == r.rows_loaded + r.rows_quarantined + r.rows_duplicate
        assert r.rows_read >= sum(len(v) for v in seen.values())  # lines seen, plus a cut-off last line
        got = {(f.rsplit("/", 1)[-1], n) for f, n in con.execute(
            f"select _source_file, _line_number from ods.{SOURCES[source].ods_table}").fetchall()}
        quarantined = {(f.rsplit("/", 1)[-1], n): code for f, n, code in con.execute(
            "select source_file, line_number, reason_code from ods.ods_quarantine where scope = 'row'").fetchall()}
    for name, lines in seen.items():
        first: set[bytes] = set()
        for n, text in enumerate(lines, start=1):
            if (name, text) not in loaded[source] or text in first:
                continue  # not loaded when clean, or a later copy (counted as a duplicate)
            first.add(text)
            assert (name, n) in got or quarantined.get((name, n)) in COLLATERAL_CODES, (seed, name, n, text)
