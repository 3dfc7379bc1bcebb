"""A standard-library HTTP server run in a background thread: the status server's and intake's.

Both serve beside the worker (or in front, from their own command); what they
share is how they start, name their address and stop.
"""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Self

import structlog

log = structlog.get_logger("sfsync.background_http")

# How soon `close` returns: serve_forever checks for shutdown this often.
SHUTDOWN_POLL_SECONDS = 0.1


class BackgroundHTTPServer:
    """`httpd` served in a daemon thread named `thread_name`; `event` is logged with its URL."""

    def __init__(self, httpd: ThreadingHTTPServer, thread_name: str, event: str) -> None:
        self.httpd = httpd
        self._thread_name, self._event = thread_name, event
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where it listens, e.g. http://127.0.0.1:9731."""
        address, port = self.httpd.server_address[:2]
        host = address.decode() if isinstance(address, bytes) else str(address)
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    def start(self) -> Self:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            name=self._thread_name,
            daemon=True,
        )
        self._thread.start()
        log.info(self._event, url=self.url)
        return self

    def close(self) -> None:
        """Stop accepting and release the socket (requests in hand finish first)."""
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
            self._thread = None
        self.httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()
