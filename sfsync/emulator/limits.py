"""The org's daily API allowance, as `Sforce-Limit-Info` and `/limits` report it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sfsync.emulator.wire import Response, error_response

LIMIT_INFO_HEADER = "Sforce-Limit-Info"

# Allowances a real Enterprise org reports beside DailyApiRequests; the
# emulator does not spend them, but a client reading /limits sees a full body.
_OTHER_LIMITS: dict[str, int] = {
    "ConcurrentAsyncGetReportInstances": 200,
    "ConcurrentSyncReportRuns": 20,
    "DailyAsyncApexExecutions": 250000,
    "DailyBulkApiBatches": 15000,
    "DailyBulkV2QueryFileStorageMB": 976562,
    "DailyBulkV2QueryJobs": 10000,
    "DailyDurableStreamingApiEvents": 10000,
    "DailyStreamingApiEvents": 10000,
    "DataStorageMB": 5,
    "FileStorageMB": 20,
    "HourlyODataCallout": 20000,
    "SingleEmail": 5000,
}


class ApiUsage:
    """Calls spent against the org's daily allowance (read live from the org settings)."""

    def __init__(self, daily_limit: Callable[[], int]) -> None:
        self._daily_limit = daily_limit
        self._lock = threading.Lock()
        self._used = 0

    @property
    def used(self) -> int:
        """Calls counted so far."""
        with self._lock:
            return self._used

    @property
    def limit(self) -> int:
        """The daily allowance."""
        return self._daily_limit()

    def try_spend(self) -> bool:
        """Count one call; False (and nothing counted) when the allowance is spent."""
        with self._lock:
            if self._used >= self._daily_limit():
                return False
            self._used += 1
            return True

    def set_used(self, used: int) -> None:
        """Jump to `used` calls, so tests reach the limit without thousands of calls."""
        with self._lock:
            self._used = used

    def header_value(self) -> str:
        """`api-usage=N/M`, the value of `Sforce-Limit-Info`."""
        with self._lock:
            return f"api-usage={self._used}/{self._daily_limit()}"

    def limits_body(self) -> dict[str, Any]:
        """The body of `GET /limits`."""
        maximum = self.limit
        body: dict[str, Any] = {
            "DailyApiRequests": {"Max": maximum, "Remaining": max(0, maximum - self.used)}
        }
        for name, value in _OTHER_LIMITS.items():
            body[name] = {"Max": value, "Remaining": value}
        return dict(sorted(body.items()))


def limit_exceeded() -> Response:
    """403 once the daily allowance is spent."""
    return error_response(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


def concurrency_exceeded() -> Response:
    """403 for too many long-running requests at once: the retryable kind."""
    return error_response(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
