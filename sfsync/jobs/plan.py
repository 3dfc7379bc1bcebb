"""The write-back plan of a dry run, and the mappings checked against the org's describe."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sfsync.connectors.salesforce import COLLECTION_MAX, ObjectInfo
from sfsync.errors import ConfigError
from sfsync.jobs.check import check_mappings
from sfsync.models import Decision, Lead
from sfsync.rules.pipeline import RuleSet

TEXT_TYPES = {"string", "textarea", "email", "phone", "url", "picklist"}


@dataclass(frozen=True)
class PlannedChange:
    """One field of one lead that a real run would write."""

    lead_id: str
    field: str
    old: Any
    new: Any


def plan_for(decisions: Sequence[Decision], leads: Mapping[str, Lead]) -> list[PlannedChange]:
    """Every field change the decisions would write, old value → new value."""
    return [
        PlannedChange(d.lead_id, name, leads[d.lead_id].get(name), value)
        for d in decisions
        for name, value in d.changes.items()
    ]


def planned_calls(plan: Sequence[PlannedChange]) -> int:
    """Collections requests a real run would spend on this plan."""
    return math.ceil(len({c.lead_id for c in plan}) / COLLECTION_MAX)


def check_against_describe(rules: RuleSet, describe: ObjectInfo, directory: Path) -> RuleSet:
    """The rules with text limits from the org; ConfigError when they ask what it lacks."""
    problems = check_mappings(directory, rules, describe)
    if problems:
        raise ConfigError("mappings do not fit the org:\n" + "\n".join(map(str, problems)))
    lengths = {
        name: describe.fields[name].length
        for name in rules.fields.write
        if describe.fields[name].type in TEXT_TYPES and describe.fields[name].length
    }
    fields = rules.fields.model_copy(update={"max_lengths": lengths})
    return dataclasses.replace(rules, fields=fields)
