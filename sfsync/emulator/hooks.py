"""A chat-webhook receiver for tests: `POST /hooks/{name}` answers as Slack's incoming webhooks.

It stands beside the org, not in it: hook requests are not API calls, so they
are not counted, not in the call log, and untouched by the org's `FaultPlan`.
A test reads what arrived and scripts how the next requests are answered::

    emu.hooks.script("sales", 500, HookAnswer(429, retry_after="7"), "drop", "slow")
    send_notice(session, emu.hook_url("sales"), payload)
    emu.hooks.received("sales")   # JSON bodies posted to the channel, in order
    emu.hooks.attempts("sales")   # every request and how it was answered

Scripted answers are consumed one per request, then 200 "ok" again:

- a status (int): answered with Slack's word for it; only a 2xx posts the message;
- "drop": the connection closes without an answer and nothing is posted
  (a proxy that lost its backend);
- "drop_after": the message is posted, then the connection closes unanswered;
- "slow": the message is posted, the 200 comes after `slow_seconds` (set it
  past the client's read timeout); stopping the emulator cuts the wait short.

A body Slack would refuse is refused whenever the answer would have posted it:
not JSON gives 400 "invalid_payload", neither `text` nor `blocks` 400 "no_text".
`GET /hooks/{name}` returns `{"received": [...]}` for a test in another process.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Final, Literal

from sfsync.emulator.wire import (
    DROP,
    Outcome,
    Request,
    Response,
    error_response,
    json_response,
    not_found,
)

HOOKS_PREFIX: Final = "/hooks/"
_HOOK_PATH = re.compile(r"^/hooks/(?P<name>[A-Za-z0-9._-]{1,128})/?$")
DEFAULT_SLOW_SECONDS: Final = 2.0
TEXT_TYPE: Final = "text/plain;charset=utf-8"
# What Slack's incoming webhooks answer, by status.
SLACK_WORDS: Final = {
    200: "ok",
    400: "invalid_payload",
    403: "action_prohibited",
    404: "no_service",
    410: "channel_is_archived",
    429: "rate_limited",
    500: "rollup_error",
}
Mode = Literal["answer", "drop", "drop_after", "slow"]
_MODES: Final = ("drop", "drop_after", "slow")


@dataclass(frozen=True)
class HookAnswer:
    """How to answer one request; `body` defaults to Slack's word for the status."""

    status: int = 200
    mode: Mode = "answer"
    retry_after: str | None = None
    body: str | None = None
    # For "slow": seconds before the answer (default: the receiver's slow_seconds).
    delay: float | None = None

    def __post_init__(self) -> None:
        if not 200 <= self.status <= 599:
            raise ValueError(f"a hook answer's status must be 200 to 599, not {self.status}")

    @property
    def posts(self) -> bool:
        """Whether the receiver posts the message to the channel before answering."""
        return self.mode in ("drop_after", "slow") or (
            self.mode == "answer" and 200 <= self.status < 300
        )


@dataclass(frozen=True)
class HookAttempt:
    """One request to a hook: its body (None when not JSON), key, and the answer it got."""

    name: str
    body: Any
    idempotency_key: str | None
    # "200", "429", "drop", "drop_after", "slow"
    answer: str
    posted: bool


def answer_of(item: int | str | HookAnswer) -> HookAnswer:
    """A script item as a `HookAnswer`: a status, a mode name, or the answer itself."""
    if isinstance(item, HookAnswer):
        return item
    if isinstance(item, bool) or not isinstance(item, int | str):
        raise TypeError(f"a hook answer is a status, a mode or a HookAnswer, not {item!r}")
    if isinstance(item, int):
        return HookAnswer(item)
    if item not in _MODES:
        raise ValueError(f"unknown hook answer {item!r}: use a status or one of {_MODES}")
    mode: Mode = item  # type: ignore[assignment]
    return HookAnswer(mode=mode)


class HookReceiver:
    """Webhooks by name: what each received, and the answers scripted for it (thread-safe)."""

    def __init__(self, slow_seconds: float = DEFAULT_SLOW_SECONDS) -> None:
        self.slow_seconds = slow_seconds
        self._lock = threading.Lock()
        self._scripts: dict[str, deque[HookAnswer]] = {}
        self._attempts: list[HookAttempt] = []
        self._closing = threading.Event()

    def script(self, name: str, *answers: int | str | HookAnswer) -> None:
        """Queue answers for the next requests to hook `name`, after any already queued."""
        parsed = [answer_of(a) for a in answers]
        with self._lock:
            self._scripts.setdefault(name, deque()).extend(parsed)

    def received(self, name: str) -> list[Any]:
        """The JSON bodies posted to hook `name`'s channel, oldest first."""
        return [a.body for a in self.attempts(name) if a.posted]

    def attempts(self, name: str | None = None) -> list[HookAttempt]:
        """Every request to hook `name` (to any hook when None), oldest first."""
        with self._lock:
            return [a for a in self._attempts if name is None or a.name == name]

    def pending(self, name: str) -> int:
        """Scripted answers not used yet (a test can check that its script was consumed)."""
        with self._lock:
            return len(self._scripts.get(name, ()))

    def close(self) -> None:
        """Wake every "slow" answer now: the server is stopping (a restart waits afresh)."""
        with self._lock:
            closing, self._closing = self._closing, threading.Event()
        closing.set()

    def handle(self, request: Request) -> Outcome:
        """Answer a request under `/hooks/`."""
        found = _HOOK_PATH.match(request.path)
        if found is None:
            return not_found()
        name = found.group("name")
        if request.method == "GET":
            return json_response(200, {"received": self.received(name)})
        if request.method != "POST":
            return error_response(405, "METHOD_NOT_ALLOWED", "Allowed are GET,POST")
        return self._post(name, request)

    def _post(self, name: str, request: Request) -> Outcome:
        body, refusal = _parse(request.body)
        answer = self._next(name)
        if answer.posts and refusal is not None:
            answer = HookAnswer(400, body=refusal)
        key = request.header("Idempotency-Key") or None
        label = str(answer.status) if answer.mode == "answer" else answer.mode
        with self._lock:
            self._attempts.append(HookAttempt(name, body, key, label, answer.posts))
        return self._respond(answer)

    def _next(self, name: str) -> HookAnswer:
        with self._lock:
            queue = self._scripts.get(name)
            return queue.popleft() if queue else HookAnswer()

    def _respond(self, answer: HookAnswer) -> Outcome:
        if answer.mode in ("drop", "drop_after"):
            return DROP
        if answer.mode == "slow":
            with self._lock:
                closing = self._closing
            closing.wait(answer.delay if answer.delay is not None else self.slow_seconds)
        return _response(answer)


def _parse(raw: bytes) -> tuple[Any, str | None]:
    """The body as JSON and Slack's refusal of it (None when Slack would accept it)."""
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, "invalid_payload"
    if not isinstance(body, dict):
        return body, "invalid_payload"
    if not body.get("text") and not body.get("blocks"):
        return body, "no_text"
    return body, None


def _response(answer: HookAnswer) -> Response:
    word = answer.body if answer.body is not None else SLACK_WORDS.get(answer.status, "error")
    # 204 and 304 carry no body.
    body = b"" if answer.status in (204, 304) else word.encode()
    response = Response(answer.status, body, TEXT_TYPE)
    if answer.retry_after is not None:
        response.headers["Retry-After"] = answer.retry_after
    return response
