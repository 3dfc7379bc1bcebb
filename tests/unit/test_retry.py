"""The retry layer: what is retried, what stops at once, re-authentication, logs without secrets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)
from structlog.testing import capture_logs

from sfsync.connectors.retry import MAX_RETRY_AFTER_SECONDS, RetryingCaller, RetryPolicy
from sfsync.errors import (
    ApiLimitReached,
    AuthError,
    ConfigError,
    OrgUnavailable,
    QueryRestart,
    SfsyncError,
    TransientError,
)

SECRET = "00DSECRETSESSIONID!AQ4AQ"
URL = f"https://org.example.com/services/data/v62.0/query?q=SELECT+Id&sid={SECRET}"
RETRY_EVENT = "sfsync.salesforce.retry_scheduled"


def sf_error(status: int, code: str | None, message: str = "") -> SalesforceError:
    classes: dict[int, type[SalesforceError]] = {
        400: SalesforceMalformedRequest,
        401: SalesforceExpiredSession,
        403: SalesforceRefusedRequest,
    }
    content: Any = [{"errorCode": code, "message": message}] if code else b"<html>oops</html>"
    return classes.get(status, SalesforceGeneralError)(URL, status, "query", content)


class Script:
    """A callable that raises the scripted errors in turn, then returns "ok"; counts its calls."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


class Reauth:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


def caller(
    attempts: int = 4,
    reauth: Callable[[], None] | None = None,
    retry_after: Callable[[], float | None] = lambda: None,
    wait_scale: float = 0,
) -> RetryingCaller:
    policy = RetryPolicy(attempts=attempts, wait_scale=wait_scale)
    return RetryingCaller(policy, reauth or Reauth(), retry_after)


@pytest.mark.parametrize(
    "error",
    [
        TransientError("flaky"),
        sf_error(503, "SERVER_UNAVAILABLE", "down for maintenance"),
        sf_error(500, None),
        sf_error(502, None),
        sf_error(429, None),
        sf_error(400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access"),
        sf_error(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded"),
        requests.ConnectionError("Connection aborted."),
        requests.Timeout("read timed out"),
        ValueError("Expecting value: line 1 column 1"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_transient_failures_are_retried(error: BaseException) -> None:
    script = Script(error, error)
    assert caller().call("query", script) == "ok"
    assert script.calls == 3


def test_gives_up_after_attempts_with_org_unavailable() -> None:
    script = Script(*[TransientError("still down")] * 10)
    with pytest.raises(OrgUnavailable) as info:
        caller(attempts=4).call("query", script)
    assert script.calls == 4
    assert not isinstance(info.value, ApiLimitReached)
    assert "query" in str(info.value) and "still down" in str(info.value)


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        (sf_error(400, "MALFORMED_QUERY", "unexpected token: FORM"), ConfigError),
        (sf_error(400, "INVALID_FIELD", "No such column 'Foo__c' on Lead"), ConfigError),
        (sf_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."), ApiLimitReached),
        (sf_error(403, "INSUFFICIENT_ACCESS", "no access"), AuthError),
        (sf_error(403, "API_DISABLED_FOR_ORG", "API is not enabled"), AuthError),
        (sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator"), QueryRestart),
        (sf_error(404, "NOT_FOUND", "The requested resource does not exist"), OrgUnavailable),
        (sf_error(400, None), OrgUnavailable),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else None,
)
def test_final_failures_are_not_retried(error: SalesforceError, raised: type[Exception]) -> None:
    script = Script(error)
    with pytest.raises(raised):
        caller().call("query", script)
    assert script.calls == 1


def test_malformed_query_is_a_config_error_naming_the_code() -> None:
    with pytest.raises(ConfigError, match="MALFORMED_QUERY"):
        caller().call("query", Script(sf_error(400, "MALFORMED_QUERY", "unexpected token")))


def test_expired_session_renewed_once_then_retried() -> None:
    reauth = Reauth()
    script = Script(sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid"))
    assert caller(reauth=reauth).call("query", script) == "ok"
    assert (script.calls, reauth.calls) == (2, 1)


def test_second_expired_session_is_an_auth_error() -> None:
    reauth = Reauth()
    expired = sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
    script = Script(*[expired] * 10)
    with pytest.raises(AuthError):
        caller(attempts=6, reauth=reauth).call("query", script)
    assert reauth.calls == 1


def test_second_expired_session_stops_without_more_calls() -> None:
    expired = sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
    script = Script(*[expired] * 10)
    with pytest.raises(AuthError):
        caller(attempts=6).call("query", script)
    assert script.calls == 2


def test_reauthentication_failure_propagates() -> None:
    def refuse() -> None:
        raise AuthError("token request refused: invalid_grant")

    script = Script(sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid"))
    with pytest.raises(AuthError, match="invalid_grant"):
        caller(reauth=refuse).call("query", script)
    assert script.calls == 1


def test_programming_errors_are_not_swallowed() -> None:
    script = Script(KeyError("records"))
    with pytest.raises(KeyError):
        caller().call("query", script)
    assert script.calls == 1


def test_each_retry_is_logged_as_one_stable_event() -> None:
    script = Script(TransientError("flaky"), sf_error(503, "SERVER_UNAVAILABLE", "down"))
    with capture_logs() as logs:
        caller().call("pull_page", script)
    retries = [e for e in logs if e["event"] == RETRY_EVENT]
    assert [(e["call"], e["attempt"]) for e in retries] == [("pull_page", 1), ("pull_page", 2)]
    assert all(e["log_level"] == "warning" for e in retries)
    assert "SERVER_UNAVAILABLE" in retries[1]["error"]


@pytest.mark.parametrize(
    ("retry_after", "logged_wait"),
    [(7.0, 0.007), (1000.0, MAX_RETRY_AFTER_SECONDS * 0.001), (0.0, 0.0)],
)
def test_retry_after_sets_the_wait(retry_after: float, logged_wait: float) -> None:
    script = Script(sf_error(503, "SERVER_UNAVAILABLE", "down"))
    with capture_logs() as logs:
        caller(retry_after=lambda: retry_after, wait_scale=0.001).call("query", script)
    (event,) = [e for e in logs if e["event"] == RETRY_EVENT]
    assert event["wait_seconds"] == pytest.approx(logged_wait)


@pytest.mark.parametrize(
    "errors",
    [
        [sf_error(503, "SERVER_UNAVAILABLE", "down")] * 5,
        [requests.ConnectionError(f"HTTPSConnectionPool: Max retries exceeded with url: {URL}")]
        * 5,
        [sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")] * 5,
        [sf_error(400, "MALFORMED_QUERY", "unexpected token")],
        [sf_error(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")],
    ],
    ids=["server-unavailable", "connection-error", "session", "malformed", "limit"],
)
def test_no_secret_in_any_message(errors: list[BaseException]) -> None:
    with capture_logs() as logs, pytest.raises(SfsyncError) as info:
        caller(attempts=3).call("query", Script(*errors))
    texts = [str(info.value), info.value.user_message, repr(info.value)]
    texts += [repr(event) for event in logs]
    assert logs or len(errors) == 1
    for text in texts:
        assert SECRET not in text
        assert "sid=" not in text
