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
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sfsync.emulator.schema import OrgSchema
from sfsync.ids import to18

Record = dict[str, Any]
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, in UTC, truncated to whole seconds as Salesforce's audit fields are."""
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True)
class OrgError:
    """One error on one record, as Salesforce reports it (`statusCode`, `message`, `fields`)."""

    status_code: str
    message: str
    fields: tuple[str, ...] = ()

    def as_rest(self) -> dict[str, Any]:
        """The REST single-record shape: `{"errorCode", "message", "fields"}`."""
        return {"errorCode": self.status_code, "message": self.message, "fields": list(self.fields)}

    def as_save_result(self) -> dict[str, Any]:
        """The Collections SaveResult shape: `{"statusCode", "message", "fields"}`."""
        return {"statusCode": self.status_code, "message": self.message, "fields": list(self.fields)}


@dataclass(frozen=True)
class SaveResult:
    """The outcome of one create, update or delete."""

    id: str | None
    success: bool
    errors: tuple[OrgError, ...] = ()
    created: bool = False


@dataclass(frozen=True)
class AssignmentRuleEntry:
    """One entry of the org's active lead assignment rule: field equals value → owner.

    An entry with no criteria matches every lead (the rule's catch-all).
    """

    owner_id: str
    criteria: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ValidationRule:
    """An org validation rule: `predicate(record)` True means the save is refused."""

    name: str
    message: str
    predicate: Callable[[Record], bool]
    sobject: str = "Lead"
    error_field: str | None = None


@dataclass
class OrgSettings:
    """Org behaviour that tests and admins switch."""

    # The active lead assignment rule, run when Sforce-Auto-Assign is absent or TRUE.
    assignment_rule: list[AssignmentRuleEntry] = field(default_factory=list)
    validation_rules: list[ValidationRule] = field(default_factory=list)
    # Block-type lead duplicate rule on exact Email match (DUPLICATES_DETECTED).
    duplicate_rule_blocks_email: bool = False
    daily_api_limit: int = 1_000_000
    # Seconds added to the org's clock: clock skew between worker and org.
    clock_offset_seconds: int = 0


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

    # The methods below are implemented in the org semantics module.

    # -- ids and the bulk-load fast path (used by seeding) --------------------

    def now(self) -> datetime:
        """The org's clock, with any configured skew."""
        from datetime import timedelta

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
        rows: list[Mapping[str, Any]],
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
        return ids


def full_name(first: str | None, last: str | None) -> str:
    """`Name` of a person record, as Salesforce composes it."""
    return " ".join(part for part in (first, last) if part)
