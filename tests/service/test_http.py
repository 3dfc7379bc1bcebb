"""The status server, for real: a ThreadingHTTPServer on an ephemeral loopback port."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from sfsync.jobs.sync import CycleReport
from sfsync.service import Metrics, StatusApp, StatusServer
from sfsync.store import Store
from tests.service.conftest import finish, populate

MAX_AGE = timedelta(minutes=15)


def serve(store: Store) -> StatusServer:
    metrics = Metrics(store)
    metrics.observe_cycle(CycleReport("r", False, "ok", pulled=7, written=5), 1.5)
    return StatusServer(StatusApp(store, metrics, MAX_AGE), "127.0.0.1", 0)


@pytest.fixture
def server(populated: Store) -> Iterator[StatusServer]:
    with serve(populated) as running:
        yield running


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StatusServer]:
    """One server for the tests that only read."""
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('shared')}/s.db")
    populate(store)
    try:
        with serve(store) as running:
            yield running
    finally:
        store.close()


def request(
    server: StatusServer, path: str, method: str = "GET", host: str | None = None
) -> tuple[int, dict[str, str], str]:
    address = server.url.removeprefix("http://")
    conn = http.client.HTTPConnection(address, timeout=10)
    headers = {"Host": host} if host else {}
    try:
        conn.request(method, path, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


def test_binds_loopback_by_default(populated: Store):
    with StatusServer(StatusApp(populated, Metrics(), MAX_AGE), port=0) as running:
        assert running.url.startswith("http://127.0.0.1:")


def test_healthz(shared: StatusServer):
    assert request(shared, "/healthz")[::2] == (200, "ok\n")


def test_readyz_ready_then_not(server: StatusServer, populated: Store):
    status, headers, body = request(server, "/readyz")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["ready"] is True
    finish(populated, "broken", "failed", error="authentication failed")
    status, _, body = request(server, "/readyz")
    assert status == 503 and "authentication failed" in json.loads(body)["reason"]


def test_metrics(shared: StatusServer):
    status, headers, body = request(shared, "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=")
    assert "sfsync_leads_pulled_total 7.0" in body
    assert 'sfsync_dead_letters{code="FIELD_CUSTOM_VALIDATION_EXCEPTION"} 2.0' in body


def test_status_page(shared: StatusServer):
    status, headers, body = request(shared, "/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src" not in headers["Content-Security-Policy"]
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    for part in (
        "Recent cycles",
        "API usage over time",
        "Score distribution",
        "Dead letters",
        "Lead analytics",
        "<svg",
    ):
        assert part in body
    assert "<script" not in body


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "BREW"])
@pytest.mark.parametrize("path", ["/", "/metrics", "/nowhere"])
def test_read_only_every_other_method_is_405(shared: StatusServer, method: str, path: str):
    status, headers, _ = request(shared, path, method)
    assert status == 405 and headers["Allow"] == "GET"


def test_unknown_path_is_404(shared: StatusServer):
    assert request(shared, "/admin")[0] == 404


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:9731", "[::1]:80"])
def test_loopback_host_names_pass(shared: StatusServer, host: str):
    assert request(shared, "/healthz", host=host)[0] == 200


def test_foreign_host_is_refused_on_loopback(shared: StatusServer):
    # A page elsewhere that rebinds its name to 127.0.0.1 cannot read the status page.
    assert request(shared, "/", host="evil.example:9731")[0] == 421


def test_store_failure_is_503_without_details(tmp_path: Any):
    empty = Store(f"sqlite:///{tmp_path}/empty.db", upgrade=False)
    try:
        with serve(empty) as running:
            for path in ("/", "/readyz"):
                status, _, body = request(running, path)
                assert status == 503, path
                assert str(tmp_path) not in body and "sqlite" not in body.lower()
            assert request(running, "/healthz")[0] == 200
            assert "sfsync_store_up 0.0" in request(running, "/metrics")[2]
    finally:
        empty.close()


def test_port_in_use_is_a_config_error(server: StatusServer, populated: Store):
    from sfsync.errors import ConfigError

    port = int(server.url.rsplit(":", 1)[1])
    with pytest.raises(ConfigError, match="SFSYNC_STATUS_PORT"):
        StatusServer(StatusApp(populated, Metrics(), MAX_AGE), "127.0.0.1", port)


def test_allowed_hosts_replace_the_loopback_default(populated: Store):
    app = StatusApp(populated, Metrics(), MAX_AGE)
    with StatusServer(app, "127.0.0.1", 0, frozenset({"status.internal"})) as running:
        assert request(running, "/healthz", host="status.internal:9731")[0] == 200
        assert request(running, "/healthz", host="localhost")[0] == 421
