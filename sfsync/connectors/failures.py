"""One table turns every Salesforce failure into an action and a kind.

HTTP status and Salesforce `errorCode` (or a per-record `statusCode`) decide
what happens next: retry with backoff, re-authenticate once, dead-letter the
record, restart the query from the watermark, or stop the run. Codes the org
may add later fall back to the status's default, and an unknown per-record
code is dead-lettered rather than retried blindly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    """What the connector does about a failure."""

    RETRY = "retry"
    REAUTH = "reauth"
    DEAD_LETTER = "dead_letter"
    RESTART_QUERY = "restart_query"
    STOP = "stop"


class Kind(StrEnum):
    """Whose problem it is: decides the exit code and the operator's message."""

    TRANSIENT = "transient"  # the org or the network hiccuped
    AUTH = "auth"  # credentials (exit 3)
    LIMIT = "limit"  # API allowance (exit 4)
    CONFIG = "config"  # our mappings ask for something the org lacks (exit 2)
    DATA = "data"  # one record's values (dead letter)
    SYSTEM = "system"  # anything else the org refuses (exit 4)


@dataclass(frozen=True)
class Failure:
    """The classification of one failure."""

    action: Action
    kind: Kind


RETRY = Failure(Action.RETRY, Kind.TRANSIENT)
DEAD = Failure(Action.DEAD_LETTER, Kind.DATA)

ERROR_CODES: dict[str, Failure] = {
    "INVALID_SESSION_ID": Failure(Action.REAUTH, Kind.AUTH),
    "SERVER_UNAVAILABLE": RETRY,
    "UNABLE_TO_LOCK_ROW": RETRY,
    "REQUEST_RUNNING_TOO_LONG": RETRY,
    "INVALID_QUERY_LOCATOR": Failure(Action.RESTART_QUERY, Kind.TRANSIENT),
    "QUERY_TIMEOUT": Failure(Action.RESTART_QUERY, Kind.TRANSIENT),
    "MALFORMED_QUERY": Failure(Action.STOP, Kind.CONFIG),
    "INVALID_FIELD": Failure(Action.STOP, Kind.CONFIG),
    "INVALID_TYPE": Failure(Action.STOP, Kind.CONFIG),
    "API_DISABLED_FOR_ORG": Failure(Action.STOP, Kind.AUTH),
    "INSUFFICIENT_ACCESS": Failure(Action.STOP, Kind.AUTH),
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": DEAD,
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": DEAD,
    "STRING_TOO_LONG": DEAD,
    "INVALID_CROSS_REFERENCE_KEY": DEAD,
    "INACTIVE_OWNER_OR_USER": DEAD,
    "ENTITY_IS_DELETED": DEAD,
    "CANNOT_UPDATE_CONVERTED_LEAD": DEAD,
    "DUPLICATES_DETECTED": DEAD,
    "REQUIRED_FIELD_MISSING": DEAD,
    "INVALID_EMAIL_ADDRESS": DEAD,
    "INVALID_FIELD_FOR_INSERT_UPDATE": DEAD,
    "MALFORMED_ID": DEAD,
    "JSON_PARSER_ERROR": DEAD,
}

STATUS_DEFAULTS: dict[int, Failure] = {
    400: Failure(Action.STOP, Kind.SYSTEM),
    401: Failure(Action.REAUTH, Kind.AUTH),
    403: Failure(Action.STOP, Kind.AUTH),
    404: Failure(Action.STOP, Kind.SYSTEM),
    406: RETRY,
    408: RETRY,
    409: Failure(Action.STOP, Kind.SYSTEM),
    420: RETRY,
    429: RETRY,
}

# REQUEST_LIMIT_EXCEEDED covers both the daily allowance (stop) and too many
# long-running requests at once (back off): the message tells them apart.
_CONCURRENCY_HINTS = ("concurrent", "longtxn", "long running")


def classify(status: int | None, error_code: str | None, message: str = "") -> Failure:
    """The action for an HTTP failure; `status` None means no answer (dropped, timed out)."""
    if status is None:
        return RETRY
    if error_code == "REQUEST_LIMIT_EXCEEDED":
        return _request_limit(message)
    if error_code in ERROR_CODES:
        return ERROR_CODES[error_code]
    if status >= 500:
        return RETRY
    return STATUS_DEFAULTS.get(status, Failure(Action.STOP, Kind.SYSTEM))


def classify_record(status_code: str, message: str = "") -> Failure:
    """The action for one record's error inside a 200 Collections answer.

    A lock error can arrive wrapped by a flow or trigger
    (`CANNOT_EXECUTE_FLOW_TRIGGER ... UNABLE_TO_LOCK_ROW`): it is still worth a retry.
    """
    if "UNABLE_TO_LOCK_ROW" in message:
        return RETRY
    failure = ERROR_CODES.get(status_code)
    if failure is not None and failure.action in (Action.RETRY, Action.DEAD_LETTER):
        return failure
    return DEAD


def _request_limit(message: str) -> Failure:
    lowered = message.lower().replace(" ", "")
    if any(hint.replace(" ", "") in lowered for hint in _CONCURRENCY_HINTS):
        return RETRY
    return Failure(Action.STOP, Kind.LIMIT)


def error_body(content: Any) -> tuple[str | None, str]:
    """`(errorCode, message)` of a REST error body (`[{"errorCode", "message"}]`), else (None, "").

    A code that is not text counts as none: the HTTP status alone then classifies.
    """
    if isinstance(content, (bytes, str)):
        try:
            content = json.loads(content)
        except ValueError:
            return None, ""
    first = content[0] if isinstance(content, list) and content else content
    if not isinstance(first, dict):
        return None, ""
    code = first.get("errorCode")
    return (code if isinstance(code, str) else None), str(first.get("message", ""))
