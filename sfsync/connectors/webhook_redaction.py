"""Keeping a webhook's URL out of sight: its path (Slack's token) is a secret.

The sender never quotes the URL itself; these cover what others could show:
the text of a receiver's refusal, urllib3's DEBUG lines, and an operator's
view of the configuration.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Final
from urllib.parse import urlsplit

REDACTED: Final = "REDACTED"
# Path segments at least this long are scrubbed on their own (shorter ones match at random).
MIN_SCRUB_LENGTH: Final = 6
URLLIB3_LOGGERS: Final = ("urllib3.connectionpool", "urllib3.util.retry")


def redacted(url: str) -> str:
    """`url` as it may be shown: scheme and host only, the rest REDACTED."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return REDACTED
    return f"{parts.scheme}://{host}/{REDACTED}" if parts.scheme and host else REDACTED


def scrub(text: str, url: str) -> str:
    """`text` with the URL, its path and query, and each long path segment replaced."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return text.replace(url, REDACTED) if url else text
    pieces = [url, _path(parts.path, parts.query), parts.query]
    pieces += [seg for seg in parts.path.split("/") if len(seg) >= MIN_SCRUB_LENGTH]
    for piece in sorted({p for p in pieces if p and p != "/"}, key=len, reverse=True):
        text = text.replace(piece, REDACTED)
    return text


def hide_from_urllib3(url: str) -> None:
    """Have urllib3's loggers write REDACTED for this URL's path (it logs paths at DEBUG)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    path = _path(parts.path, parts.query)
    if len(path) < 2:
        return
    _FILTER.add(path)
    for name in URLLIB3_LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)  # a no-op when already there


def _path(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


class _HidePaths(logging.Filter):
    """Replaces registered paths in a record's message and arguments; drops nothing."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._paths: frozenset[str] = frozenset()

    def add(self, path: str) -> None:
        with self._lock:
            self._paths = self._paths | {path}

    def filter(self, record: logging.LogRecord) -> bool:
        paths = self._paths
        if paths and isinstance(record.args, tuple):
            record.args = tuple(_hidden(arg, paths) for arg in record.args)
        if paths and isinstance(record.msg, str):
            record.msg = _hidden(record.msg, paths)
        return True


def _hidden(value: Any, paths: frozenset[str]) -> Any:
    if not isinstance(value, str):
        return value
    for path in sorted(paths, key=len, reverse=True):
        value = value.replace(path, REDACTED)
    return value


_FILTER = _HidePaths()
