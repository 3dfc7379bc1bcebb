"""One partner-API SOAP call, sent at most once, and a list of requests sent call by call.

`convertLead` and `merge()` share the transport contract (see `connectors.soap`):
a call is retried only when the org provably did not run it; when it may have
run but its answer was lost, the caller gets None and must re-read before it
sends the same requests again. A stop part-way through a list (API budget,
credentials) keeps what the earlier calls answered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final, TypeVar

import requests
import structlog
import urllib3.exceptions

from sfsync.connectors.soap_xml import raise_for_fault
from sfsync.errors import SfsyncError, TransientError

log = structlog.get_logger("sfsync.salesforce")

SOAP_HEADERS: Final = {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'}

Request = TypeVar("Request")
Answer = TypeVar("Answer")


def soap_url(instance_url: str, api_version: str) -> str:
    """The partner API endpoint: `https://<instance>/services/Soap/u/<version>`."""
    return f"{instance_url.rstrip('/')}/services/Soap/u/{api_version}"


def post(session: requests.Session, url: str, body: bytes, operation: str) -> bytes | None:
    """The answer's body; None when the org may have run the call but its answer is lost."""
    try:
        response = session.post(url, data=body, headers=SOAP_HEADERS)
    except requests.RequestException as exc:
        if may_have_run(exc):
            return None
        raise TransientError(f"{operation}: not sent ({type(exc).__name__})") from None
    if response.status_code == 200:
        return response.content
    raise_for_fault(response.status_code, response.content, operation=operation)
    return None


def in_calls(
    items: Sequence[Request],
    per_call: int,
    send: Callable[[Sequence[Request]], list[Answer]],
    not_sent: Callable[[Request], Answer],
    operation: str,
) -> list[Answer]:
    """`send` over `items`, `per_call` at a time; one answer per item, in input order.

    An error that stops a later call does not lose the earlier calls' answers:
    the items not sent come back as `not_sent(item)`. It is raised only when
    nothing was sent.
    """
    answers: list[Answer] = []
    for start in range(0, len(items), per_call):
        try:
            answers += send(items[start : start + per_call])
        except SfsyncError as exc:
            if not answers:
                raise
            log.warning(f"sfsync.salesforce.{operation}_interrupted", error=str(exc))
            answers += [not_sent(item) for item in items[start:]]
            break
    return answers


def may_have_run(exc: requests.RequestException) -> bool:
    """True when the org may have received the request: the connection was open when it failed."""
    if isinstance(exc, requests.ConnectTimeout | requests.exceptions.SSLError):
        return False
    if isinstance(exc, requests.ConnectionError):
        return not any(isinstance(c, urllib3.exceptions.NewConnectionError) for c in _causes(exc))
    return isinstance(exc, requests.Timeout | requests.exceptions.ChunkedEncodingError)


def _causes(exc: BaseException, depth: int = 6) -> list[BaseException]:
    """`exc` and what it wraps: its cause, context, exception arguments and urllib3 `reason`."""
    found: list[BaseException] = [exc]
    if depth == 0:
        return found
    inner = [exc.__cause__, exc.__context__, getattr(exc, "reason", None), *exc.args]
    for item in inner:
        if isinstance(item, BaseException) and item is not exc:
            found += _causes(item, depth - 1)
    return found
