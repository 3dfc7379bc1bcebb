"""Lead routing: which owner a lead gets, and why, from routing.yaml, org facts and routing state.

`route` is pure and deterministic: given the same lead values, facts, config,
state snapshot and `now`, it returns the same `RoutingOutcome`, which carries
the state delta the caller applies in the transaction that records the
decision (see `sfsync.store.routing`). A batch routes lead after lead on the
snapshot with each delta applied (`route_batch`), then writes the sum once.

Which leads are routed: new leads, leads owned by an intake owner (a queue
or user listed under `intake`) or by the integration user, and leads sfsync
routed earlier when a rule with `reroute: true` now matches and their owner
no longer fits it. A lead whose owner anyone else set is never re-routed,
and neither is a new lead a person entered for themselves (owner = creator).

Rules are tried in order; the first whose criteria hold *and* that can name
an owner wins (an account-owner rule without a matched, active account owner
passes the lead on to the next rule). A team tries its members, then its
overflow chain; when every rule and team comes up empty the default owner
takes the lead, so only `keep_owner` leaves a routed lead's owner as it is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sfsync.models import Contribution
from sfsync.routing_state import RoutingDelta, RoutingSnapshot
from sfsync.rules.routing_availability import Availability, SkipReason, unavailable
from sfsync.rules.routing_config import RoutingConfig, RoutingRule, SlaConfig, Team
from sfsync.rules.routing_facts import LeadFacts, RoutingOrg
from sfsync.rules.routing_strategies import Candidate, pick


class Need(StrEnum):
    """Why a lead is (or is not) routed."""

    NEW = "new lead"
    INTAKE = "owned by an intake owner"
    INTEGRATION = "owned by the integration user"
    REROUTE = "sfsync routed it earlier and a re-routing rule now applies"
    SLA_MISSED = "its owner left it untouched past the SLA"
    ROUTED = "sfsync routed it earlier"
    MANUAL = "a person set its owner"


ROUTABLE = frozenset({Need.NEW, Need.INTAKE, Need.INTEGRATION, Need.REROUTE, Need.SLA_MISSED})


@dataclass(frozen=True)
class Skip:
    """A member passed over, and why."""

    team: str
    member: str
    reason: SkipReason
    detail: str


@dataclass(frozen=True)
class RoutingOutcome:
    """The owner a lead should have (None: keep the current one), with the whole story."""

    routed: bool
    owner_id: str | None
    need: Need
    rule: str | None = None
    assignee: str | None = None
    team: str | None = None
    considered: tuple[str, ...] = ()
    skipped: tuple[Skip, ...] = ()
    delta: RoutingDelta = field(default_factory=RoutingDelta)
    steps: tuple[Contribution, ...] = ()
    sla: SlaConfig | None = None
    notify: bool = False
    # Set when not even the default owner exists in the org (sfsync check reports it first).
    problem: str | None = None


@dataclass
class _Trail:
    """What routing tried, collected on the way."""

    steps: list[Contribution] = field(default_factory=list)
    considered: list[str] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)

    def note(self, rule: str, detail: str) -> None:
        self.steps.append(Contribution(rule, 0, detail))


@dataclass(frozen=True)
class _Context:
    values: Mapping[str, Any]
    lead: LeadFacts
    org: RoutingOrg
    config: RoutingConfig
    state: RoutingSnapshot
    now: datetime
    # The owner who missed the lead's SLA: not given it again.
    missed_by: str | None = None


@dataclass(frozen=True)
class _Choice:
    owner: str | None
    rule: str
    assignee: str
    team: str | None = None
    delta: RoutingDelta = field(default_factory=RoutingDelta)
    sla: SlaConfig | None = None
    notify: bool = False
    problem: str | None = None


def route(
    values: Mapping[str, Any],
    lead: LeadFacts,
    org: RoutingOrg,
    config: RoutingConfig,
    state: RoutingSnapshot,
    now: datetime,
    *,
    missed_by: str | None = None,
) -> RoutingOutcome:
    """The owner for one lead, the reasons, and the state change to record with the decision.

    `missed_by` routes again a lead whose owner missed its SLA, to anyone but them.
    """
    if now.tzinfo is None:
        raise ValueError("route needs a timezone-aware now")
    ctx = _Context(values, lead, org, config, state, now, missed_by)
    need = routing_need(values, lead, org, config)
    if missed_by is not None and need is Need.ROUTED:
        need = Need.SLA_MISSED
    elif need is Need.ROUTED and _reroutes(ctx):
        need = Need.REROUTE
    if need not in ROUTABLE:
        return RoutingOutcome(False, None, need, steps=(Contribution("Owner kept", 0, need),))
    trail = _Trail()
    trail.note("Routing", need.value)
    choice = _by_rules(ctx, trail) or _default(ctx, trail, None)
    return _outcome(ctx, need, choice, trail)


def route_batch(
    leads: Sequence[tuple[Mapping[str, Any], LeadFacts]],
    org: RoutingOrg,
    config: RoutingConfig,
    state: RoutingSnapshot,
    now: datetime,
) -> tuple[list[RoutingOutcome], RoutingDelta]:
    """Route leads one after another, each seeing the state the ones before left."""
    outcomes, total = [], RoutingDelta()
    for values, facts in leads:
        outcome = route(values, facts, org, config, state, now)
        state, total = state.apply(outcome.delta), total.merge(outcome.delta)
        outcomes.append(outcome)
    return outcomes, total


def routing_need(
    values: Mapping[str, Any], lead: LeadFacts, org: RoutingOrg, config: RoutingConfig
) -> Need:
    """Why the lead would be routed (new, intake, integration user) or left (routed, manual)."""
    current = _text(values.get(config.owner_field))
    if current and any(org.same_owner(current, i) for i in org.owner_ids(config.intake)):
        return Need.INTAKE
    if current and org.same_owner(current, org.integration_user_id):
        return Need.INTEGRATION
    if lead.last_routed_owner is not None:
        return Need.ROUTED if org.same_owner(current, lead.last_routed_owner) else Need.MANUAL
    if not lead.is_new:
        return Need.MANUAL
    creator = _text(values.get("CreatedById"))
    # A person who entered a lead for themselves assigned it by hand.
    return Need.MANUAL if creator and org.same_owner(current, creator) else Need.NEW


def first_match(config: RoutingConfig, values: Mapping[str, Any]) -> RoutingRule | None:
    """The first rule entry whose criteria hold."""
    return next((r for r in config.rules if r.matches(values)), None)


# -- rules ---------------------------------------------------------------------


def _reroutes(ctx: _Context) -> bool:
    rule = first_match(ctx.config, ctx.values)
    return rule is not None and rule.reroute and not _fits(ctx, rule)


def _fits(ctx: _Context, rule: RoutingRule) -> bool:
    """Whether the current owner is already one this rule would choose (no churn)."""
    current = _text(ctx.values.get(ctx.config.owner_field))
    org, assign = ctx.org, rule.assign
    user = org.user(current)
    if user is not None and not user.active:
        return False
    if assign.keep_owner:
        return True
    if assign.team:
        members = {org.active_user_id(m.user) for t in _chain(ctx.config, assign.team)
                   for m in ctx.config.teams[t].members}  # fmt: skip
        return any(org.same_owner(current, m) for m in members)
    wanted = {
        "user": lambda: org.active_user_id(assign.user),
        "queue": lambda: org.queue_id(assign.queue),
        "account_owner": lambda: ctx.lead.account_owner_id,
        "contact_owner": lambda: ctx.lead.contact_owner_id,
    }[assign.kind]()
    return org.same_owner(current, wanted)


def _by_rules(ctx: _Context, trail: _Trail) -> _Choice | None:
    for rule in ctx.config.rules:
        if not rule.matches(ctx.values):
            continue
        choice = _by_rule(ctx, rule, trail)
        if choice is not None:
            return choice
    return None


def _by_rule(ctx: _Context, rule: RoutingRule, trail: _Trail) -> _Choice | None:
    label, assign = f"Rule {rule.name}", rule.assign
    if assign.keep_owner:
        trail.note(label, "matched: keeps the current owner")
        return _Choice(None, rule.name, "keep_owner")
    if assign.team:
        return _by_team(ctx, rule, assign.team, trail)
    owner, missing = _named_owner(ctx, rule)
    if owner is not None and ctx.org.same_owner(owner, ctx.missed_by):
        owner, missing = None, f"{owner} missed this lead's SLA"
    if owner is None:
        trail.note(label, f"matched, but {missing}: next rule")
        return None
    trail.note(label, f"matched: {assign.kind.replace('_', ' ')} {owner}")
    return _Choice(owner, rule.name, assign.kind, sla=_sla(ctx, rule, None, owner))


def _named_owner(ctx: _Context, rule: RoutingRule) -> tuple[str | None, str]:
    """The owner a user, queue, account-owner or contact-owner entry names, or why there is none."""
    org, assign = ctx.org, rule.assign
    if assign.user:
        return org.active_user_id(assign.user), f"user {assign.user!r} is not an active user"
    if assign.queue:
        return org.queue_id(assign.queue), f"queue {assign.queue!r} is not a Lead queue"
    found = ctx.lead.account_owner_id if assign.owner_of == "account" else ctx.lead.contact_owner_id
    if found is None:
        return None, f"no matched {assign.owner_of}"
    owner = org.active_user_id(found)
    return owner, f"the {assign.owner_of}'s owner {found} is not an active user"


# -- teams ---------------------------------------------------------------------


def _chain(config: RoutingConfig, name: str) -> list[str]:
    """The team and the teams it overflows to, in order (validation forbids loops)."""
    chain = [name]
    while (nxt := config.teams[chain[-1]].overflow) is not None:
        chain.append(nxt)
    return chain


def _by_team(ctx: _Context, rule: RoutingRule, name: str, trail: _Trail) -> _Choice:
    for team_name in _chain(ctx.config, name):
        team = ctx.config.teams[team_name]
        candidates = _available(ctx, rule, team_name, team, trail)
        if candidates:
            owner, delta = pick(team_name, team.strategy, candidates, ctx.state)
            trail.note(
                f"Team {team_name}",
                f"{team.strategy.value}: {owner} of {len(candidates)} available member(s)",
            )
            sla = _sla(ctx, rule, team, owner)
            return _Choice(owner, rule.name, "team", team_name, delta, sla)
        trail.note(f"Team {team_name}", "nobody available: overflow")
    return _default(ctx, trail, rule)


def _available(
    ctx: _Context, rule: RoutingRule, team_name: str, team: Team, trail: _Trail
) -> list[Candidate]:
    skills = frozenset(
        s for source in team.skills_from if (s := source.skill_for(ctx.values.get(source.field)))
    ) | frozenset(s.casefold().strip() for s in rule.skills)
    candidates = []
    for member in team.members:
        user_id = ctx.org.active_user_id(member.user)
        load = ctx.state.load(user_id) if user_id else 0
        at = Availability(ctx.now, skills, user_id is not None, load)
        reason = unavailable(member, team, at)
        if reason is None and user_id and ctx.org.same_owner(user_id, ctx.missed_by):
            trail.skipped.append(Skip(team_name, user_id, SkipReason.MISSED_SLA, "missed the SLA"))
            continue
        if reason is not None or user_id is None:
            why, detail = reason or (SkipReason.INACTIVE, "not an active user")
            trail.skipped.append(Skip(team_name, user_id or member.user, why, detail))
            continue
        trail.considered.append(user_id)
        candidates.append(Candidate(user_id, member.weight))
    return candidates


# -- default and outcome -------------------------------------------------------


def _default(ctx: _Context, trail: _Trail, rule: RoutingRule | None) -> _Choice:
    default, org = ctx.config.default, ctx.org
    if default.user:
        owner, ref = org.active_user_id(default.user), f"user {default.user!r}"
    else:
        owner, ref = org.queue_id(default.queue), f"queue {default.queue!r}"
    name = rule.name if rule else "default"
    if owner is None:
        problem = f"default owner {ref} is not an active user or Lead queue"
        trail.note("Default owner", problem)
        return _Choice(None, name, "default", problem=problem)
    trail.note("Default owner", f"{ref}: {owner}")
    return _Choice(owner, name, "default", sla=_sla(ctx, rule, None, owner))


def _sla(
    ctx: _Context, rule: RoutingRule | None, team: Team | None, owner: str
) -> SlaConfig | None:
    """The follow-up to create: the rule's, else the team's, else the file's; users only."""
    if ctx.org.user(owner) is None:
        return None  # a queue cannot own a Task
    return (rule.sla if rule else None) or (team.sla if team else None) or ctx.config.sla


