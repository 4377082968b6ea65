"""Data faults: each one corrupts exactly one row (or one file) and is labelled for the truth.

Row faults work on JSON-lines text. Heartbeats are corrupted in place (the row is lost to quarantine,
which a 1 Hz stream tolerates); the event sources get a corrupted copy next to the intact row so that no
injected event is lost. Parquet pose only gets exact duplicates and out-of-order rows.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import numpy as np

from fleetloop.contract import SOURCES, Source

ROW_FAULTS = ("duplicate", "out_of_order", "malformed_json", "missing_field", "wrong_type", "unknown_enum",
              "clock_skew", "unit_error")
HANDLING = {"duplicate": ("duplicate", None), "out_of_order": ("load", None), "late_file": ("load", None)}
OUT_OF_ORDER_SHIFT = 3  # a delayed row lands this many rows later
UNIT_ERROR_MIN_SPEED_MPS = 3.0
KMH_PER_MPS = 3.6


@dataclass(frozen=True)
class Label:
    """A fault on one line (or a whole file when ``line_number`` is 0 at write time)."""

    fault_class: str

    @property
    def handling(self) -> str:
        return HANDLING.get(self.fault_class, ("quarantine",))[0]

    @property
    def reason_code(self) -> str | None:
        return HANDLING[self.fault_class][1] if self.fault_class in HANDLING else self.fault_class


@dataclass
class Lines:
    """JSON lines and the fault labels of some of them (0-based line index -> label)."""

    lines: list[str]
    labels: dict[int, Label]

    def split(self, n: int) -> tuple[Lines, Lines]:
        """The first n lines and the rest, labels following their lines."""
        head = {i: lab for i, lab in self.labels.items() if i < n}
        tail = {i - n: lab for i, lab in self.labels.items() if i >= n}
        return Lines(self.lines[:n], head), Lines(self.lines[n:], tail)


def applicable(source: Source, in_place: bool) -> list[str]:
    out = [f for f in ROW_FAULTS if f != "unit_error"]
    if not any(f.allowed for f in source.fields):
        out.remove("unknown_enum")
    if in_place and source.name == "heartbeat":
        out.append("unit_error")
    return out


def choose_rows(n: int, rate: float, rng: np.random.Generator, protected: np.ndarray | None = None) -> np.ndarray:
    """Rows to corrupt, at least OUT_OF_ORDER_SHIFT + 2 apart so that no two faults touch one row."""
    if rate <= 0 or n == 0:
        return np.empty(0, dtype=np.int64)
    rows = np.flatnonzero(rng.random(n) < rate)
    if protected is not None:
        rows = rows[~protected[rows]]
    keep, last = [], -10**9
    for r in rows.tolist():
        if r - last >= OUT_OF_ORDER_SHIFT + 2 and r < n - OUT_OF_ORDER_SHIFT - 1:
            keep.append(r)
            last = r
    return np.array(keep, dtype=np.int64)


def inject(lines: list[str], source: Source, rate: float, rng: np.random.Generator, in_place: bool,
           protected: np.ndarray | None = None) -> Lines:
    """Lines with row faults and the labels of the faulty lines (0-based index -> label)."""
    rows = choose_rows(len(lines), rate, rng, protected)
    if rows.size == 0:
        return Lines(lines, {})
    kinds = applicable(source, in_place)
    out: list[str] = []
    labels: dict[int, Label] = {}
    cursor = 0
    for r in rows.tolist():
        kind = kinds[int(rng.integers(len(kinds)))]
        if kind == "unit_error" and not _unit_error_ok(lines[r]):
            kind = "wrong_type"
        out.extend(lines[cursor:r])
        cursor = r + 1
        line = lines[r]
        if kind == "duplicate":
            out.append(line)
            labels[len(out)] = Label("duplicate")
            out.append(line)
        elif kind == "out_of_order":  # released after the next OUT_OF_ORDER_SHIFT rows
            out.extend(lines[cursor:cursor + OUT_OF_ORDER_SHIFT])
            cursor += OUT_OF_ORDER_SHIFT
            labels[len(out)] = Label("out_of_order")
            out.append(line)
        else:
            if not in_place:
                out.append(line)
            labels[len(out)] = Label(kind)
            out.append(_corrupt(line, kind, source, rng))
    out.extend(lines[cursor:])
    return Lines(out, labels)


def _unit_error_ok(line: str) -> bool:
    speed = json.loads(line).get("speed_mps")
    return speed is not None and speed >= UNIT_ERROR_MIN_SPEED_MPS


def _corrupt(line: str, kind: str, source: Source, rng: np.random.Generator) -> str:
    if kind == "malformed_json":
        return line[: max(1, len(line) // 2)]
    rec = json.loads(line)
    fields = source.fields
    if kind == "missing_field":
        name = _pick(rng, [f.name for f in fields if not f.nullable])
        del rec[name]
    elif kind == "wrong_type":
        numeric = [f for f in fields if f.type in ("DOUBLE", "BOOLEAN", "BIGINT")]
        if numeric:
            f = numeric[int(rng.integers(len(numeric)))]
            rec[f.name] = "maybe" if f.type == "BOOLEAN" else "fast"
        else:
            rec[_pick(rng, [f.name for f in fields if f.is_timestamp])] = "not-a-time"
    elif kind == "unknown_enum":
        f = [f for f in fields if f.allowed][int(rng.integers(sum(1 for f in fields if f.allowed)))]
        rec[f.name] = "teleport_" + str(int(rng.integers(100)))
    elif kind == "clock_skew":
        shift = dt.timedelta(days=int(rng.choice([-4, -3, -2, 2, 3, 4])))
        for f in fields:
            if f.is_timestamp and rec.get(f.name):
                rec[f.name] = _shift(rec[f.name], shift)
    elif kind == "unit_error":
        rec["speed_mps"] = round(rec["speed_mps"] * KMH_PER_MPS, 4)
    return json.dumps(rec, ensure_ascii=False)


def _pick(rng: np.random.Generator, names: list[str]) -> str:
    return names[int(rng.integers(len(names)))]


def _shift(ts: str, delta: dt.timedelta) -> str:
    t = dt.datetime.fromisoformat(ts.replace("Z", "+00:00")) + delta
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parquet_faults(n: int, rate: float, rng: np.random.Generator) -> tuple[np.ndarray, dict[int, str]]:
    """Row order for a Parquet chunk with duplicates and out-of-order rows, and the labelled positions."""
    rows = choose_rows(n, rate, rng)
    kinds = rng.integers(0, 2, rows.size)
    key = np.arange(n, dtype=float)
    moved = rows[kinds == 1]
    key[moved] += OUT_OF_ORDER_SHIFT + 0.5
    dups = rows[kinds == 0]
    order_key = np.concatenate([key, dups + 0.25])
    source_row = np.concatenate([np.arange(n), dups])
    order = np.argsort(order_key, kind="stable")
    labels = {}
    position = np.empty(order.size, dtype=np.int64)
    position[order] = np.arange(order.size)
    for j in range(dups.size):
        labels[int(position[n + j])] = "duplicate"
    for r in moved.tolist():
        labels[int(position[r])] = "out_of_order"
    return source_row[order], labels


def source_of(name: str) -> Source:
    return SOURCES[name]
