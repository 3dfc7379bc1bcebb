"""The webhook sender against the emulator's receiver over HTTPS: what arrives, and each fault.

The payload is the rules' own `webhook_payload`; the receiver answers as
Slack's incoming webhooks do, and its scripted faults stand for what a chat
service and the network between do to a notice.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests
from structlog.testing import capture_logs

from sfsync.connectors.webhook import NoticeOutcome, NoticeResult, send_notice
from sfsync.emulator.hooks import HookAnswer
from sfsync.emulator.server import Emulator
from sfsync.rules.routing import Need, RoutingOutcome
from sfsync.rules.routing_followup import webhook_payload

# Seeded org size: the receiver needs none of it.
pytestmark = pytest.mark.parametrize("seeded", [5], indirect=True)

SECRET = "XyZsecretT0KEN123"
NAME = f"sales-{SECRET}"
# Short enough to keep "slow" quick, long enough for a loaded CI machine to answer in time.
TIMEOUT = (5.0, 0.5)
SENT, RETRY = NoticeOutcome.SENT, NoticeOutcome.RETRY
REJECTED, UNCERTAIN = NoticeOutcome.REJECTED, NoticeOutcome.UNCERTAIN


def hot_lead_payload() -> dict[str, Any]:
    outcome = RoutingOutcome(
        routed=True, owner_id="005000000000001AAA", need=Need.NEW, rule="hot", notify=True
    )
    values = {"FirstName": "Ana", "LastName": "Lima", "Company": "Acme <Labs>", "Rating": "Hot"}
    return webhook_payload(
        "00Q000000000001AAA",
        values,
        outcome,
        "Hot lead: {FirstName} {LastName} at {Company} -> {owner}",
        owner_name="Ann Rep",
    )


def notify(emu: Emulator, payload: Any, **kwargs: Any) -> NoticeResult:
    with requests.Session() as session:
        return send_notice(session, emu.hook_url(NAME), payload, timeout=TIMEOUT, **kwargs)


def test_a_notice_arrives_once_as_sent(emulator: Emulator) -> None:
    payload = hot_lead_payload()
    result = notify(emulator, payload, key="lead-1-routing-1")

    assert result == NoticeResult(SENT, 200)
    assert emulator.hooks.received(NAME) == [payload]
    (attempt,) = emulator.hooks.attempts()
    assert (attempt.name, attempt.idempotency_key, attempt.answer) == (
        NAME,
        "lead-1-routing-1",
        "200",
    )
    with requests.Session() as session:
        listed = session.get(emulator.hook_url(NAME), timeout=TIMEOUT).json()
    assert listed == {"received": [payload]}
    # Chat traffic is not the org's: no API call counted or logged.
    assert len(emulator.calls) == 0


@pytest.mark.parametrize(
    ("answer", "expected", "posted"),
    [
        (500, NoticeResult(RETRY, 500, None, "HTTP 500: rollup_error"), 0),
        (503, NoticeResult(RETRY, 503, None, "HTTP 503: error"), 0),
        (HookAnswer(429, retry_after="7"), NoticeResult(RETRY, 429, 7.0, "HTTP 429: rate_limited"),
         0),
        (404, NoticeResult(REJECTED, 404, None, "HTTP 404: no_service"), 0),
        (410, NoticeResult(REJECTED, 410, None, "HTTP 410: channel_is_archived"), 0),
        (HookAnswer(302, body=""),
         NoticeResult(REJECTED, 302, None,
                      "HTTP 302: redirect not followed (check the webhook URL)"), 0),
        (504, NoticeResult(UNCERTAIN, 504, None, "HTTP 504: error"), 0),
        ("drop", NoticeResult(UNCERTAIN, None, None,
                              "connection lost before the answer (ConnectionError): "
                              "it may have arrived"), 0),
        ("drop_after", NoticeResult(UNCERTAIN, None, None,
                                    "connection lost before the answer (ConnectionError): "
                                    "it may have arrived"), 1),
        (HookAnswer(mode="slow", delay=2.0),
         NoticeResult(UNCERTAIN, None, None, "no answer within 0.5s: the notice may have arrived"),
         1),
    ],
)  # fmt: skip
def test_each_fault_has_its_outcome(
    emulator: Emulator, answer: int | str | HookAnswer, expected: NoticeResult, posted: int
) -> None:
    payload = hot_lead_payload()
    emulator.hooks.script(NAME, answer)

    with capture_logs() as logs:
        result = notify(emulator, payload)

    assert result == expected
    assert emulator.hooks.received(NAME) == [payload] * posted
    assert emulator.hooks.pending(NAME) == 0
    assert logs == [
        {
            "event": "sfsync.webhook.notice",
            "log_level": "warning",
            "outcome": expected.outcome.value,
            "status": expected.status,
        }
    ]
    # The script is spent: the next notice (the outbox's retry) goes through.
    assert notify(emulator, payload).outcome is SENT
    assert emulator.hooks.received(NAME) == [payload] * (posted + 1)


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"username": "sfsync"}, "HTTP 400: no_text"),
        (["not", "an", "object"], "HTTP 400: invalid_payload"),
    ],
)
def test_the_receiver_refuses_what_slack_refuses(
    emulator: Emulator, payload: Any, error: str
) -> None:
    assert notify(emulator, payload) == NoticeResult(REJECTED, 400, None, error)
    assert emulator.hooks.received(NAME) == []
    assert [a.answer for a in emulator.hooks.attempts(NAME)] == ["400"]


def test_the_url_stays_out_of_every_log_even_urllib3_debug(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="urllib3")
    emulator.hooks.script(NAME, 500, "drop", HookAnswer(404, body=f"no hook {NAME}"))
    with capture_logs() as logs:
        results = [notify(emulator, hot_lead_payload()) for _ in range(4)]

    assert [r.outcome for r in results] == [RETRY, UNCERTAIN, REJECTED, SENT]
    assert results[2].error == "HTTP 404: no hook REDACTED"
    assert '"POST REDACTED HTTP/1.1" 200' in caplog.text  # urllib3 did log the request
    assert SECRET not in caplog.text
    assert SECRET not in repr(logs) + repr(results)


def test_a_receiver_we_do_not_trust_is_retried_and_gets_nothing(emulator: Emulator) -> None:
    with requests.Session() as session:
        session.trust_env = False  # ignore REQUESTS_CA_BUNDLE: the emulator's CA is unknown
        result = send_notice(session, emulator.hook_url(NAME), hot_lead_payload(), timeout=TIMEOUT)
    assert result == NoticeResult(RETRY, error="TLS handshake failed")
    assert emulator.hooks.attempts() == []
