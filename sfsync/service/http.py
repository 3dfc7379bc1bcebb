"""The status server: /healthz, /readyz, /metrics and the status page at /, read-only.

Standard library only (`ThreadingHTTPServer`): four GET routes do not need a
framework. It binds 127.0.0.1 unless configured otherwise, answers every
method but GET with 405, and refuses requests whose Host is not an allowed
name (by default, while bound to loopback, a loopback name), so a web page
elsewhere cannot read it through DNS rebinding. Errors are answered without
their text: a driver's message may name the database host or user.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import sqlalchemy as sa
import structlog
from prometheus_client import CONTENT_TYPE_LATEST

from sfsync.background_http import BackgroundHTTPServer
from sfsync.errors import ConfigError, StoreUnavailable
from sfsync.service.health import health, readiness
from sfsync.service.metrics import Metrics
from sfsync.service.page import collect, status_page
from sfsync.service.settings import DEFAULT_STATUS_HOST, DEFAULT_STATUS_PORT
from sfsync.store import Store
from sfsync.store.tables import utcnow

log = structlog.get_logger("sfsync.service.http")

HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
# No scripts, no remote anything; inline CSS for the page's own style only.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


@dataclass(frozen=True)
class Response:
    """What a route answers."""

    status: HTTPStatus
    content_type: str
    body: bytes


def _text(status: HTTPStatus, text: str) -> Response:
    return Response(status, TEXT, (text + "\n").encode())


def _json(status: HTTPStatus, data: dict[str, object]) -> Response:
    return Response(status, JSON, json.dumps(data).encode())


@dataclass
class StatusApp:
    """The routes, over one store and one metrics registry."""

    store: Store
    metrics: Metrics
    max_age: timedelta
    clock: Callable[[], datetime] = utcnow
    routes: dict[str, Callable[[], Response]] = field(init=False)

    def __post_init__(self) -> None:
        self.routes = {
            "/healthz": self.healthz,
            "/readyz": self.readyz,
            "/metrics": self.metrics_text,
            "/": self.index,
        }

    def answer(self, path: str) -> Response:
        """Route a GET; a store failure is a 503 that says only that."""
        route = self.routes.get(path.split("?", 1)[0])
        if route is None:
            return _text(HTTPStatus.NOT_FOUND, "not found")
        try:
            return route()
        except (sa.exc.SQLAlchemyError, StoreUnavailable) as exc:
            log.warning("sfsync.service.store_unreachable", path=path, error=type(exc).__name__)
            return _text(HTTPStatus.SERVICE_UNAVAILABLE, "the state store did not answer")

    def healthz(self) -> Response:
        """Liveness: the process answers. (`sfsync health` judges the worker's cycles.)"""
        return _text(HTTPStatus.OK, "ok")

    def readyz(self) -> Response:
        """Readiness: the store answers and the last cycle did not fail."""
        ready = readiness(self.store)
        verdict = health(self.store, self.max_age, self.clock())
        status = HTTPStatus.OK if ready.ready else HTTPStatus.SERVICE_UNAVAILABLE
        return _json(status, {"ready": ready.ready, "reason": ready.reason, **verdict.as_dict()})

    def metrics_text(self) -> Response:
        """Prometheus text exposition."""
        return Response(HTTPStatus.OK, CONTENT_TYPE_LATEST, self.metrics.exposition())

    def index(self) -> Response:
        """The status page."""
        page = status_page(collect(self.store, self.max_age, self.clock()))
        return Response(HTTPStatus.OK, HTML, page.encode())


class _Handler(BaseHTTPRequestHandler):
    """Serves a StatusApp; `app` and `allowed_hosts` are set on a subclass per server."""

    app: StatusApp
    allowed_hosts: frozenset[str] | None
    server_version = "sfsync-status"
    sys_version = ""

    def do_GET(self) -> None:
        if not _host_allowed(self.headers.get("Host"), self.allowed_hosts):
            self._send(_text(HTTPStatus.MISDIRECTED_REQUEST, "host name not allowed"))
            return
        self._send(self.app.answer(self.path))

    def __getattr__(self, name: str) -> Callable[[], None]:
        # Every other method (POST, HEAD, PUT, DELETE, even made-up ones): 405, not 501.
        if name.startswith("do_"):
            return self._not_allowed
        raise AttributeError(name)

    def _not_allowed(self) -> None:
        self._send(_text(HTTPStatus.METHOD_NOT_ALLOWED, "read-only: GET only"), allow="GET")

    def _send(self, response: Response, allow: str | None = None) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Referrer-Policy", "no-referrer")
        if allow:
            self.send_header("Allow", allow)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("sfsync.service.request", method=self.command, path=self.path.split("?", 1)[0])


def _host_allowed(header: str | None, allowed: frozenset[str] | None) -> bool:
    """Is the Host header's name allowed? Absent (HTTP/1.0 tools) counts as yes."""
    if allowed is None or not header:
        return True
    host = header.rsplit(":", 1)[0] if not header.endswith("]") else header
    return host.strip("[]").lower() in allowed


def _is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class StatusServer(BackgroundHTTPServer):
    """A ThreadingHTTPServer for a StatusApp, run in a thread (`start`) or in front (`serve`)."""

    def __init__(
        self,
        app: StatusApp,
        host: str = DEFAULT_STATUS_HOST,
        port: int = DEFAULT_STATUS_PORT,
        allowed_hosts: frozenset[str] | None = None,
    ) -> None:
        if allowed_hosts is None and _is_loopback(host):
            allowed_hosts = LOOPBACK_NAMES
        handler = type("Handler", (_Handler,), {"app": app, "allowed_hosts": allowed_hosts})
        try:
            self.httpd = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            raise ConfigError(
                f"status server cannot listen on {host}:{port}: {exc.strerror}"
                " (set SFSYNC_STATUS_HOST / SFSYNC_STATUS_PORT; port 0 switches it off)"
            ) from None
        self.httpd.daemon_threads = True
        super().__init__(self.httpd, "sfsync-status", "sfsync.service.listening")
