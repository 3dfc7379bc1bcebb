"""Where a cycle's wall time goes: timers around the store's calls and the org's answers.

A benchmark helper, never used by the worker or the tests. It wraps methods
of the public seams (the store's API, the connector's pager and writes, the
rules' `decide`) with timers for the duration of a `with` block, then puts
them back. Every wrapped call is timed on its own thread; writes in flight at
once each count their own time, so the `flush: ...` figures can add up to
more than the flush's wall time. A seam that is renamed is skipped, not an error.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

SF, SYNC, STORE = "sfsync.connectors.salesforce", "sfsync.jobs.sync", "sfsync.store"
# (label, module, attribute path): what is timed.
SEAMS = (
    ("pull: org answers (query pages)", SF, "SalesforceClient.pages"),
    ("pull: decide (rules)", SYNC, "decide"),
    ("pull: store.lead_states", STORE, "Store.lead_states"),
    ("pull: store.record_page", STORE, "Store.record_page"),
    ("flush (all of it)", SYNC, "flush"),
    ("flush: store.claim", STORE, "Store.claim"),
    ("flush: store.record_results", STORE, "Store.record_results"),
    ("flush: Collections requests (summed)", SF, "SalesforceClient._patch_chunk"),
    ("flush: convertLead calls", SF, "SalesforceClient.convert_leads"),
)  # fmt: skip


class Phases:
    """Seconds spent in each seam, summed over calls."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, label: str, seconds: float) -> None:
        with self._lock:
            self.seconds[label] += seconds


@contextmanager
def timed_phases() -> Iterator[Phases]:
    """Time the seams while the block runs."""
    phases = Phases()
    undo: list[Callable[[], None]] = []
    for label, module_name, path in SEAMS:
        owner, name = _resolve(module_name, path)
        if owner is None:
            continue
        original = getattr(owner, name)
        setattr(owner, name, _wrap(original, label, phases))
        undo.append(lambda o=owner, n=name, f=original: setattr(o, n, f))
    try:
        yield phases
    finally:
        for restore in reversed(undo):
            restore()


def _resolve(module_name: str, path: str) -> tuple[Any, str]:
    owner: Any = importlib.import_module(module_name)
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent, None)
    if owner is None or not callable(getattr(owner, name, None)):
        return None, name
    return owner, name


def _wrap(original: Callable[..., Any], label: str, phases: Phases) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            result = original(*args, **kwargs)
        finally:
            phases.add(label, time.perf_counter() - began)
        if isinstance(result, Iterator):
            return _timed_iteration(result, label, phases)
        return result

    return timed


def _timed_iteration(items: Iterator[Any], label: str, phases: Phases) -> Iterator[Any]:
    """A generator's time is spent in next(): count that, not the caller's work between."""
    while True:
        began = time.perf_counter()
        try:
            item = next(items)
        except StopIteration:
            phases.add(label, time.perf_counter() - began)
            return
        phases.add(label, time.perf_counter() - began)
        yield item
