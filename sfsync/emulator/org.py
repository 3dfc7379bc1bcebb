"""The emulated org's data and the semantics Salesforce applies on every write.

CONTRACT shared by the emulator's modules (soql, server, seed, activity):

- `Org.tables[sobject][id18]` holds records as plain dicts keyed by field API
  name, values as Python types: str, bool, int, float, `datetime` (aware, UTC,
  whole seconds like Salesforce's audit stamps), `date`, or None. Every field
  of the object's schema is present in every record (None when empty).
- Records are immutable once stored: a write replaces the dict
  (`table[id] = {**old, **changes}`), so a query cursor can keep references to
  the dicts it matched as a consistent snapshot without copying.
- Every public method takes `self.lock` (re-entrant); the HTTP server calls
  them from many threads.
- Deleted records stay in their table with `IsDeleted = True` (the recycle
  bin), so `queryAll` sees them; `purge` removes them for good.
- Ids are 18-character, generated from a per-object counter, deterministic
  for a given seed and order of writes.

A write (`create`, `update`) runs in Salesforce's order: parse the body
(`coerce`), system validation (`validate`, `references`), validation rules
and the duplicate rule, then the assignment rule and the audit stamps
(`automation`). Any error stops the save and nothing is stored.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sfsync.emulator import automation, coerce, convert, messages, references, validate
from sfsync.emulator import soql as soql_engine
from sfsync.emulator.automation import full_name
from sfsync.emulator.results import OrgError, Record, SaveResult
from sfsync.emulator.schema import ObjectSchema, OrgSchema
from sfsync.emulator.settings import (
    AssignmentRuleEntry,
    Clock,
    OrgSettings,
    ValidationRule,
    system_clock,
)
from sfsync.emulator.soql import QueryResult
from sfsync.ids import is_id, to18

__all__ = [
    "AssignmentRuleEntry",
    "Clock",
    "Org",
    "OrgError",
    "OrgSettings",
    "Record",
    "SaveResult",
    "ValidationRule",
    "full_name",
    "system_clock",
]

# The object-level permission each operation needs, and how its refusal reads.
_OPERATIONS = {"update": ("updateable", "updated"), "delete": ("deletable", "deleted")}


@dataclass(frozen=True)
class WriteEvent:
    """One accepted write: who changed which record, and the values they sent."""

    sobject: str
    record_id: str
    user_id: str
    operation: str
    changes: Mapping[str, Any]


class Org:
    """An in-memory Salesforce org (see the module docstring for the contract)."""

    def __init__(
        self,
        schema: OrgSchema | None = None,
        *,
        settings: OrgSettings | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.schema = schema or OrgSchema()
        self.settings = settings or OrgSettings()
        self.clock = clock
        self.lock = threading.RLock()
        self.tables: dict[str, dict[str, Record]] = {name: {} for name in self.schema.objects}
        self.org_id = to18("00D000000000001")
        self._counters: dict[str, int] = {}
        # The "pod" characters of generated ids; distinct per org in one process.
        self._pod = "0A"
        # The latest audit stamp written: stamps never go backwards.
        self._last_stamp: datetime | None = None
        # Every accepted write, in order: the org's "field history" for tests and audits.
        self.history: list[WriteEvent] = []

    # -- ids and the bulk-load fast path (used by seeding) --------------------

    def now(self) -> datetime:
        """The org's clock, with any configured skew."""
        return self.clock() + timedelta(seconds=self.settings.clock_offset_seconds)

    def new_id(self, sobject: str) -> str:
        """The next 18-character id for `sobject` (deterministic per org)."""
        with self.lock:
            obj = self.schema.get(sobject)
            if obj is None:
                raise KeyError(sobject)
            count = self._counters.get(obj.name, 0) + 1
            self._counters[obj.name] = count
            body = f"{obj.key_prefix}{self._pod}{count:0{12 - len(self._pod)}X}"
            return to18(body)

    def blank_record(self, sobject: str) -> Record:
        """A record with every field of `sobject` set to None or its default."""
        obj = self.schema.objects[sobject]
        record: Record = {}
        for f in obj.fields.values():
            if f.type == "boolean":
                record[f.name] = False
            else:
                record[f.name] = f.default_value
        return record

    def load(
        self,
        sobject: str,
        rows: Iterable[Mapping[str, Any]],
        *,
        stamp: datetime | None = None,
        user_id: str | None = None,
    ) -> list[str]:
        """Insert rows without validation or automation: the fast path for seeding.

        Audit fields default to `stamp` (or the org's clock) and `user_id`;
        a row may carry its own `CreatedDate`/`SystemModstamp`/`Id`.
        """
        when = stamp or self.now()
        ids: list[str] = []
        with self.lock:
            table = self.tables[sobject]
            template = self.blank_record(sobject)
            audit = {
                "CreatedDate": when,
                "LastModifiedDate": when,
                "SystemModstamp": when,
                "CreatedById": user_id,
                "LastModifiedById": user_id,
            }
            for row in rows:
                record = {**template, **{k: v for k, v in audit.items() if k in template}, **row}
                if not record.get("Id"):
                    record["Id"] = self.new_id(sobject)
                if "Name" in template and "FirstName" in template and "Name" not in row:
                    record["Name"] = full_name(record.get("FirstName"), record.get("LastName"))
                table[record["Id"]] = record
                ids.append(record["Id"])
                self._remember_stamp(record.get("SystemModstamp"))
        return ids

    # -- reads ----------------------------------------------------------------

    def get(self, sobject: str, record_id: str) -> Record | None:
        """The record, deleted or not (check `IsDeleted`); 15- or 18-character ids."""
        with self.lock:
            obj = self.schema.get(sobject)
            if obj is None or not is_id(record_id):
                return None
            return self.tables[obj.name].get(to18(record_id))

    def lead_statuses(self) -> list[Record]:
        """The org's LeadStatus rows in picklist order (SortOrder, then Id)."""
        with self.lock:
            rows = self._live_rows("LeadStatus")
        return sorted(rows, key=lambda r: (r["SortOrder"] is None, r["SortOrder"] or 0, r["Id"]))

    def check_owner(self, owner_id: str, sobject: str = "Lead") -> OrgError | None:
        """Why `owner_id` cannot own a `sobject` record (inactive user, foreign queue), or None."""
        with self.lock:
            return references.check_owner(self.schema, self.tables, owner_id, sobject)

    def query(
        self, soql: str, *, include_deleted: bool = False, api_version: str = "62.0"
    ) -> QueryResult:
        """Run a SOQL query as of the org's clock (TODAY, LAST_N_DAYS); raises `SoqlError`."""
        with self.lock:
            parsed = soql_engine.parse(soql, self.schema)
            return soql_engine.execute(
                parsed,
                self.tables,
                include_deleted=include_deleted,
                api_version=api_version,
                now=self.now(),
            )

    # -- writes ---------------------------------------------------------------

    def create(
        self, sobject: str, values: Mapping[str, Any], *, user_id: str, auto_assign: bool = True
    ) -> SaveResult:
        """Insert a record as the REST API does: validated, defaulted, assigned, stamped."""
        with self.lock:
            obj = self.schema.get(sobject)
            if obj is None:
                return SaveResult.failed(None, messages.invalid_type(sobject))
            if not obj.createable:
                return SaveResult.failed(None, messages.operation_not_allowed(obj, "inserted"))
            return self._save(obj, None, values, user_id=user_id, auto_assign=auto_assign)

    def update(
        self,
        sobject: str,
        record_id: str,
        values: Mapping[str, Any],
        *,
        user_id: str,
        auto_assign: bool = True,
    ) -> SaveResult:
        """Change a record; with `auto_assign` a Lead's owner is re-decided by the rule."""
        with self.lock:
            found = self._target(sobject, record_id, "update")
            if isinstance(found, SaveResult):
                return found
            obj, record = found
            refusal = _refuse_change(obj, record)
            if refusal is not None:
                return SaveResult.failed(record["Id"], refusal)
            return self._save(obj, record, values, user_id=user_id, auto_assign=auto_assign)

    def delete(self, sobject: str, record_id: str, *, user_id: str) -> SaveResult:
        """Move a record to the recycle bin: `IsDeleted` set, stamps bumped, row kept."""
        return self._set_deleted(sobject, record_id, deleted=True, user_id=user_id)

    def undelete(self, sobject: str, record_id: str, *, user_id: str) -> SaveResult:
        """Restore a record from the recycle bin."""
        return self._set_deleted(sobject, record_id, deleted=False, user_id=user_id)

    def convert_lead(
        self, request: convert.LeadConvert, *, user_id: str
    ) -> convert.LeadConvertResult:
        """SOAP `convertLead` for one lead: all of its records are saved, or none (`convert`)."""
        with self.lock:
            return convert.convert_lead(self, request, user_id)

    def purge(self, sobject: str, record_id: str) -> None:
        """Remove a record for good, as emptying the recycle bin does; unknown ids are ignored."""
        with self.lock:
            obj = self.schema.get(sobject)
            if obj is not None and is_id(record_id):
                self.tables[obj.name].pop(to18(record_id), None)

    # -- the save pipeline ----------------------------------------------------

    def _save(
        self,
        obj: ObjectSchema,
        old: Record | None,
        values: Mapping[str, Any],
        *,
        user_id: str,
        auto_assign: bool,
    ) -> SaveResult:
        record_id = None if old is None else old["Id"]
        changes, errors = coerce.parse_values(obj, values)
        if errors:
            return SaveResult.failed(record_id, *errors)
        if old is None:
            base = self._creation_defaults(obj, user_id)
            changes = automation.drop_defaulted_nulls(base, changes)
        else:
            base = old
        record, errors = self._system_validation(obj, base, changes, creating=old is None)
        errors = errors or self._org_rules(obj, record)
        if errors:
            return SaveResult.failed(record_id, *errors)
        if auto_assign and obj.name == "Lead":
            record = self._assign(obj, record)
        record = {**record, **self._audit(obj, user_id, creating=old is None)}
        self.tables[obj.name][record["Id"]] = record
        operation = "create" if old is None else "update"
        self._journal(obj.name, record, user_id, operation, changes)
        return SaveResult(id=record["Id"], success=True, created=old is None)

    def _journal(
        self, sobject: str, record: Record, user_id: str, operation: str, changes: Record
    ) -> None:
        event = WriteEvent(sobject, record["Id"], user_id, operation, dict(changes))
        self.history.append(event)

    def writes_by(self, user_id: str, sobject: str = "Lead") -> list[WriteEvent]:
        """The accepted writes a user made to an object, oldest first."""
        with self.lock:
            return [e for e in self.history if e.user_id == user_id and e.sobject == sobject]

    def _system_validation(
        self, obj: ObjectSchema, base: Record, changes: Record, *, creating: bool
    ) -> tuple[Record, list[OrgError]]:
        """The record as it would be saved, and every field error Salesforce reports at once."""
        errors = validate.check_writable(obj, changes, creating=creating)
        changes = validate.writable_changes(obj, changes, creating=creating)
        record = automation.derive(obj, {**base, **changes})
        errors += validate.check_values(obj, changes, self._picklists(obj))
        errors += validate.check_required(obj, record, changes, creating=creating)
        errors += references.check_references(self.schema, self.tables, obj, changes)
        return record, errors

    def _org_rules(self, obj: ObjectSchema, record: Record) -> list[OrgError]:
        """Validation rules first; the duplicate rule runs only when they all pass."""
        errors = automation.run_validation_rules(self.settings.validation_rules, obj, record)
        if errors or obj.name != "Lead" or not self.settings.duplicate_rule_blocks_email:
            return errors
        matches = automation.email_duplicates(self.tables["Lead"], record)
        return [messages.duplicates_detected(matches)] if matches else []

    def _assign(self, obj: ObjectSchema, record: Record) -> Record:
        """Run the assignment rule after the caller's values: it wins over a written owner."""
        owner = automation.assigned_owner(self.settings.assignment_rule, obj, record)
        if owner is None:
            return record
        return {**record, "OwnerId": _normal_id(owner)}

    def _creation_defaults(self, obj: ObjectSchema, user_id: str) -> Record:
        status = automation.default_lead_status(self._live_rows("LeadStatus"))
        blank = self.blank_record(obj.name)
        owner = _normal_id(user_id)
        return automation.creation_defaults(obj, blank, user_id=owner, lead_status=status)

    def _picklists(self, obj: ObjectSchema) -> dict[str, frozenset[str]]:
        """Picklists whose values come from data: Lead.Status from LeadStatus, when it has rows."""
        if obj.name != "Lead":
            return {}
        statuses = automation.lead_status_values(self._live_rows("LeadStatus"))
        return {"Status": statuses} if statuses else {}

    # -- deletes --------------------------------------------------------------

    def _set_deleted(
        self, sobject: str, record_id: str, *, deleted: bool, user_id: str
    ) -> SaveResult:
        with self.lock:
            found = self._target(sobject, record_id, "delete")
            if isinstance(found, SaveResult):
                return found
            obj, record = found
            if record["IsDeleted"] == deleted:
                error = messages.entity_is_deleted() if deleted else messages.not_in_recycle_bin()
                return SaveResult.failed(record["Id"], error)
            audit = self._audit(obj, user_id, creating=False)
            self.tables[obj.name][record["Id"]] = {**record, "IsDeleted": deleted, **audit}
            operation = "delete" if deleted else "undelete"
            self._journal(obj.name, record, user_id, operation, {"IsDeleted": deleted})
            return SaveResult(id=record["Id"], success=True)

    # -- helpers --------------------------------------------------------------

    def _target(
        self, sobject: str, record_id: str, operation: str
    ) -> tuple[ObjectSchema, Record] | SaveResult:
        """The object and stored record an update or delete names, or why there is none."""
        obj = self.schema.get(sobject)
        if obj is None:
            return SaveResult.failed(None, messages.invalid_type(sobject))
        permission, verb = _OPERATIONS[operation]
        if not getattr(obj, permission):
            return SaveResult.failed(None, messages.operation_not_allowed(obj, verb))
        if not is_id(record_id):
            return SaveResult.failed(None, messages.malformed_id(record_id))
        id18 = to18(record_id)
        if id18[:3] != obj.key_prefix:
            return SaveResult.failed(None, messages.wrong_record_type(obj, record_id))
        record = self.tables[obj.name].get(id18)
        if record is None:
            return SaveResult.failed(id18, messages.record_not_found())
        return obj, record

    def _audit(self, obj: ObjectSchema, user_id: str, *, creating: bool) -> Record:
        """Audit fields of a successful write; a create also gets its Id here, on success only."""
        stamp = self._stamp()
        user = _normal_id(user_id)
        audit: Record = {"SystemModstamp": stamp, "LastModifiedDate": stamp}
        audit["LastModifiedById"] = user
        if creating:
            audit.update(Id=self.new_id(obj.name), CreatedDate=stamp, CreatedById=user)
        return {name: value for name, value in audit.items() if name in obj.fields}

    def _stamp(self) -> datetime:
        """Now in whole seconds, never earlier than the last stamp this org wrote."""
        now = self.now().replace(microsecond=0)
        if self._last_stamp is not None and now < self._last_stamp:
            return self._last_stamp
        self._last_stamp = now
        return now

    def _remember_stamp(self, stamp: Any) -> None:
        if isinstance(stamp, datetime) and (self._last_stamp is None or stamp > self._last_stamp):
            self._last_stamp = stamp.replace(microsecond=0)

    def _live_rows(self, sobject: str) -> list[Record]:
        return [r for r in self.tables.get(sobject, {}).values() if not r.get("IsDeleted")]


def _refuse_change(obj: ObjectSchema, record: Record) -> OrgError | None:
    """Records that exist but cannot be edited: in the recycle bin, or converted leads."""
    if record.get("IsDeleted"):
        return messages.entity_is_deleted()
    if obj.name == "Lead" and record.get("IsConverted"):
        return messages.converted_lead()
    return None


def _normal_id(value: str) -> str:
    """The 18-character form of an id the org was configured or called with."""
    return to18(value) if is_id(value) else value
