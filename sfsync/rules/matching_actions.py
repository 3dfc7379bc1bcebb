"""What a new lead's matches change: the duplicate flag, and the owners routing may use.

Pure functions of the lead, its matches and matching.yaml's `actions:`. The
surviving record of a lead-to-lead duplicate is the oldest lead it matches
(ties go to the smaller Id), so two copies arriving together flag the newer
one only and never each other. A value a person put in the duplicate field
is never replaced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sfsync.models import Contribution
from sfsync.rules.matching import Match
from sfsync.rules.matching_config import DuplicateAction, MatchActions, MergeMaster

PART = "matching"
SHOWN = 3  # matches kept in a decision's summary for `sfsync explain`
NEWEST = "9999"


@dataclass(frozen=True)
class MatchOutcome:
    """The matches' effect on one lead."""

    changes: Mapping[str, Any] = field(default_factory=dict)
    reasons: tuple[Contribution, ...] = ()
    summary: tuple[Mapping[str, Any], ...] = ()
    account_owner_id: str | None = None
    contact_owner_id: str | None = None
    # With `lead_to_lead: merge`: {"master": id, "merged": [id]} for the outbox.
    merge: Mapping[str, Any] | None = None


def act_on_matches(
    lead_id: str,
    values: Mapping[str, Any],
    matches: Sequence[Match],
    actions: MatchActions,
) -> MatchOutcome:
    """The flag to write (if any), the explanation, and the owners of the matched records."""
    usable = [m for m in matches if m.confidence >= actions.min_confidence]
    survivor = surviving_lead(lead_id, values.get("CreatedDate"), usable)
    reasons = [_line(m) for m in usable[:SHOWN]]
    changes: dict[str, Any] = {}
    merge = None
    if survivor is not None and actions.lead_to_lead is DuplicateAction.FLAG:
        changes, note = _flag(values, survivor, actions)
        reasons.append(Contribution("Duplicate", 0, note, PART))
    elif survivor is not None and actions.lead_to_lead is DuplicateAction.MERGE:
        merge = _merge(lead_id, survivor, actions)
        text = f"{merge['merged'][0]} is merged into {merge['master']} ({survivor.confidence:.0%})"
        reasons.append(Contribution("Duplicate", 0, text, PART))
    return MatchOutcome(
        changes=changes,
        reasons=tuple(reasons),
        summary=tuple(_shown(m) for m in usable[:SHOWN]),
        account_owner_id=_best_owner(usable, "Account"),
        contact_owner_id=_best_owner(usable, "Contact"),
        merge=merge,
    )


def _merge(lead_id: str, survivor: Match, actions: MatchActions) -> dict[str, Any]:
    """The merge to make: the master the policy picks, and the lead folded into it."""
    if actions.merge_master is MergeMaster.NEWEST:
        return {"master": lead_id, "merged": [survivor.record_id]}
    return {"master": survivor.record_id, "merged": [lead_id]}


def surviving_lead(lead_id: str, created: Any, matches: Sequence[Match]) -> Match | None:
    """The oldest lead this one duplicates, if this one is the newer of the pair."""
    mine = (str(created or NEWEST), lead_id)  # without a date, the lead just arrived
    older = [m for m in matches if m.sobject == "Lead" and ((m.created or ""), m.record_id) < mine]
    return min(older, key=lambda m: ((m.created or ""), m.record_id), default=None)


def _flag(
    values: Mapping[str, Any], survivor: Match, actions: MatchActions
) -> tuple[dict[str, Any], str]:
    field_name = actions.duplicate_field or ""
    current = values.get(field_name)
    if current not in (None, "") and str(current)[:15] != survivor.record_id[:15]:
        return {}, f"duplicates {survivor.record_id}; {field_name} already names {current}: kept"
    changes: dict[str, Any] = {field_name: survivor.record_id}
    if actions.duplicate_status:
        changes["Status"] = actions.duplicate_status
    return changes, f"newer copy of lead {survivor.record_id} ({survivor.confidence:.0%}): flagged"


def _best_owner(matches: Sequence[Match], sobject: str) -> str | None:
    found = [m for m in matches if m.sobject == sobject and m.owner_id]
    best = max(found, key=lambda m: (m.confidence, m.record_id), default=None)
    return best.owner_id if best else None


def _line(match: Match) -> Contribution:
    how = " · ".join(f"{c.field} {c.method}" for c in match.comparisons if c.matched)[:200]
    text = f"{match.sobject} {match.record_id} by {match.rule} ({match.confidence:.0%}): {how}"
    return Contribution("Match", 0, text, PART)


def _shown(match: Match) -> dict[str, Any]:
    return {
        "record_id": match.record_id,
        "sobject": match.sobject,
        "rule": match.rule,
        "confidence": round(match.confidence, 3),
        "owner_id": match.owner_id,
        "same_batch": match.same_batch,
    }
