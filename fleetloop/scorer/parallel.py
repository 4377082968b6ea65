"""Fan-out of a queue of work items over worker processes, in queue order, within a wall-clock deadline.

``fan_out`` takes items in order: ``prepare`` runs in the calling process (the nightly scorer loads each case's
scene there, so that DuckDB is only ever touched by the process that holds the run's connection: DuckDB allows
one writing process per file and no reader beside it), then ``work`` runs in a worker process of a
``ProcessPoolExecutor`` (``spawn`` context: no inherited DuckDB handles or locks) on what ``prepare`` returned.
At most ``IN_FLIGHT_PER_PROCESS`` items per worker are submitted ahead, so an item is begun (prepared and
submitted) only while the deadline has not passed; an item begun is always finished, so the overrun is at most
the items in flight. Items never begun come back as ``NOT_REACHED``, always a tail of the queue. Results are in
queue order and do not depend on the number of processes: ``work`` must be a pure function of its payload.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

IN_FLIGHT_PER_PROCESS = 2  # one being worked on, one prepared and waiting: the workers never idle on prepare
START_METHOD = "spawn"


class _NotReached:
    def __repr__(self) -> str:
        return "NOT_REACHED"


NOT_REACHED = _NotReached()  # the result of an item the deadline left unbegun


class Done:
    """What ``prepare`` returns when the item needs no work (e.g. its input could not be built): the result."""

    def __init__(self, result: Any) -> None:
        self.result = result


def fan_out(items: Sequence, prepare: Callable[[Any], Any], work: Callable[[Any], Any], processes: int,
            deadline: float | None = None) -> list:
    """``work(prepare(item))`` for each item in order (``prepare``'s ``Done.result`` as it is), on ``processes``
    worker processes (1: in this process, no pool); ``deadline`` is a ``time.monotonic()`` instant after which no
    item is begun (None: no deadline). Returns one result per item, ``NOT_REACHED`` for those never begun."""
    if processes < 1:
        raise ValueError(f"processes must be >= 1, got {processes}")
    results: list = [NOT_REACHED] * len(items)

    def expired() -> bool:
        return deadline is not None and time.monotonic() >= deadline

    if processes == 1:
        for i, item in enumerate(items):
            if expired():
                break
            payload = prepare(item)
            results[i] = payload.result if isinstance(payload, Done) else work(payload)
        return results

    pending: dict[Future, int] = {}
    upcoming = iter(enumerate(items))
    with ProcessPoolExecutor(max_workers=processes, mp_context=mp.get_context(START_METHOD)) as pool:
        try:
            while True:
                while len(pending) < processes * IN_FLIGHT_PER_PROCESS and not expired():
                    nxt = next(upcoming, None)
                    if nxt is None:
                        break
                    i, item = nxt
                    payload = prepare(item)
                    if isinstance(payload, Done):
                        results[i] = payload.result
                    else:
                        pending[pool.submit(work, payload)] = i
                if not pending:
                    break
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    results[pending.pop(fut)] = fut.result()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return results
