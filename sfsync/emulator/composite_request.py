"""`POST composite`: several REST requests in one call, answered in one body.

Salesforce counts the whole request as one call against the API allowance,
whatever it holds (at most 25 subrequests, at most 5 of them queries). The
emulator serves GET subrequests (queries, their next pages, describes and
records) through the same routes as a direct call; references between
subrequests (`@{ref.id}`) and writes are not emulated and answer 400 per
subrequest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from sfsync.emulator.context import Call
from sfsync.emulator.wire import (
    BodyError,
    Request,
    Response,
    body_error,
    error_response,
    json_response,
    parse_json,
)

MAX_SUBREQUESTS = 25
MAX_QUERIES = 5
_DATA = re.compile(r"^/services/data/v(?P<version>\d+\.\d+)(?P<rest>/.*)?$")
_QUERY = re.compile(r"^(query|queryAll)(/|$)")


def run(call: Call, route: Callable[[Call], Response]) -> Response:
    """Answer each subrequest through `route`, in order, inside one 200 response."""
    try:
        body = parse_json(call.request)
    except BodyError as exc:
        return body_error(exc)
    items = body.get("compositeRequest") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        return error_response(400, "JSON_PARSER_ERROR", "compositeRequest must be a list")
    if len(items) > MAX_SUBREQUESTS:
        return _limit(f"at most {MAX_SUBREQUESTS} subrequests")
    subs = [_sub_call(call, item) for item in items]
    if sum(1 for sub in subs if isinstance(sub, Call) and _QUERY.match(sub.resource)) > MAX_QUERIES:
        return _limit(f"at most {MAX_QUERIES} query subrequests")
    answers = [_answer(item, sub, route) for item, sub in zip(items, subs, strict=True)]
    records = sum(a.pop("_records", 0) for a in answers)
    return json_response(200, {"compositeResponse": answers}, records=records)


def _limit(what: str) -> Response:
    return error_response(400, "INVALID_INPUT", f"a composite request may hold {what}")


def _sub_call(call: Call, item: Mapping[str, Any]) -> Call | Response:
    method, url = item.get("method"), item.get("url")
    if not isinstance(url, str) or not isinstance(method, str):
        return error_response(400, "INVALID_INPUT", "each subrequest needs a method and a url")
    if method.upper() != "GET":
        return error_response(400, "NOT_SUPPORTED", "the emulator serves GET subrequests only")
    parts = urlsplit(url)
    found = _DATA.match(parts.path)
    if found is None or parts.scheme or parts.netloc:
        return error_response(400, "INVALID_URL", f"not a REST resource URL: {url[:200]}")
    headers = {**call.request.headers, **_headers(item.get("httpHeaders"))}
    request = Request("GET", parts.path, parts.query, headers)
    resource = (found.group("rest") or "").strip("/")
    return Call(request, call.session, found.group("version"), resource, call.services)


def _headers(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k).lower(): str(v) for k, v in value.items()}


def _answer(
    item: Mapping[str, Any], sub: Call | Response, route: Callable[[Call], Response]
) -> dict[str, Any]:
    response = route(sub) if isinstance(sub, Call) else sub
    return {
        "body": json.loads(response.body) if response.body else None,
        "httpHeaders": {},
        "httpStatusCode": response.status,
        "referenceId": item.get("referenceId"),
        "_records": response.records or 0,
    }
