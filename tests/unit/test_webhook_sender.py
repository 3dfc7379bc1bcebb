"""The hot-lead webhook sender: one POST, the outcome table, Retry-After, and no URL anywhere.

Answers and network failures are scripted with `responses` (every one must be
consumed); refused connections, a stalled handshake and URLs requests cannot
use are real.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import threading
from collections.abc import Iterator, MutableMapping
from datetime import UTC, datetime
from http.client import RemoteDisconnected
from typing import Any

import pytest
import requests
import responses
import urllib3.exceptions
from structlog.testing import capture_logs
from urllib3.exceptions import (
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
)

from sfsync.connectors.webhook import (
    DEFAULT_TIMEOUT,
    MAX_RETRY_AFTER_SECONDS,
    NoticeOutcome,
    NoticeResult,
    classify_status,
    parse_retry_after,
    send_notice,
    webhook_url,
)
from sfsync.connectors.webhook_redaction import REDACTED, hide_from_urllib3, redacted, scrub
from sfsync.errors import ConfigError

SECRET = "XyZsecretT0KEN123"
PATH = f"/services/T0001/B0002/{SECRET}"
URL = f"https://hooks.example.com{PATH}"
PAYLOAD = {"text": "Hot lead: Ana Lima at Acme -> Ann"}
SENT, RETRY = NoticeOutcome.SENT, NoticeOutcome.RETRY
REJECTED, UNCERTAIN = NoticeOutcome.REJECTED, NoticeOutcome.UNCERTAIN


def send(
    url: str = URL, payload: Any = PAYLOAD, **kwargs: Any
) -> tuple[NoticeResult, list[MutableMapping[str, Any]]]:
    """Send once with a fresh session; the result and the structlog events it logged."""
    with capture_logs() as logs, requests.Session() as session:
        result = send_notice(session, url, payload, **kwargs)
    return result, logs


def sent_timeout(call: Any) -> Any:
    """The timeout requests handed its adapter (responses keeps it on the request)."""
    return call.request.req_kwargs["timeout"]


def assert_no_secret(result: NoticeResult, logs: list[MutableMapping[str, Any]]) -> None:
    assert SECRET not in repr(result)
    assert SECRET not in repr(logs)
    assert [sorted(e) for e in logs] == [["event", "log_level", "outcome", "status"]]
    assert logs[0]["event"] == "sfsync.webhook.notice"
    assert logs[0]["outcome"] == result.outcome.value
    assert logs[0]["status"] == result.status


# -- the tables ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, SENT), (201, SENT), (204, SENT), (299, SENT),
        (301, REJECTED), (302, REJECTED), (307, REJECTED), (308, REJECTED),
        (400, REJECTED), (401, REJECTED), (403, REJECTED), (404, REJECTED), (410, REJECTED),
        (413, REJECTED), (422, REJECTED),
        (408, RETRY), (429, RETRY),
        (500, RETRY), (502, RETRY), (503, RETRY), (599, RETRY),
        (504, UNCERTAIN),
    ],
)  # fmt: skip
def test_classify_status(status: int, outcome: NoticeOutcome) -> None:
    assert classify_status(status) is outcome


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0), ("1.5", 1.5), (" 3 ", 3.0), ("0", 0.0),
        ("999999", MAX_RETRY_AFTER_SECONDS),
        (None, None), ("", None), ("-1", None), ("nan", None), ("inf", None),
        ("soon", None),
        # The HTTP-date form is not read: the outbox's own backoff applies.
        ("Wed, 21 Oct 2015 07:28:00 GMT", None),
    ],
)  # fmt: skip
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_only_retry_may_be_resent() -> None:
    assert [o for o in NoticeOutcome if NoticeResult(o).may_resend] == [RETRY]


# -- answers ------------------------------------------------------------------------------


def test_the_payload_goes_out_once_as_json_with_both_timeouts() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(URL, body="ok", status=200)
        result, logs = send(key="k-123")
        (call,) = mock.calls
    assert result == NoticeResult(SENT, 200)
    assert isinstance(call.request.body, bytes)
    assert json.loads(call.request.body) == PAYLOAD
    assert call.request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert call.request.headers["Idempotency-Key"] == "k-123"
    assert sent_timeout(call) == DEFAULT_TIMEOUT
    assert logs[0]["log_level"] == "info"
    assert_no_secret(result, logs)


def test_no_idempotency_header_without_a_key_and_the_timeout_is_the_callers() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(URL, body="ok")
        result, _ = send(timeout=(0.5, 2.0))
        (call,) = mock.calls
    assert result.outcome is SENT
    assert "Idempotency-Key" not in call.request.headers
    assert sent_timeout(call) == (0.5, 2.0)


def test_text_stays_utf8() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(URL, body="ok")
        send(payload={"text": "Zoë Ødegård"})
        (call,) = mock.calls
    assert isinstance(call.request.body, bytes)
    assert "Zoë Ødegård".encode() in call.request.body


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (429, "rate_limited", {"Retry-After": "7"}, NoticeResult(RETRY, 429, 7.0,
                                                                 "HTTP 429: rate_limited")),
        (429, "", {}, NoticeResult(RETRY, 429, None, "HTTP 429")),
        (503, "busy", {"Retry-After": "2"}, NoticeResult(RETRY, 503, 2.0, "HTTP 503: busy")),
        (500, "rollup_error", {}, NoticeResult(RETRY, 500, None, "HTTP 500: rollup_error")),
        (408, "", {}, NoticeResult(RETRY, 408, None, "HTTP 408")),
        (504, "gateway", {"Retry-After": "5"}, NoticeResult(UNCERTAIN, 504, None,
                                                             "HTTP 504: gateway")),
        (404, "no_service", {"Retry-After": "5"}, NoticeResult(REJECTED, 404, None,
                                                                "HTTP 404: no_service")),
        (400, "invalid_payload", {}, NoticeResult(REJECTED, 400, None,
                                                  "HTTP 400: invalid_payload")),
        (410, "channel_is_archived", {}, NoticeResult(REJECTED, 410, None,
                                                      "HTTP 410: channel_is_archived")),
        (302, "", {"Location": "https://elsewhere.example.com/"},
         NoticeResult(REJECTED, 302, None,
                      "HTTP 302: redirect not followed (check the webhook URL)")),
    ],
)  # fmt: skip
def test_answers(status: int, body: str, headers: dict[str, str], expected: NoticeResult) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(URL, body=body, status=status, headers=headers)
        result, logs = send()
        assert len(mock.calls) == 1  # one attempt, no redirect followed
    assert result == expected
    assert logs[0]["log_level"] == "warning"
    assert_no_secret(result, logs)


@pytest.mark.parametrize(
    "body",
    [
        f"no hook at {URL}",
        f"unknown path {PATH}",
        f'{{"error": "bad token {SECRET}"}}',
        f"line one\n\x00{SECRET}\r\nline two",
    ],
)
def test_a_refusal_that_quotes_the_url_is_scrubbed(body: str) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(URL, body=body, status=404)
        result, logs = send()
    assert result.outcome is REJECTED
    assert REDACTED in result.error
    assert "\n" not in result.error and "\x00" not in result.error
    assert_no_secret(result, logs)


def test_a_long_refusal_is_cut_short() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(URL, body="x" * 10_000, status=400)
        result, _ = send()
    assert result.error.startswith("HTTP 400: xxx")
    assert len(result.error) < 200


# -- no answer ---------------------------------------------------------------------------


def _refused() -> requests.ConnectionError:
    """What requests raises for a refused connection, message quoting the URL's path."""
    inner = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] refused")  # type: ignore[arg-type]
    inner.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return requests.ConnectionError(MaxRetryError(None, PATH, inner))  # type: ignore[arg-type]


