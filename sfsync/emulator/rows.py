"""sObject Rows: `sobjects/{Type}` (create) and `sobjects/{Type}/{id}` (GET, PATCH, DELETE)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sfsync.emulator import messages
from sfsync.emulator.context import Call
from sfsync.emulator.org import OrgError, Record, SaveResult
from sfsync.emulator.schema import ObjectSchema
from sfsync.emulator.wire import (
    BodyError,
    Response,
    body_error,
    error_response,
    json_response,
    no_content,
    not_found,
    parse_json,
)
from sfsync.ids import InvalidId, to18

# Row errors Salesforce answers with 404 rather than 400.
_NOT_FOUND_CODES = frozenset({"NOT_FOUND", "ENTITY_IS_DELETED"})


def json_value(value: Any) -> Any:
    """A record value as Salesforce writes it in JSON (datetimes with `.000+0000`)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    if isinstance(value, date):
        return value.isoformat()
    return value


def record_json(obj: ObjectSchema, record: Record, base: str, fields: list[str]) -> dict[str, Any]:
    """A record with its `attributes`, as rows and queries return it."""
    body: dict[str, Any] = {
        "attributes": {"type": obj.name, "url": f"{base}/sobjects/{obj.name}/{record['Id']}"}
    }
    for name in fields:
        body[name] = json_value(record.get(name))
    return body


def auto_assign(call: Call) -> bool:
    """`Sforce-Auto-Assign`: absent or TRUE (or a rule id) runs the assignment rule."""
    return call.request.header("Sforce-Auto-Assign").strip().lower() != "false"


def object_id(obj: ObjectSchema, raw: str) -> str | None:
    """`raw` as an 18-character id of `obj`, or None when it is not one."""
    try:
        record_id = to18(raw)
    except InvalidId:
        return None
    return record_id if record_id.startswith(obj.key_prefix) else None


def write_values(body: dict[str, Any]) -> dict[str, Any]:
    """The field values of a request record (its `attributes` are not fields)."""
    return {name: value for name, value in body.items() if name != "attributes"}


def errors_response(errors: tuple[OrgError, ...]) -> Response:
    """A failed row write: the error list, 404 for a missing or deleted row."""
    status = 404 if errors and errors[0].status_code in _NOT_FOUND_CODES else 400
    return json_response(status, [error.as_rest() for error in errors])


def entity_deleted() -> Response:
    """404 for a row in the recycle bin."""
    return error_response(404, "ENTITY_IS_DELETED", "entity is deleted")


def _live_record(call: Call, obj: ObjectSchema, raw_id: str) -> Record | Response:
    record_id = object_id(obj, raw_id)
    record = call.org.get(obj.name, record_id) if record_id else None
    if record is None:
        return not_found()
    if record.get("IsDeleted"):
        return entity_deleted()
    return record


def _field_list(obj: ObjectSchema, param: str | None) -> list[str] | Response:
    if not param:
        return list(obj.fields)
    names: list[str] = []
    for raw in param.split(","):
        found = obj.field(raw.strip())
        if found is None:
            return json_response(400, [messages.no_such_column(raw.strip(), obj).as_rest()])
        names.append(found.name)
    return names


def get_row(call: Call, obj: ObjectSchema, raw_id: str) -> Response:
    """GET a row, all fields or those of `?fields=`."""
    record = _live_record(call, obj, raw_id)
    if isinstance(record, Response):
        return record
    fields = _field_list(obj, call.request.param("fields"))
    if isinstance(fields, Response):
        return fields
    return json_response(200, record_json(obj, record, call.base, fields))


def _body_object(call: Call, obj: ObjectSchema) -> dict[str, Any] | Response:
    try:
        body = parse_json(call.request)
    except BodyError as exc:
        return body_error(exc)
    if not isinstance(body, dict):
        return body_error(BodyError(f"Cannot deserialize instance of {obj.name} from this value"))
    return write_values(body)


def create_row(call: Call, obj: ObjectSchema) -> Response:
    """POST a new row: 201 with `{id, success, errors}`."""
    values = _body_object(call, obj)
    if isinstance(values, Response):
        return values
    result = call.org.create(obj.name, values, user_id=call.user_id, auto_assign=auto_assign(call))
    if not result.success:
        return errors_response(result.errors)
    return json_response(201, {"id": result.id, "success": True, "errors": []})


def update_row(call: Call, obj: ObjectSchema, raw_id: str) -> Response:
    """PATCH a row: 204, or the error list."""
    record = _live_record(call, obj, raw_id)
    if isinstance(record, Response):
        return record
    values = _body_object(call, obj)
    if isinstance(values, Response):
        return values
    if call.services.faults.lock_row(call.request):
        return json_response(400, [lock_row_error(record["Id"]).as_rest()])
    result = call.org.update(
        obj.name, record["Id"], values, user_id=call.user_id, auto_assign=auto_assign(call)
    )
    return no_content() if result.success else errors_response(result.errors)


def delete_row(call: Call, obj: ObjectSchema, raw_id: str) -> Response:
    """DELETE a row (to the recycle bin): 204, or the error list."""
    record = _live_record(call, obj, raw_id)
    if isinstance(record, Response):
        return record
    result: SaveResult = call.org.delete(obj.name, record["Id"], user_id=call.user_id)
    return no_content() if result.success else errors_response(result.errors)


def lock_row_error(record_id: str) -> OrgError:
    """The row-lock contention error Salesforce reports per record."""
    return OrgError(
        "UNABLE_TO_LOCK_ROW",
        f"unable to obtain exclusive access to this record or 1 records: {record_id}",
    )
