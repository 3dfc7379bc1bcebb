"""Read-ahead of query pages (jobs.prefetch): in order, errors in place, bounded, stoppable."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import structlog

from sfsync.jobs.prefetch import prefetched


def test_items_come_in_order_whatever_the_depth() -> None:
    for depth in (0, 1, 3):
        assert list(prefetched(iter(range(50)), depth)) == list(range(50))


def test_an_error_is_raised_where_its_item_would_have_come() -> None:
    def pages() -> Iterator[int]:
        yield 1
        yield 2
        raise LookupError("cursor expired")

    got = []
    with pytest.raises(LookupError, match="cursor expired"):
        for page in prefetched(pages()):
            got.append(page)
    assert got == [1, 2]


def test_the_reader_stays_at_most_depth_ahead_and_stops_when_the_caller_does() -> None:
    produced: list[int] = []
    settle = threading.Event()

    def pages() -> Iterator[int]:
        for n in range(100):
            produced.append(n)
            yield n

    reading = prefetched(pages(), depth=1)
    assert next(reading) == 0
    settle.wait(0.3)  # give the reader time to run ahead as far as it may
    # the one handed over, one waiting in the queue, one blocked on the full queue
    assert len(produced) <= 3
    reading.close()  # the caller stops early (an error while recording a page)
    assert len(produced) <= 3


def test_the_reader_logs_with_the_callers_context() -> None:
    seen: list[object] = []

    def pages() -> Iterator[int]:
        seen.append(structlog.contextvars.get_contextvars().get("run_id"))
        yield 1

    structlog.contextvars.bind_contextvars(run_id="r-1")
    try:
        assert list(prefetched(pages())) == [1]
    finally:
        structlog.contextvars.unbind_contextvars("run_id")
    assert seen == ["r-1"]
