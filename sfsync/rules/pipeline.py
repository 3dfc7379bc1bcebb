"""From one lead to one decision: run the rules, then keep only the changes sfsync may make.

"Humans win": sfsync writes a managed field only while it is blank or still
holds the value sfsync last wrote there. Any other value was put there by
someone else, so it is left alone and the decision says why. Deleted and
converted leads are never written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sfsync.models import Decision, Lead, stable_hash
from sfsync.rules.convert import ConversionConfig, decide_conversion
from sfsync.rules.score import ScoreOutcome, ScoringConfig, score_lead

HUMAN_OVERRIDE = "set in the org by someone else; their value wins (clear it to hand it back)"


class FieldsConfig(BaseModel):
    """The parsed `mappings/fields.yaml`: what sfsync reads and what it may write."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    read: tuple[str, ...] = ()
    write: tuple[str, ...] = Field(min_length=1)
    # Text limits of the written fields, filled from the org's describe when known.
    max_lengths: Mapping[str, int] = Field(default_factory=dict)


@dataclass(frozen=True)
class RuleSet:
    """Everything the rules need, parsed from `mappings/`, with a version for audit."""

    fields: FieldsConfig
    scoring: ScoringConfig
    version: str
    conversion: ConversionConfig | None = None
    # Facts from the org that rules consult (filled at start-up by the job).
    active_users: frozenset[str] | None = None

    def fields_read(self) -> set[str]:
        """Lead fields the rules read: their hash tells whether a lead needs a new decision."""
        read = set(self.fields.read) | self.scoring.fields_read()
        if self.conversion is not None:
            read |= {c.field for c in self.conversion.criteria} | {"OwnerId", "LastName", "Company"}
            read |= {source for m in self.conversion.copy_to.values() for source in m}
        return read


def decide(lead: Lead, rules: RuleSet, last_written: Mapping[str, Any], now: datetime) -> Decision:
    """The decision for one lead, given what sfsync last wrote to it."""
    hashed = input_hash(lead, rules)
    if lead.is_deleted or lead.is_converted:
        state = "deleted" if lead.is_deleted else "converted"
        return Decision(
            lead.id, lead.system_modstamp, hashed, rules.version, {}, summary={"skipped": state}
        )
    outcome = score_lead(lead.values, rules.scoring)
    wanted = _wanted_values(outcome, rules)
    changes, skipped = _diff(lead, wanted, last_written)
    summary: dict[str, Any] = {
        "score": outcome.score,
        "rating": outcome.rating,
        "decided_at": now.isoformat(),
        # Context for the analytics of the status page (who owns it, where it stands).
        "owner": lead.get("OwnerId"),
        "status": lead.get("Status"),
        "source": lead.get("LeadSource"),
    }
    convert = None
    if rules.conversion is not None:
        values = {**lead.values, **changes}
        convert, blocked = decide_conversion(values, rules.conversion, rules.active_users)
        if blocked:
            summary["conversion_blocked"] = blocked
    return Decision(
        lead_id=lead.id,
        base_stamp=lead.system_modstamp,
        input_hash=hashed,
        rules_version=rules.version,
        changes=changes,
        convert=convert,
        previous={name: lead.get(name) for name in changes},
        reasons=outcome.contributions,
        summary=summary,
        skipped=skipped,
    )


def input_hash(lead: Lead, rules: RuleSet) -> str:
    """Hash of the values the rules read, leaving out the fields sfsync writes itself.

    Managed fields are results, not inputs: hashing them would make the echo
    of sfsync's own write look like a new input.
    """
    inputs = sorted(rules.fields_read() - set(rules.fields.write))
    return stable_hash({name: lead.get(name) for name in inputs})


def _wanted_values(outcome: ScoreOutcome, rules: RuleSet) -> dict[str, Any]:
    targets = rules.scoring.targets
    wanted: dict[str, Any] = {targets.score: outcome.score}
    if targets.rating:
        wanted[targets.rating] = outcome.rating
    if targets.reason:
        limit = rules.fields.max_lengths.get(targets.reason, 255)
        wanted[targets.reason] = outcome.reason(limit)
    allowed = set(rules.fields.write)
    return {name: value for name, value in wanted.items() if name in allowed}


def _diff(
    lead: Lead, wanted: Mapping[str, Any], last_written: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    changes: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for name, value in wanted.items():
        current = lead.get(name)
        if same_value(current, value):
            continue
        if owned_by_someone_else(current, last_written, name):
            skipped[name] = HUMAN_OVERRIDE
        else:
            changes[name] = value
    return changes, skipped


def owned_by_someone_else(current: Any, last_written: Mapping[str, Any], name: str) -> bool:
    """A value sfsync did not put there: not blank, and not what sfsync last wrote.

    Clearing the field in the org hands it back to sfsync.
    """
    if current in (None, ""):
        return False
    return name not in last_written or not same_value(current, last_written[name])


def same_value(a: Any, b: Any) -> bool:
    """Equality as the org stores values: blank text is null, 45 equals 45.0."""
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return bool(a == b)