def _outcome(ctx: _Context, need: Need, choice: _Choice, trail: _Trail) -> RoutingOutcome:
    delta = choice.delta.merge(RoutingDelta(loads=_load_change(ctx, choice.owner)))
    return RoutingOutcome(
        routed=True,
        owner_id=choice.owner,
        need=need,
        rule=choice.rule,
        assignee=choice.assignee,
        team=choice.team,
        considered=tuple(trail.considered),
        skipped=tuple(trail.skipped),
        delta=delta,
        steps=tuple(trail.steps),
        sla=choice.sla,
        notify=choice.owner is not None and _hot(ctx, choice.rule),
        problem=choice.problem,
    )


def _load_change(ctx: _Context, owner: str | None) -> dict[str, int]:
    """The new owner holds one more open lead; the owner sfsync gave it to earlier, one fewer."""
    if owner is None:
        return {}
    change: Counter[str] = Counter()
    if (user := ctx.org.user(owner)) is not None:
        change[user.id] += 1
    current = _text(ctx.values.get(ctx.config.owner_field))
    previous = ctx.org.user(current)
    if previous is not None and ctx.org.same_owner(current, ctx.lead.last_routed_owner):
        change[previous.id] -= 1
    return {k: v for k, v in change.items() if v}


def _hot(ctx: _Context, rule_name: str) -> bool:
    webhook = ctx.config.webhook
    if webhook is None:
        return False
    rule = next((r for r in ctx.config.rules if r.name == rule_name), None)
    hot = webhook.hot_rule
    return (rule is not None and rule.notify) or (hot is not None and hot.holds(ctx.values))


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()
