"""Composite requests: how subrequests are cut into calls, and how their answers are read."""

from __future__ import annotations

from typing import Any

import pytest

from sfsync.connectors.composite import (
    Sub,
    answer_bodies,
    batches,
    describe_sub,
    query_sub,
    request_body,
)
from sfsync.errors import ConfigError, OrgUnavailable, TransientError

HEADERS = {"Sforce-Query-Options": "batchSize=2000"}


def _answer(*items: tuple[Any, Any]) -> dict[str, Any]:
    return {"compositeResponse": [{"httpStatusCode": status, "body": body, "referenceId": f"r{i}"}
                                  for i, (status, body) in enumerate(items)]}  # fmt: skip


def _shape(subs: list[Sub]) -> list[tuple[int, int]]:
    """(subrequests, queries) of each call the subrequests are cut into."""
    return [(len(b), sum(s.is_query for s in b)) for b in batches(subs)]


@pytest.mark.parametrize(
    ("describes", "queries", "calls"),
    [
        (2, 4, [(6, 4)]),
        (0, 5, [(5, 5)]),
        (0, 6, [(5, 5), (1, 1)]),
        (4, 7, [(9, 5), (2, 2)]),
        (25, 0, [(25, 0)]),
        (26, 1, [(25, 0), (2, 1)]),
        (0, 0, []),
    ],
)
def test_subrequests_are_cut_at_25_of_which_5_queries(
    describes: int, queries: int, calls: list[tuple[int, int]]
) -> None:
    subs = [describe_sub(f"O{i}") for i in range(describes)]
    subs += [query_sub(f"SELECT Id FROM Lead LIMIT {i}", HEADERS) for i in range(queries)]
    assert _shape(subs) == calls
    assert [s for b in batches(subs) for s in b] == subs  # order kept


def test_the_request_names_each_resource_under_the_api_version() -> None:
    subs = [describe_sub("Lead"), query_sub("SELECT Id FROM User", HEADERS)]
    body = request_body("62.0", subs)
    assert body["allOrNone"] is False
    first, second = body["compositeRequest"]
    assert first == {"method": "GET", "url": "/services/data/v62.0/sobjects/Lead/describe",
                     "referenceId": "r0", "httpHeaders": {}}  # fmt: skip
    assert second["url"] == "/services/data/v62.0/queryAll/?q=SELECT+Id+FROM+User"
    assert second["httpHeaders"] == HEADERS


def test_bodies_come_back_in_order() -> None:
    pages = [{"totalSize": 0, "done": True, "records": []}, {"name": "Lead", "fields": []}]
    assert answer_bodies(_answer((200, pages[0]), (200, pages[1])), 2) == pages


NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


@pytest.mark.parametrize(
    ("answer", "error", "text"),
    [
        (_answer((200, {"records": []})), OrgUnavailable, "one answer per subrequest"),
        ({"oops": 1}, OrgUnavailable, "one answer per subrequest"),
        (_answer((200, {}), (503, [{"errorCode": "SERVER_UNAVAILABLE", "message": "busy"}])),
         TransientError, "HTTP 503 SERVER_UNAVAILABLE: busy"),
        (_answer((200, {}), (400, [{"errorCode": "MALFORMED_QUERY", "message": "bad"}])),
         ConfigError, "HTTP 400 MALFORMED_QUERY: bad"),
        (_answer((200, {}), (400, [{"errorCode": "INVALID_FIELD", "message": "No such column"}])),
         ConfigError, "refused a query built from the mappings: HTTP 400 INVALID_FIELD"),
        (_answer((404, NOT_FOUND), (200, {})), OrgUnavailable,
         "^HTTP 404 NOT_FOUND: The requested resource does not exist$"),
        (_answer((200, {}), (200, ["not a page"])), OrgUnavailable, "HTTP 200 without a body"),
        (_answer((200, {}), ("200", {})), OrgUnavailable, "without a status"),
    ],
)  # fmt: skip
def test_a_failed_subrequest_raises_as_its_direct_call_would(
    answer: Any, error: type[Exception], text: str
) -> None:
    with pytest.raises(error, match=text) as raised:
        answer_bodies(answer, 2)
    assert type(raised.value) is error
