"""Lead capture's values: candidates in, outcomes out, the policy, and what is read once.

`sfsync.jobs.capture` re-exports all of these: code outside capture imports them from there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from sfsync.connectors.salesforce import ObjectInfo, SalesforceClient
from sfsync.jobs.match_setup import MATCHING_FILE, Matcher, load_matcher
from sfsync.jobs.routing_org import LEAD_QUEUES, QUEUES, USERS, routing_org_from
from sfsync.rules.pipeline import RuleSet

# phase ("matching", "creating", "updating"), done, total
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Candidate:
    """One lead to capture: its idempotency key, its Lead values (API names), its origin."""

    key: str  # f"{source}:{sha256 of file}:{row}" or a submission id
    values: Mapping[str, Any]
    source: str


class Action(StrEnum):
    """What capture did with a candidate."""

    CREATED = "created"
    UPDATED = "updated"  # a duplicate whose values filled the existing record's empty fields
    DUPLICATE = "duplicate"  # a duplicate left as it is (nothing to fill, or policy skip)
    REJECTED = "rejected"
    ALREADY_DONE = "already_done"  # the ledger has this key: an earlier run handled it


class DuplicatePolicy(StrEnum):
    """What a candidate matching an org Lead or Contact does to that record."""

    UPDATE = "update"  # fill the record's empty fields with the candidate's values
    SKIP = "skip"  # leave the record as it is


@dataclass(frozen=True)
class CaptureOutcome:
    """A candidate's outcome: `record_id` the lead created or updated, `matched_id` the original."""

    key: str
    action: Action
    record_id: str | None = None
    matched_id: str | None = None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaptureSetup:
    """What capture reads from the org and the mappings once: build it once per process."""

    rules: RuleSet
    describe: ObjectInfo
    matcher: Matcher | None
    me: str

    @classmethod
    def load(
        cls, client: SalesforceClient, rules: RuleSet, mappings: Path | None = None
    ) -> CaptureSetup:
        """Describe Lead, read the org's routing facts and matching.yaml (one Composite call)."""
        directory = mappings or client.settings.sfsync_mappings
        wants_org = rules.routing is not None and rules.routing_org is None
        described, rows = client.read_together(
            ["Lead"], [USERS, LEAD_QUEUES, QUEUES] if wants_org else []
        )
        me = client.integration_user_id()
        if wants_org:
            users, lead_queues, queues = rows
            org = routing_org_from(users, lead_queues, queues, me)
            rules = dataclasses.replace(rules, routing_org=org)
        matcher = load_matcher(directory) if (directory / MATCHING_FILE).is_file() else None
        return cls(rules, described["Lead"], matcher, me)

    def with_rules(self, rules: RuleSet) -> CaptureSetup:
        """This setup for `rules` (keeping the routing facts it read when `rules` lack them)."""
        if rules is self.rules:
            return self
        if rules.routing is not None and rules.routing_org is None:
            rules = dataclasses.replace(rules, routing_org=self.rules.routing_org)
        return dataclasses.replace(self, rules=rules)
