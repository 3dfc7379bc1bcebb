"""The write-back plan of a dry run, and the mappings checked against the org's describe."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sfsync.connectors.salesforce import COLLECTION_MAX
from sfsync.errors import ConfigError
from sfsync.jobs.check import OrgFacts, check_mappings
from sfsync.models import Decision, Lead
from sfsync.rules.pipeline import RuleSet

TEXT_TYPES = {"string", "textarea", "email", "phone", "url", "picklist"}
CONVERT = "(convertLead → Status)"
CONVERT_MAX = 100


@dataclass(frozen=True)
class PlannedChange:
    """One field of one lead that a real run would write."""

    lead_id: str
    field: str
    old: Any
    new: Any


def plan_for(decisions: Sequence[Decision], leads: Mapping[str, Lead]) -> list[PlannedChange]:
    """Every field change the decisions would write, old value → new value."""
    changes = [
        PlannedChange(d.lead_id, name, leads[d.lead_id].get(name), value)
        for d in decisions
        for name, value in d.changes.items()
    ]
    converts = [
        PlannedChange(
            d.lead_id, CONVERT, leads[d.lead_id].get("Status"), d.convert["converted_status"]
        )
        for d in decisions
        if d.convert is not None
    ]
    return changes + converts


def planned_calls(plan: Sequence[PlannedChange]) -> int:
    """Collections and convertLead requests a real run would spend on this plan."""
    updated = {c.lead_id for c in plan if c.field != CONVERT}
    converted = {c.lead_id for c in plan if c.field == CONVERT}
    return math.ceil(len(updated) / COLLECTION_MAX) + math.ceil(len(converted) / CONVERT_MAX)


def check_against_org(rules: RuleSet, facts: OrgFacts, directory: Path) -> RuleSet:
    """The rules with text limits from the org; ConfigError when they ask what it lacks."""
    describe = facts.lead
    problems = check_mappings(directory, rules, facts)
    if problems:
        raise ConfigError("mappings do not fit the org:\n" + "\n".join(map(str, problems)))
    lengths = {
        name: describe.fields[name].length
        for name in rules.fields.write
        if describe.fields[name].type in TEXT_TYPES and describe.fields[name].length
    }
    fields = rules.fields.model_copy(update={"max_lengths": lengths})
    active = facts.active_users if rules.conversion is not None else None
    return dataclasses.replace(rules, fields=fields, active_users=active)
