"""Fairness and safety of routing, over many leads and random teams.

- Weighted round-robin over 10,000 leads: every member within one lead of
  their exact weight-proportional share, and at every step along the way.
- Every routed lead gets an owner (only keep_owner leaves it), and no member
  is ever given a lead at or above their cap, whatever the team looks like.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfsync.routing_state import RoutingSnapshot
from sfsync.rules.routing import route
from sfsync.rules.routing_facts import LeadFacts
from tests.unit.routing_kit import ANN, BOB, CAT, DAN, EVE, FAY, NEW, NOW, ORG, config, lead, split

LEADS = 10_000
USERS = [ANN, BOB, CAT, EVE, FAY]


WEIGHTED = [[1, 1, 1], [2, 1], [3, 2, 1], [5, 3, 1, 1], [7, 1], [10, 9, 1], [1000, 1], [4, 4]]


@pytest.mark.parametrize(
    ("strategy", "weights"),
    [("weighted_round_robin", w) for w in WEIGHTED]
    # Plain round-robin ignores the weights: an equal split.
    + [("round_robin", w) for w in ([1] * 5, [5, 3, 1, 1], [1000, 1])],
)
def test_ten_thousand_leads_split_within_one_of_exact(weights: list[int], strategy: str) -> None:
    members = [{"user": u, "weight": w} for u, w in zip(USERS, weights, strict=False)]
    cfg = config(
        rules=[{"name": "All", "assign": {"team": "t"}}],
        teams={"t": {"strategy": strategy, "members": members}},
    )
    used = weights if strategy == "weighted_round_robin" else [1] * len(weights)

    got, state = split(cfg, LEADS)

    total = sum(used)
    for user, weight in zip(USERS, used, strict=False):
        assert abs(got[user] - LEADS * weight / total) <= 1, (user, got[user])
    assert sum(got.values()) == LEADS
    assert state.picks == {"t": LEADS}
    assert sum(state.credits.values()) == 0  # credit is conserved: what one earns another paid


def test_every_prefix_of_a_weighted_split_is_within_one_of_exact() -> None:
    weights = {ANN: 5, BOB: 3, CAT: 1}
    members = [{"user": u, "weight": w} for u, w in weights.items()]
    cfg = config(
        rules=[{"name": "All", "assign": {"team": "t"}}],
        teams={"t": {"strategy": "weighted_round_robin", "members": members}},
    )
    state, got = RoutingSnapshot(), Counter[str]()
    for n in range(1, 2001):
        outcome = route(lead(), NEW, ORG, cfg, state, NOW)
        state = state.apply(outcome.delta)
        got[str(outcome.owner_id)] += 1
        assert all(abs(got[u] - n * w / 9) < 1 for u, w in weights.items()), n


# -- properties ----------------------------------------------------------------------

HOURS = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"start": st.sampled_from(["00:00", "08:00", "22:00"]),
         "end": st.sampled_from(["06:00", "17:00", "23:59"])}
    ).filter(lambda h: h["start"] != h["end"]),
)  # fmt: skip
MEMBER = st.fixed_dictionaries(
    {
        "user": st.sampled_from([ANN, BOB, CAT, DAN, EVE, FAY, "ghost@example.com"]),
        "weight": st.integers(1, 5),
        "cap": st.one_of(st.none(), st.integers(0, 4)),
        "time_zone": st.sampled_from(["UTC", "Asia/Tokyo", "America/Los_Angeles"]),
        "hours": HOURS,
        "skills": st.lists(st.sampled_from(["de", "en"]), max_size=2),
        "active": st.booleans(),
    }
).map(lambda m: {k: v for k, v in m.items() if v is not None})
TEAM = st.fixed_dictionaries(
    {
        "strategy": st.sampled_from(["round_robin", "weighted_round_robin", "least_loaded"]),
        "members": st.lists(MEMBER, min_size=1, max_size=4, unique_by=lambda m: m["user"]),
        "cap": st.one_of(st.none(), st.integers(0, 3)),
        "skills_from": st.just([{"field": "Language__c"}]),
    }
).map(lambda t: {k: v for k, v in t.items() if v is not None})
DEFAULT = st.sampled_from([{"queue": "Lead Intake"}, {"user": "eve@example.com"}])
LEAD = st.fixed_dictionaries(
    {
        "Language__c": st.sampled_from([None, "de", "en", "fr"]),
        "Country": st.sampled_from(["DE", "US", None]),
        "minutes": st.integers(0, 7 * 24 * 60),
    }
)


def _config(teams: list[dict[str, Any]], default: dict[str, str], keep: bool) -> Any:
    names = [f"t{i}" for i in range(len(teams))]
    for i, team in enumerate(teams[:-1]):
        team["overflow"] = names[i + 1]
    rules: list[dict[str, Any]] = [
        {"name": "Partners", "assign": "keep_owner",
         "criteria": [{"field": "Country", "operator": "equals", "value": "DE"}]},
    ] if keep else []  # fmt: skip
    rules.append({"name": "Team", "assign": {"team": names[0]}})
    return config(default=default, rules=rules, teams=dict(zip(names, teams, strict=True)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    teams=st.lists(TEAM, min_size=1, max_size=3),
    default=DEFAULT,
    keep=st.booleans(),
    leads=st.lists(LEAD, min_size=1, max_size=40),
    loads=st.dictionaries(st.sampled_from([ANN, BOB, CAT, EVE, FAY]), st.integers(0, 4)),
)
def test_every_lead_gets_an_owner_and_caps_hold(
    teams: list[dict[str, Any]],
    default: dict[str, str],
    keep: bool,
    leads: list[dict[str, Any]],
    loads: dict[str, int],
) -> None:
    cfg = _config(teams, default, keep)
    caps = {
        (name, m.user): (m.cap if m.cap is not None else team.cap)
        for name, team in cfg.teams.items()
        for m in team.members
    }
    state = RoutingSnapshot(loads=loads)
    for item in leads:
        now = NOW + timedelta(minutes=item.pop("minutes"))
        outcome = route(lead(**item), NEW, ORG, cfg, state, now)

        kept = keep and item["Country"] == "DE"
        assert outcome.routed
        assert (outcome.owner_id is None) is kept
        if outcome.team is not None:
            cap = caps[(outcome.team, outcome.owner_id)]
            assert cap is None or state.load(str(outcome.owner_id)) < cap
        state = state.apply(outcome.delta)
    assert all(v >= 0 for v in state.loads.values())


@settings(max_examples=50, deadline=None)
@given(loads=st.lists(st.integers(0, 6), min_size=3, max_size=3), count=st.integers(1, 30))
def test_least_loaded_never_exceeds_a_cap_and_evens_out(loads: list[int], count: int) -> None:
    cfg = config(
        rules=[{"name": "All", "assign": {"team": "t"}}],
        teams={"t": {"strategy": "least_loaded", "cap": 6, "members": [ANN, BOB, CAT]}},
    )
    start = RoutingSnapshot(loads=dict(zip([ANN, BOB, CAT], loads, strict=True)))

    got, state = split(cfg, count, start)

    assert all(state.load(u) <= max(6, start.load(u)) for u in (ANN, BOB, CAT))
    room = sum(max(0, 6 - n) for n in loads)
    assert sum(got[u] for u in (ANN, BOB, CAT)) == min(count, room)
    # Whoever got a lead had the fewest open leads when they got their last one.
    final = {u: state.load(u) for u in (ANN, BOB, CAT)}
    for user in (u for u in final if got[u]):
        assert all(final[user] - 1 <= other for other in final.values())


def test_manual_owners_are_never_routed_whatever_the_config() -> None:
    cfg = config(
        rules=[{"name": "All", "assign": {"team": "t"}, "reroute": True}],
        teams={"t": {"members": [ANN, BOB]}},
    )
    when = datetime(2025, 1, 1, tzinfo=UTC)
    for facts in (LeadFacts(False), LeadFacts(False, ANN), LeadFacts(True, None)):
        outcome = route(
            lead(OwnerId=CAT, CreatedById=CAT), facts, ORG, cfg, RoutingSnapshot(), when
        )
        assert not outcome.routed and outcome.owner_id is None
