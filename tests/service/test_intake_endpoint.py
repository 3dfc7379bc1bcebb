"""The intake endpoint for real (loopback HTTP, SQLite queue), fed hostile posts.

Every refusal is checked for its status and code, and for what did not
happen: nothing queued, nothing echoed, no secret logged.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from pydantic import SecretStr
from sqlmodel import Session
from structlog.testing import capture_logs

from sfsync.errors import StoreUnavailable
from sfsync.intake.app import IntakeApp
from sfsync.intake.config import FormConfig, IntakeConfig, Limits, RateLimit, RateLimits
from sfsync.intake.server import IntakeServer
from sfsync.rules.enrich_data import load_enrichment_data, shipped_texts
from sfsync.rules.enrich_email import EmailLists
from sfsync.store import Store
from sfsync.store.intake import IntakeQueue, SubmissionState

SECRET = "correct horse battery staple"
FORM = "application/x-www-form-urlencoded"
SCRIPT = "<script>alert(document.cookie)</script><img src=x onerror=alert(1)>"
CONTACT = FormConfig(
    source="Web - contact form",
    fields={"email": "Email", "last_name": "LastName", "company": "Company",
            "message": "Description"},
    required=("LastName", "Company", "Email"),
    constants={"LeadSource": "Web"},
    honeypot="homepage",
    max_lengths={"Description": 2000},
)  # fmt: skip
PARTNER = FormConfig(
    source="Partner feed",
    fields={"email": "Email", "last_name": "LastName", "company": "Company"},
    secret_env="PARTNER_SECRET",
)
THANKS = FormConfig(
    source="Web",
    fields={"email": "Email", "last_name": "LastName", "company": "Company"},
    redirect="https://www.example.com/thanks",  # type: ignore[arg-type]
)
ORIGIN = "https://www.example.com"


def config(**overrides: Any) -> IntakeConfig:
    values: dict[str, Any] = {
        "forms": {"contact": CONTACT, "partner": PARTNER, "thanks": THANKS},
        "limits": Limits(max_body_bytes=4096, max_fields=20, max_field_length=200),
        "rate_limits": RateLimits(
            per_ip=RateLimit(requests=5, per_seconds=60),
            per_email=RateLimit(requests=2, per_seconds=3600),
        ),
        "trusted_proxy_hops": 1,  # tests speak for many addresses through X-Forwarded-For
        "cors_origins": (ORIGIN,),
    }
    return IntakeConfig(**{**values, **overrides})


@pytest.fixture(scope="module")
def email_lists() -> EmailLists:
    return load_enrichment_data(shipped_texts()).email


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(f"sqlite:///{tmp_path}/intake.db")
    yield opened
    opened.close()


@dataclass
class Endpoint:
    server: IntakeServer
    app: IntakeApp
    queue: IntakeQueue

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.url.removeprefix("http://").rsplit(":", 1)
        return host, int(port)

    def post(
        self,
        path: str,
        body: bytes | str,
        content_type: str | None = FORM,
        ip: str = "198.51.100.1",
        **headers: str,
    ) -> tuple[int, dict[str, str], dict[str, Any] | None]:
        raw = body.encode() if isinstance(body, str) else body
        sent = {"X-Forwarded-For": ip, **{k.replace("_", "-"): v for k, v in headers.items()}}
        if content_type is not None:
            sent["Content-Type"] = content_type
        return self.request("POST", path, raw, sent)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], dict[str, Any] | None]:
        conn = http.client.HTTPConnection(*self.address, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
            parsed = json.loads(data) if data else None
            return response.status, {k.lower(): v for k, v in response.getheaders()}, parsed
        finally:
            conn.close()

    def queued(self) -> int:
        return self.queue.counts().get("queued", 0)


@pytest.fixture
def make_endpoint(store: Store, email_lists: EmailLists) -> Iterator[Callable[..., Endpoint]]:
    servers: list[IntakeServer] = []

    def build(
        queue: IntakeQueue | None = None, read_timeout: float = 10.0, **overrides: Any
    ) -> Endpoint:
        queue = queue or IntakeQueue(store.session)
        secrets = {"partner": SecretStr(SECRET)}
        app = IntakeApp(config(**overrides), queue, email_lists, secrets)
        server = IntakeServer(app, "127.0.0.1", 0, read_timeout=read_timeout).start()
        servers.append(server)
        return Endpoint(server, app, IntakeQueue(store.session))

    yield build
    for server in servers:
        server.close()


@pytest.fixture
def endpoint(make_endpoint: Callable[..., Endpoint]) -> Endpoint:
    return make_endpoint()


def person(n: int = 1, **extra: str) -> dict[str, str]:
    return {"email": f"jane{n}@acme-corp.com", "last_name": f"Doe {n}", "company": "Acme",
            **extra}  # fmt: skip


# -- accepted posts ------------------------------------------------------------------


def test_a_form_post_is_queued_before_the_202(endpoint: Endpoint) -> None:
    status, headers, body = endpoint.post("/intake/contact", urlencode(person()))
    assert status == 202
    assert body is not None and body["status"] == "queued"
    stored = endpoint.queue.get(body["id"])
    assert stored is not None and stored.state is SubmissionState.QUEUED
    assert stored.values == {
        "Email": "jane1@acme-corp.com", "LastName": "Doe 1", "Company": "Acme", "LeadSource": "Web",
    }  # fmt: skip
    assert stored.source == "Web - contact form"
    assert headers["content-type"] == "application/json"
    assert headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in headers["content-security-policy"]


def test_a_json_post_is_queued(endpoint: Endpoint) -> None:
    status, _headers, body = endpoint.post(
        "/intake/contact", json.dumps(person()), "application/json; charset=utf-8"
    )
    assert status == 202 and body is not None
    assert endpoint.queue.get(body["id"]) is not None


def test_script_tags_are_stored_as_plain_text_and_never_echoed(endpoint: Endpoint) -> None:
    status, _headers, body = endpoint.post(
        "/intake/contact", urlencode(person(message=SCRIPT, last_name=f"Doe{SCRIPT[:20]}"))
    )
    assert status == 202 and body is not None
    stored = endpoint.queue.get(body["id"])
    assert stored is not None
    assert stored.values["Description"] == SCRIPT
    assert "<script>" not in json.dumps(body)
    # A refusal names the field, not the value.
    status, _headers, refused = endpoint.post(
        "/intake/contact", urlencode(person(2, message=SCRIPT * 40))
    )
    assert status == 422 and refused is not None
    assert refused["fields"] == ["message"] and "<script>" not in json.dumps(refused)


def test_the_honeypot_answers_202_but_stores_nothing(endpoint: Endpoint) -> None:
    status, _headers, body = endpoint.post(
        "/intake/contact", urlencode(person(homepage="http://cheap-pills.example"))
    )
    assert status == 202 and body is not None and body["status"] == "queued"
    assert endpoint.queue.get(body["id"]) is None
    assert endpoint.queue.counts() == {}
    assert endpoint.app.stats.snapshot()["honeypot"] == 1


def test_a_plain_html_form_is_redirected(endpoint: Endpoint) -> None:
    status, headers, body = endpoint.post("/intake/thanks", urlencode(person()))
    assert (status, headers["location"], body) == (303, "https://www.example.com/thanks", None)
    assert endpoint.queued() == 1
    status, _headers, body = endpoint.post(
        "/intake/thanks", json.dumps(person(2)), "application/json"
    )
    assert status == 202  # scripts posting JSON get the id


def test_keep_alive_serves_several_posts_on_one_connection(endpoint: Endpoint) -> None:
    conn = http.client.HTTPConnection(*endpoint.address, timeout=10)
    try:
        for n in range(3):
            conn.request("POST", "/intake/contact", urlencode(person(n)), {"Content-Type": FORM})
            response = conn.getresponse()
            response.read()
            assert response.status == 202
    finally:
        conn.close()
    assert endpoint.queued() == 3


# -- refused posts -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ("{bad json", "application/json", 400, "bad_json"),
        ('{"email": "a@b.com", "email": "c@d.com"}', "application/json", 400, "repeated_field"),
        ('{"last_name": {"$ne": null}}', "application/json", 400, "nested_value"),
        (urlencode(person()), "text/plain", 415, "unsupported_media_type"),
        (urlencode(person()), None, 415, "unsupported_media_type"),
        ("--b\r\nContent-Disposition: form-data\r\n", "multipart/form-data; boundary=b", 415,
         "unsupported_media_type"),
        (urlencode(person()), f"{FORM}; charset=iso-8859-1", 415, "unsupported_charset"),
        (b"last_name=M\xfcller&company=A&email=a%40acme-corp.com", FORM, 400, "not_utf8"),
        (urlencode({"email": "a@acme-corp.com", "company": "Acme"}), FORM, 422, "missing_fields"),
        (urlencode(person(last_name="x" * 81)), FORM, 422, "too_long"),
        (urlencode(person(email="not-an-address")), FORM, 422, "invalid_email"),
        (urlencode(person(email="jane@mailinator.com")), FORM, 422, "disposable_email"),
        (urlencode(person(last_name="Doe\x00")), FORM, 400, "control_characters"),
        ("&".join(f"f{i}=1" for i in range(21)), FORM, 400, "too_many_fields"),
    ],
)  # fmt: skip
def test_bad_posts_get_a_clear_error_and_queue_nothing(
    endpoint: Endpoint, body: str | bytes, content_type: str | None, status: int, code: str
) -> None:
    got, headers, answer = endpoint.post("/intake/contact", body, content_type)
    assert (got, answer and answer["error"]) == (status, code)
    assert answer is not None and answer["message"]
    assert headers["content-type"] == "application/json"
    assert endpoint.queue.counts() == {}


def test_an_oversized_body_is_refused_unread_and_the_connection_closed(endpoint: Endpoint) -> None:
    big = urlencode(person(message="x" * 10_000)).encode()
    status, headers, answer = endpoint.post("/intake/contact", big)
    assert (status, answer and answer["error"]) == (413, "too_large")
    assert headers["connection"] == "close"
    # A client that announces 1 GB and sends nothing: answered at once, not waited for.
    with socket.create_connection(endpoint.address, timeout=5) as sock:
        sock.sendall(
            b"POST /intake/contact HTTP/1.1\r\nHost: x\r\nContent-Type: " + FORM.encode()
            + b"\r\nContent-Length: 1000000000\r\n\r\n"
        )  # fmt: skip
        assert sock.recv(100).startswith(b"HTTP/1.1 413")
    assert endpoint.queue.counts() == {}


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"Transfer-Encoding": "chunked"}, 411, "length_required"),
        ({}, 411, "length_required"),
        ({"Content-Length": "-5"}, 400, "bad_length"),
        ({"Content-Length": "12abc"}, 400, "bad_length"),
    ],
)
def test_lengths_must_be_given_and_sane(
    endpoint: Endpoint, headers: dict[str, str], status: int, code: str
) -> None:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    with socket.create_connection(endpoint.address, timeout=5) as sock:
        start = f"POST /intake/contact HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\n"
        sock.sendall(f"{start}{head}\r\n".encode())
        reply = read_all(sock)
    assert reply.startswith(f"HTTP/1.1 {status}")
    assert f'"error": "{code}"' in reply


def read_all(sock: socket.socket) -> str:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(4096):
        chunks.append(chunk)
    return b"".join(chunks).decode()


def test_a_body_shorter_than_announced_is_refused(make_endpoint: Callable[..., Endpoint]) -> None:
    endpoint = make_endpoint(read_timeout=0.5)
    with socket.create_connection(endpoint.address, timeout=5) as sock:
        sock.sendall(
            f"POST /intake/contact HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\n"
            "Content-Length: 500\r\n\r\nemail=a".encode()
        )
        started = time.monotonic()
        reply = sock.recv(4096).decode()  # the server gives up on the trickle
        assert time.monotonic() - started < 5
        assert reply.startswith("HTTP/1.1 408")
        sock.sendall(b"x" * 10)
    with socket.create_connection(endpoint.address, timeout=5) as sock:
        sock.sendall(
            f"POST /intake/contact HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\n"
            "Content-Length: 500\r\n\r\nemail=a".encode()
        )
        sock.shutdown(socket.SHUT_WR)  # and one that hangs up half-way
        assert sock.recv(4096).decode().startswith("HTTP/1.1 400")
    assert endpoint.queue.counts() == {}


def test_a_flood_from_one_address_gets_429_with_retry_after(endpoint: Endpoint) -> None:
    answers = [
        endpoint.post("/intake/contact", urlencode(person(n)), ip="203.0.113.9") for n in range(8)
    ]
    statuses = [status for status, _h, _b in answers]
    assert statuses == [202] * 5 + [429] * 3
    _status, headers, body = answers[-1]
    assert body is not None and body["error"] == "rate_limited"
    assert int(headers["retry-after"]) == 12  # 5 per 60 s: one back every 12 s
    # Garbage counts too: the flood cannot switch to bad posts to get through.
    assert endpoint.post("/intake/contact", "{x", "application/json", ip="203.0.113.9")[0] == 429
    # Another address is not affected.
    assert endpoint.post("/intake/contact", urlencode(person(99)), ip="203.0.113.10")[0] == 202
    assert endpoint.queued() == 6


def test_a_flood_for_one_email_from_many_addresses_gets_429(endpoint: Endpoint) -> None:
    statuses = [
        endpoint.post("/intake/contact", urlencode(person(last_name=f"Doe {n}")), ip=f"192.0.2.{n}")
        for n in range(4)
    ]
    assert [s for s, _h, _b in statuses] == [202, 202, 429, 429]
    _status, headers, body = statuses[-1]
    assert body is not None and body["error"] == "rate_limited_email"
    assert int(headers["retry-after"]) == 1800
    # Case and spaces do not make a new address.
    upper = urlencode(person(email="  JANE1@Acme-Corp.com "))
    assert endpoint.post("/intake/contact", upper, ip="192.0.2.200")[0] == 429


def test_the_shared_secret(endpoint: Endpoint) -> None:
    form = urlencode(person())
    with capture_logs() as logs:
        missing = endpoint.post("/intake/partner", form)
        wrong = endpoint.post("/intake/partner", form, X_Sfsync_Intake_Secret="guess")
        longer = endpoint.post("/intake/partner", form, X_Sfsync_Intake_Secret=SECRET + "x")
        right = endpoint.post("/intake/partner", form, X_Sfsync_Intake_Secret=SECRET)
    assert [a[0] for a in (missing, wrong, longer, right)] == [403, 403, 403, 202]
    assert missing[2] == {"error": "bad_secret", "message": "missing or wrong secret"}
    assert endpoint.queued() == 1
    assert SECRET not in repr(logs) and "guess" not in repr(logs)
    assert "jane1@acme-corp.com" not in repr(logs)  # ids and counts, never lead bodies


def test_routes_and_methods(endpoint: Endpoint) -> None:
    assert endpoint.post("/intake/nope", urlencode(person()))[0] == 404
    assert endpoint.post("/intake/../contact", urlencode(person()))[0] == 404
    assert endpoint.post("/other", urlencode(person()))[0] == 404
    status, headers, _body = endpoint.request("GET", "/intake/contact")
    assert status == 404
    status, headers, _body = endpoint.request("PUT", "/intake/contact", b"x")
    assert (status, headers["allow"]) == (405, "POST, OPTIONS, GET")
    status, _headers, body = endpoint.request("GET", "/healthz")
    assert status == 200 and body is not None and body["status"] == "ok"


def test_cors_for_configured_origins_only(endpoint: Endpoint) -> None:
    status, headers, _body = endpoint.request(
        "OPTIONS", "/intake/contact", None, {"Origin": ORIGIN}
    )
    assert status == 204
    assert headers["access-control-allow-origin"] == ORIGIN
    assert "X-Sfsync-Intake-Secret" in headers["access-control-allow-headers"]
    evil = "https://evil.example"
    assert endpoint.request("OPTIONS", "/intake/contact", None, {"Origin": evil})[0] == 403
    _status, headers, _body = endpoint.post(
        "/intake/contact", json.dumps(person()), "application/json", Origin=ORIGIN
    )
    assert headers["access-control-allow-origin"] == ORIGIN
    _status, headers, _body = endpoint.post(
        "/intake/contact", json.dumps(person(2)), "application/json", Origin=evil
    )
    assert "access-control-allow-origin" not in headers


class _DownStore:
    """The state database gone: every session fails as the Store's do."""

    def __call__(self) -> AbstractContextManager[Session]:
        raise StoreUnavailable("the state database did not answer (OperationalError)")


def test_when_the_store_is_down_the_client_is_told_to_retry(
    make_endpoint: Callable[..., Endpoint],
) -> None:
    endpoint = make_endpoint(queue=IntakeQueue(_DownStore()))
    status, headers, body = endpoint.post("/intake/contact", urlencode(person()))
    assert (status, body and body["error"], headers["retry-after"]) == (503, "unavailable", "5")


def test_concurrent_posts_are_all_queued_once(endpoint: Endpoint) -> None:
    ids: list[str] = []
    lock = threading.Lock()

    def post(n: int) -> None:
        status, _h, body = endpoint.post("/intake/contact", urlencode(person(n)), ip=f"10.0.{n}.1")
        assert status == 202 and body is not None
        with lock:
            ids.append(body["id"])

    threads = [threading.Thread(target=post, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(ids) == len(set(ids)) == 40
    assert endpoint.queued() == 40
