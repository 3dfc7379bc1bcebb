"""The HTTP session every Salesforce call goes through: timeouts, headers, usage tracking.

simple-salesforce sets no timeouts and only some of its calls read
`Sforce-Limit-Info`; a session that adds both to every request covers REST,
Bulk and SOAP alike.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from sfsync.models import ApiUsage

# Connections kept open to the org: the flush's writes in flight (at most
# SFSYNC_WRITE_CONCURRENCY, 10) plus the main thread, with room to spare; past
# the pool's size urllib3 opens throw-away connections and logs each one.
POOL_CONNECTIONS = 16

# Not anchored at the end: newer orgs append "; api-bursts=..." or per-app usage.
_USAGE = re.compile(r"(?:^|;)\s*api-usage=(\d+)/(\d+)")


def parse_limit_info(header: str | None) -> ApiUsage | None:
    """`api-usage=N/M` from a `Sforce-Limit-Info` header, or None when absent or garbled."""
    if not header:
        return None
    match = _USAGE.search(header)
    if match is None:
        return None
    return ApiUsage(used=int(match.group(1)), limit=int(match.group(2)))


class UsageMeter:
    """The latest API usage the org reported, and how many calls this process made.

    Shared by every thread that calls the org: the counters change under a
    lock, and `Retry-After` is kept per thread (each call reads its own).
    With writes in flight at once, answers arrive out of order: `latest` is
    the last one read, which may lag the org by the calls still in flight.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.latest: ApiUsage | None = None
        self.calls = 0
        self._local = threading.local()

    def observe(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        """A requests response hook: count the call, keep the newest usage figures."""
        usage = parse_limit_info(response.headers.get("Sforce-Limit-Info"))
        self._local.retry_after = _retry_after(response)
        with self._lock:
            self.calls += 1
            if usage is not None:
                self.latest = usage

    def record(self, usage: ApiUsage) -> None:
        """Usage read from elsewhere (`GET limits`)."""
        with self._lock:
            self.latest = usage

    def take_retry_after(self) -> float | None:
        """Seconds the last answer on this thread asked us to wait (`Retry-After`), once."""
        value: float | None = getattr(self._local, "retry_after", None)
        self._local.retry_after = None
        return value


def _retry_after(response: requests.Response) -> float | None:
    if response.status_code not in (429, 503):
        return None
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


class SalesforceSession(requests.Session):
    """A requests session with a default timeout and the worker's client id on every call."""

    def __init__(self, *, timeout: float, client_name: str, meter: UsageMeter) -> None:
        super().__init__()
        self.timeout = timeout
        self.headers["Sforce-Call-Options"] = f"client={client_name}"
        self.headers["User-Agent"] = f"sfsync ({client_name})"
        self.hooks["response"].append(meter.observe)
        self.mount("https://", HTTPAdapter(pool_maxsize=POOL_CONNECTIONS))

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, *args, **kwargs)
