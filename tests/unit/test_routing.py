"""Routing: strategies, weights, caps, availability, skills, overflow, default, who is routed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sfsync.routing_state import RoutingDelta, RoutingSnapshot
from sfsync.rules.routing import Need, route_batch
from sfsync.rules.routing_availability import SkipReason
from sfsync.rules.routing_facts import LeadFacts, RoutingOrg
from tests.unit.routing_kit import (
    ANN,
    BOB,
    CAT,
    DAN,
    EMEA_Q,
    EVE,
    FAY,
    INTAKE_Q,
    INTEGRATION,
    NEW,
    NOW,
    ORG,
    config,
    lead,
    named,
    route_one,
    split,
    team_config,
)

ABC = ["ann@example.com", "bob@example.com", "cat@example.com"]


def _sequence(cfg: Any, count: int, state: RoutingSnapshot | None = None) -> list[str]:
    outcomes, _ = route_batch([(lead(), NEW)] * count, ORG, cfg, state or RoutingSnapshot(), NOW)
    return [named({str(o.owner_id): 1}).popitem()[0] for o in outcomes]


# -- strategies ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strategy", "members", "loads", "expected"),
    [
        ("round_robin", ABC, {}, "ann bob cat ann bob cat"),
        # Weights do not count in plain round-robin.
        ("round_robin", [{"user": ANN, "weight": 5}, BOB], {}, "ann bob ann bob"),
        # Smooth: 2:1 interleaves (a b a | a b a), never a a b.
        ("weighted_round_robin", [{"user": ANN, "weight": 2}, BOB], {}, "ann bob ann ann bob ann"),
        (
            "weighted_round_robin",
            [{"user": ANN, "weight": 3}, {"user": BOB, "weight": 2}, CAT],
            {},
            "ann bob ann cat bob ann",
        ),
        ("least_loaded", ABC, {ANN: 5, BOB: 2, CAT: 2}, "bob cat bob cat bob cat ann"),
        # Open leads per unit of weight: ann (4/2) ties bob (2/1); the larger weight wins the tie.
        ("least_loaded", [{"user": ANN, "weight": 2}, BOB], {ANN: 4, BOB: 2}, "ann bob ann ann"),
    ],
)
def test_strategies_pick_in_order(
    strategy: str, members: list[Any], loads: dict[str, int], expected: str
) -> None:
    cfg = team_config(members, strategy)
    got = _sequence(cfg, len(expected.split()), RoutingSnapshot(loads=loads))
    assert " ".join(got) == expected


def test_a_pick_records_credit_count_pick_and_load() -> None:
    outcome = route_one(team_config([{"user": ANN, "weight": 2}, BOB], "weighted_round_robin"))

    assert outcome.owner_id == ANN and outcome.team == "t" and outcome.assignee == "team"
    assert outcome.delta == RoutingDelta(
        credits={("t", ANN): -1, ("t", BOB): 1},
        assigned={("t", ANN): 1},
        loads={ANN: 1},
        picks={"t": 1},
    )
    assert outcome.considered == (ANN, BOB)


def test_round_robin_continues_from_the_stored_state() -> None:
    cfg = team_config(ABC)
    _, state = split(cfg, 4)  # ann bob cat ann

    assert _sequence(cfg, 3, state) == ["bob", "cat", "ann"]


def test_a_member_who_comes_back_is_not_owed_a_burst() -> None:
    away = team_config(["ann@example.com", {"user": BOB, "active": False}])
    _, state = split(away, 10)  # all to ann; bob neither earns nor pays

    back = team_config(["ann@example.com", BOB])
    assert _sequence(back, 4, state) == ["ann", "bob", "ann", "bob"]


# -- caps --------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["round_robin", "weighted_round_robin", "least_loaded"])
def test_caps_hold_then_the_default_takes_over(strategy: str) -> None:
    cfg = team_config([{"user": ANN, "cap": 1}, BOB, CAT], strategy, cap=2)

    got, state = split(cfg, 7, RoutingSnapshot(loads={BOB: 1}))

    assert named(got) == {"ann": 1, "bob": 1, "cat": 2, INTAKE_Q: 3}
    assert state.loads == {ANN: 1, BOB: 2, CAT: 2}


def test_a_capped_member_is_skipped_with_the_reason() -> None:
    cfg = team_config([{"user": ANN, "cap": 3}, BOB])

    outcome = route_one(cfg, state=RoutingSnapshot(loads={ANN: 3}))

    assert outcome.owner_id == BOB
    [skip] = outcome.skipped
    assert (skip.member, skip.reason, skip.detail) == (
        ANN,
        SkipReason.AT_CAPACITY,
        "holds 3 open leads (cap 3)",
    )


# -- availability ------------------------------------------------------------------

WEEKDAY_HOURS = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}
NIGHT = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "22:00", "end": "06:00"}


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("member", "now", "reason"),
    [
        ({"time_zone": "Europe/Berlin", "hours": WEEKDAY_HOURS}, NOW, None),  # 15:00 Berlin
        ({"time_zone": "Asia/Tokyo", "hours": WEEKDAY_HOURS}, NOW, "out_of_hours"),  # 23:00
        ({"time_zone": "America/New_York", "hours": WEEKDAY_HOURS}, NOW, None),  # 10:00
        ({"time_zone": "America/Los_Angeles", "hours": WEEKDAY_HOURS}, NOW, "out_of_hours"),
        ({"hours": WEEKDAY_HOURS}, _at("2025-03-15T12:00"), "out_of_hours"),  # a Saturday, UTC
        ({"hours": WEEKDAY_HOURS}, _at("2025-03-14T16:59"), None),
        ({"hours": WEEKDAY_HOURS}, _at("2025-03-14T17:00"), "out_of_hours"),  # end excluded
        # A night shift runs past midnight: Thursday 05:00 belongs to Wednesday's shift...
        ({"time_zone": "Asia/Tokyo", "hours": NIGHT}, NOW, None),  # Wed 23:00 Tokyo
        ({"time_zone": "Asia/Tokyo", "hours": NIGHT}, _at("2025-03-12T20:00"), None),
        # ...but Monday 05:00 belongs to Sunday, a day off.
        ({"time_zone": "Asia/Tokyo", "hours": NIGHT}, _at("2025-03-09T20:00"), "out_of_hours"),
        # Daylight saving time: the same UTC time is 08:30 before and 09:30 after the change.
        ({"time_zone": "Europe/Berlin", "hours": WEEKDAY_HOURS}, _at("2025-03-24T07:30"),
         "out_of_hours"),
        ({"time_zone": "Europe/Berlin", "hours": WEEKDAY_HOURS}, _at("2025-03-31T07:30"), None),
        ({"time_zone": "Europe/Berlin", "hours": WEEKDAY_HOURS}, _at("2025-10-20T07:30"), None),
        ({"time_zone": "Europe/Berlin", "hours": WEEKDAY_HOURS}, _at("2025-10-27T07:30"),
         "out_of_hours"),
        ({"time_zone": "America/New_York", "hours": WEEKDAY_HOURS}, _at("2025-03-07T13:30"),
         "out_of_hours"),
        ({"time_zone": "America/New_York", "hours": WEEKDAY_HOURS}, _at("2025-03-10T13:30"), None),
        # Out of office, both dates included, in the member's own calendar.
        ({"out_of_office": [{"from": "2025-03-12", "to": "2025-03-14"}]}, NOW, "out_of_office"),
        ({"out_of_office": [{"from": "2025-03-01", "to": "2025-03-11"}]}, NOW, None),
        ({"out_of_office": [{"from": "2025-03-12", "to": "2025-03-12"}]}, NOW, "out_of_office"),
        # 23:30 UTC on the 12th is already the 13th in Tokyo, still the 12th in Los Angeles.
        ({"time_zone": "Asia/Tokyo", "out_of_office": [{"from": "2025-03-13", "to": "2025-03-20"}]},
         _at("2025-03-12T23:30"), "out_of_office"),
        ({"time_zone": "UTC", "out_of_office": [{"from": "2025-03-13", "to": "2025-03-20"}]},
         _at("2025-03-12T23:30"), None),
        ({"time_zone": "America/Los_Angeles",
          "out_of_office": [{"from": "2025-03-10", "to": "2025-03-12"}]},
         _at("2025-03-13T05:00"), "out_of_office"),
        ({"active": False}, NOW, "inactive"),
        # Inactive is reported before anything else.
        ({"active": False, "out_of_office": [{"from": "2025-03-12", "to": "2025-03-12"}]}, NOW,
         "inactive"),
    ],
)  # fmt: skip
def test_availability(member: dict[str, Any], now: datetime, reason: str | None) -> None:
    cfg = team_config([{"user": ANN, **member}])

    outcome = route_one(cfg, now=now)

    if reason is None:
        assert outcome.owner_id == ANN and not outcome.skipped
    else:
        assert outcome.owner_id == INTAKE_Q  # the default
        assert [s.reason.value for s in outcome.skipped] == [reason]


def test_team_hours_and_zone_apply_unless_a_member_sets_their_own() -> None:
    cfg = team_config(
        [ANN, {"user": BOB, "time_zone": "Europe/Berlin"}],
        time_zone="Asia/Tokyo",
        hours=WEEKDAY_HOURS,
    )

    outcome = route_one(cfg)

    assert outcome.owner_id == BOB
    assert outcome.skipped[0].detail == "wed 23:00 Asia/Tokyo is outside working hours"


@pytest.mark.parametrize(
    ("ref", "detail"),
    [(DAN, "not an active user"), ("ghost@example.com", "not an active user")],
)
def test_inactive_or_unknown_users_are_skipped(ref: str, detail: str) -> None:
    outcome = route_one(team_config([ref, BOB]))

    assert outcome.owner_id == BOB
    assert [(s.member, s.reason, s.detail) for s in outcome.skipped] == [
        (ref, SkipReason.INACTIVE, detail)
    ]


# -- skills ------------------------------------------------------------------------

SKILLED = [
    {"user": ANN, "skills": ["de", "en"]},
    {"user": BOB, "skills": ["EN"]},
    {"user": CAT, "skills": ["fr", "en", "enterprise"]},
]
LANGUAGE = [{"field": "Language__c", "values": {"German": "de", "Deutsch": "de"}}]


@pytest.mark.parametrize(
    ("language", "owners"),
    [
        ("German", ["ann", "ann"]),
        ("deutsch ", ["ann", "ann"]),
        ("en", ["ann", "bob"]),  # not in the map: the value is the skill
        ("English", [INTAKE_Q, INTAKE_Q]),  # nobody lists "english"
        (None, ["ann", "bob"]),  # blank: no requirement
        ("FR", ["cat", "cat"]),
    ],
)
def test_skills_from_lead_fields(language: str | None, owners: list[str]) -> None:
    cfg = team_config(SKILLED, skills_from=LANGUAGE)
    values = lead(Language__c=language)

    outcomes, _ = route_batch([(values, NEW)] * 2, ORG, cfg, RoutingSnapshot(), NOW)

    assert [named({str(o.owner_id): 1}).popitem()[0] for o in outcomes] == owners


def test_rule_skills_add_to_the_lead_s_and_skips_say_which_is_missing() -> None:
    cfg = config(
        rules=[{"name": "Big", "assign": {"team": "t"}, "skills": ["Enterprise"]}],
        teams={"t": {"members": SKILLED, "skills_from": LANGUAGE}},
    )

    outcome = route_one(cfg, lead(Language__c="English"))

    assert outcome.owner_id == INTAKE_Q
    assert {s.detail for s in outcome.skipped} == {
        "lacks skill(s) english, enterprise",
        "lacks skill(s) english",
    }
    assert route_one(cfg, lead(Language__c="fr")).owner_id == CAT


# -- overflow and default -------------------------------------------------------------

OVERFLOW = config(
    rules=[{"name": "EMEA", "assign": {"team": "a"}}],
    teams={
        "a": {"members": [{"user": ANN, "time_zone": "Asia/Tokyo", "hours": WEEKDAY_HOURS}],
              "overflow": "b"},
        "b": {"members": [{"user": BOB, "cap": 1}], "overflow": "c"},
        "c": {"members": [{"user": CAT,
                           "out_of_office": [{"from": "2025-03-01", "to": "2025-03-31"}]}]},
    },
)  # fmt: skip


def test_overflow_walks_the_chain_then_the_default() -> None:
    first = route_one(OVERFLOW)
    assert (first.owner_id, first.team, first.rule) == (BOB, "b", "EMEA")
    assert [s.member for s in first.skipped] == [ANN]

    second = route_one(OVERFLOW, state=RoutingSnapshot().apply(first.delta))
    assert (second.owner_id, second.team, second.rule, second.assignee) == (
        INTAKE_Q,
        None,
        "EMEA",
        "default",
    )
    assert [(s.team, s.reason.value) for s in second.skipped] == [
        ("a", "out_of_hours"),
        ("b", "at_capacity"),
        ("c", "out_of_office"),
    ]
    assert second.delta == RoutingDelta()  # a queue has no load and nobody was picked


def test_no_matching_rule_gives_the_default_owner() -> None:
    cfg = config(
        rules=[
            {
                "name": "Germany",
                "criteria": [{"field": "Country", "operator": "equals", "value": "DE"}],
                "assign": {"queue": "EMEA Sales"},
            }
        ],
        default={"user": "eve@example.com"},
    )

    assert route_one(cfg, lead(Country="de")).owner_id == EMEA_Q
    outcome = route_one(cfg, lead(Country="US"))
    assert (outcome.owner_id, outcome.rule, outcome.assignee) == (EVE, "default", "default")
    assert outcome.delta == RoutingDelta(loads={EVE: 1})


def test_a_default_the_org_lacks_is_a_problem_not_an_owner() -> None:
    cfg = config(default={"queue": "Gone Queue"})

    outcome = route_one(cfg)

    assert outcome.routed and outcome.owner_id is None
    assert outcome.problem == "default owner queue 'Gone Queue' is not an active user or Lead queue"


# -- named assignees -------------------------------------------------------------------


def _first_then_team(assign: Any) -> Any:
    return config(
        rules=[{"name": "First", "assign": assign}, {"name": "Team", "assign": {"team": "t"}}],
        teams={"t": {"members": [FAY]}},
    )


@pytest.mark.parametrize(
    ("assign", "facts", "owner", "note"),
    [
        ("account_owner", LeadFacts(True, None, EVE), EVE, "matched: account owner " + EVE),
        ("account_owner", LeadFacts(True, None, DAN), FAY,
         f"matched, but the account's owner {DAN} is not an active user: next rule"),
        ("account_owner", NEW, FAY, "matched, but no matched account: next rule"),
        ("contact_owner", LeadFacts(True, None, EVE, BOB), BOB, "matched: contact owner " + BOB),
        ("contact_owner", LeadFacts(True, None, EVE), FAY,
         "matched, but no matched contact: next rule"),
        ({"user": "Bob@Example.com"}, NEW, BOB, "matched: user " + BOB),
        ({"user": BOB[:15]}, NEW, BOB, "matched: user " + BOB),
        ({"user": "dan@example.com"}, NEW, FAY,
         "matched, but user 'dan@example.com' is not an active user: next rule"),
        ({"queue": "emea sales"}, NEW, EMEA_Q, "matched: queue " + EMEA_Q),
        ({"queue": "Nope"}, NEW, FAY, "matched, but queue 'Nope' is not a Lead queue: next rule"),
    ],
)  # fmt: skip
def test_named_assignees(assign: Any, facts: LeadFacts, owner: str, note: str) -> None:
    outcome = route_one(_first_then_team(assign), facts=facts)

    assert outcome.owner_id == owner
    assert outcome.steps[1].rule == "Rule First"
    assert outcome.steps[1].detail == note


def test_keep_owner_routes_without_changing_the_owner() -> None:
    cfg = config(rules=[{"name": "Partners", "assign": "keep_owner"}])

    outcome = route_one(cfg)

    assert outcome.routed and outcome.owner_id is None and outcome.rule == "Partners"
    assert outcome.delta == RoutingDelta()


def test_territories_by_country_state_and_postal_code() -> None:
    country = {"field": "Country", "operator": "in", "value": ["US", "USA"]}
    state = {"field": "State", "operator": "in", "value": ["CA", "OR", "WA"]}
    postal = {"field": "PostalCode", "operator": "between", "value": ["90000", "96199"]}
    cfg = config(
        rules=[
            {"name": "West", "criteria": [country, state, postal], "filter_logic": "1 AND (2 OR 3)",
             "assign": {"user": ANN}},
            {"name": "Rest of US", "criteria": [country], "assign": {"user": BOB}},
        ],
    )  # fmt: skip

    cases = [
        (lead(Country="USA", State="ca"), ANN),
        (lead(Country="US", PostalCode="94105-1234"), ANN),
        (lead(Country="US", State="NY", PostalCode="10001"), BOB),
        (lead(Country="US", PostalCode="96200"), BOB),
        (lead(Country="DE", State="CA"), INTAKE_Q),
    ]
    assert [route_one(cfg, values).owner_id for values, _ in cases] == [o for _, o in cases]


# -- which leads are routed -------------------------------------------------------------


@pytest.mark.parametrize(
    ("owner", "creator", "facts", "need"),
    [
        (INTAKE_Q, INTEGRATION, NEW, Need.INTAKE),
        (INTAKE_Q[:15], BOB, LeadFacts(False, ANN), Need.INTAKE),  # a person put it back
        (INTEGRATION, INTEGRATION, LeadFacts(False), Need.INTEGRATION),
        (BOB, INTEGRATION, NEW, Need.NEW),  # e.g. the org's own assignment rule set it
        (BOB, BOB, NEW, Need.MANUAL),  # a rep entered a lead for themselves
        (BOB, None, NEW, Need.NEW),
        (BOB, INTEGRATION, LeadFacts(False), Need.MANUAL),  # seen before, never routed by us
        (BOB, INTEGRATION, LeadFacts(False, ANN), Need.MANUAL),  # we gave it to ann; moved by hand
        (ANN, INTEGRATION, LeadFacts(False, ANN), Need.ROUTED),
        (ANN[:15], INTEGRATION, LeadFacts(False, ANN), Need.ROUTED),
    ],
)
def test_which_leads_are_routed(
    owner: str, creator: str | None, facts: LeadFacts, need: Need
) -> None:
    cfg = team_config(ABC)

    outcome = route_one(cfg, lead(OwnerId=owner, CreatedById=creator), facts)

    assert outcome.need is need
    assert outcome.routed is (need in (Need.NEW, Need.INTAKE, Need.INTEGRATION))
    if not outcome.routed:
        assert outcome.owner_id is None and outcome.delta == RoutingDelta()


REROUTE = config(
    rules=[
        {"name": "DE", "criteria": [{"field": "Country", "operator": "equals", "value": "DE"}],
         "assign": {"team": "de"}, "reroute": True},
        {"name": "US", "criteria": [{"field": "Country", "operator": "equals", "value": "US"}],
         "assign": {"team": "us"}},
    ],
    teams={"de": {"members": [CAT, FAY]}, "us": {"members": [ANN, BOB]}},
)  # fmt: skip


@pytest.mark.parametrize(
    ("country", "owner", "facts", "need", "new_owner"),
    [
        # sfsync gave it to ann (US); the lead moved to Germany: routed again, ann holds one fewer.
        ("DE", ANN, LeadFacts(False, ANN), Need.REROUTE, CAT),
        # Already with a member of the DE team: no churn.
        ("DE", FAY, LeadFacts(False, FAY), Need.ROUTED, None),
        # The US rule does not re-route.
        ("US", CAT, LeadFacts(False, CAT), Need.ROUTED, None),
        # A person moved it: never re-routed, whatever the rule says.
        ("DE", ANN, LeadFacts(False, BOB), Need.MANUAL, None),
        # The owner sfsync chose has left: re-routed even within the team.
        ("DE", DAN, LeadFacts(False, DAN), Need.REROUTE, CAT),
    ],
)
def test_reroute_only_what_sfsync_routed_and_what_no_longer_fits(
    country: str, owner: str, facts: LeadFacts, need: Need, new_owner: str | None
) -> None:
    outcome = route_one(REROUTE, lead(Country=country, OwnerId=owner), facts)

    assert (outcome.need, outcome.owner_id) == (need, new_owner)
    if need is Need.REROUTE and owner == ANN:
        assert outcome.delta.loads == {CAT: 1, ANN: -1}


def test_outcome_explains_itself() -> None:
    cfg = team_config([DAN, {"user": ANN, "cap": 0}, BOB], "weighted_round_robin")

    outcome = route_one(cfg)

    assert [(c.rule, c.detail) for c in outcome.steps] == [
        ("Routing", "owned by an intake owner"),
        ("Team t", f"weighted_round_robin: {BOB} of 1 available member(s)"),
    ]
    assert [(s.member, s.reason.value) for s in outcome.skipped] == [
        (DAN, "inactive"),
        (ANN, "at_capacity"),
    ]


def test_route_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        route_one(team_config(ABC), now=datetime(2025, 3, 12, 14, 0))


def test_route_is_deterministic() -> None:
    cfg = team_config([{"user": ANN, "weight": 3}, BOB, CAT], "weighted_round_robin")
    state = RoutingSnapshot(credits={("t", ANN): -2, ("t", BOB): 1, ("t", CAT): 1})

    assert route_one(cfg, state=state) == route_one(cfg, state=state)


def test_an_org_without_the_integration_user_still_routes_intake() -> None:
    org = RoutingOrg(users=ORG.users, queues=ORG.queues)

    assert route_one(team_config(ABC), org=org).owner_id == ANN
