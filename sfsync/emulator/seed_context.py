"""The state shared by the seeding steps: one `Random`, the pools, and the rows made so far.

Rows get their ids when they are made (from the org's own counters, so ids
are deterministic) and are loaded into the org in one bulk call per object
at the end; until then a step may still change them (conversion, activity
dates).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from random import Random
from typing import Any

from sfsync.emulator.org import Org, Record
from sfsync.emulator.seed_companies import CompanyMaker
from sfsync.emulator.seed_persons import PersonMaker
from sfsync.emulator.seed_phone import Phone
from sfsync.emulator.seed_pools import Pools

DAY = 86_400


@dataclass
class Staff:
    """The org's users by role."""

    admin_id: str
    integration_id: str
    rep_ids: list[str]
    inactive_ids: list[str]
    # Active reps working European hours: the EMEA Sales team.
    emea_rep_ids: list[str]

    @property
    def human_ids(self) -> list[str]:
        """Active people who edit leads: the reps and the admin."""
        return [*self.rep_ids, self.admin_id]


@dataclass
class SeedContext:
    """Everything a seeding step reads or adds to."""

    org: Org
    rng: Random
    now: datetime
    pools: Pools
    companies: CompanyMaker
    people: PersonMaker
    rows: dict[str, list[Record]] = field(default_factory=dict)
    # Phone numbers of leads and contacts as parts, for phone_format duplicates.
    phones: dict[str, Phone] = field(default_factory=dict)

    def add(self, sobject: str, row: dict[str, Any]) -> Record:
        """Give `row` the next id of `sobject` and queue it for loading."""
        row["Id"] = self.org.new_id(sobject)
        self.rows.setdefault(sobject, []).append(row)
        return row

    def ago(self, seconds: float) -> datetime:
        """The moment `seconds` before the org's now, in whole seconds."""
        return self.now - timedelta(seconds=int(seconds))

    def between(self, start: datetime, end: datetime) -> datetime:
        """A random whole-second moment in [start, end]."""
        span = max(0, int((end - start).total_seconds()))
        return start + timedelta(seconds=self.rng.randint(0, span))

    def past_moment(self, after: datetime) -> datetime:
        """A random moment after `after` and at least a second before now."""
        return self.between(after, max(after, self.ago(1)))


def stamp(
    row: Record, created: datetime, modified: datetime, created_by: str, modified_by: str
) -> Record:
    """Set the audit fields of `row` (SystemModstamp follows LastModifiedDate)."""
    row["CreatedDate"] = created
    row["LastModifiedDate"] = modified
    row["SystemModstamp"] = modified
    row["CreatedById"] = created_by
    row["LastModifiedById"] = modified_by
    return row
