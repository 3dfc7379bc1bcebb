"""Query cursors: the server side of `nextRecordsUrl`.

A cursor keeps the matched rows of one query (a snapshot: records are never
mutated in place, see org.py) and is addressed by an 18-character locator
starting `0r8`, like Salesforce's. Cursors live `ttl_seconds` (two days on
current Salesforce) and may be read again at any offset until then.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sfsync.ids import to18

Monotonic = Callable[[], float]


class PagedResult(Protocol):
    """What the SOQL engine returns (`sfsync.emulator.soql.QueryResult`)."""

    @property
    def sobject(self) -> str: ...

    @property
    def total_size(self) -> int: ...

    @property
    def is_count(self) -> bool: ...

    def page(self, start: int, size: int) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Cursor:
    """One open query result."""

    locator: str
    result: PagedResult
    batch_size: int
    expires_at: float


class CursorStore:
    """Open cursors by locator; thread-safe."""

    def __init__(self, ttl_seconds: float, clock: Monotonic = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cursors: dict[str, Cursor] = {}
        self._counter = itertools.count(1)

    def open(self, result: PagedResult, batch_size: int) -> str:
        """Keep `result` for later pages and return its locator."""
        with self._lock:
            self._purge_expired()
            locator = to18(f"0r8EM{next(self._counter):010d}")
            self._cursors[locator] = Cursor(locator, result, batch_size, self._clock() + self._ttl)
            return locator

    def get(self, locator: str) -> Cursor | None:
        """The live cursor `locator`, or None when unknown or expired."""
        with self._lock:
            cursor = self._cursors.get(locator)
            if cursor is None or cursor.expires_at > self._clock():
                return cursor
            del self._cursors[locator]
            return None

    def expire_all(self) -> None:
        """Invalidate every locator, so tests can exercise INVALID_QUERY_LOCATOR."""
        with self._lock:
            self._cursors.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._cursors)

    def _purge_expired(self) -> None:
        now = self._clock()
        for locator in [k for k, c in self._cursors.items() if c.expires_at <= now]:
            del self._cursors[locator]
