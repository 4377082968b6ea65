"""Active mining: for every stage with a shortfall, the problem's mining query (its defining tags, as
``fleetloop mine`` takes it) finds similar scenes in the tag store; the clips that overlap no case window of
their vehicle (unflagged scenes) enter the mined case queue (``ads.ads_mined_case``, ``fleetloop.mining.queue``)
for the nightly scorer to replay or upload, at most ``mined_clips_per_problem`` per run and never more than the
shortfall. Queueing a query again replaces its clips (idempotent)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from itertools import islice

import duckdb

from fleetloop.curriculum.config import CurriculumConfig
from fleetloop.curriculum.features import CASE_TABLE
from fleetloop.mining.cli import find_clips
from fleetloop.mining.clips import Padding
from fleetloop.mining.queue import case_rows, enqueue


def case_windows(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """The case windows (start, end) of every vehicle."""
    windows: dict[str, list[tuple]] = {}
    for vehicle, start, end in con.execute(f"select vehicle_id, ts_start, ts_end from {CASE_TABLE}").fetchall():
        windows.setdefault(vehicle, []).append((start, end))
    return windows


def unflagged(windows: dict[str, list[tuple]], clips: Iterable[dict]) -> Iterator[dict]:
    """The clips that overlap no case window of their vehicle, in order."""
    last = dt.timedelta(seconds=1)  # a clip covers its last second: the queued case ends one second later
    return (c for c in clips if not any(s <= c["clip_end"] + last and c["clip_start"] <= e
                                        for s, e in windows.get(c["vehicle_id"], ())))


def mine_shortfalls(con: duckdb.DuckDBPyConnection, stages: list[dict], cfg: CurriculumConfig) -> dict[str, int]:
    """Queue the unflagged clips of each stage's mining query; return the clips queued per query."""
    padding = Padding(before_s=cfg.mining_padding_s, after_s=cfg.mining_padding_s)
    windows = case_windows(con)  # mined clips enter another table: the case windows stay as they are
    queued = {}
    for stage in stages:
        query = stage["mining_query"]
        if not query or stage["shortfall"] <= 0 or query in queued:
            continue
        _, clips = find_clips(con, query, padding)
        keep = list(islice(unflagged(windows, clips), min(stage["shortfall"], cfg.mined_clips_per_problem)))
        queued[query] = enqueue(con, query, case_rows(keep, query, cfg.mining_action))
    return queued
