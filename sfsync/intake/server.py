"""The intake endpoint's HTTP server: the status server's approach (standard library only).

`ThreadingHTTPServer` with a bound on the threads (past it, new connections
wait in the kernel's backlog instead of costing memory), a read timeout per
connection (a client that trickles its body is cut off), HTTP/1.1 keep-alive,
and the connection closed whenever a body was refused unread. Answers are
JSON with `nosniff` and a CSP that allows nothing, so no browser renders one.
Bind it to loopback behind a reverse proxy (TLS, access logs) when published.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog

from sfsync.background_http import BackgroundHTTPServer
from sfsync.errors import ConfigError
from sfsync.intake.app import IntakeApp, Reply
from sfsync.intake.forms import IntakeRefused

log = structlog.get_logger("sfsync.intake.server")

DEFAULT_INTAKE_HOST = "127.0.0.1"
DEFAULT_INTAKE_PORT = 9740
# A client has this long for each read of its request (headers, then body).
READ_TIMEOUT_SECONDS = 10.0
MAX_THREADS = 64
LISTEN_BACKLOG = 512
JSON = "application/json"
CSP = "default-src 'none'; frame-ancestors 'none'"
ALLOW = "POST, OPTIONS, GET"


class _Handler(BaseHTTPRequestHandler):
    """Serves an IntakeApp; `app` is set on a subclass per server."""

    app: IntakeApp
    server_version = "sfsync-intake"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = READ_TIMEOUT_SECONDS
    # Headers and body go out as two writes: with Nagle on, the body waits for the
    # client's delayed ACK of the headers (40 ms a post on keep-alive connections).
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        consumed = False

        def read(length: int) -> bytes:
            nonlocal consumed
            consumed = True
            return _read_body(self, length)

        reply = self.app.post(self.path, self.headers, self.client_address[0], read)
        if not consumed:
            self.close_connection = True  # the unread body must not pass for the next request
        self._send(reply)

    def do_OPTIONS(self) -> None:
        self.close_connection = True
        self._send(self.app.preflight(self.path, self.headers))

    def do_GET(self) -> None:
        self.close_connection = True
        if self.path.split("?", 1)[0] != "/healthz":
            self._send(Reply(HTTPStatus.NOT_FOUND, {"error": "not_found"}))
            return
        body = {"status": "ok", "counts": self.app.stats.snapshot()}
        self._send(Reply(HTTPStatus.OK, body))

    def __getattr__(self, name: str) -> Callable[[], None]:
        # Every other method (PUT, DELETE, HEAD, made-up ones): 405, not 501.
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _not_allowed(self) -> None:
        self.close_connection = True
        body = {"error": "method_not_allowed", "message": f"use {ALLOW}"}
        self._send(Reply(HTTPStatus.METHOD_NOT_ALLOWED, body, (("Allow", ALLOW),)))

    def _send(self, reply: Reply) -> None:
        body = json.dumps(reply.body).encode() if reply.body is not None else b""
        self.send_response(reply.status)
        if reply.body is not None:
            self.send_header("Content-Type", JSON)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Referrer-Policy", "no-referrer")
        for name, value in reply.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines carry no secrets (the secret is a header), but paths are client text.
        log.debug("sfsync.intake.request", method=self.command)


def _read_body(handler: BaseHTTPRequestHandler, length: int) -> bytes:
    try:
        body = handler.rfile.read(length)
    except TimeoutError:
        handler.close_connection = True
        raise IntakeRefused(
            HTTPStatus.REQUEST_TIMEOUT, "timeout", "the body did not arrive in time"
        ) from None
    if len(body) != length:
        handler.close_connection = True
        raise IntakeRefused(HTTPStatus.BAD_REQUEST, "incomplete_body", "the body ended early")
    return body


class _BoundedServer(ThreadingHTTPServer):
    """At most MAX_THREADS requests at once; the accept loop waits for a free slot."""

    daemon_threads = True
    # socketserver's default backlog (5) resets connections of a modest burst of posts.
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._slots = threading.BoundedSemaphore(MAX_THREADS)
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        self._slots.acquire()
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class IntakeServer(BackgroundHTTPServer):
    """The endpoint, run in a thread (`start`) or in front (`sfsync intake serve`)."""

    def __init__(
        self,
        app: IntakeApp,
        host: str = DEFAULT_INTAKE_HOST,
        port: int = DEFAULT_INTAKE_PORT,
        *,
        read_timeout: float = READ_TIMEOUT_SECONDS,
    ) -> None:
        handler = type("Handler", (_Handler,), {"app": app, "timeout": read_timeout})
        try:
            self.httpd = _BoundedServer((host, port), handler)
        except OSError as exc:
            raise ConfigError(
                f"intake endpoint cannot listen on {host}:{port}: {exc.strerror}"
            ) from None
        super().__init__(self.httpd, "sfsync-intake", "sfsync.intake.listening")
