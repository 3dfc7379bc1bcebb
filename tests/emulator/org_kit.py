"""A small org for the write-semantics tests: users, queues, lead statuses, a frozen clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sfsync.emulator.org import Org, OrgSettings, SaveResult

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
VALID_LEAD: dict[str, Any] = {"LastName": "Ng", "Company": "Acme"}

STATUS_ROWS = [
    {"ApiName": "Open - Not Contacted", "MasterLabel": "Open - Not Contacted",
     "SortOrder": 1, "IsDefault": True},
    {"ApiName": "Working - Contacted", "MasterLabel": "Working - Contacted", "SortOrder": 2},
    # Not in the schema's picklist: only the LeadStatus table makes it valid.
    {"ApiName": "Nurturing", "MasterLabel": "Nurturing", "SortOrder": 3},
    {"ApiName": "Closed - Converted", "MasterLabel": "Closed - Converted",
     "SortOrder": 4, "IsConverted": True},
]  # fmt: skip


class FrozenClock:
    """The org's clock, moved only by the test."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Kit:
    """An org plus the ids of its metadata."""

    org: Org
    clock: FrozenClock
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def admin(self) -> str:
        return self.ids["admin"]

    def create_lead(self, **values: Any) -> str:
        """A lead that must save; returns its id."""
        result = self.org.create("Lead", {**VALID_LEAD, **values}, user_id=self.admin)
        assert result.success, result.errors
        assert result.id is not None
        return result.id

    def record(self, sobject: str, record_id: str) -> dict[str, Any]:
        """A stored record that must exist."""
        record = self.org.get(sobject, record_id)
        assert record is not None
        return record

    def lead(self, lead_id: str) -> dict[str, Any]:
        return self.record("Lead", lead_id)

    def update_lead(self, lead_id: str, **values: Any) -> SaveResult:
        return self.org.update("Lead", lead_id, values, user_id=self.admin, auto_assign=False)


def make_kit(settings: OrgSettings | None = None, *, statuses: bool = True) -> Kit:
    """An org with three users (one inactive), a Lead queue, a Case queue and a plain group."""
    clock = FrozenClock()
    org = Org(settings=settings, clock=clock)
    ids: dict[str, str] = {}
    users = [("admin", True), ("rep", True), ("former", False)]
    user_ids = org.load("User", [_user(name, active) for name, active in users])
    ids.update(zip((name for name, _ in users), user_ids, strict=True))
    groups = [("lead_queue", "Queue"), ("case_queue", "Queue"), ("team", "Regular")]
    group_ids = org.load("Group", [{"Name": name, "Type": kind} for name, kind in groups])
    ids.update(zip((name for name, _ in groups), group_ids, strict=True))
    org.load(
        "QueueSobject",
        [
            {"QueueId": ids["lead_queue"], "SobjectType": "Lead"},
            {"QueueId": ids["case_queue"], "SobjectType": "Case"},
        ],
    )
    ids["account"] = org.load("Account", [{"Name": "Acme Corp"}])[0]
    if statuses:
        org.load("LeadStatus", STATUS_ROWS)
    return Kit(org=org, clock=clock, ids=ids)


def _user(name: str, active: bool) -> dict[str, Any]:
    return {
        "Username": f"{name}@example.com",
        "LastName": name.title(),
        "Email": f"{name}@example.com",
        "IsActive": active,
    }
