"""The one retry layer: tenacity executing the failure table.

Every Salesforce call runs through `RetryingCaller.call`. A failure is turned
into an sfsync error by `failures.classify`; transient ones are retried with
jittered exponential backoff (or the server's `Retry-After`), capped in
attempts and in total time, each retry logged as `sfsync.salesforce.retry_scheduled`.
Jobs never add retries of their own.

An expired session (INVALID_SESSION_ID) is renewed and the call retried. A
renewed session refused before any call succeeded with it means renewing
does not help: that is an AuthError. Calls may run on several threads at
once (the flush keeps a few writes in flight): when they meet an expired
session together, one renews it and the others retry with the new one. Each
renewal is numbered (a generation); a call renews only the session it was
refused with, never one another thread has already replaced.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests
import structlog
from simple_salesforce.exceptions import SalesforceError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from sfsync.connectors.failures import Action, Failure, Kind, classify, error_body
from sfsync.errors import (
    ApiLimitReached,
    AuthError,
    ConfigError,
    OrgUnavailable,
    QueryRestart,
    SessionExpired,
    SfsyncError,
    TransientError,
)

T = TypeVar("T")
log = structlog.get_logger("sfsync.salesforce")
MAX_RETRY_AFTER_SECONDS = 60.0


@dataclass(frozen=True)
class RetryPolicy:
    """Caps and backoff of the retry layer."""

    attempts: int = 6
    max_seconds: float = 120.0
    initial_wait: float = 0.5
    max_wait: float = 20.0
    # 0 switches the sleeps off (tests); retries still happen.
    wait_scale: float = 1.0


def translate(exc: BaseException) -> SfsyncError:
    """An sfsync error for a requests or simple-salesforce failure (never with secrets)."""
    if isinstance(exc, SfsyncError):
        return exc
    if isinstance(exc, SalesforceError):
        return error_for(exc.status, *error_body(exc.content))
    if isinstance(exc, requests.RequestException):
        return TransientError(f"no answer from the org: {type(exc).__name__}")
    if isinstance(exc, ValueError):
        # A body that is not the JSON it claims to be: the org or a proxy hiccuped.
        return TransientError(f"unreadable answer from the org: {type(exc).__name__}")
    raise exc


def error_for(status: int, code: str | None, message: str) -> SfsyncError:
    """The error a call refused with this HTTP status and REST error body raises.

    A failed Composite subrequest raises it too: the same as its direct call.
    """
    return _from_failure(classify(status, code, message), status, code, message)


def _from_failure(failure: Failure, status: int, code: str | None, message: str) -> SfsyncError:
    text = f"HTTP {status} {code or ''}: {message}".strip()
    if failure.action is Action.RETRY:
        return TransientError(text)
    if failure.action is Action.REAUTH:
        return SessionExpired(text)
    if failure.action is Action.RESTART_QUERY:
        return QueryRestart(text)
    if failure.kind is Kind.LIMIT:
        return ApiLimitReached(f"the org's API allowance is used up ({text})")
    if failure.kind is Kind.AUTH:
        return AuthError(text)
    if failure.kind is Kind.CONFIG:
        return ConfigError(f"the org refused a query built from the mappings: {text}")
    return OrgUnavailable(text)


class RetryingCaller:
    """Runs calls with the retry policy; renews the session on INVALID_SESSION_ID.

    Safe to share between threads: renewals are serialised, and a session
    several calls found expired at once is renewed by one of them only.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        reauthenticate: Callable[[], None],
        retry_after: Callable[[], float | None] = lambda: None,
    ) -> None:
        self.policy = policy
        self._reauthenticate = reauthenticate
        self._retry_after = retry_after
        self._renewing = threading.Lock()
        self._generation = 0  # sessions renewed so far
        self._proven_lock = threading.Lock()
        self._proven = 0  # the newest generation a call succeeded with

    def call(self, name: str, fn: Callable[[], T]) -> T:
        """`fn()` with retries; raises the translated error once retrying is pointless."""
        retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self.policy.attempts)
            | stop_after_delay(self.policy.max_seconds),
            wait=self._wait,
            before_sleep=lambda rs: _log_retry(name, rs),
            reraise=True,
        )
        try:
            result: T = retrying(self._attempt, fn)
            return result
        except TransientError as exc:
            raise OrgUnavailable(f"{name}: gave up after retries: {exc}") from None

    def _attempt(self, fn: Callable[[], T]) -> T:
        generation = self._generation  # read before the call: the session it will use
        try:
            result = fn()
        except BaseException as exc:
            error = translate(exc)
        else:
            with self._proven_lock:
                self._proven = max(self._proven, generation)
            return result
        wait = self._retry_after()
        if type(error) is TransientError and wait is not None:
            error.retry_after = wait
        if isinstance(error, SessionExpired):
            if not self._renew(generation):
                raise AuthError(f"session still invalid after renewing it ({error})")
            raise TransientError("session renewed", retry_after=0.0) from None
        raise error

    def _renew(self, expired: int) -> bool:
        """Have a session newer than generation `expired`; False when renewing does not help.

        Renews it unless another thread did since (then the call just retries
        with the newer session). A renewed session refused before any call
        succeeded with it is not renewed again.
        """
        with self._renewing:
            if self._generation != expired:
                return True
            if expired > 0 and self._proven < expired:
                return False
            self._reauthenticate()
            self._generation += 1
            return True

    def _wait(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            return min(exc.retry_after, MAX_RETRY_AFTER_SECONDS) * self.policy.wait_scale
        backoff = wait_random_exponential(
            multiplier=self.policy.initial_wait, max=self.policy.max_wait
        )
        return float(backoff(retry_state)) * self.policy.wait_scale


def _log_retry(name: str, retry_state: RetryCallState) -> None:
    exc = retry_state.outcome.exception() if retry_state.outcome else None
    log.warning(
        "sfsync.salesforce.retry_scheduled",
        call=name,
        attempt=retry_state.attempt_number,
        wait_seconds=round(retry_state.upcoming_sleep, 3),
        error=str(exc),
    )