def _dns() -> requests.ConnectionError:
    inner = NameResolutionError("hooks.example.com", None, OSError("Name or service not known"))  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, PATH, inner))  # type: ignore[arg-type]


def _tls(error: ssl.SSLError) -> requests.exceptions.SSLError:
    inner = urllib3.exceptions.SSLError(error)
    return requests.exceptions.SSLError(MaxRetryError(None, PATH, inner))  # type: ignore[arg-type]


def _dropped(cause: BaseException) -> requests.ConnectionError:
    return requests.ConnectionError(ProtocolError("Connection aborted.", cause))


@pytest.mark.parametrize(
    ("error", "outcome", "text"),
    [
        (_refused(), RETRY, "connection refused"),
        (_dns(), RETRY, "DNS lookup failed"),
        (requests.ConnectTimeout(f"Max retries exceeded with url: {PATH}"), RETRY,
         "connect timed out after 5s"),
        (_tls(ssl.SSLCertVerificationError(1, f"certificate verify failed for {URL}")), RETRY,
         "TLS handshake failed"),
        # A TLS error not known to come from the handshake may have come after sending.
        (_tls(ssl.SSLError(1, f"bad record mac on {URL}")), UNCERTAIN,
         "connection lost before the answer (SSLError): it may have arrived"),
        (requests.ReadTimeout(f"Read timed out: {URL}"), UNCERTAIN,
         "no answer within 10s: the notice may have arrived"),
        (_dropped(RemoteDisconnected(f"closed {PATH}")), UNCERTAIN,
         "connection lost before the answer (ConnectionError): it may have arrived"),
        (_dropped(ConnectionResetError(104, f"Connection reset on {PATH}")), UNCERTAIN,
         "connection lost before the answer (ConnectionError): it may have arrived"),
        (requests.exceptions.ChunkedEncodingError(f"broken {URL}"), UNCERTAIN,
         "connection lost before the answer (ChunkedEncodingError): it may have arrived"),
    ],
)  # fmt: skip
def test_failures_without_an_answer(error: Exception, outcome: NoticeOutcome, text: str) -> None:
    assert SECRET in str(error) or SECRET in repr(error.args)  # the raw text would leak it
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.post(URL, body=error)
        result, logs = send()
    assert result == NoticeResult(outcome, None, None, text)
    assert_no_secret(result, logs)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_connection_is_retried() -> None:
    result, logs = send(f"https://127.0.0.1:{_free_port()}/hooks/{SECRET}")
    assert result == NoticeResult(RETRY, error="connection refused")
    assert_no_secret(result, logs)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP and never says a word (a stalled TLS handshake)."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        try:
            while True:
                accepted.append(server.accept()[0])
        except OSError:
            return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    with contextlib.suppress(OSError):
        server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
    server.close()
    for conn in accepted:
        conn.close()
    thread.join(5)


