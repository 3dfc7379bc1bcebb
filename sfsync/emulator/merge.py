"""Record merging as SOAP `merge()` runs one MergeRequest: all of it, or nothing.

Salesforce's semantics (API reference, `merge()`; SOAP only, REST has no merge):
Lead, Contact and Account records merge with records of their own type only;
one request folds one or two "victim" records into a master; the masterRecord
carries the field values to keep, written to the master like an update; each
request is its own transaction. The checks, in order:

1. the master id names a live record of the request's type, not a converted lead;
2. one or two distinct records to merge, none of them the master;
3. each of them a live record of the same type, not a converted lead;
4. the masterRecord's values pass the save's system checks (types, lengths,
   writable fields, references). Validation, duplicate and assignment rules
   do not run on a merge [INF: not confirmed by a source].

Then the writes, stamped as one change: the master takes the values; each
victim goes to the recycle bin with `MasterRecordId` set to the master (so
`queryAll` shows who absorbed it); the victims' related records are reparented
to the master (`RELATED`). A merged record is deleted, so merging it again is
refused with ENTITY_IS_DELETED: a client learns that way that its earlier call ran.

The refusal codes where the docs name none are marked [INF] below; they are
kept in this module so that a code found to differ from a real org is
corrected once. The caller need not hold the org's lock: `merge` takes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from sfsync.emulator import coerce, messages
from sfsync.emulator.convert import Refused
from sfsync.emulator.results import OrgError, Record
from sfsync.emulator.schema import ObjectSchema, OrgSchema
from sfsync.ids import is_id, key_prefix, to18

if TYPE_CHECKING:
    from sfsync.emulator.org import Org

MERGEABLE: Final = frozenset({"Lead", "Contact", "Account"})
MAX_RECORDS_TO_MERGE: Final = 2
# (child object, reference field): the related rows that follow a victim to its master.
RELATED: Final[Mapping[str, tuple[tuple[str, str], ...]]] = {
    "Lead": (("Task", "WhoId"), ("CampaignMember", "LeadId")),
    "Contact": (("Task", "WhoId"), ("CampaignMember", "ContactId")),
    "Account": (("Contact", "AccountId"), ("Opportunity", "AccountId"), ("Task", "WhatId")),
}
# A person is a member of a campaign once: when the master is already one, the
# victim's membership is deleted instead of moved [INF].
UNIQUE_PER_PARENT: Final = {"CampaignMember": "CampaignId"}


@dataclass(frozen=True)
class MergeRequest:
    """One `request` of a merge call as the org reads it (None: the element was absent).

    `values` are the masterRecord's fields as text, None for a field to clear
    (`fieldsToNull`); they are parsed like the fields of a REST body.
    """

    sobject: str
    master_id: str | None
    merge_ids: tuple[str, ...]
    values: Mapping[str, str | None]


@dataclass(frozen=True)
class MergeResult:
    """A `MergeResult`: the master, the records merged into it, the related rows moved."""

    id: str | None
    merged_ids: tuple[str, ...] = ()
    updated_related_ids: tuple[str, ...] = ()
    errors: tuple[OrgError, ...] = ()

    @property
    def success(self) -> bool:
        """True when the records were merged."""
        return not self.errors


@dataclass(frozen=True)
class _Plan:
    """What the checks established, before anything is written."""

    obj: ObjectSchema
    master: Record
    victims: tuple[Record, ...]
    changes: Record
    saved: Record  # the master as it will be stored (derived fields included)


def merge(org: Org, request: MergeRequest, user_id: str) -> MergeResult:
    """Run one merge request, or write nothing and say why (see the module docstring)."""
    with org.lock:
        try:
            plan = _plan(org, request)
        except Refused as refused:
            return MergeResult(echo_id(request.master_id), errors=refused.reasons)
        return _write(org, plan, user_id)


def unsupported_type(schema: OrgSchema, sobject: str) -> OrgError | None:
    """Why records of `sobject` cannot be merged at all, or None (a fault for the whole call)."""
    obj = schema.get(sobject)
    if obj is None:
        return OrgError("INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
    if obj.name not in MERGEABLE:
        # The wording of a real org's answer for Opportunity (salesforcer issue #102).
        return OrgError("INVALID_TYPE_FOR_OPERATION", "entity type does not support merge")
    return None


# -- checks --------------------------------------------------------------------------


def _plan(org: Org, request: MergeRequest) -> _Plan:
    obj = _mergeable(org.schema, request.sobject)
    if not request.master_id:
        raise Refused(missing_master_id())
    master = _live(org, obj, request.master_id)
    _check_count(request.merge_ids)
    victims = tuple(_victim(org, obj, value, master) for value in request.merge_ids)
    if len({v["Id"] for v in victims}) != len(victims):
        raise Refused(named_twice())
    changes, errors = coerce.parse_values(obj, request.values)
    if errors:
        raise Refused(*errors)
    saved, errors = org._system_validation(obj, master, changes, creating=False)
    if errors:
        raise Refused(*errors)
    return _Plan(obj, master, victims, changes, saved)


def _mergeable(schema: OrgSchema, sobject: str) -> ObjectSchema:
    problem = unsupported_type(schema, sobject)
    obj = schema.get(sobject)
    if problem is not None or obj is None:
        raise Refused(problem or messages.invalid_type(sobject))
    return obj


def _check_count(merge_ids: tuple[str, ...]) -> None:
    if not 1 <= len(merge_ids) <= MAX_RECORDS_TO_MERGE:
        raise Refused(wrong_count(len(merge_ids)))


def _victim(org: Org, obj: ObjectSchema, value: str, master: Record) -> Record:
    if is_id(value) and to18(value) == master["Id"]:
        raise Refused(merge_with_self())
    return _live(org, obj, value)


def _live(org: Org, obj: ObjectSchema, value: str) -> Record:
    """The live, mergeable record an id names, or the refusal."""
    if not is_id(value):
        raise Refused(messages.malformed_id(value))
    record_id = to18(value)
    if key_prefix(record_id) != obj.key_prefix:
        raise Refused(other_type(obj, value))
    record = org.tables[obj.name].get(record_id)
    if record is None:
        raise Refused(messages.record_not_found())
    if record.get("IsDeleted"):
        raise Refused(messages.entity_is_deleted())
    if obj.name == "Lead" and record.get("IsConverted"):
        raise Refused(messages.converted_lead())
    return record


def echo_id(value: str | None) -> str | None:
    """The 18-character form of an id a result echoes, or None for no id or a malformed one."""
    return to18(value) if value and is_id(value) else None


# -- writes --------------------------------------------------------------------------


def _write(org: Org, plan: _Plan, user_id: str) -> MergeResult:
    obj, master_id = plan.obj, str(plan.master["Id"])
    table = org.tables[obj.name]
    audit = org._audit(obj, user_id, creating=False)
    table[master_id] = {**plan.saved, **audit}
    org._journal(obj.name, table[master_id], user_id, "merge", plan.changes)
    for victim in plan.victims:
        gone: Record = {"IsDeleted": True, "MasterRecordId": master_id}
        table[victim["Id"]] = {**victim, **gone, **audit}
        org._journal(obj.name, victim, user_id, "delete", gone)
    moved = _reparent(org, plan, user_id)
    return MergeResult(master_id, tuple(str(v["Id"]) for v in plan.victims), moved)


def _reparent(org: Org, plan: _Plan, user_id: str) -> tuple[str, ...]:
    """Point the victims' related rows at the master; the ids of the rows moved."""
    victims = {v["Id"] for v in plan.victims}
    master_id = plan.master["Id"]
    moved: list[str] = []
    for sobject, field in RELATED[plan.obj.name]:
        table = org.tables.get(sobject, {})
        rows = [r for r in table.values() if not r.get("IsDeleted") and r.get(field) in victims]
        for row in rows:
            changes: Record = {field: master_id}
            if _master_has_one(table, sobject, row, field, master_id):
                changes = {"IsDeleted": True}
            else:
                moved.append(str(row["Id"]))
            audit = org._audit(org.schema.objects[sobject], user_id, creating=False)
            table[row["Id"]] = {**table[row["Id"]], **changes, **audit}
            operation = "delete" if "IsDeleted" in changes else "update"
            org._journal(sobject, row, user_id, operation, changes)
    return tuple(moved)


