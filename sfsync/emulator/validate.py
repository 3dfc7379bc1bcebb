"""The org's system validation of field values: what every save checks before automation.

Pure functions over an object's schema and the parsed changes. Salesforce
reports all of a record's field errors together, so each check returns a
list and the caller concatenates them.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from sfsync.emulator import messages
from sfsync.emulator.results import OrgError, Record
from sfsync.emulator.schema import NUMBER_TYPES, FieldDef, ObjectSchema

# Close to what Salesforce accepts: an ASCII local part of the RFC 5322 atom
# characters, and a dotted domain whose last label has at least two letters.
_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$"
)
# Integer digits an `int` field holds (describe reports `digits: 9`).
INT_DIGITS = 9

Picklists = Mapping[str, Collection[str]]


def check_writable(obj: ObjectSchema, changes: Record, *, creating: bool) -> list[OrgError]:
    """Fields the caller may not set on this operation (system and read-only fields)."""
    if creating and "Id" in changes:
        return [messages.id_on_insert()]
    refused = [
        field
        for name in changes
        if (field := obj.fields[name]).system
        or not (field.createable if creating else field.updateable)
    ]
    return [messages.not_writable(refused)] if refused else []


def writable_changes(obj: ObjectSchema, changes: Record, *, creating: bool) -> Record:
    """The changes minus the fields `check_writable` refuses, for the value checks."""
    return {
        name: value
        for name, value in changes.items()
        if not obj.fields[name].system
        and (obj.fields[name].createable if creating else obj.fields[name].updateable)
    }


def check_values(obj: ObjectSchema, changes: Record, picklists: Picklists) -> list[OrgError]:
    """Lengths, restricted picklists, email addresses and numeric ranges of the changes.

    `picklists` overrides a field's declared values (Lead.Status follows LeadStatus).
    """
    errors: list[OrgError] = []
    for name, value in changes.items():
        if value is None:
            continue
        field = obj.fields[name]
        error = _check_value(field, value, picklists.get(name, field.picklist))
        if error is not None:
            errors.append(error)
    return errors


def check_required(
    obj: ObjectSchema, record: Record, changes: Record, *, creating: bool
) -> list[OrgError]:
    """Required fields missing from a new record, or emptied by an update."""
    names = record if creating else changes
    missing = [
        field
        for field in obj.fields.values()
        if field.name in names
        and _must_have_value(field, creating=creating)
        and record[field.name] is None
    ]
    return [messages.required_missing(missing)] if missing else []


def _must_have_value(field: FieldDef, *, creating: bool) -> bool:
    # Checkboxes are never null and system fields are the org's business.
    if field.nillable or field.system or field.type == "boolean":
        return False
    return field.createable if creating else field.updateable


def _check_value(field: FieldDef, value: Any, allowed: Collection[str]) -> OrgError | None:
    if isinstance(value, str) and field.length and len(value) > field.length:
        return messages.string_too_long(field, value)
    if field.restricted and not _in_picklist(field, value, allowed):
        return messages.bad_picklist_value(field, value)
    if field.type == "email" and not _EMAIL.match(value):
        return messages.invalid_email(field, value)
    if field.type in NUMBER_TYPES and not _in_range(field, value):
        return messages.number_out_of_range(field, value)
    return None


def _in_picklist(field: FieldDef, value: str, allowed: Collection[str]) -> bool:
    if field.type == "multipicklist":
        return all(part in allowed for part in value.split(";"))
    return value in allowed


def _in_range(field: FieldDef, value: float) -> bool:
    digits = INT_DIGITS if field.type == "int" else field.precision - field.scale
    return digits <= 0 or abs(value) < 10**digits
