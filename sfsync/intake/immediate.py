"""Process submissions right after they are queued, in one background thread.

`sfsync intake serve --immediately` wires it: every queued post wakes the
thread, which drains the queue (a burst of posts costs one pass, not one
each). It also wakes every `poll_seconds` for retries that came due. A
failed pass is logged and left to the next wake-up: the submissions it held
went back to the queue with their attempt counted, so nothing is lost.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

log = structlog.get_logger("sfsync.intake.immediate")


class ImmediateProcessor:
    """Runs `process()` (which returns how many submissions it claimed) when woken."""

    def __init__(self, process: Callable[[], int], poll_seconds: float) -> None:
        self._process = process
        self._poll = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sfsync-intake-process", daemon=True)

    def start(self) -> ImmediateProcessor:
        """Start the thread (it makes a first pass at once, for what waited while down)."""
        self._wake.set()
        self._thread.start()
        return self

    def notify(self) -> None:
        """A submission was queued: wake the thread (cheap; called per post)."""
        self._wake.set()

    def close(self) -> None:
        """Finish the batch in hand, then stop."""
        self._stop.set()
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._poll)
            self._wake.clear()
            self._drain()

    def _drain(self) -> None:
        try:
            while not self._stop.is_set() and self._process() > 0:
                pass
        except Exception as exc:  # logged, never fatal: the endpoint keeps accepting
            log.warning("sfsync.intake.process_failed", error=type(exc).__name__)
