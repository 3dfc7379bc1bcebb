"""`sfsync routing simulate`: route the org's recent leads on paper and count who would get them.

It reads the org (users, Lead queues, the integration user, the N most
recent open leads) and writes nothing, neither to the org nor to the state
store. Each lead is routed as if it had just arrived in intake: enrichment
facts are derived as in a cycle, the round-robin state starts empty (or from
the store, read without locking, with `state`), and "now" is the lead's own
CreatedDate (or the present), so working hours and absences count as they
would have. Matching is not run, so account-owner and contact-owner rules
find no owner and pass leads on, as they do for leads without a match.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sfsync.connectors.salesforce import SalesforceClient, parse_datetime
from sfsync.jobs.routing_org import routing_org
from sfsync.routing_state import RoutingSnapshot
from sfsync.rules.enrich import enrich_lead
from sfsync.rules.routing import RoutingOutcome, route
from sfsync.rules.routing_config import RoutingConfig, Strategy
from sfsync.rules.routing_facts import LeadFacts, RoutingOrg
from sfsync.rules.ruleset import FACT_PREFIX, RuleSet

__all__ = ["Share", "Simulation", "recent_leads", "routing_org", "simulate"]

MAX_LEADS = 50_000


@dataclass(frozen=True)
class Share:
    """One owner's part of the simulated split."""

    owner_id: str
    label: str
    kind: str  # user | queue
    leads: int
    teams: tuple[str, ...] = ()
    # Leads the owner would get if each team split exactly by weight (team members only).
    target: float | None = None
    skipped: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Simulation:
    """The split, and what else happened to the leads."""

    leads: int
    shares: tuple[Share, ...]
    by_rule: Mapping[str, int]
    kept: int
    unassigned: int
    problems: tuple[str, ...] = ()


def recent_leads(
    client: SalesforceClient, config: RoutingConfig, rules: RuleSet, count: int
) -> list[dict[str, Any]]:
    """The `count` most recently created open leads, with the fields routing and enrichment read."""
    known = set(client.describe("Lead").fields)
    wanted = config.fields_read() | (rules.enrichment.fields_read() if rules.enrichment else set())
    fields = sorted({f for f in wanted if not f.startswith(FACT_PREFIX) and f in known})
    columns = ", ".join(dict.fromkeys(["Id", "CreatedDate", *fields]))
    soql = (
        f"SELECT {columns} FROM Lead WHERE IsConverted = false "
        f"ORDER BY CreatedDate DESC LIMIT {min(count, MAX_LEADS)}"
    )
    return client.query(soql)


def simulate(
    leads: list[dict[str, Any]],
    org: RoutingOrg,
    config: RoutingConfig,
    rules: RuleSet,
    *,
    now: datetime | None = None,
    state: RoutingSnapshot | None = None,
) -> Simulation:
    """Route the leads oldest first, as they arrived; `now` None means each lead's CreatedDate."""
    state = state or RoutingSnapshot()
    intake = _intake_owner(config, org)
    outcomes: list[RoutingOutcome] = []
    for record in sorted(leads, key=lambda r: str(r.get("CreatedDate") or "")):
        values = _values(record, rules, intake, org)
        when = now or parse_datetime(record.get("CreatedDate"))
        outcome = route(values, LeadFacts(is_new=True), org, config, state, when)
        state = state.apply(outcome.delta)
        outcomes.append(outcome)
    return _summary(outcomes, org, config)


def _intake_owner(config: RoutingConfig, org: RoutingOrg) -> str:
    """Who a just-arrived lead belongs to: the first intake owner, else the integration user."""
    owners = [o for ref in config.intake if (o := next(iter(org.owner_ids([ref])), None))]
    return owners[0] if owners else (org.integration_user_id or "")


def _values(
    record: Mapping[str, Any], rules: RuleSet, intake: str, org: RoutingOrg
) -> dict[str, Any]:
    values = {k: v for k, v in record.items() if k != "attributes"}
    values.update(OwnerId=intake, CreatedById=org.integration_user_id)
    if rules.enrichment is not None and rules.enrichment_data is not None:
        values = enrich_lead(values, rules.enrichment, rules.enrichment_data).values(values)
    return values


def _summary(outcomes: list[RoutingOutcome], org: RoutingOrg, config: RoutingConfig) -> Simulation:
    counts = Counter(o.owner_id for o in outcomes if o.owner_id)
    skipped: dict[str, Counter[str]] = {}
    for outcome in outcomes:
        for skip in outcome.skipped:
            skipped.setdefault(skip.member, Counter())[skip.reason.value] += 1
    targets, teams_of = _targets(outcomes, org, config)
    owners = set(counts) | set(targets) | set(skipped)
    shares = [
        Share(
            owner_id=owner,
            label=_label(owner, org),
            kind="user" if org.user(owner) else "queue",
            leads=counts.get(owner, 0),
            teams=tuple(sorted(teams_of.get(owner, ()))),
            target=targets.get(owner),
            skipped=dict(skipped.get(owner, {})),
        )
        for owner in owners
    ]
    shares.sort(key=lambda s: (-s.leads, s.label))
    return Simulation(
        leads=len(outcomes),
        shares=tuple(shares),
        by_rule=dict(Counter(o.rule or "default" for o in outcomes)),
        kept=sum(1 for o in outcomes if o.routed and o.owner_id is None and not o.problem),
        unassigned=sum(1 for o in outcomes if o.problem),
        problems=tuple(sorted({o.problem for o in outcomes if o.problem})),
    )


def _targets(
    outcomes: list[RoutingOutcome], org: RoutingOrg, config: RoutingConfig
) -> tuple[dict[str, float], dict[str, set[str]]]:
    """Each member's exact share of the leads their round-robin teams gave out.

    Least-loaded teams have no target: their split follows the open leads.
    """
    given = Counter(o.team for o in outcomes if o.team)
    targets: dict[str, float] = {}
    teams_of: dict[str, set[str]] = {}
    for name, team in config.teams.items():
        weighted = team.strategy is Strategy.WEIGHTED_ROUND_ROBIN
        members = [(uid, m.weight if weighted else 1) for m in team.members
                   if (uid := org.active_user_id(m.user))]  # fmt: skip
        total = sum(w for _, w in members)
        for uid, weight in members:
            teams_of.setdefault(uid, set()).add(name)
            if team.strategy is not Strategy.LEAST_LOADED:
                targets[uid] = targets.get(uid, 0.0) + given[name] * weight / total
    return targets, teams_of


def _label(owner: str, org: RoutingOrg) -> str:
    user = org.user(owner)
    if user is not None:
        return user.name or user.username
    return next((name for name, qid in org.queues.items() if org.same_owner(qid, owner)), owner)
