"""Every error the org's writes return, worded as Salesforce words it.

Kept in one place so that a code or message found to differ from a real org
is corrected once. Codes are Salesforce `StatusCode` values; field names in
messages are labels, as Salesforce prints them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sfsync.emulator.results import OrgError
from sfsync.emulator.schema import FieldDef, ObjectSchema

# Characters of a too-long value echoed back in STRING_TOO_LONG.
ECHOED_CHARS = 20

_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def label(field: FieldDef) -> str:
    """The field's label: declared, or derived from its API name (`OwnerId` → `Owner ID`)."""
    if field.label:
        return field.label
    name = field.name.removesuffix("__c")
    if name.endswith("Id") and len(name) > 2:
        name = name[:-2] + " ID"
    return _WORD_BOUNDARY.sub(" ", name).replace("_", " ")


def object_label(obj: ObjectSchema) -> str:
    """The object's label, as entity-level messages print it."""
    return obj.label or obj.name


# -- the request itself ------------------------------------------------------


def invalid_type(sobject: str) -> OrgError:
    """The sObject type does not exist in this org."""
    return OrgError(
        "INVALID_TYPE",
        f"sObject type '{sobject}' is not supported. If you are attempting to use a custom "
        "object, be sure to append the '__c' after the entity name. Please reference your "
        "WSDL or the describe call for the appropriate names.",
    )


def operation_not_allowed(obj: ObjectSchema, verb: str) -> OrgError:
    """The object cannot be inserted, updated or deleted through the API at all."""
    return OrgError(
        "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be {verb}: {object_label(obj)}"
    )


def no_such_column(name: str, obj: ObjectSchema) -> OrgError:
    """A body names a field the object does not have."""
    return OrgError("INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}")


def cannot_deserialize(type_name: str, token: str, shown: str) -> OrgError:
    """A JSON value of the wrong kind for the field (the JSON parser's wording)."""
    return OrgError(
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {type_name} from {token} value {shown} "
        "or request may be missing a required field",
    )


# -- fields --------------------------------------------------------------------


def not_writable(fields: Iterable[FieldDef]) -> OrgError:
    """Fields the caller may not set (system fields, or not updateable)."""
    names = tuple(f.name for f in fields)
    return OrgError(
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        f"Unable to create/update fields: {', '.join(names)}. Please check the security "
        "settings of this field and verify that it is read/write for your profile or "
        "permission set.",
        names,
    )


def id_on_insert() -> OrgError:
    """A create that names its own Id."""
    return OrgError(
        "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ("Id",)
    )


def string_too_long(field: FieldDef, value: str) -> OrgError:
    """Text over the field's length, counted in characters."""
    return OrgError(
        "STRING_TOO_LONG",
        f"{label(field)}: data value too large: {value[:ECHOED_CHARS]}... "
        f"(max length={field.length})",
        (field.name,),
    )


def bad_picklist_value(field: FieldDef, value: str) -> OrgError:
    """A value a restricted picklist does not list."""
    return OrgError(
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        f"{label(field)}: bad value for restricted picklist field: {value}",
        (field.name,),
    )


def invalid_email(field: FieldDef, value: str) -> OrgError:
    """An email field whose value is not an address."""
    return OrgError(
        "INVALID_EMAIL_ADDRESS", f"{label(field)}: invalid email address: {value}", (field.name,)
    )


def number_out_of_range(field: FieldDef, value: Any) -> OrgError:
    """A number with more integer digits than the field's precision allows."""
    return OrgError(
        "NUMBER_OUTSIDE_VALID_RANGE",
        f"{label(field)}: value outside of valid range on numeric field: {value}",
        (field.name,),
    )


def required_missing(fields: Iterable[FieldDef]) -> OrgError:
    """Required fields absent on create or emptied on update."""
    names = tuple(f.name for f in fields)
    return OrgError(
        "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(names)}]", names
    )


# -- ids and references ----------------------------------------------------------


def malformed_id(value: str) -> OrgError:
    """The id of the record to write is not an id at all."""
    return OrgError("MALFORMED_ID", f"malformed id {value}", ("Id",))


def wrong_record_type(obj: ObjectSchema, value: str) -> OrgError:
    """The id of the record to write belongs to another object."""
    return OrgError(
        "MALFORMED_ID", f"{object_label(obj)} ID: id value of incorrect type: {value}", ("Id",)
    )


def record_not_found() -> OrgError:
    """A well-formed id of the right type that was never (or is no longer) in the org.

    Collections answer this per record; single-record REST calls answer 404.
    """
    return OrgError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")


def malformed_reference(field: FieldDef, value: str) -> OrgError:
    """A reference field set to text that is not an id."""
    return OrgError(
        "MALFORMED_ID", f"{label(field)}: id value of incorrect type: {value}", (field.name,)
    )


def wrong_reference_type(field: FieldDef, value: str) -> OrgError:
    """A reference field set to the id of an object it cannot point to."""
    return OrgError(
        "INVALID_CROSS_REFERENCE_KEY",
        f"{label(field)}: id value of incorrect type: {value}",
        (field.name,),
    )


def missing_reference(field: FieldDef) -> OrgError:
    """A reference field set to an id that is not in the org."""
    return OrgError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", (field.name,))


def entity_is_deleted(fields: tuple[str, ...] = ()) -> OrgError:
    """The record written, or referenced, is in the recycle bin."""
    return OrgError("ENTITY_IS_DELETED", "entity is deleted", fields)


def converted_lead(fields: tuple[str, ...] = ()) -> OrgError:
    """The lead written, or referenced, has been converted."""
    return OrgError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", fields)


def not_in_recycle_bin() -> OrgError:
    """Undelete of a record that is not deleted."""
    return OrgError("UNDELETE_FAILED", "Entity is not in the recycle bin")


# -- owners ------------------------------------------------------------------------


def inactive_owner(user_id: str, sobject: str) -> OrgError:
    """An owner that is a deactivated user (Salesforce prints the 15-character id)."""
    return OrgError(
        "INACTIVE_OWNER_OR_USER",
        f"operation performed with inactive user [{user_id[:15]}] as owner of {sobject.lower()}",
        ("OwnerId",),
    )


def not_a_queue(group_id: str) -> OrgError:
    """An owner that is a public group or role, not a queue."""
    return OrgError(
        "INVALID_CROSS_REFERENCE_KEY",
        f"Owner ID: group {group_id} is not a queue and cannot own records",
        ("OwnerId",),
    )


def queue_not_for(queue_id: str, sobject: str) -> OrgError:
    """An owner that is a queue without `sobject` among its supported objects."""
    return OrgError(
        "INVALID_CROSS_REFERENCE_KEY",
        f"Owner ID: queue {queue_id} does not accept {sobject} records "
        f"(no QueueSobject row for {sobject})",
        ("OwnerId",),
    )


# -- org automation ------------------------------------------------------------------


def custom_validation(message: str, field: str | None) -> OrgError:
    """A validation rule refused the save."""
    return OrgError("FIELD_CUSTOM_VALIDATION_EXCEPTION", message, (field,) if field else ())


def duplicates_detected(ids: tuple[str, ...]) -> OrgError:
    """A Block duplicate rule matched other records."""
    return OrgError("DUPLICATES_DETECTED", "Use one of these records?", (), ids)
