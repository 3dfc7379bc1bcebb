"""What the emulator was asked, for tests that assert on traffic (never on secrets)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

# Headers that carry credentials; the log never keeps them.
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-sfdc-session"})
# Query parameters that carry credentials (some clients put token-grant fields in the URL).
_SECRET_PARAMS = frozenset(
    {
        "access_token",
        "assertion",
        "client_assertion",
        "client_secret",
        "code",
        "password",
        "refresh_token",
        "token",
    }
)
REDACTED = "REDACTED"


@dataclass(frozen=True)
class CallEntry:
    """One request and how it was answered.

    `status` is None when the connection was dropped without an answer;
    `fault` names the injected fault, if any.
    """

    method: str
    path: str
    query: str
    status: int | None
    headers: Mapping[str, str] = field(default_factory=dict)
    records: int | None = None
    client: str | None = None
    counted: bool = False
    time: float = 0.0
    fault: str | None = None

    def header(self, name: str) -> str | None:
        """The logged request header `name`, in any case (names are stored lower-cased)."""
        return self.headers.get(name.lower())


def safe_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """`headers` without the ones that carry credentials."""
    return {name: value for name, value in headers.items() if name.lower() not in _SECRET_HEADERS}


def safe_query(query: str) -> str:
    """`query` with credential-bearing parameters redacted."""
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(name.lower() in _SECRET_PARAMS for name, _ in pairs):
        return query
    return urlencode(
        [(name, REDACTED if name.lower() in _SECRET_PARAMS else value) for name, value in pairs]
    )


def call_client(call_options: str) -> str | None:
    """The `client=` part of a `Sforce-Call-Options` header."""
    for part in call_options.split(";"):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "client" and value.strip():
            return value.strip()
    return None


class CallLog:
    """A thread-safe, list-like log of `CallEntry`s, oldest first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[CallEntry] = []

    def append(self, entry: CallEntry) -> None:
        """Record one call."""
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[CallEntry]:
        """A snapshot of every entry so far."""
        with self._lock:
            return list(self._entries)

    def count(self, method: str | None = None, path_contains: str | None = None) -> int:
        """How many calls match the method (any case) and contain `path_contains` in the path."""
        return sum(1 for entry in self.entries() if _matches(entry, method, path_contains))

    def clear(self) -> None:
        """Forget every entry (e.g. after a test's setup calls)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __iter__(self) -> Iterator[CallEntry]:
        return iter(self.entries())

    def __getitem__(self, index: int) -> CallEntry:
        with self._lock:
            return self._entries[index]


def _matches(entry: CallEntry, method: str | None, path_contains: str | None) -> bool:
    if method is not None and entry.method.upper() != method.upper():
        return False
    return path_contains is None or path_contains in entry.path
