"""Org behaviour that tests and admins switch: assignment, validation and duplicate rules.

Re-exported by `sfsync.emulator.org`, where the rest of the emulator imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sfsync.emulator.results import Record

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, in UTC, truncated to whole seconds as Salesforce's audit fields are."""
    return datetime.now(UTC).replace(microsecond=0)


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
