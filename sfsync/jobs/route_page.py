"""Routing inside the sync cycle: which leads of a page get a new owner, and what follows.

`decide` is pure and knows nothing of round-robin state, so routing runs as a
second step on the page's decisions, inside the store transaction that
records them (`Store.record_page(..., routing=...)`): the store locks the
teams' rows, hands this module the snapshot, and applies the returned delta
with the decisions. Two workers therefore never give the same turn twice,
and a crash loses neither a decision nor its turn.

Per lead, in page order:
- Deleted and converted leads are never routed; the open-lead load they
  counted in is released. So is the load of a lead whose owner someone
  else changed since sfsync routed it.
- A lead whose decision already moves the owner (lifecycle recycling) is
  left to that move.
- A lead sfsync routed whose owner write has not landed yet keeps that
  routing (no second turn, the same follow-ups): a re-decision while the
  write is pending must not route it again.
- Any other lead goes through `rules.routing.route`; a new owner joins the
  decision's changes, the story joins its reasons, and `summary["routing"]`
  keeps what `sfsync explain`, the analytics and the follow-ups need.

A lead is "new" (routable whoever owns it) only when sfsync has never seen it
and this is not the first pull: on the first pull every lead is old history,
and only leads owned by an intake owner or the integration user are routed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sfsync.models import Contribution, Decision, Lead
from sfsync.routing_state import LeadRouting, RoutedPage, RoutingDelta, RoutingSnapshot
from sfsync.rules.routing import RoutingOutcome, route
from sfsync.rules.routing_config import RoutingConfig, parse_duration
from sfsync.rules.routing_facts import LeadFacts, RoutingOrg
from sfsync.rules.routing_followup import sla_task, webhook_payload
from sfsync.rules.ruleset import RuleSet

NOT_WRITABLE = "routing chose {owner}, but {field} is not under 'write' in fields.yaml"
PENDING = "Routing kept"
PART = "routing"  # the explanation groups these lines under it


@dataclass(frozen=True)
class PriorRouting:
    """What the store remembered about a lead: the last routing, whose load it counts in."""

    routing: Mapping[str, Any] | None = None
    load_owner: str | None = None
    last_written: Mapping[str, Any] = field(default_factory=dict)
    known: bool = False


@dataclass(frozen=True)
class PageRouter:
    """Routes one page's decisions on a snapshot (called by the store under the teams' lock)."""

    rules: RuleSet
    org: RoutingOrg
    leads: Mapping[str, Lead]
    prior: Mapping[str, PriorRouting]
    first_pull: bool
    now: datetime
    # Lead id -> (matched account's owner, matched contact's owner), from matching.
    matched: Mapping[str, tuple[str | None, str | None]] = field(default_factory=dict)
    # Leads whose SLA re-routing time has come (the store's `reroute_due`).
    missed: frozenset[str] = frozenset()

    @property
    def config(self) -> RoutingConfig:
        assert self.rules.routing is not None
        return self.rules.routing

    @property
    def teams(self) -> list[str]:
        """The rows the store must lock: every team (overflow can reach any of them)."""
        return self.config.team_names()

    def __call__(self, decisions: Sequence[Decision], snapshot: RoutingSnapshot) -> RoutedPage:
        out: list[Decision] = []
        total = RoutingDelta()
        remember: dict[str, LeadRouting] = {}
        for decision in decisions:
            lead = self.leads[decision.lead_id]
            prior = self.prior.get(lead.id, PriorRouting())
            routed, delta, memory = self._one(lead, decision, prior, snapshot)
            if created := lead.get("CreatedDate"):  # speed-to-lead starts here
                routed = dataclasses.replace(
                    routed, summary={**routed.summary, "created": str(created)}
                )
            snapshot, total = snapshot.apply(delta), total.merge(delta)
            out.append(routed)
            if memory is not None:
                remember[lead.id] = memory
        return RoutedPage(out, total, remember)

    # -- one lead ---------------------------------------------------------------

    def _one(
        self, lead: Lead, decision: Decision, prior: PriorRouting, snapshot: RoutingSnapshot
    ) -> tuple[Decision, RoutingDelta, LeadRouting | None]:
        owner_field = self.config.owner_field
        current = _text(lead.get(owner_field))
        if lead.is_deleted or lead.is_converted or owner_field in decision.changes:
            return decision, *self._release(prior, current, closed=True)
        pending = self._pending(prior, current)
        if pending is not None:
            return _keep_pending(decision, pending, owner_field), RoutingDelta(), None
        values = {**lead.values, **decision.changes, **decision.summary.get("facts", {})}
        if lead.id in self.missed:
            return self._sla_missed(lead, decision, prior, values, snapshot)
        outcome = route(values, self._facts(lead, prior), self.org, self.config, snapshot, self.now)
        if not outcome.routed:
            release, memory = self._release(prior, current, closed=False)
            return _with_story(decision, outcome, None), release, memory
        return self._routed(lead, decision, prior, values, outcome)

    def _routed(
        self,
        lead: Lead,
        decision: Decision,
        prior: PriorRouting,
        values: Mapping[str, Any],
        outcome: RoutingOutcome,
    ) -> tuple[Decision, RoutingDelta, LeadRouting | None]:
        owner_field = self.config.owner_field
        owner = outcome.owner_id
        changes_owner = owner is not None and not self.org.same_owner(lead.get(owner_field), owner)
        summary = self._summary(lead, values, outcome, changes_owner)
        routed = _with_story(decision, outcome, summary)
        if changes_owner and owner is not None:
            routed = _with_owner(routed, lead, owner_field, owner, self.rules)
        if owner is None:
            return routed, outcome.delta, None
        user = self.org.user(owner)
        delta = outcome.delta
        if prior.load_owner and not self.org.same_owner(prior.load_owner, lead.get(owner_field)):
            delta = delta.merge(RoutingDelta(loads={prior.load_owner: -1}))  # counted elsewhere
        return routed, delta, LeadRouting(summary, user.id if user else None)

    def _sla_missed(
        self,
        lead: Lead,
        decision: Decision,
        prior: PriorRouting,
        values: Mapping[str, Any],
        snapshot: RoutingSnapshot,
    ) -> tuple[Decision, RoutingDelta, LeadRouting | None]:
        """Route again a lead its owner left untouched (same owner, same Status) past the SLA.

        A lead that was worked, moved or closed meanwhile only has its
        re-routing time cleared.
        """
        routing = prior.routing or {}
        owner = routing.get("owner")
        status = self._status_field
        untouched = self.org.same_owner(lead.get(self.config.owner_field), owner) and (
            _text(lead.get(status)) == _text(routing.get("status"))
        )
        if not untouched or owner is None:
            return (
                decision,
                RoutingDelta(),
                LeadRouting({**routing, "reroute_at": None}, prior.load_owner),
            )
        facts = self._facts(lead, prior)
        outcome = route(
            values, facts, self.org, self.config, snapshot, self.now, missed_by=str(owner)
        )
        return self._routed(lead, decision, prior, values, outcome)

    @property
    def _status_field(self) -> str:
        return self.rules.lifecycle.status_field if self.rules.lifecycle else "Status"

    def _reroute_at(self, outcome: RoutingOutcome) -> str | None:
        sla, owner = outcome.sla, outcome.owner_id
        if sla is None or sla.reroute_after is None or self.org.user(owner) is None:
            return None
        return (self.now + parse_duration(sla.reroute_after)).isoformat()

    def _pending(self, prior: PriorRouting, current: str) -> Mapping[str, Any] | None:
        """The earlier routing whose owner write has not landed, while the lead still waits."""
        routing = prior.routing
        if not routing or not routing.get("changes_owner") or not routing.get("owner"):
            return None
        owner = str(routing["owner"])
        landed = self.org.same_owner(prior.last_written.get(self.config.owner_field), owner)
        if landed or self.org.same_owner(current, owner):
            return None
        waiting = self._waiting_owner(current)
        return routing if waiting else None

    def _waiting_owner(self, current: str) -> bool:
        return waiting_to_be_routed(self.config, self.org, current)

    def _release(
        self, prior: PriorRouting, current: str, *, closed: bool
    ) -> tuple[RoutingDelta, LeadRouting | None]:
        """Release the load a lead counted in once it closed or someone else moved it."""
        holder = prior.load_owner
        if holder is None or (not closed and self.org.same_owner(current, holder)):
            return RoutingDelta(), None
        return RoutingDelta(loads={holder: -1}), LeadRouting(prior.routing, None)

    def _facts(self, lead: Lead, prior: PriorRouting) -> LeadFacts:
        routed = prior.routing.get("owner") if prior.routing else None
        written = prior.last_written.get(self.config.owner_field)
        account_owner, contact_owner = self.matched.get(lead.id, (None, None))
        return LeadFacts(
            is_new=not prior.known and not self.first_pull,
            last_routed_owner=str(routed or written) if (routed or written) else None,
            account_owner_id=account_owner,
            contact_owner_id=contact_owner,
        )

    def _summary(
        self, lead: Lead, values: Mapping[str, Any], outcome: RoutingOutcome, changes_owner: bool
    ) -> dict[str, Any]:
        owner = outcome.owner_id
        task = sla_task(lead.id, values, outcome, lead.system_modstamp, self.now)
        user = self.org.user(owner)
        summary: dict[str, Any] = {
            "routed": True,
            "need": outcome.need.value,
            "rule": outcome.rule,
            "assignee": outcome.assignee,
            "team": outcome.team,
            "owner": owner,
            "owner_field": self.config.owner_field,
            "changes_owner": changes_owner,
            "routed_at": self.now.isoformat(),
            "considered": list(outcome.considered),
            "skipped": [
                {"team": s.team, "member": s.member, "reason": s.reason.value, "detail": s.detail}
                for s in outcome.skipped
            ],
            "problem": outcome.problem,
            "sla_due": task.values.get("ReminderDateTime") if task else None,
            # Untouched means: the same owner and this Status when `reroute_at` comes.
            "status": values.get(self._status_field),
            "reroute_at": self._reroute_at(outcome),
            "sla_task": {"key": task.key, "values": dict(task.values)} if task else None,
            "notify": None,
        }
        webhook = self.config.webhook
        if outcome.notify and webhook is not None and owner is not None:
            name = user.name or user.username if user else None
            summary["notify"] = webhook_payload(lead.id, values, outcome, webhook.text, None, name)
        return summary


def waiting_to_be_routed(config: RoutingConfig, org: RoutingOrg, owner: str | None) -> bool:
    """Whether an owner is where routable leads wait: an intake owner or the integration user."""
    if any(org.same_owner(owner, i) for i in org.owner_ids(config.intake)):
        return True
    return org.same_owner(owner, org.integration_user_id)


def _keep_pending(decision: Decision, routing: Mapping[str, Any], owner_field: str) -> Decision:
    owner = str(routing["owner"])
    step = Contribution(PENDING, 0, f"routed to {owner} earlier; that write has not landed", PART)
    summary = {**decision.summary, "owner": owner, "routing": {**routing, "pending": True}}
    changes = {**decision.changes, owner_field: owner}
    return dataclasses.replace(
        decision, changes=changes, reasons=(*decision.reasons, step), summary=summary
    )


def _with_story(
    decision: Decision, outcome: RoutingOutcome, summary: Mapping[str, Any] | None
) -> Decision:
    """The decision with routing's steps among its reasons (and its summary, when routed)."""
    merged = dict(decision.summary)
    if summary is not None:
        merged["routing"] = dict(summary)
    else:
        merged["routing"] = {"need": outcome.need.value, "routed": False}
    steps = tuple(dataclasses.replace(step, part=PART) for step in outcome.steps)
    return dataclasses.replace(decision, reasons=(*decision.reasons, *steps), summary=merged)


def _with_owner(
    decision: Decision, lead: Lead, owner_field: str, owner: str, rules: RuleSet
) -> Decision:
    if owner_field not in rules.allowed:
        skipped = {
            **decision.skipped,
            owner_field: NOT_WRITABLE.format(owner=owner, field=owner_field),
        }
        return dataclasses.replace(decision, skipped=skipped)
    return dataclasses.replace(
        decision,
        changes={**decision.changes, owner_field: owner},
        previous={**decision.previous, owner_field: lead.get(owner_field)},
        summary={**decision.summary, "owner": owner},
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()