def _master_has_one(
    table: Mapping[str, Record], sobject: str, row: Record, field: str, master_id: str
) -> bool:
    """True when the master already has the row's twin (same campaign) among its own."""
    parent = UNIQUE_PER_PARENT.get(sobject)
    if parent is None:
        return False
    return any(
        not r.get("IsDeleted") and r.get(field) == master_id and r.get(parent) == row.get(parent)
        for r in table.values()
    )


# -- refusals without a documented code [INF] -----------------------------------------


def missing_master_id() -> OrgError:
    """The masterRecord carries no Id."""
    return OrgError("INVALID_ID_FIELD", "masterRecord: a merge needs the Id of the record to keep")


def wrong_count(count: int) -> OrgError:
    """No record to merge, or more than two (three records a request, master included)."""
    return OrgError(
        "FIELD_INTEGRITY_EXCEPTION",
        f"recordToMergeIds: a merge request takes 1 to {MAX_RECORDS_TO_MERGE} ids, not {count}",
    )


def named_twice() -> OrgError:
    """The same record listed twice among the records to merge."""
    return OrgError("FIELD_INTEGRITY_EXCEPTION", "recordToMergeIds: duplicate ids in the request")


def merge_with_self() -> OrgError:
    """The master listed among the records to merge into it."""
    return OrgError("INVALID_ID_FIELD", "Cannot merge a record with itself")


def other_type(obj: ObjectSchema, value: str) -> OrgError:
    """An id of another object: only records of one type merge."""
    return OrgError(
        "INVALID_ID_FIELD", f"{value} is not a {obj.name} id: merged records must be of one type"
    )
