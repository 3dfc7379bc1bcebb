"""Matching inside the sync cycle: the new leads of a page against the mirror and each other.

Only leads that just arrived are matched (sfsync never saw them, and this is
not the first pull, whose leads are history: `sfsync duplicates` reports on
those), plus leads still waiting to be routed, whose routing may need the
owner of a matched account or contact. Each gets its matches in the
decision's summary and explanation and the owners routing reads; leads that
just arrived also get the duplicate flag or merge matching.yaml asks for
(flags only into fields listed under `write`).

The page's leads then go into the mirror, so the next page's and the next
cycle's leads are matched against them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sfsync.jobs.backfill import mirror_leads
from sfsync.jobs.match import find_matches
from sfsync.jobs.match_setup import Matcher
from sfsync.models import Decision, Lead
from sfsync.rules.matching_actions import MatchOutcome, act_on_matches
from sfsync.rules.matching_config import DuplicateAction
from sfsync.rules.matching_records import SOQL_FIELDS
from sfsync.rules.ruleset import RuleSet
from sfsync.store import Store

# What the pull reads besides the rules' fields, so mirror rows are whole.
PULLED = frozenset(SOQL_FIELDS["Lead"]) - {"Id", "IsDeleted", "IsConverted", "SystemModstamp"}


@dataclass(frozen=True)
class MatchedPage:
    """The page's decisions with matching's effects, and the owners routing may use."""

    decisions: list[Decision]
    # Lead id -> (matched account's owner, matched contact's owner).
    owners: Mapping[str, tuple[str | None, str | None]] = field(default_factory=dict)


def match_page(
    store: Store,
    matcher: Matcher,
    rules: RuleSet,
    leads: Sequence[Lead],
    decisions: Sequence[Decision],
    wanted: set[str],
    arrived: set[str],
) -> MatchedPage:
    """Match the `wanted` leads of the page; the other decisions pass through unchanged.

    Only leads that just `arrived` are flagged or merged: an old lead waiting
    in intake is matched for routing's sake, and its duplicates are left to
    `sfsync duplicates report` like the rest of the org's history.
    """
    chosen = [lead for lead in leads if lead.id in wanted and not lead.is_deleted]
    if not chosen:
        return MatchedPage(list(decisions))
    found = find_matches(store, chosen, matcher)
    by_id = {lead.id: lead for lead in chosen}
    out: list[Decision] = []
    owners: dict[str, tuple[str | None, str | None]] = {}
    for decision in decisions:
        lead = by_id.get(decision.lead_id)
        if lead is None:
            out.append(decision)
            continue
        values = {**lead.values, **decision.changes}
        actions = matcher.config.actions
        if lead.id not in arrived:
            actions = actions.model_copy(update={"lead_to_lead": DuplicateAction.ALERT})
        outcome = act_on_matches(lead.id, values, found.get(lead.id, []), actions)
        out.append(_with_matches(decision, lead, outcome, rules))
        owners[lead.id] = (outcome.account_owner_id, outcome.contact_owner_id)
    return MatchedPage(out, owners)


def keep_mirror_current(store: Store, matcher: Matcher, leads: Sequence[Lead]) -> int:
    """Put the page's leads in the mirror (an upsert: repeating it is harmless)."""
    return mirror_leads(store, leads, matcher) if leads else 0


def _with_matches(
    decision: Decision, lead: Lead, outcome: MatchOutcome, rules: RuleSet
) -> Decision:
    allowed = {k: v for k, v in outcome.changes.items() if k in rules.allowed}
    skipped = {
        k: "matching.yaml would set it, but it is not under 'write' in fields.yaml"
        for k in outcome.changes
        if k not in rules.allowed
    }
    summary = {**decision.summary, "matches": [dict(m) for m in outcome.summary]}
    if outcome.merge is not None:
        summary["merge"] = dict(outcome.merge)
    return dataclasses.replace(
        decision,
        changes={**decision.changes, **allowed},
        previous={**decision.previous, **{k: lead.get(k) for k in allowed}},
        reasons=(*decision.reasons, *outcome.reasons),
        summary=summary,
        skipped={**decision.skipped, **skipped},
    )
