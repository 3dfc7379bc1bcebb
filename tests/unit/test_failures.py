"""The failure table: (HTTP status, errorCode, message) → (action, kind); per-record codes."""

from __future__ import annotations

import pytest

from sfsync.connectors.failures import Action, Kind, classify, classify_record

RETRY = (Action.RETRY, Kind.TRANSIENT)
DEAD = (Action.DEAD_LETTER, Kind.DATA)
RESTART = (Action.RESTART_QUERY, Kind.TRANSIENT)
STOP_CONFIG = (Action.STOP, Kind.CONFIG)


@pytest.mark.parametrize(
    ("status", "code", "message", "expected"),
    [
        # SALESFORCE.md §6, error codes
        (401, "INVALID_SESSION_ID", "Session expired or invalid", (Action.REAUTH, Kind.AUTH)),
        (403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", (Action.STOP, Kind.LIMIT)),
        (403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded", RETRY),
        (403, "REQUEST_LIMIT_EXCEEDED", "", (Action.STOP, Kind.LIMIT)),
        (503, "SERVER_UNAVAILABLE", "Server unavailable", RETRY),
        (400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", RETRY),
        (400, "ENTITY_IS_DELETED", "entity is deleted", DEAD),
        (400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", DEAD),
        (400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "bad value", DEAD),
        (400, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Rule fired", DEAD),
        (400, "STRING_TOO_LONG", "data value too large", DEAD),
        (400, "INVALID_FIELD", "No such column 'Foo__c'", STOP_CONFIG),
        (400, "MALFORMED_QUERY", "unexpected token", STOP_CONFIG),
        (400, "QUERY_TIMEOUT", "Your query request was running for too long.", RESTART),
        (400, "INVALID_QUERY_LOCATOR", "invalid query locator", RESTART),
        (400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", DEAD),
        (400, "DUPLICATES_DETECTED", "Use one of these records?", DEAD),
        # status alone decides when the code is absent or unknown
        (500, None, "", RETRY),
        (502, None, "", RETRY),
        (503, None, "", RETRY),
        (504, "SOMETHING_NEW", "", RETRY),
        (429, None, "", RETRY),
        (420, None, "", RETRY),
        (406, None, "", RETRY),
        (401, None, "", (Action.REAUTH, Kind.AUTH)),
        (403, None, "", (Action.STOP, Kind.AUTH)),
        (404, "NOT_FOUND", "", (Action.STOP, Kind.SYSTEM)),
        (400, "SOMETHING_NEW", "", (Action.STOP, Kind.SYSTEM)),
        (418, None, "", (Action.STOP, Kind.SYSTEM)),
        # no answer at all: dropped connection, timeout
        (None, None, "", RETRY),
        (None, "MALFORMED_QUERY", "", RETRY),
    ],
)
def test_classify(
    status: int | None, code: str | None, message: str, expected: tuple[Action, Kind]
) -> None:
    failure = classify(status, code, message)
    assert (failure.action, failure.kind) == expected


@pytest.mark.parametrize(
    "message",
    [
        "ConcurrentPerOrgLongTxn Limit exceeded",
        "concurrent requests limit exceeded",
        "Too many long running requests",
        "ConcurrentRequests Limit exceeded",
    ],
)
def test_request_limit_concurrency_kind_is_retried(message: str) -> None:
    assert classify(403, "REQUEST_LIMIT_EXCEEDED", message).action is Action.RETRY


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("UNABLE_TO_LOCK_ROW", RETRY),
        ("SERVER_UNAVAILABLE", RETRY),
        ("FIELD_CUSTOM_VALIDATION_EXCEPTION", DEAD),
        ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", DEAD),
        ("STRING_TOO_LONG", DEAD),
        ("INVALID_CROSS_REFERENCE_KEY", DEAD),
        ("ENTITY_IS_DELETED", DEAD),
        ("CANNOT_UPDATE_CONVERTED_LEAD", DEAD),
        ("DUPLICATES_DETECTED", DEAD),
        ("INACTIVE_OWNER_OR_USER", DEAD),
        ("REQUIRED_FIELD_MISSING", DEAD),
        ("SOME_CODE_ADDED_NEXT_RELEASE", DEAD),
        ("", DEAD),
        # request-level actions make no sense for one record: dead-letter, never loop
        ("INVALID_SESSION_ID", DEAD),
        ("MALFORMED_QUERY", DEAD),
        ("INVALID_QUERY_LOCATOR", DEAD),
    ],
)
def test_classify_record(code: str, expected: tuple[Action, Kind]) -> None:
    failure = classify_record(code)
    assert (failure.action, failure.kind) == expected


def test_a_lock_error_wrapped_by_a_flow_is_retried() -> None:
    from sfsync.connectors.failures import Action, classify_record

    message = "CANNOT_EXECUTE_FLOW_TRIGGER: ... UNABLE_TO_LOCK_ROW, unable to obtain access"
    assert classify_record("CANNOT_EXECUTE_FLOW_TRIGGER", message).action is Action.RETRY
    assert classify_record("CANNOT_EXECUTE_FLOW_TRIGGER").action is Action.DEAD_LETTER
