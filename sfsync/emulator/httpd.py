"""The socket side: a threading HTTPS/1.1 server that hands `Request`s to a pipeline.

The TLS handshake runs in each connection's thread (a slow client never
blocks `accept`). Connections are kept alive with `Content-Length` framing,
as Salesforce's are; `close()` shuts every open connection down and joins
its thread, so nothing leaks a socket.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from sfsync.emulator.wire import Drop, Outcome, Request, Response

log = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT_SECONDS = 10.0
# A keep-alive connection idle this long is closed by the server.
IDLE_TIMEOUT_SECONDS = 60.0
JOIN_TIMEOUT_SECONDS = 5.0

Dispatch = Callable[[Request], Outcome]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sfdc"
    sys_version = ""
    timeout = IDLE_TIMEOUT_SECONDS
    # Headers and body go out as separate writes: without TCP_NODELAY, Nagle's
    # algorithm and the client's delayed ACK add ~40 ms to every response.
    disable_nagle_algorithm = True
    server: TlsHttpServer

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = do_GET

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        url = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = Request(self.command, unquote(url.path), url.query, headers, body)
        outcome = self.server.dispatch(request)
        if isinstance(outcome, Drop):
            self.close_connection = True
            return
        self._write(outcome)

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("emulator %s - %s", self.address_string(), format % args)


class TlsHttpServer(ThreadingHTTPServer):
    """HTTPS on one address; each connection is served by its own daemon thread."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], context: ssl.SSLContext, dispatch: Dispatch):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.context = context
        self.dispatch = dispatch
        self._lock = threading.Lock()
        self._connections: set[ssl.SSLSocket] = set()
        self._conn_threads: list[threading.Thread] = []
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection in a tracked thread so `close` can join it."""
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name="sfsync-emulator-connection",
            daemon=True,
        )
        with self._lock:
            self._conn_threads = [t for t in self._conn_threads if t.is_alive()]
            self._conn_threads.append(thread)
        thread.start()

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Handshake, then serve requests until the connection closes."""
        request.settimeout(HANDSHAKE_TIMEOUT_SECONDS)
        connection = self.context.wrap_socket(request, server_side=True)
        with self._lock:
            self._connections.add(connection)
        try:
            _Handler(connection, client_address, self)
        finally:
            with self._lock:
                self._connections.discard(connection)
            connection.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client disconnects and failed handshakes are routine here: log, don't print."""
        log.debug("emulator connection from %s ended with an error", client_address, exc_info=True)

    def close(self) -> None:
        """Stop accepting, end every open connection and join the connection threads."""
        self.server_close()
        with self._lock:
            connections, threads = list(self._connections), list(self._conn_threads)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(JOIN_TIMEOUT_SECONDS)
