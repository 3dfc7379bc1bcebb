"""The REST resources under `/services/data/vXX.X/`, routed by method and path."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sfsync.emulator import bulk, bulk_ingest, composite, composite_request, queries, rows
from sfsync.emulator.context import Call
from sfsync.emulator.schema import ObjectSchema
from sfsync.emulator.wire import Response, error_response, json_response, not_found

MIN_VERSION = 31
MAX_VERSION = 68
_SEASONS = ("Winter", "Spring", "Summer")

Handler = Callable[[Call, dict[str, str]], Response]


@dataclass(frozen=True)
class Route:
    """Methods on one path pattern (`(?P<name>...)` groups become handler arguments)."""

    pattern: re.Pattern[str]
    handlers: dict[str, Handler]


def supported_version(version: str) -> bool:
    """True for the versions the emulator serves (31.0 to 68.0)."""
    major, _, minor = version.partition(".")
    return minor == "0" and major.isdigit() and MIN_VERSION <= int(major) <= MAX_VERSION


def release_label(major: int) -> str:
    """The release a version shipped in: 62 is Winter '25, three releases a year."""
    offset = major - 62
    return f"{_SEASONS[offset % 3]} '{25 + offset // 3:02d}"


def versions_body() -> list[dict[str, str]]:
    """The body of `GET /services/data/`."""
    return [
        {"label": release_label(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
        for v in range(MIN_VERSION, MAX_VERSION + 1)
    ]


def _index(call: Call, _: dict[str, str]) -> Response:
    names = ("sobjects", "query", "queryAll", "limits", "composite")
    return json_response(200, {name: f"{call.base}/{name}" for name in names})


def _limits(call: Call, _: dict[str, str]) -> Response:
    return json_response(200, call.services.usage.limits_body())


def _object_urls(call: Call, obj: ObjectSchema) -> dict[str, str]:
    base = f"{call.base}/sobjects/{obj.name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def _global_entry(call: Call, obj: ObjectSchema) -> dict[str, Any]:
    full = obj.describe(call.version)
    keys = ("name", "label", "labelPlural", "keyPrefix", "custom", "createable", "updateable")
    entry = {key: full[key] for key in keys}
    entry.update(deletable=obj.deletable, queryable=True, searchable=True, retrieveable=True)
    entry["urls"] = _object_urls(call, obj)
    return entry


def _describe_global(call: Call, _: dict[str, str]) -> Response:
    objects = sorted(call.org.schema.objects.values(), key=lambda o: o.name)
    body = {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [_global_entry(call, obj) for obj in objects],
    }
    return json_response(200, body)


def _with_object(handler: Callable[[Call, ObjectSchema, dict[str, str]], Response]) -> Handler:
    """Resolve `{Type}` (any case) or answer 404 before `handler` runs."""

    def resolved(call: Call, groups: dict[str, str]) -> Response:
        obj = call.org.schema.get(groups["type"])
        if obj is None:
            return error_response(
                404, "NOT_FOUND", f"The requested resource does not exist: {groups['type']}"
            )
        return handler(call, obj, groups)

    return resolved


@_with_object
def _basic_info(call: Call, obj: ObjectSchema, _: dict[str, str]) -> Response:
    return json_response(200, {"objectDescribe": _global_entry(call, obj), "recentItems": []})


@_with_object
def _describe(call: Call, obj: ObjectSchema, _: dict[str, str]) -> Response:
    body = obj.describe(call.version)
    body["urls"] = _object_urls(call, obj)
    return json_response(200, body)


_TABLE: tuple[tuple[str, dict[str, Handler]], ...] = (
    ("", {"GET": _index}),
    ("limits", {"GET": _limits}),
    ("sobjects", {"GET": _describe_global}),
    (
        r"sobjects/(?P<type>\w+)",
        {"GET": _basic_info, "POST": _with_object(lambda c, o, g: rows.create_row(c, o))},
    ),
    (r"sobjects/(?P<type>\w+)/describe", {"GET": _describe}),
    (
        r"sobjects/(?P<type>\w+)/(?P<id>[A-Za-z0-9]{15}|[A-Za-z0-9]{18})",
        {
            "GET": _with_object(lambda c, o, g: rows.get_row(c, o, g["id"])),
            "PATCH": _with_object(lambda c, o, g: rows.update_row(c, o, g["id"])),
            "DELETE": _with_object(lambda c, o, g: rows.delete_row(c, o, g["id"])),
        },
    ),
    ("query", {"GET": lambda c, g: queries.run_query(c, include_deleted=False)}),
    ("queryAll", {"GET": lambda c, g: queries.run_query(c, include_deleted=True)}),
    (
        r"(?:query|queryAll)/(?P<cursor>[^/]+)",
        {"GET": lambda c, g: queries.query_more(c, g["cursor"])},
    ),
    (
        "composite/sobjects",
        {
            "POST": lambda c, g: composite.create_many(c),
            "PATCH": lambda c, g: composite.update_many(c),
            "DELETE": lambda c, g: composite.delete_many(c),
        },
    ),
    ("composite", {"POST": lambda c, g: composite_request.run(c, route)}),
    *bulk.ROUTES,
    *bulk_ingest.ROUTES,
)
ROUTES = tuple(Route(re.compile(f"^{pattern}$"), handlers) for pattern, handlers in _TABLE)


def route(call: Call) -> Response:
    """Answer `call` from the route table: 404 for unknown paths, 405 for other methods."""
    for candidate in ROUTES:
        found = candidate.pattern.match(call.resource)
        if found is None:
            continue
        handler = candidate.handlers.get(call.request.method)
        if handler is None:
            return _method_not_allowed(call.request.method, candidate)
        return handler(call, found.groupdict())
    return not_found()


def _method_not_allowed(method: str, candidate: Route) -> Response:
    allowed = ",".join(candidate.handlers)
    return error_response(
        405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {allowed}"
    )
