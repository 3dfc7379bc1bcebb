"""What capture does with each valid candidate: which are duplicates, and what the new leads hold.

Duplicates come from matching (`jobs.match.find_matches`): against the
mirror's Leads and Contacts, and among the candidates themselves. Candidates
that match each other form a group (a matches b, b matches c: one person).
A group with a member matching a record of the org is that record; any
other group creates one lead, from its first member, and the later members
are its duplicates. Matched Accounts are not duplicates: their owner is what
routing's `account_owner` entries need.

New leads are decided like pulled ones (`rules.pipeline.decide` on a lead
with a placeholder id): the score, rating, grade, status and enrichment
fills join the create values, so the lead is created already decided.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sfsync.models import Decision, Lead
from sfsync.rules.matching import Match
from sfsync.rules.pipeline import RuleSet, decide

PLACEHOLDER = "capture{}"
PEOPLE = ("Lead", "Contact")


@dataclass(frozen=True)
class Valid:
    """A candidate that passed validation: its position in the batch and its cleaned values."""

    index: int
    key: str
    source: str
    values: Mapping[str, Any]

    @property
    def placeholder(self) -> str:
        """The id matching and the rules see until the org gives the lead its own."""
        return PLACEHOLDER.format(self.index)


@dataclass(frozen=True)
class Target:
    """What a duplicate candidate duplicates: a record of the org, or an earlier candidate."""

    sobject: str
    record_id: str | None = None
    first: int | None = None  # index of the group's first candidate, when it is created
    rule: str = ""
    confidence: float = 0.0

    def describe(self, keys: Mapping[int, str]) -> str:
        """The reason line for the report."""
        if self.record_id is not None:
            how = f"{self.rule}, {self.confidence:.0%}"
            return f"same person as {self.sobject} {self.record_id} ({how})"
        first = keys.get(self.first or 0, "?")
        return f"same person as {label(first)} earlier in this batch ({self.rule})"


@dataclass(frozen=True)
class NewLead:
    """A lead to create: its values with what the rules decided, and the decision itself."""

    valid: Valid
    values: Mapping[str, Any]
    decision: Decision
    # Filled from later duplicates in the group (policy "update"): field -> the key it came from.
    filled_from: Mapping[str, str]


def label(key: str) -> str:
    """How a report names a candidate: "row 12" for a spreadsheet row's key, else the key."""
    tail = key.rsplit(":", 1)[-1]
    return f"row {tail}" if ":" in key and tail.isdigit() else key


def duplicates(valid: Sequence[Valid], matches: Mapping[str, Sequence[Match]]) -> dict[int, Target]:
    """Candidate index -> what it duplicates; candidates absent from the result are new."""
    by_placeholder = {v.placeholder: v.index for v in valid}
    groups = _groups(valid, matches, by_placeholder)
    found: dict[int, Target] = {}
    for members in groups:
        in_org = {i: t for i in members if (t := _org_match(matches.get(_ph(i), ()))) is not None}
        anchor = next((in_org[i] for i in members if i in in_org), None)
        for position, index in enumerate(members):
            if index in in_org:
                found[index] = in_org[index]
            elif anchor is not None:
                found[index] = anchor
            elif position > 0:
                found[index] = _batch_target(index, members[0], matches)
    return found


def _ph(index: int) -> str:
    return PLACEHOLDER.format(index)


def _org_match(matches: Sequence[Match]) -> Target | None:
    """The most confident Lead or Contact of the org (contacts first on a tie)."""
    people = [m for m in matches if not m.same_batch and m.sobject in PEOPLE]
    if not people:
        return None
    best = min(people, key=lambda m: (-m.confidence, m.sobject != "Contact", m.record_id))
    return Target(best.sobject, best.record_id, None, best.rule, best.confidence)


def _batch_target(index: int, first: int, matches: Mapping[str, Sequence[Match]]) -> Target:
    link = next((m for m in matches.get(_ph(index), ()) if m.same_batch), None)
    rule, confidence = (link.rule, link.confidence) if link else ("", 0.0)
    return Target("Lead", None, first, rule, confidence)


def _groups(
    valid: Sequence[Valid], matches: Mapping[str, Sequence[Match]], index_of: Mapping[str, int]
) -> list[list[int]]:
    """Candidates linked by matches between them, each group in batch order (union-find)."""
    parent = {v.index: v.index for v in valid}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for v in valid:
        for match in matches.get(v.placeholder, ()):
            other = index_of.get(match.record_id) if match.same_batch else None
            if other is not None:
                a, b = root(v.index), root(other)
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for v in sorted(valid, key=lambda v: v.index):
        groups.setdefault(root(v.index), []).append(v.index)
    return list(groups.values())


def account_owners(matches: Mapping[str, Sequence[Match]]) -> dict[str, str]:
    """Placeholder -> the owner of the most confident matched Account (for account_owner rules)."""
    found: dict[str, str] = {}
    for placeholder, found_matches in matches.items():
        accounts = [m for m in found_matches if m.sobject == "Account" and m.owner_id]
        if accounts:
            found[placeholder] = str(accounts[0].owner_id)
    return found


def fill_empty(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """`extra`'s values for the fields `base` leaves empty (policy "update")."""
    return {k: v for k, v in extra.items() if base.get(k) in (None, "") and v not in (None, "")}


def new_lead(
    valid: Valid, later: Sequence[Valid], rules: RuleSet, now: datetime, fill: bool
) -> NewLead:
    """The group's first candidate, with later duplicates' values in its empty fields (if `fill`),
    decided by the rules: what the org will be asked to create."""
    values = dict(valid.values)
    filled_from: dict[str, str] = {}
    if fill:
        for other in later:
            extra = fill_empty(values, other.values)
            values.update(extra)
            filled_from.update(dict.fromkeys(extra, other.key))
    lead = Lead(valid.placeholder, now, values)
    decision = decide(lead, rules, {}, now)
    return NewLead(valid, {**values, **decision.changes}, decision, filled_from)
