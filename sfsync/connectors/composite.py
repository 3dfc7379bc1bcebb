"""Composite requests: several GET subrequests (query first pages, describes) in one call.

Salesforce counts a Composite request as one call against the allowance,
whatever it holds: at most 25 subrequests, at most 5 of them queries. Each
subrequest is answered on its own (`allOrNone` false); one that fails raises
the error its direct call would (`retry.error_for`), so a describe of a
missing object or a query naming a missing field reads the same either way.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from sfsync.connectors.failures import error_body
from sfsync.connectors.retry import error_for
from sfsync.errors import OrgUnavailable

MAX_SUBREQUESTS = 25
MAX_QUERIES = 5


@dataclass(frozen=True)
class Sub:
    """One GET subrequest: its path under /services/data/vXX.X/ and whether it is a query."""

    path: str
    is_query: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)


def query_sub(soql: str, headers: Mapping[str, str]) -> Sub:
    """The first page of a queryAll (deleted rows too; WHERE clauses filter them as needed)."""
    return Sub(f"queryAll/?{urlencode({'q': soql})}", is_query=True, headers=headers)


def describe_sub(sobject: str) -> Sub:
    """An object's describe, as `GET sobjects/{sobject}/describe` answers it."""
    return Sub(f"sobjects/{quote(sobject, safe='')}/describe")


def batches(subs: Sequence[Sub]) -> Iterator[list[Sub]]:
    """The subrequests in order, cut into requests Salesforce accepts (25, of them 5 queries)."""
    batch: list[Sub] = []
    for sub in subs:
        queries = sum(1 for s in batch if s.is_query) + sub.is_query
        if len(batch) == MAX_SUBREQUESTS or queries > MAX_QUERIES:
            yield batch
            batch = []
        batch.append(sub)
    if batch:
        yield batch


def request_body(api_version: str, subs: Sequence[Sub]) -> dict[str, Any]:
    """The `POST composite` body for these subrequests, answered independently."""
    base = f"/services/data/v{api_version}"
    return {
        "allOrNone": False,
        "compositeRequest": [
            {"method": "GET", "url": f"{base}/{sub.path}", "referenceId": f"r{i}",
             "httpHeaders": dict(sub.headers)}
            for i, sub in enumerate(subs)
        ],
    }  # fmt: skip


def answer_bodies(answer: Any, expected: int) -> list[dict[str, Any]]:
    """Each subrequest's body, in order; a failed one raises as its direct call would."""
    items = answer.get("compositeResponse") if isinstance(answer, dict) else None
    if not isinstance(items, list) or len(items) != expected:
        raise OrgUnavailable(
            "the org answered a composite request without one answer per subrequest"
        )
    return [_body(item) for item in items]


def _body(item: Any) -> dict[str, Any]:
    status = item.get("httpStatusCode") if isinstance(item, dict) else None
    body = item.get("body") if isinstance(item, dict) else None
    if not isinstance(status, int):
        raise OrgUnavailable("the org answered a composite subrequest without a status")
    if 200 <= status < 300:
        if isinstance(body, dict):
            return body
        raise OrgUnavailable(
            f"the org answered a composite subrequest HTTP {status} without a body"
        )
    raise error_for(status, *error_body(body))
