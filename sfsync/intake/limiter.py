"""Token buckets per key (client address, e-mail address), in memory, thread-safe.

The buckets live in one process: two `sfsync intake serve` processes behind
a load balancer each allow the configured rate (docs/CAPTURE.md). A bucket
left alone long enough is full again, exactly as if it had never existed, so
full buckets are forgotten when the table grows; past `max_keys` the oldest
are dropped too, which can only let a forgotten sender start afresh.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sfsync.intake.config import RateLimit

DEFAULT_MAX_KEYS = 100_000


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """`take(key)` spends a token: None when allowed, else the seconds to wait."""

    def __init__(
        self,
        limit: RateLimit,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = DEFAULT_MAX_KEYS,
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> int | None:
        """Spend one token of `key`'s bucket; the whole seconds until one is back if empty."""
        with self._lock:
            now = self._clock()
            bucket = self._refilled(key, now)
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return None
            return max(1, math.ceil((1 - bucket.tokens) / self.limit.rate))

    def __len__(self) -> int:
        return len(self._buckets)

    def _refilled(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            self._make_room(now)
            bucket = _Bucket(float(self.limit.requests), now)
        else:
            gained = (now - bucket.at) * self.limit.rate
            bucket.tokens = min(float(self.limit.requests), bucket.tokens + gained)
            bucket.at = now
        self._buckets[key] = bucket  # most recently used last
        return bucket

    def _make_room(self, now: float) -> None:
        if len(self._buckets) < self._max_keys:
            return
        # Every take moves its bucket to the end, so the oldest (fullest) come first.
        while self._buckets:
            oldest = next(iter(self._buckets.values()))
            if now - oldest.at < self.limit.per_seconds and len(self._buckets) < self._max_keys:
                break
            self._buckets.popitem(last=False)
