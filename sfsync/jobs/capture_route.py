"""Routing leads that do not exist yet: owners chosen before creation, remembered after.

Capture routes new leads under the routing lock (the caller holds
`RoutingStore.transaction`) with `rules.routing.route_batch`, as new leads
(`LeadFacts(is_new=True)`), and puts each chosen owner in the create values.
What the sync cycle keeps about a routed lead (`LeadState.routing`, see
`jobs.route_page`) is built here too, with `changes_owner: False`: the lead
is created with its owner, so the cycle finds it routed and leaves it alone.

The lead's id is unknown while planning, so the routing memory and its
follow-ups (SLA Task, hot-lead message) are built with a placeholder that
`bind` replaces once the org answers; the plan survives a crash as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sfsync.jobs.capture_plan import NewLead
from sfsync.routing_state import RoutingDelta, RoutingSnapshot
from sfsync.rules.routing import Need, RoutingOutcome, route_batch
from sfsync.rules.routing_facts import LeadFacts, RoutingOrg
from sfsync.rules.routing_followup import routing_key, sla_task, webhook_payload
from sfsync.rules.ruleset import RuleSet

# Stands for the new lead's id in plans until the org gives it one.
SENTINEL = "{sfsync:new-lead-id}"
PART = "routing"


@dataclass(frozen=True)
class Routed:
    """One new lead's routing: its owner, what to remember, and the turn it took."""

    owner: str | None
    memory: Mapping[str, Any] | None
    load_owner: str | None
    delta: RoutingDelta
    steps: tuple[dict[str, Any], ...] = ()


NOT_ROUTED = Routed(None, None, None, RoutingDelta())


def routable(rules: RuleSet) -> bool:
    """Whether capture routes: routing.yaml, the org's facts, an owner field sfsync may write."""
    config = rules.routing
    return (
        config is not None and rules.routing_org is not None and config.owner_field in rules.allowed
    )


def route_new(
    leads: Sequence[NewLead],
    rules: RuleSet,
    snapshot: RoutingSnapshot,
    now: datetime,
    account_owners: Mapping[str, str],
) -> tuple[list[Routed], RoutingDelta]:
    """Each lead's routing (NOT_ROUTED when its row names an owner), and the total turn taken."""
    if not routable(rules) or not leads:
        return [NOT_ROUTED] * len(leads), RoutingDelta()
    config, org = rules.routing, rules.routing_org
    assert config is not None and org is not None
    todo = [i for i, lead in enumerate(leads) if not lead.values.get(config.owner_field)]
    inputs = [
        (_routing_values(leads[i]), LeadFacts(is_new=True, account_owner_id=account_owners.get(
            leads[i].valid.placeholder)))
        for i in todo
    ]  # fmt: skip
    outcomes, total = route_batch(inputs, org, config, snapshot, now)
    routed = [NOT_ROUTED] * len(leads)
    for i, outcome, (values, _) in zip(todo, outcomes, inputs, strict=True):
        routed[i] = _routed(outcome, values, rules, org, now)
    return routed, total


def _routing_values(lead: NewLead) -> dict[str, Any]:
    """What routing criteria read: the values, the decision's changes, enrichment's facts."""
    return {**lead.values, **lead.decision.summary.get("facts", {})}


def _routed(
    outcome: RoutingOutcome, values: Mapping[str, Any], rules: RuleSet, org: RoutingOrg,
    now: datetime,
) -> Routed:  # fmt: skip
    steps = tuple(
        {"rule": s.rule, "points": s.points, "detail": s.detail, "part": PART}
        for s in outcome.steps
    )
    if not outcome.routed or outcome.owner_id is None:
        return Routed(None, None, None, outcome.delta, steps)
    user = org.user(outcome.owner_id)
    memory = _memory(outcome, values, rules, org, now)
    return Routed(outcome.owner_id, memory, user.id if user else None, outcome.delta, steps)


def _memory(
    outcome: RoutingOutcome, values: Mapping[str, Any], rules: RuleSet, org: RoutingOrg,
    now: datetime,
) -> dict[str, Any]:  # fmt: skip
    """LeadState.routing as jobs.route_page keeps it, for a lead created with its owner."""
    assert rules.routing is not None
    owner = outcome.owner_id
    task = sla_task(SENTINEL, values, outcome, now, now)
    webhook = rules.routing.webhook
    notify = None
    if outcome.notify and webhook is not None and owner is not None:
        user = org.user(owner)
        name = user.name or user.username if user else None
        notify = webhook_payload(SENTINEL, values, outcome, webhook.text, None, name)
    return {
        "routed": True,
        "need": outcome.need.value,
        "rule": outcome.rule,
        "assignee": outcome.assignee,
        "team": outcome.team,
        "owner": owner,
        "owner_field": rules.routing.owner_field,
        "changes_owner": False,
        "routed_at": now.isoformat(),
        "considered": list(outcome.considered),
        "skipped": [
            {"team": s.team, "member": s.member, "reason": s.reason.value, "detail": s.detail}
            for s in outcome.skipped
        ],
        "problem": outcome.problem,
        "sla_due": task.values.get("ReminderDateTime") if task else None,
        "sla_task": {"key": "", "values": dict(task.values)} if task else None,
        "notify": notify,
        "captured": True,
    }


def bind(memory: Mapping[str, Any] | None, lead_id: str) -> dict[str, Any] | None:
    """The routing memory of a created lead: its id in place of the placeholder, keys set."""
    if memory is None:
        return None
    bound: dict[str, Any] = _replace(memory, lead_id)
    task = bound.get("sla_task")
    if task:
        stand_in = RoutingOutcome(True, bound.get("owner"), Need.NEW, rule=bound.get("rule"))
        stamp = datetime.fromisoformat(str(bound["routed_at"]))
        task["key"] = routing_key(lead_id, stand_in, stamp, "sla")
    return bound


def _replace(value: Any, lead_id: str) -> Any:
    if isinstance(value, str):
        return value.replace(SENTINEL, lead_id)
    if isinstance(value, Mapping):
        return {k: _replace(v, lead_id) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_replace(v, lead_id) for v in value]
    return value


def negate(delta: RoutingDelta) -> RoutingDelta:
    """The delta that gives a turn back (a lead the org refused was never anyone's)."""
    return RoutingDelta(
        credits={k: -v for k, v in delta.credits.items()},
        assigned={k: -v for k, v in delta.assigned.items()},
        loads={k: -v for k, v in delta.loads.items()},
        picks={k: -v for k, v in delta.picks.items()},
    )


def encode_delta(delta: RoutingDelta) -> dict[str, Any]:
    """A delta as JSON (member keys are pairs)."""
    return {
        "credits": [[t, m, v] for (t, m), v in delta.credits.items()],
        "assigned": [[t, m, v] for (t, m), v in delta.assigned.items()],
        "loads": dict(delta.loads),
        "picks": dict(delta.picks),
    }


def decode_delta(data: Mapping[str, Any] | None) -> RoutingDelta:
    """The delta `encode_delta` wrote."""
    if not data:
        return RoutingDelta()
    return RoutingDelta(
        credits={(str(t), str(m)): int(v) for t, m, v in data.get("credits", [])},
        assigned={(str(t), str(m)): int(v) for t, m, v in data.get("assigned", [])},
        loads={str(k): int(v) for k, v in (data.get("loads") or {}).items()},
        picks={str(k): int(v) for k, v in (data.get("picks") or {}).items()},
    )
