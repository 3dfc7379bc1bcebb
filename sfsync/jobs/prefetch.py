"""Read ahead: the next query page is fetched while the current one is decided and recorded.

At 100 ms a call and about a second to decide and record 2,000 leads, the
pull spends most of its wall time waiting for the org when it asks for page
k+1 only after page k is recorded. `prefetched(pages)` runs the page iterator
in one background thread, at most `depth` pages ahead (memory stays bounded:
one 2,000-lead page is a few MB), and hands the pages over in order.

Errors in the reader (a query restart, an API limit) are raised in the
caller at the point the page would have come, so the pull handles them
exactly as before. A caller that stops early (an exception while recording)
makes the reader stop after the page in hand; nothing is recorded by the
reader itself, so a crash loses at most pages that were never recorded, which
the watermark makes the next cycle read again.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class _Done:
    pass


@dataclass(frozen=True)
class _Item(Generic[T]):
    value: T


def prefetched(items: Iterable[T], depth: int = 1) -> Iterator[T]:
    """`items` in order, with up to `depth` of them read ahead in a background thread."""
    if depth < 1:
        yield from items
        return
    handoff: queue.Queue[_Item[T] | _Failed | _Done] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def read() -> None:
        try:
            for item in items:
                if not _put(handoff, _Item(item), stop):
                    return
            _put(handoff, _Done(), stop)
        except BaseException as exc:  # handed to the caller, raised there
            _put(handoff, _Failed(exc), stop)

    # The reader logs (retries, restarts) with the caller's context: its run_id.
    context = contextvars.copy_context()
    reader = threading.Thread(
        target=context.run, args=(read,), name="sfsync-read-ahead", daemon=True
    )
    reader.start()
    try:
        while True:
            got = handoff.get()
            if isinstance(got, _Done):
                return
            if isinstance(got, _Failed):
                raise got.error
            yield got.value
    finally:
        stop.set()
        reader.join()


def _put(
    handoff: queue.Queue[_Item[T] | _Failed | _Done], item: object, stop: threading.Event
) -> bool:
    """Wait for room (or for the caller to stop reading); False when the caller stopped."""
    while not stop.is_set():
        try:
            handoff.put(item, timeout=_POLL_SECONDS)  # type: ignore[arg-type]
            return True
        except queue.Full:
            continue
    return False
