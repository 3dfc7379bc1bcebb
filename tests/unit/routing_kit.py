"""Builders for routing tests: a small org, configs from plain dicts, leads waiting in intake."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sfsync.routing_state import RoutingSnapshot
from sfsync.rules.routing import RoutingOutcome, route
from sfsync.rules.routing_config import RoutingConfig
from sfsync.rules.routing_facts import LeadFacts, OrgUser, RoutingOrg

# A Wednesday: 15:00 in Berlin, 10:00 in New York, 07:00 in Los Angeles, 23:00 in Tokyo.
NOW = datetime(2025, 3, 12, 14, 0, tzinfo=UTC)


def uid(n: int) -> str:
    """An 18-character user Id."""
    return f"005{n:012d}AAA"


ANN, BOB, CAT, DAN, EVE, FAY = (uid(n) for n in range(1, 7))
INTEGRATION = uid(99)
INTAKE_Q, EMEA_Q, NURTURE_Q = "00G000000000001AAA", "00G000000000002AAA", "00G000000000003AAA"
NAMES = {ANN: "ann", BOB: "bob", CAT: "cat", DAN: "dan", EVE: "eve", FAY: "fay"}

ORG = RoutingOrg(
    users=(
        OrgUser(ANN, "ann@example.com"),
        OrgUser(BOB, "bob@example.com"),
        OrgUser(CAT, "cat@example.com"),
        OrgUser(DAN, "dan@example.com", active=False),
        OrgUser(EVE, "eve@example.com"),
        OrgUser(FAY, "fay@example.com"),
        OrgUser(INTEGRATION, "integration@example.com"),
    ),
    queues={"Lead Intake": INTAKE_Q, "EMEA Sales": EMEA_Q, "Marketing Nurture": NURTURE_Q},
    integration_user_id=INTEGRATION,
)
NEW = LeadFacts(is_new=True)


def config(**data: Any) -> RoutingConfig:
    """A routing config; intake and default are the Lead Intake queue unless given."""
    base: dict[str, Any] = {"intake": ["Lead Intake"], "default": {"queue": "Lead Intake"}}
    return RoutingConfig.model_validate({**base, **data})


def team_config(
    members: list[dict[str, Any]] | list[str], strategy: str = "round_robin", **team: Any
) -> RoutingConfig:
    """One catch-all rule giving every lead to team `t`."""
    listed = [{"user": m} if isinstance(m, str) else m for m in members]
    return config(
        rules=[{"name": "All", "assign": {"team": "t"}}],
        teams={"t": {"strategy": strategy, "members": listed, **team}},
    )


def lead(**values: Any) -> dict[str, Any]:
    """A lead in the intake queue, created by the integration user."""
    return {"OwnerId": INTAKE_Q, "CreatedById": INTEGRATION, "LastName": "Doe", **values}


def route_one(
    cfg: RoutingConfig,
    values: Mapping[str, Any] | None = None,
    facts: LeadFacts = NEW,
    state: RoutingSnapshot | None = None,
    now: datetime = NOW,
    org: RoutingOrg = ORG,
) -> RoutingOutcome:
    """Route one lead (an intake lead unless values are given)."""
    return route(values or lead(), facts, org, cfg, state or RoutingSnapshot(), now)


def split(
    cfg: RoutingConfig,
    count: int,
    state: RoutingSnapshot | None = None,
    now: datetime = NOW,
    org: RoutingOrg = ORG,
) -> tuple[Counter[str], RoutingSnapshot]:
    """Route `count` intake leads in turn; how many each owner got, and the final state."""
    state = state or RoutingSnapshot()
    got: Counter[str] = Counter()
    for _ in range(count):
        outcome = route(lead(), NEW, org, cfg, state, now)
        state = state.apply(outcome.delta)
        got[str(outcome.owner_id)] += 1
    return got, state


def named(counts: Mapping[str, int]) -> dict[str, int]:
    """Counts keyed by the kit's short names (queues keep their Ids)."""
    return {NAMES.get(k, k): v for k, v in counts.items()}
