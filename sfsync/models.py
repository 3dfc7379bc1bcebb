"""Plain domain values passed between connectors, rules, the store and jobs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

FieldValues = Mapping[str, Any]


@dataclass(frozen=True)
class Lead:
    """One Lead as pulled from the org: its identity, change stamp and field values."""

    id: str
    system_modstamp: datetime
    values: FieldValues
    is_deleted: bool = False
    is_converted: bool = False
    last_modified_by_id: str | None = None

    def get(self, name: str) -> Any:
        """The value of field `name`, None when absent."""
        return self.values.get(name)


@dataclass(frozen=True, slots=True)
class Contribution:
    """One line of an explanation: what a rule added and why.

    `part` names the step of the decision it comes from (enrichment, score,
    behavior, predict, grade, rating, status), so an explanation can group them.
    """

    rule: str
    points: float
    detail: str = ""
    part: str = ""


@dataclass(frozen=True)
class EngagementEvent:
    """Something a lead did, from the org (a campaign response, a completed Task) or a feed.

    `lead_id` or `email` names the lead (imported events may know only the
    address). `kind` is a behaviour event kind (`campaign_response`, `task`,
    `page_view`...), `detail` what the rules may match (campaign type, task
    type, asset). Mirrored org rows carry their `source_id` and stamp; a
    `deleted` row says the engagement no longer exists.
    """

    kind: str
    at: datetime | date
    lead_id: str | None = None
    email: str | None = None
    detail: str | None = None
    source: str = "import"
    source_id: str | None = None
    stamp: datetime | None = None
    deleted: bool = False


@dataclass(frozen=True)
class Decision:
    """What the rules want for one lead, with the reasons behind it.

    `changes` holds only the managed fields whose value should change;
    `skipped` names managed fields left alone and why (e.g. a person set them).
    """

    lead_id: str
    base_stamp: datetime
    input_hash: str
    rules_version: str
    changes: Mapping[str, Any]
    reasons: tuple[Contribution, ...] = ()
    summary: Mapping[str, Any] = field(default_factory=dict)
    skipped: Mapping[str, str] = field(default_factory=dict)
    # The values `changes` replace, as read: the before-image that makes a run undoable.
    previous: Mapping[str, Any] = field(default_factory=dict)
    # A lead conversion to make after the update (the convertLead request's fields).
    convert: Mapping[str, Any] | None = None

    @property
    def patch_hash(self) -> str:
        """Stable hash of the patch: with lead and rules version, the outbox idempotency key."""
        return stable_hash({"changes": dict(self.changes), "convert": self.convert})


class WriteOutcome(StrEnum):
    """How one record's write ended."""

    WRITTEN = "written"
    RETRY = "retry"  # transient (UNABLE_TO_LOCK_ROW...): try again in a later flush
    REJECTED = "rejected"  # the org refused it for good: dead-letter


@dataclass(frozen=True)
class WriteResult:
    """The org's answer for one record of a write."""

    lead_id: str
    outcome: WriteOutcome
    error_code: str | None = None
    message: str | None = None
    fields: tuple[str, ...] = ()
    # Records the write created (a conversion's account, contact and opportunity ids).
    created: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiUsage:
    """Daily API usage as last reported by `Sforce-Limit-Info`."""

    used: int
    limit: int

    @property
    def share(self) -> float:
        """Fraction of the daily allowance used (0 when the limit is unknown)."""
        return self.used / self.limit if self.limit else 0.0


def stable_hash(value: Any) -> str:
    """A short, stable hash of JSON-able data (sorted keys, dates as ISO text)."""
    text = json.dumps(value, sort_keys=True, default=_json_default, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
