"""Hot-lead notices to a Slack-style chat webhook: one POST, one outcome, no secret shown.

Each call makes exactly one attempt; the outbox retries across cycles. The
outcome tells the caller what it may do next while keeping "at most once per
lead":

    outcome    when                                               the caller
    SENT       2xx                                                is done
    RETRY      never reached the receiver: connection refused,    sends again in a later
               DNS, connect timeout, a TLS handshake that failed  cycle (after `retry_after`
               or stalled; or it said "try later": 408, 429,      seconds when given)
               5xx other than 504
    REJECTED   3xx (redirects are not followed), other 4xx;       never resends: the URL or
               a URL requests cannot use; a body that is not JSON the payload needs fixing
    UNCERTAIN  sent, answer lost: read timeout, connection        never resends: the notice
               dropped, TLS failing after the handshake, 504      may have arrived
               (a gateway lost its upstream); anything unsure

A webhook URL embeds its secret (Slack's path is the token), so the URL never
appears in a result, log or exception: error texts are fixed phrases plus the
status, requests' exception messages (which quote the URL) are never used, a
receiver's error body is scrubbed of the URL's path, and urllib3's DEBUG lines
have the path replaced (`webhook_redaction`).
"""

from __future__ import annotations

import json
import math
import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final
from urllib.parse import urlsplit

import requests
import structlog
import urllib3.exceptions

from sfsync.connectors.webhook_redaction import hide_from_urllib3, scrub
from sfsync.errors import ConfigError

log = structlog.get_logger("sfsync.webhook")

DEFAULT_CONNECT_TIMEOUT_SECONDS: Final = 5.0
# Slack answers in well under a second; past this the notice is UNCERTAIN, so keep it generous.
DEFAULT_READ_TIMEOUT_SECONDS: Final = 10.0
DEFAULT_TIMEOUT: Final = (DEFAULT_CONNECT_TIMEOUT_SECONDS, DEFAULT_READ_TIMEOUT_SECONDS)
# A Retry-After above this is read as this: a hostile or broken receiver cannot park a notice.
MAX_RETRY_AFTER_SECONDS: Final = 3600.0
# How much of a refusal's body goes into the error text (Slack's are one word: "no_service").
ERROR_BODY_CHARS: Final = 120

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class NoticeOutcome(StrEnum):
    """What became of one notice (see the module docstring's table)."""

    SENT = "sent"
    RETRY = "retry"
    REJECTED = "rejected"
    UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class NoticeResult:
    """The outcome of one POST; `error` is short, for operators, and never holds the URL."""

    outcome: NoticeOutcome
    # The HTTP status when an answer came back.
    status: int | None = None
    # Seconds the receiver asked us to wait (Retry-After) before a RETRY.
    retry_after: float | None = None
    error: str = ""

    @property
    def may_resend(self) -> bool:
        """True only for RETRY: anything else was delivered, refused, or may have arrived."""
        return self.outcome is NoticeOutcome.RETRY


# -- configuration ---------------------------------------------------------------------


def webhook_url(env_name: str, environ: Mapping[str, str] = os.environ) -> str:
    """The webhook URL held by the environment variable `env_name` (routing.yaml `url_env`).

    Only https:// is accepted, loopback included: the URL carries a secret,
    and tests use the emulator's HTTPS receiver. Surrounding whitespace (a
    secrets file's newline) is dropped. Errors name the variable, never its value.
    """
    value = environ.get(env_name, "").strip()
    if not value:
        raise ConfigError(
            f"{env_name} is not set: it must hold the chat webhook's https:// URL "
            "(routing.yaml webhook.url_env names this variable)"
        )
    problem = _url_problem(value)
    if problem:
        raise ConfigError(f"{env_name} {problem} (its value is not shown: it holds a secret)")
    return value


def _url_problem(value: str) -> str | None:
    if any(ch.isspace() for ch in value) or _CONTROL.search(value):
        return "must be a URL without spaces or control characters"
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError on a port that is not a number in range
    except ValueError:
        return "is not a valid URL"
    if parts.scheme.lower() != "https":
        return "must be an https:// URL"
    if not parts.hostname:
        return "must name a host (https://host/path)"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password"
    return None


# -- sending ------------------------------------------------------------------------------


