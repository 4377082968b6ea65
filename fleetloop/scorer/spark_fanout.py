"""The nightly scorer's fan-out on Spark: the same contract as ``parallel.fan_out`` (``work(prepare(item))`` per
item, in queue order, ``NOT_REACHED`` for the items the deadline left unbegun), with the work run by Spark tasks
(``mapInPandas`` over the items' payloads) instead of local worker processes.

``prepare`` runs here, beside the run's DuckDB connection (the scenes are read where the warehouse is open, as
in process), until the deadline; every item prepared in time is then scored in one Spark job whose tasks each
unpickle ``(work, payload)``, run it and return the pickled result. ``work`` must be a pure function of its
payload importable by the executors' Python (``fleetloop`` installed there), so the results equal the in-process
ones. On a cluster the packages folder the work writes to must be shared storage."""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pandas as pd

from fleetloop.scorer.parallel import NOT_REACHED, Done

TASKS_PER_CORE = 2  # tasks per Spark core: a slow case does not hold a whole core's share of the queue
PAYLOAD_SCHEMA = "idx long, payload binary"
RESULT_SCHEMA = "idx long, result binary"


def _score_batches(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """In a Spark task: each row's pickled ``(work, payload)`` run, its result pickled."""
    for batch in batches:
        results = []
        for blob in batch["payload"]:
            work, payload = pickle.loads(blob)
            results.append(pickle.dumps(work(payload)))
        yield pd.DataFrame({"idx": batch["idx"], "result": results})


def spark_fan_out(session, items: Sequence, prepare: Callable[[Any], Any], work: Callable[[Any], Any],
                  deadline: float | None = None) -> list:
    """``work(prepare(item))`` for each item in order, the work on the Spark ``session``'s executors; ``deadline``
    (a ``time.monotonic()`` instant) stops the preparing: items not prepared by then are ``NOT_REACHED``."""
    results: list = [NOT_REACHED] * len(items)
    rows = []
    for i, item in enumerate(items):
        if deadline is not None and time.monotonic() >= deadline:
            break
        payload = prepare(item)
        if isinstance(payload, Done):
            results[i] = payload.result
        else:
            rows.append((i, pickle.dumps((work, payload))))
    if not rows:
        return results
    frame = pd.DataFrame(rows, columns=["idx", "payload"])
    tasks = min(len(rows), session.sparkContext.defaultParallelism * TASKS_PER_CORE)
    scored = session.createDataFrame(frame, schema=PAYLOAD_SCHEMA).repartition(tasks, "idx") \
        .mapInPandas(_score_batches, schema=RESULT_SCHEMA).collect()
    for row in scored:
        results[row["idx"]] = pickle.loads(row["result"])
    return results
