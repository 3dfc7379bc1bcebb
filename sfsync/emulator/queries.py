"""`query`, `queryAll` and their cursors (`query/<locator>-<offset>`)."""

from __future__ import annotations

import re
from typing import Any

from sfsync.emulator.context import Call
from sfsync.emulator.cursors import PagedResult
from sfsync.emulator.soql import SoqlError
from sfsync.emulator.wire import Response, error_response, json_response

DEFAULT_BATCH = 2000
MIN_BATCH = 200
MAX_BATCH = 2000
_BATCH_RE = re.compile(r"batchsize\s*=\s*(\d+)", re.IGNORECASE)
_LOCATOR_RE = re.compile(r"^(?P<locator>[A-Za-z0-9]+)-(?P<offset>\d+)$")


def batch_size(call: Call, default: int = DEFAULT_BATCH) -> int:
    """`Sforce-Query-Options: batchSize=N`, clamped to Salesforce's 200..2000."""
    found = _BATCH_RE.search(call.request.header("Sforce-Query-Options"))
    if found is None:
        return default
    return max(MIN_BATCH, min(MAX_BATCH, int(found.group(1))))


def invalid_locator() -> Response:
    """400 for a cursor that is unknown, expired or read past its end."""
    return error_response(400, "INVALID_QUERY_LOCATOR", "invalid query locator")


def run_query(call: Call, *, include_deleted: bool) -> Response:
    """The first page of `?q=`; later pages through `nextRecordsUrl`."""
    soql = call.request.param("q")
    if not soql:
        return error_response(400, "MALFORMED_QUERY", "A query string must be provided.")
    try:
        result = call.org.query(soql, include_deleted=include_deleted, api_version=call.version)
    except SoqlError as exc:
        return error_response(400, exc.error_code, exc.message)
    return _page(call, result, None, 0, batch_size(call))


def query_more(call: Call, locator_and_offset: str) -> Response:
    """A later page of an open cursor (the same URL for query and queryAll)."""
    found = _LOCATOR_RE.match(locator_and_offset)
    cursor = call.services.cursors.get(found.group("locator")) if found else None
    if found is None or cursor is None or call.services.faults.invalid_locator(call.request):
        return invalid_locator()
    offset = int(found.group("offset"))
    if offset > cursor.result.total_size:
        return invalid_locator()
    size = batch_size(call, default=cursor.batch_size)
    return _page(call, cursor.result, cursor.locator, offset, size)


def _page(call: Call, result: PagedResult, locator: str | None, start: int, asked: int) -> Response:
    if result.is_count:
        body: dict[str, Any] = {"totalSize": result.total_size, "done": True, "records": []}
        return json_response(200, body, records=0)
    size = call.services.faults.page_size(asked, result.total_size - start)
    rows = result.page(start, size)
    end = start + len(rows)
    body = {"totalSize": result.total_size, "done": end >= result.total_size}
    if not body["done"]:
        locator = locator or call.services.cursors.open(result, asked)
        body["nextRecordsUrl"] = f"{call.base}/query/{locator}-{end}"
    body["records"] = rows
    return json_response(200, body, records=len(rows))