def send_notice(
    session: requests.Session,
    url: str,
    payload: Mapping[str, Any],
    *,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    key: str | None = None,
) -> NoticeResult:
    """POST `payload` as JSON to `url` once and say what became of it; never raises for I/O.

    `timeout` is (connect, read) in seconds. `key`, when given, goes out as
    `Idempotency-Key` so a receiver that honours it can drop a repeat (Slack
    ignores it). Redirects are not followed: a POST turned into a GET by a
    302 would be lost without notice.
    """
    try:
        body = json.dumps(payload, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        return _logged(NoticeResult(NoticeOutcome.REJECTED, error=_payload_error(exc)))
    hide_from_urllib3(url)
    return _logged(_post(session, url, body, timeout, key))


def _payload_error(exc: Exception) -> str:
    # The type only: json's message would quote the offending value (lead data).
    return f"payload is not JSON: {type(exc).__name__}"


def _post(
    session: requests.Session,
    url: str,
    body: bytes,
    timeout: tuple[float, float],
    key: str | None,
) -> NoticeResult:
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if key:
        headers["Idempotency-Key"] = key
    try:
        response = session.post(
            url, data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True
        )
    except (OSError, urllib3.exceptions.HTTPError) as exc:
        # requests' exceptions subclass OSError; their text quotes the URL, so only types are read.
        return from_exception(exc, timeout)
    with response:
        return from_response(response, url)


def from_response(response: requests.Response, url: str) -> NoticeResult:
    """The result for an answer: its status decides; a refusal's body becomes the error text."""
    status = response.status_code
    outcome = classify_status(status)
    if outcome is NoticeOutcome.SENT:
        return NoticeResult(outcome, status)
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    wait = retry_after if outcome is NoticeOutcome.RETRY else None
    return NoticeResult(outcome, status, wait, _status_error(status, _body_text(response, url)))


def classify_status(status: int) -> NoticeOutcome:
    """The outcome an HTTP status means for a notice (the table in the module docstring)."""
    if 200 <= status < 300:
        return NoticeOutcome.SENT
    if status == 504:
        return NoticeOutcome.UNCERTAIN
    if status in (408, 429) or 500 <= status < 600:
        return NoticeOutcome.RETRY
    return NoticeOutcome.REJECTED


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header, capped; None when absent, negative or a date."""
    try:
        seconds = float((value or "").strip())
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_RETRY_AFTER_SECONDS)


def _status_error(status: int, text: str) -> str:
    if 300 <= status < 400:
        return f"HTTP {status}: redirect not followed (check the webhook URL)"
    return f"HTTP {status}: {text}" if text else f"HTTP {status}"


def _body_text(response: requests.Response, url: str) -> str:
    """The start of the answer's body on one line, scrubbed of the URL; '' when unreadable."""
    try:
        raw = next(response.iter_content(ERROR_BODY_CHARS * 4), b"")
    except (OSError, urllib3.exceptions.HTTPError, requests.RequestException):
        return ""
    text = " ".join(_CONTROL.sub(" ", scrub(raw.decode("utf-8", "replace"), url)).split())
    return text[:ERROR_BODY_CHARS]


# -- failures without an answer -----------------------------------------------------------

# Raised before any connection is made: requests cannot use the URL.
_UNUSABLE_URL = (
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
)


def from_exception(exc: BaseException, timeout: tuple[float, float]) -> NoticeResult:
    """The result for a request that got no answer, from the exception's types only."""
    connect, read = timeout
    chain = _causes(exc)
    if _has(chain, urllib3.exceptions.NameResolutionError):
        return NoticeResult(NoticeOutcome.RETRY, error="DNS lookup failed")
    if _has(chain, ConnectionRefusedError):
        return NoticeResult(NoticeOutcome.RETRY, error="connection refused")
    if isinstance(exc, requests.ConnectTimeout):
        return NoticeResult(NoticeOutcome.RETRY, error=f"connect timed out after {connect:g}s")
    if _has(chain, urllib3.exceptions.NewConnectionError):
        return NoticeResult(NoticeOutcome.RETRY, error="could not connect")
    if _in_handshake(chain):
        # urllib3 reports a stalled handshake as a read timeout; no byte of the request was sent.
        what = "timed out" if _has(chain, TimeoutError) else "failed"
        return NoticeResult(NoticeOutcome.RETRY, error=f"TLS handshake {what}")
    if isinstance(exc, _UNUSABLE_URL):
        return NoticeResult(NoticeOutcome.REJECTED, error="the webhook URL is not usable")
    if isinstance(exc, requests.exceptions.InvalidHeader):
        return NoticeResult(NoticeOutcome.REJECTED, error="the key is not a valid header value")
    return _maybe_arrived(exc, read)


def _maybe_arrived(exc: BaseException, read: float) -> NoticeResult:
    # Whatever is not known to have failed before sending may have arrived: UNCERTAIN loses
    # a notice rather than risk sending one twice.
    if isinstance(exc, requests.Timeout) or _has(_causes(exc), TimeoutError):
        error = f"no answer within {read:g}s: the notice may have arrived"
    else:
        error = f"connection lost before the answer ({type(exc).__name__}): it may have arrived"
    return NoticeResult(NoticeOutcome.UNCERTAIN, error=error)


def _has(chain: list[BaseException], kind: type[BaseException]) -> bool:
    return any(isinstance(item, kind) for item in chain)


def _in_handshake(chain: list[BaseException]) -> bool:
    """Whether the failure was raised inside the TLS handshake (read from its traceback).

    urllib3 wraps a TLS error the same way whether it came in the handshake or
    after the request went out; only where it was raised tells them apart.
    """
    if _has(chain, ssl.SSLCertVerificationError):
        return True
    return any(_raised_in(item, "do_handshake") for item in chain)


def _raised_in(exc: BaseException, function: str) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == function:
            return True
        tb = tb.tb_next
    return False


def _causes(exc: BaseException, depth: int = 6) -> list[BaseException]:
    """`exc` and what it wraps: cause, context, exception arguments and urllib3's `reason`."""
    found: list[BaseException] = [exc]
    if depth == 0:
        return found
    for item in (exc.__cause__, exc.__context__, getattr(exc, "reason", None), *exc.args):
        if isinstance(item, BaseException) and item is not exc:
            found += _causes(item, depth - 1)
    return found


def _logged(result: NoticeResult) -> NoticeResult:
    # Outcome and status only: the error text stays with the caller, the URL nowhere.
    level = log.info if result.outcome is NoticeOutcome.SENT else log.warning
    level("sfsync.webhook.notice", outcome=result.outcome.value, status=result.status)
    return result
