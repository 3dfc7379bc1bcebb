"""What the org does on its own when a record is saved.

Defaults on create, derived fields (`Name`, `Task.IsClosed`), validation
rules, the Block duplicate rule and the lead assignment rule: pure functions
over records and the org's settings, in the order Salesforce runs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sfsync.emulator import messages
from sfsync.emulator.results import OrgError, Record
from sfsync.emulator.schema import ObjectSchema
from sfsync.emulator.settings import AssignmentRuleEntry, ValidationRule

# Task statuses whose TaskStatus row has IsClosed in a new org.
CLOSED_TASK_STATUSES = frozenset({"Completed"})


def full_name(first: str | None, last: str | None) -> str:
    """`Name` of a person record, as Salesforce composes it."""
    return " ".join(part for part in (first, last) if part)


def is_person(obj: ObjectSchema) -> bool:
    """Objects whose `Name` the org composes from first and last name."""
    name = obj.fields.get("Name")
    return name is not None and name.system and "FirstName" in obj.fields


def derive(obj: ObjectSchema, record: Record) -> Record:
    """`record` with the fields the org computes on every save brought up to date."""
    derived: Record = {}
    if is_person(obj):
        derived["Name"] = full_name(record.get("FirstName"), record.get("LastName"))
    if obj.name == "Task":
        derived["IsClosed"] = record.get("Status") in CLOSED_TASK_STATUSES
    return {**record, **derived} if derived else record


# -- defaults -------------------------------------------------------------------


def lead_status_values(rows: Iterable[Record]) -> frozenset[str]:
    """The values Lead.Status accepts: each LeadStatus row's API name and label."""
    return frozenset(
        value for row in rows for value in (row.get("ApiName"), row.get("MasterLabel")) if value
    )


def default_lead_status(rows: Iterable[Record]) -> str | None:
    """The value of the LeadStatus row marked IsDefault, or None."""
    for row in rows:
        if row.get("IsDefault"):
            return row.get("ApiName") or row.get("MasterLabel")
    return None


def creation_defaults(
    obj: ObjectSchema, blank: Record, *, user_id: str, lead_status: str | None
) -> Record:
    """The values a new record has before the caller's: owner, default status, unchecked boxes."""
    record = dict(blank)
    if "OwnerId" in obj.fields:
        record["OwnerId"] = user_id
    if obj.name == "Lead" and lead_status:
        record["Status"] = lead_status
    return record


def drop_defaulted_nulls(defaults: Record, changes: Record) -> Record:
    """The changes of a create minus explicit nulls of defaulted fields: the default stands."""
    return {
        name: value
        for name, value in changes.items()
        if value is not None or defaults.get(name) is None
    }


# -- rules ------------------------------------------------------------------------


def run_validation_rules(
    rules: Sequence[ValidationRule], obj: ObjectSchema, record: Record
) -> list[OrgError]:
    """One error per active validation rule of `obj` whose condition holds."""
    return [
        messages.custom_validation(rule.message, rule.error_field)
        for rule in rules
        if rule.sobject.lower() == obj.name.lower() and rule.predicate(record)
    ]


def email_duplicates(table: Mapping[str, Record], record: Record) -> tuple[str, ...]:
    """Ids of other live leads with the same Email, compared case-insensitively."""
    email = record.get("Email")
    if not email:
        return ()
    wanted = email.casefold()
    return tuple(
        other_id
        for other_id, other in table.items()
        if other_id != record.get("Id")
        and not other.get("IsDeleted")
        and isinstance(other.get("Email"), str)
        and other["Email"].casefold() == wanted
    )


def assigned_owner(
    rule: Sequence[AssignmentRuleEntry], obj: ObjectSchema, record: Record
) -> str | None:
    """The owner the first matching entry of the assignment rule gives, or None."""
    for entry in rule:
        if all(_matches(obj, record, name, value) for name, value in entry.criteria.items()):
            return entry.owner_id
    return None


def _matches(obj: ObjectSchema, record: Record, name: str, expected: Any) -> bool:
    field = obj.field(name)
    actual = record.get(field.name) if field is not None else None
    if isinstance(actual, str) and isinstance(expected, str):
        return actual.casefold() == expected.casefold()
    return bool(actual == expected)