def test_a_stalled_tls_handshake_is_retried(silent_server: int) -> None:
    # urllib3 reports it as a read timeout; where it was raised shows nothing was sent.
    result, logs = send(f"https://127.0.0.1:{silent_server}/hooks/{SECRET}", timeout=(0.2, 5.0))
    assert result == NoticeResult(RETRY, error="TLS handshake timed out")
    assert_no_secret(result, logs)


def test_a_bad_idempotency_key_is_rejected_unsent() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        result, logs = send(key="two\nlines")
        assert not mock.calls
    assert result == NoticeResult(REJECTED, error="the key is not a valid header value")
    assert_no_secret(result, logs)


@pytest.mark.parametrize(
    ("url", "quoted"),
    [
        (f"htps://hooks.example.com/{SECRET}", True),
        (f"hooks.example.com/{SECRET}", True),
        (f"https:///{SECRET}", True),
        (f"https://hooks.example.com:port/{SECRET}", False),
    ],
)
def test_an_unusable_url_is_rejected_without_quoting_it(url: str, quoted: bool) -> None:
    with requests.Session() as session:
        with pytest.raises(requests.RequestException) as raw:
            session.post(url, json=PAYLOAD, timeout=1)
        assert (SECRET in str(raw.value)) is quoted  # what requests itself would have said
    result, logs = send(url)
    assert result == NoticeResult(REJECTED, error="the webhook URL is not usable")
    assert_no_secret(result, logs)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"text": "hi", "at": datetime(2025, 1, 1, tzinfo=UTC)}, "payload is not JSON: TypeError"),
        ({"text": "hi", "score": float("nan")}, "payload is not JSON: ValueError"),
    ],
)
def test_a_payload_that_is_not_json_is_rejected_unsent(payload: Any, error: str) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        result, logs = send(payload=payload)
        assert not mock.calls
    assert result == NoticeResult(REJECTED, error=error)
    assert_no_secret(result, logs)


# -- the URL's place in configuration ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "url"),
    [
        (URL, URL),
        (f"  {URL}\n", URL),
        ("HTTPS://Hooks.Slack.com/services/T/B/x", "HTTPS://Hooks.Slack.com/services/T/B/x"),
        ("https://127.0.0.1:8443/hooks/sales", "https://127.0.0.1:8443/hooks/sales"),
        ("https://[::1]:8443/hooks/sales", "https://[::1]:8443/hooks/sales"),
    ],
)
def test_webhook_url_reads_the_named_variable(value: str, url: str) -> None:
    assert webhook_url("HOOK", {"HOOK": value, "OTHER": "x"}) == url


