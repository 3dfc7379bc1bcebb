"""sObject Collections: `composite/sobjects` create (POST), update (PATCH), delete (DELETE).

Up to 200 records, results in input order, 200 even when records fail. With
`allOrNone`, any failure rolls back every write of the request (done under
the org lock, so no other request sees the intermediate state).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from sfsync.emulator import messages
from sfsync.emulator.context import Call
from sfsync.emulator.org import Org, OrgError, SaveResult
from sfsync.emulator.rows import auto_assign, lock_row_error, object_id, write_values
from sfsync.emulator.schema import ObjectSchema
from sfsync.emulator.wire import (
    BodyError,
    Response,
    body_error,
    error_response,
    json_response,
    parse_json,
)

MAX_RECORDS = 200
ROLLED_BACK = OrgError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
)


@dataclass(frozen=True)
class _Item:
    """One record of a request: an error found up front, or the write to run."""

    error: OrgError | None = None
    write: Callable[[], SaveResult] | None = None
    # The table the write touches, for an allOrNone rollback.
    sobject: str | None = None

    def run(self) -> SaveResult:
        if self.write is None:
            return SaveResult(None, False, (self.error,) if self.error else ())
        return self.write()


def too_many() -> Response:
    """400 for more than 200 records in one request."""
    return error_response(
        400,
        "EXCEEDED_ID_LIMIT",
        f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
    )


def create_many(call: Call) -> Response:
    """POST composite/sobjects."""
    parsed = _parse_body(call)
    if isinstance(parsed, Response):
        return parsed
    all_or_none, records = parsed
    return _run(call, [_create_item(call, raw) for raw in records], all_or_none)


def update_many(call: Call) -> Response:
    """PATCH composite/sobjects."""
    parsed = _parse_body(call)
    if isinstance(parsed, Response):
        return parsed
    all_or_none, records = parsed
    return _run(call, [_update_item(call, raw) for raw in records], all_or_none)


def delete_many(call: Call) -> Response:
    """DELETE composite/sobjects?ids=a,b&allOrNone=false."""
    raw_ids = [part.strip() for part in (call.request.param("ids") or "").split(",")]
    ids = [part for part in raw_ids if part]
    if not ids:
        return error_response(400, "MISSING_ARGUMENT", "ids parameter is required")
    if len(ids) > MAX_RECORDS:
        return too_many()
    all_or_none = (call.request.param("allOrNone") or "false").strip().lower() == "true"
    return _run(call, [_delete_item(call, raw) for raw in ids], all_or_none)


def _parse_body(call: Call) -> tuple[bool, list[dict[str, Any]]] | Response:
    try:
        body = parse_json(call.request)
    except BodyError as exc:
        return body_error(exc)
    records = body.get("records") if isinstance(body, dict) else None
    all_or_none = body.get("allOrNone", False) if isinstance(body, dict) else False
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        return body_error(BodyError("Expected an object with a 'records' array of objects"))
    if not isinstance(all_or_none, bool):
        return body_error(BodyError("allOrNone must be a boolean"))
    if len(records) > MAX_RECORDS:
        return too_many()
    return all_or_none, records


def _record_type(call: Call, raw: dict[str, Any]) -> ObjectSchema | OrgError:
    attributes = raw.get("attributes")
    name = attributes.get("type") if isinstance(attributes, dict) else None
    if not isinstance(name, str) or not name:
        return OrgError("INVALID_TYPE", "Each record must name its sObject type in attributes")
    return call.org.schema.get(name) or messages.invalid_type(name)


def _id_key(raw: dict[str, Any]) -> str | None:
    return next((key for key in raw if key.lower() == "id"), None)


def _create_item(call: Call, raw: dict[str, Any]) -> _Item:
    obj = _record_type(call, raw)
    if isinstance(obj, OrgError):
        return _Item(error=obj)
    # The org itself refuses an Id in the values (INVALID_FIELD_FOR_INSERT_UPDATE).
    write = partial(
        call.org.create,
        obj.name,
        write_values(raw),
        user_id=call.user_id,
        auto_assign=auto_assign(call),
    )
    return _Item(write=write, sobject=obj.name)


def _update_item(call: Call, raw: dict[str, Any]) -> _Item:
    obj = _record_type(call, raw)
    if isinstance(obj, OrgError):
        return _Item(error=obj)
    key = _id_key(raw)
    if key is None or not raw[key]:
        return _Item(error=OrgError("MISSING_ARGUMENT", "Id not specified in an update call"))
    # A malformed id, or one of another object, is the org's to refuse (MALFORMED_ID).
    values = {name: value for name, value in write_values(raw).items() if name != key}
    write = partial(_update_one, call, obj.name, str(raw[key]), values)
    return _Item(write=write, sobject=obj.name)


def _update_one(call: Call, sobject: str, record_id: str, values: dict[str, Any]) -> SaveResult:
    if call.services.faults.lock_row(call.request):
        return SaveResult(record_id, False, (lock_row_error(record_id),))
    return call.org.update(
        sobject, record_id, values, user_id=call.user_id, auto_assign=auto_assign(call)
    )


def _delete_item(call: Call, raw_id: str) -> _Item:
    obj = call.org.schema.by_prefix(raw_id[:3])
    record_id = object_id(obj, raw_id) if obj is not None else None
    if obj is None or record_id is None:
        return _Item(error=messages.malformed_id(raw_id))
    write = partial(call.org.delete, obj.name, record_id, user_id=call.user_id)
    return _Item(write=write, sobject=obj.name)


def _run(call: Call, items: list[_Item], all_or_none: bool) -> Response:
    org = call.org
    with org.lock:
        saved = _Snapshot(org, {i.sobject for i in items if i.sobject}) if all_or_none else None
        results = [item.run() for item in items]
        if saved is not None and not all(result.success for result in results):
            saved.restore(org)
            results = [_rolled_back(result) for result in results]
    return json_response(200, [_save_result(result) for result in results], records=len(items))


class _Snapshot:
    """The touched tables and the write journal, as they were before the request."""

    def __init__(self, org: Org, sobjects: set[str]) -> None:
        # Records are immutable (org.py contract): copying the tables' dicts is enough.
        self.tables = {name: dict(org.tables[name]) for name in sobjects}
        self.history_length = len(org.history)

    def restore(self, org: Org) -> None:
        for name, saved in self.tables.items():
            table = org.tables[name]
            table.clear()
            table.update(saved)
        del org.history[self.history_length :]


def _rolled_back(result: SaveResult) -> SaveResult:
    return result if not result.success else SaveResult(result.id, False, (ROLLED_BACK,))


def _save_result(result: SaveResult) -> dict[str, Any]:
    return {
        "id": result.id,
        "success": result.success,
        "errors": [error.as_save_result() for error in result.errors],
    }
