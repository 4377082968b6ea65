"""The scorer's fan-out (``fleetloop.scorer.parallel``) on hand-computed items: results in queue order whatever
the number of processes, prepare's immediate results passed through, the deadline leaving a tail of
``NOT_REACHED`` (an item begun is finished), and a worker's failure raised, not swallowed."""

from __future__ import annotations

import time

import pytest

from fleetloop.scorer.parallel import IN_FLIGHT_PER_PROCESS, NOT_REACHED, Done, fan_out

SLOW_S = 0.4  # one item's work in the deadline tests


def _square(x: int) -> int:
    return x * x


def _slow_square(x: int) -> int:
    time.sleep(SLOW_S)
    return x * x


def _fail_on_three(x: int) -> int:
    if x == 3:
        raise RuntimeError("item 3 is broken")
    return x


def _odd_is_done(x: int):
    return Done(-x) if x % 2 else x


@pytest.mark.parametrize("processes", [1, 2])
def test_results_follow_the_queue_whatever_the_processes(processes):
    items = list(range(13))
    assert fan_out(items, _odd_is_done, _square, processes) == [-x if x % 2 else x * x for x in items]
    assert fan_out([], _odd_is_done, _square, processes) == []


def test_the_deadline_leaves_a_tail_in_one_process():
    # items begin at 0, SLOW_S, 2 SLOW_S, ...: with 1.5 SLOW_S of budget the first two begin, the rest never do
    out = fan_out(list(range(6)), int, _slow_square, 1, deadline=time.monotonic() + 1.5 * SLOW_S)
    assert out == [0, 1] + [NOT_REACHED] * 4


def test_the_deadline_leaves_a_tail_on_two_processes():
    # the first 2 x IN_FLIGHT_PER_PROCESS items are submitted at once; none finishes before the deadline (each takes
    # SLOW_S after the workers start), so no other item begins, and the ones begun are finished
    begun = 2 * IN_FLIGHT_PER_PROCESS
    out = fan_out(list(range(10)), int, _slow_square, 2, deadline=time.monotonic() + SLOW_S / 2)
    assert out == [x * x for x in range(begun)] + [NOT_REACHED] * (10 - begun)
    assert fan_out(list(range(3)), int, _square, 2, deadline=time.monotonic() - 1.0) == [NOT_REACHED] * 3


def test_a_failing_item_is_raised():
    with pytest.raises(RuntimeError, match="item 3 is broken"):
        fan_out(list(range(8)), int, _fail_on_three, 2)
    with pytest.raises(ValueError, match="processes must be >= 1"):
        fan_out([1], int, _square, 0)
