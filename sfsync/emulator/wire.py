"""Requests and responses as plain values, so handlers never touch sockets.

The HTTP layer (`httpd`) turns bytes into a `Request`; everything behind it
returns a `Response` or `DROP` (close the connection without answering, as a
load balancer that loses a backend does).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import parse_qs

JSON_TYPE: Final = "application/json;charset=UTF-8"
HTML_TYPE: Final = "text/html;charset=UTF-8"
XML_TYPE: Final = "text/xml;charset=UTF-8"


@dataclass(frozen=True)
class Request:
    """One HTTP request; header names are lower-cased."""

    method: str
    path: str
    query_string: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str, default: str = "") -> str:
        """The header `name` (any case), or `default`."""
        return self.headers.get(name.lower(), default)

    def param(self, name: str) -> str | None:
        """The first value of query parameter `name`, or None."""
        values = parse_qs(self.query_string, keep_blank_values=True).get(name)
        return values[0] if values else None


@dataclass
class Response:
    """One HTTP response, plus what the call log wants to know about it."""

    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    # Records in a Collections body or rows in a query page, for the call log.
    records: int | None = None


class Drop:
    """Answer nothing and close the connection."""

    def __repr__(self) -> str:
        return "DROP"


DROP: Final = Drop()
Outcome = Response | Drop


def json_response(status: int, payload: Any, *, records: int | None = None) -> Response:
    """A JSON response; `payload` must already be JSON-ready."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Response(status, body, JSON_TYPE, records=records)


def error_response(status: int, error_code: str, message: str) -> Response:
    """A REST error in Salesforce's shape: a list of `{"message", "errorCode"}`."""
    return json_response(status, [{"message": message, "errorCode": error_code}])


def no_content() -> Response:
    """204: what Salesforce answers to a successful PATCH or DELETE of a row."""
    return Response(204, b"", "")


def html_response(status: int, title: str) -> Response:
    """An HTML error page, as Salesforce's edge answers when the app tier is down."""
    page = (
        f"<!DOCTYPE html><html><head><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>An unexpected error occurred. Please try again.</p>"
        "</body></html>"
    )
    return Response(status, page.encode(), HTML_TYPE)


def not_found() -> Response:
    """404 for an unknown resource, with Salesforce's wording."""
    return error_response(404, "NOT_FOUND", "The requested resource does not exist")


class BodyError(ValueError):
    """The request body is not the JSON the resource wants."""


def parse_json(request: Request) -> Any:
    """The decoded JSON body; raises `BodyError` with a Jackson-like message."""
    try:
        return json.loads(request.body.decode("utf-8") or "null")
    except UnicodeDecodeError as exc:
        raise BodyError("Invalid UTF-8 start byte") from exc
    except json.JSONDecodeError as exc:
        raise BodyError(
            f"Unexpected character: {exc.msg} at [line:{exc.lineno}, column:{exc.colno}]"
        ) from exc


def body_error(exc: BodyError) -> Response:
    """400 JSON_PARSER_ERROR, as Salesforce answers a malformed body."""
    return error_response(400, "JSON_PARSER_ERROR", str(exc))


def invalid_session() -> Response:
    """401 for an unknown, expired or missing access token."""
    return error_response(401, "INVALID_SESSION_ID", "Session expired or invalid")