def test_webhook_url_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SFSYNC_TEST_HOOK_URL", URL)
    assert webhook_url("SFSYNC_TEST_HOOK_URL") == URL


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "HOOK is not set: it must hold the chat webhook's https:// URL"),
        ({"HOOK": ""}, "HOOK is not set"),
        ({"HOOK": " \n"}, "HOOK is not set"),
        ({"HOOK": f"http://hooks.example.com/{SECRET}"}, "HOOK must be an https:// URL"),
        ({"HOOK": f"http://127.0.0.1:8080/{SECRET}"}, "HOOK must be an https:// URL"),
        ({"HOOK": f"ftp://hooks.example.com/{SECRET}"}, "HOOK must be an https:// URL"),
        ({"HOOK": f"hooks.example.com/{SECRET}"}, "HOOK must be an https:// URL"),
        ({"HOOK": f"https:///{SECRET}"}, "HOOK must name a host"),
        ({"HOOK": f"https://hooks.example.com:99999/{SECRET}"}, "HOOK is not a valid URL"),
        ({"HOOK": f"https://hooks.example.com:x/{SECRET}"}, "HOOK is not a valid URL"),
        ({"HOOK": f"https://[::1/{SECRET}"}, "HOOK is not a valid URL"),
        ({"HOOK": f"https://bot:{SECRET}@hooks.example.com/x"}, "must not carry a user name"),
        ({"HOOK": f"https://hooks.example.com/a b/{SECRET}"}, "without spaces or control"),
        ({"HOOK": f"https://hooks.example.com/\x07{SECRET}"}, "without spaces or control"),
    ],
)
def test_webhook_url_refuses_with_the_name_never_the_value(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        webhook_url("HOOK", environ)
    assert message in str(info.value)
    assert SECRET not in str(info.value) and SECRET not in info.value.user_message
    assert info.value.__cause__ is None or SECRET not in str(info.value.__cause__)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (URL, "https://hooks.example.com/REDACTED"),
        ("https://127.0.0.1:8443/hooks/x", "https://127.0.0.1/REDACTED"),
        ("not a url", "REDACTED"),
        ("https://[::1/x", "REDACTED"),
    ],
)
def test_redacted_keeps_the_host_only(url: str, shown: str) -> None:
    assert redacted(url) == shown


@pytest.mark.parametrize(
    ("text", "url", "scrubbed"),
    [
        (f"at {URL}!", URL, "at REDACTED!"),
        (f"path {PATH}", URL, "path REDACTED"),
        (f"token {SECRET}", URL, "token REDACTED"),
        ("T0001 is the team", URL, "T0001 is the team"),  # short segments stay readable
        ("q?k=s3cretvalue", "https://h.example.com/a?k=s3cretvalue", "q?REDACTED"),
        ("nothing here", "https://h.example.com/", "nothing here"),
    ],
)
def test_scrub(text: str, url: str, scrubbed: str) -> None:
    assert scrub(text, url) == scrubbed


def test_urllib3_debug_lines_show_the_path_redacted(caplog: pytest.LogCaptureFixture) -> None:
    url = f"https://hooks.example.com/hooks/q-{SECRET}?token=also{SECRET}"
    hide_from_urllib3(url)
    caplog.set_level(logging.DEBUG)
    pool = logging.getLogger("urllib3.connectionpool")
    # The line urllib3 writes after each answer (connectionpool.py, _make_request).
    pool.debug('%s://%s:%s "%s %s %s" %s %s', "https", "hooks.example.com", 443, "POST",
               f"/hooks/q-{SECRET}?token=also{SECRET}", "HTTP/1.1", 200, 2)  # fmt: skip
    logging.getLogger("sfsync.other").debug("untouched %s", f"/hooks/q-{SECRET}")
    assert caplog.messages[0] == 'https://hooks.example.com:443 "POST REDACTED HTTP/1.1" 200 2'
    assert caplog.messages[1] == f"untouched /hooks/q-{SECRET}"  # only urllib3 is filtered
