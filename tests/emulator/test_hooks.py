"""The emulator's chat-webhook receiver as plain values: routes, scripts, Slack's refusals."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from sfsync.emulator.hooks import HookAnswer, HookReceiver, answer_of
from sfsync.emulator.wire import DROP, Outcome, Request, Response

BODY = {"text": "Hot lead"}


def post(hooks: HookReceiver, name: str = "sales", body: Any = BODY, **headers: str) -> Outcome:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return hooks.handle(Request("POST", f"/hooks/{name}", "", headers, raw))


def answered(outcome: Outcome) -> tuple[int, str, dict[str, str]]:
    assert isinstance(outcome, Response)
    return outcome.status, outcome.body.decode(), outcome.headers


def test_an_unscripted_hook_posts_and_answers_ok() -> None:
    hooks = HookReceiver()
    assert answered(post(hooks, **{"idempotency-key": "k1"})) == (200, "ok", {})
    assert answered(post(hooks, "support", {"blocks": [{"type": "divider"}]}))[0] == 200
    assert hooks.received("sales") == [BODY]
    assert [(a.name, a.idempotency_key) for a in hooks.attempts()] == [
        ("sales", "k1"),
        ("support", None),
    ]


def test_scripted_answers_are_used_in_order_then_ok_again() -> None:
    hooks = HookReceiver()
    hooks.script("sales", 500, HookAnswer(429, retry_after="7"), "drop", "drop_after", 204)
    hooks.script("sales", HookAnswer(400, body="nope"))
    assert hooks.pending("sales") == 6
    outcomes = [post(hooks) for _ in range(7)]

    assert answered(outcomes[0]) == (500, "rollup_error", {})
    assert answered(outcomes[1]) == (429, "rate_limited", {"Retry-After": "7"})
    assert outcomes[2] is DROP and outcomes[3] is DROP
    assert answered(outcomes[4]) == (204, "", {})
    assert answered(outcomes[5]) == (400, "nope", {})
    assert answered(outcomes[6]) == (200, "ok", {})
    assert [a.answer for a in hooks.attempts("sales")] == [
        "500", "429", "drop", "drop_after", "204", "400", "200"
    ]  # fmt: skip
    # drop_after, 204 and the last 200 posted the message; the rest did not.
    assert hooks.received("sales") == [BODY] * 3
    assert hooks.pending("sales") == 0


def test_scripts_are_per_hook() -> None:
    hooks = HookReceiver()
    hooks.script("sales", 503)
    assert answered(post(hooks, "support"))[0] == 200
    assert answered(post(hooks, "sales"))[0] == 503


@pytest.mark.parametrize(
    ("body", "word"),
    [
        (b"not json", "invalid_payload"),
        (b"\xff\xfe", "invalid_payload"),
        (["a list"], "invalid_payload"),
        ({"username": "sfsync"}, "no_text"),
        ({"text": ""}, "no_text"),
    ],
)
def test_slack_refuses_a_body_it_cannot_post(body: Any, word: str) -> None:
    hooks = HookReceiver()
    assert answered(post(hooks, body=body)) == (400, word, {})
    assert hooks.received("sales") == []


def test_a_refusable_body_still_meets_a_scripted_failure_first() -> None:
    hooks = HookReceiver()
    hooks.script("sales", 500, "slow")
    assert answered(post(hooks, body=b"not json"))[0] == 500
    # A "slow" answer would post: Slack refuses the body at once instead.
    assert answered(post(hooks, body=b"not json"))[0] == 400


def test_slow_posts_then_answers_late_and_close_cuts_the_wait() -> None:
    hooks = HookReceiver(slow_seconds=30)
    hooks.script("sales", "slow")
    results: list[Outcome] = []
    worker = threading.Thread(target=lambda: results.append(post(hooks)))
    started = time.monotonic()
    worker.start()
    while not hooks.attempts("sales"):
        time.sleep(0.01)
    assert hooks.received("sales") == [BODY]  # posted before the answer
    hooks.close()
    worker.join(5)
    assert time.monotonic() - started < 5
    assert answered(results[0]) == (200, "ok", {})


def test_a_slow_delay_of_its_own() -> None:
    hooks = HookReceiver(slow_seconds=30)
    hooks.script("sales", HookAnswer(mode="slow", delay=0.05))
    started = time.monotonic()
    assert answered(post(hooks))[0] == 200
    assert 0.05 <= time.monotonic() - started < 5


def test_get_lists_what_arrived_and_other_methods_are_refused() -> None:
    hooks = HookReceiver()
    post(hooks)
    listed = hooks.handle(Request("GET", "/hooks/sales"))
    assert answered(listed)[:2] == (200, json.dumps({"received": [BODY]}, separators=(",", ":")))
    assert answered(hooks.handle(Request("PUT", "/hooks/sales")))[0] == 405


@pytest.mark.parametrize("path", ["/hooks/", "/hooks/a/b", "/hooks/sp ace", "/hooks/" + "x" * 129])
def test_unknown_hook_paths_are_not_found(path: str) -> None:
    assert answered(HookReceiver().handle(Request("POST", path)))[0] == 404


@pytest.mark.parametrize(
    ("item", "error"),
    [
        ("explode", ValueError),
        ("500", ValueError),
        (True, TypeError),
        (1.5, TypeError),
        (99, ValueError),
        (600, ValueError),
    ],
)
def test_bad_script_items_are_refused_when_scripted(item: Any, error: type[Exception]) -> None:
    hooks = HookReceiver()
    with pytest.raises(error):
        hooks.script("sales", 200, item)
    assert hooks.pending("sales") == 0  # nothing of a bad script is queued


def test_answer_of() -> None:
    assert answer_of(429) == HookAnswer(429)
    assert answer_of("drop") == HookAnswer(mode="drop")
    assert answer_of(HookAnswer(503, retry_after="1")) == HookAnswer(503, retry_after="1")
