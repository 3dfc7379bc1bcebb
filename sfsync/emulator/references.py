"""Reference fields and owners: ids must point at live records of the right kind.

Reads the org's tables but never writes them; the caller holds the org's lock.
"""

from __future__ import annotations

from collections.abc import Mapping

from sfsync.emulator import messages
from sfsync.emulator.results import OrgError, Record
from sfsync.emulator.schema import FieldDef, ObjectSchema, OrgSchema
from sfsync.ids import is_id, to18

Tables = Mapping[str, Mapping[str, Record]]
OWNER_FIELD = "OwnerId"


def find(schema: OrgSchema, tables: Tables, record_id: str) -> tuple[ObjectSchema, Record] | None:
    """The object and record an 18-character id names, deleted or not, or None."""
    obj = schema.by_prefix(record_id[:3])
    if obj is None:
        return None
    record = tables.get(obj.name, {}).get(record_id)
    return None if record is None else (obj, record)


def check_references(
    schema: OrgSchema, tables: Tables, obj: ObjectSchema, changes: Record
) -> list[OrgError]:
    """One error per reference field in `changes` that does not point at a usable record."""
    errors: list[OrgError] = []
    for name, value in changes.items():
        field = obj.fields[name]
        if field.type != "reference" or value is None:
            continue
        if name == OWNER_FIELD:
            error = check_owner(schema, tables, value, obj.name)
        else:
            error = check_reference(schema, tables, field, value)
        if error is not None:
            errors.append(error)
    return errors


def check_reference(
    schema: OrgSchema, tables: Tables, field: FieldDef, value: str
) -> OrgError | None:
    """Why `field` cannot point at `value`, or None when it can."""
    if not is_id(value):
        return messages.malformed_reference(field, value)
    target = to18(value)
    found = find(schema, tables, target)
    if found is None:
        if _prefix_allowed(schema, field, target):
            return messages.missing_reference(field)
        return messages.wrong_reference_type(field, value)
    obj, record = found
    if obj.name not in field.reference_to:
        return messages.wrong_reference_type(field, value)
    return _unusable(obj, record, (field.name,))


def check_owner(
    schema: OrgSchema, tables: Tables, owner_id: str, sobject: str = "Lead"
) -> OrgError | None:
    """Why `owner_id` cannot own a record of `sobject`, or None when it can.

    Only active users own records; a queue (a Group of Type 'Queue') owns only
    the objects its QueueSobject rows list.
    """
    obj = schema.get(sobject)
    field = obj.field(OWNER_FIELD) if obj is not None else None
    if obj is None or field is None:
        return messages.invalid_type(sobject)
    error = check_reference(schema, tables, field, owner_id)
    if error is not None:
        return error
    owner_id = to18(owner_id)
    owner = tables["User"].get(owner_id) if "User" in tables else None
    if owner is not None:
        return None if owner["IsActive"] else messages.inactive_owner(owner_id, obj.name)
    return _check_queue(tables, owner_id, obj.name)


def _check_queue(tables: Tables, group_id: str, sobject: str) -> OrgError | None:
    group = tables.get("Group", {}).get(group_id)
    if group is None or group.get("Type") != "Queue":
        return messages.not_a_queue(group_id)
    supported = any(
        row["QueueId"] == group_id
        and str(row["SobjectType"]).lower() == sobject.lower()
        and not row.get("IsDeleted")
        for row in tables.get("QueueSobject", {}).values()
    )
    return None if supported else messages.queue_not_for(group_id, sobject)


def _prefix_allowed(schema: OrgSchema, field: FieldDef, record_id: str) -> bool:
    obj = schema.by_prefix(record_id[:3])
    return obj is not None and obj.name in field.reference_to


def _unusable(obj: ObjectSchema, record: Record, fields: tuple[str, ...]) -> OrgError | None:
    """Records in the recycle bin, and converted leads, cannot be referenced."""
    if record.get("IsDeleted"):
        return messages.entity_is_deleted(fields)
    if obj.name == "Lead" and record.get("IsConverted"):
        return messages.converted_lead(fields)
    return None
