"""Routing a page of decisions (jobs.route_page): who is routed, what is kept, which loads move."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sfsync.jobs.route_page import PageRouter, PriorRouting
from sfsync.mappings import load_rules
from sfsync.models import Decision, Lead
from sfsync.routing_state import RoutingSnapshot
from sfsync.rules.routing_config import RoutingConfig
from sfsync.rules.routing_facts import OrgUser, RoutingOrg
from sfsync.rules.ruleset import RuleSet

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
STAMP = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)
INTAKE, NURTURE = "00G000000000001AAA", "00G000000000002AAA"
ANNA, BEN, GONE, ME, REP = (f"00500000000000{n}AAA" for n in range(1, 6))
ORG = RoutingOrg(
    users=(
        OrgUser(ANNA, "anna@x.test", True, "Anna"),
        OrgUser(BEN, "ben@x.test", True, "Ben"),
        OrgUser(GONE, "gone@x.test", False, "Gone"),
        OrgUser(ME, "integration@x.test", True, "Integration"),
        OrgUser(REP, "rep@x.test", True, "Rep"),
    ),
    queues={"Lead Intake": INTAKE, "Marketing Nurture": NURTURE},
    integration_user_id=ME,
)
CONFIG = {
    "intake": ["Lead Intake"],
    "default": {"queue": "Lead Intake"},
    "rules": [{"name": "All", "assign": {"team": "reps"}}],
    "teams": {"reps": {"members": [{"user": ANNA}, {"user": BEN}]}},
    "sla": {"subject": "Call {LastName}", "due_in": "1h"},
}


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    loaded = load_rules(MAPPINGS)
    return dataclasses.replace(
        loaded, routing=RoutingConfig.model_validate(CONFIG), routing_org=ORG
    )


def lead(n: int, owner: str, **extra: Any) -> Lead:
    values = {
        "OwnerId": owner,
        "CreatedById": REP,
        "LastName": f"L{n}",
        "CreatedDate": "2026-11-25T13:00:00.000+0000",
    }
    return Lead(f"00Q00000000000{n}AAA", STAMP, {**values, **extra.pop("values", {})}, **extra)


def decision(item: Lead, **changes: Any) -> Decision:
    return Decision(item.id, STAMP, "h", "v", changes, summary={"facts": {}})


def route(
    rules: RuleSet,
    leads: list[Lead],
    prior: dict[str, PriorRouting] | None = None,
    *,
    first_pull: bool = False,
    changes: dict[str, dict[str, Any]] | None = None,
    snapshot: RoutingSnapshot | None = None,
) -> Any:
    router = PageRouter(rules, ORG, {x.id: x for x in leads}, prior or {}, first_pull, NOW)
    found = [decision(x, **(changes or {}).get(x.id, {})) for x in leads]
    return router(found, snapshot or RoutingSnapshot())


def test_leads_waiting_in_intake_alternate_and_carry_a_task_and_their_creation(
    rules: RuleSet,
) -> None:
    page = route(rules, [lead(1, INTAKE), lead(2, INTAKE), lead(3, ME)])
    owners = [d.changes.get("OwnerId") for d in page.decisions]
    assert sorted(owners[:2]) == [ANNA, BEN] and owners[2] in (ANNA, BEN)
    first = page.decisions[0].summary
    assert first["routing"]["sla_task"]["values"]["Subject"] == "Call L1"
    assert first["created"] == "2026-11-25T13:00:00.000+0000"
    assert page.delta.loads == {ANNA: 2, BEN: 1} or page.delta.loads == {ANNA: 1, BEN: 2}
    assert {k: v.load_owner for k, v in page.leads.items()} == {
        d.lead_id: d.changes["OwnerId"] for d in page.decisions
    }


def test_a_new_lead_routes_but_not_on_the_first_pull_or_when_its_creator_owns_it(
    rules: RuleSet,
) -> None:
    other_rep_owned = lead(1, ANNA)  # entered by REP for ANNA: new, so routed
    assert route(rules, [other_rep_owned]).decisions[0].summary["routing"]["routed"] is True
    on_first_pull = route(rules, [other_rep_owned], first_pull=True).decisions[0]
    assert on_first_pull.changes == {} and on_first_pull.summary["routing"]["routed"] is False
    own = lead(2, REP)  # a rep entered it for themselves
    assert route(rules, [own]).decisions[0].changes == {}
    assert route(rules, [own]).decisions[0].summary["routing"] == {
        "need": "a person set its owner",
        "routed": False,
    }


def test_a_pending_routing_is_kept_without_a_second_turn(rules: RuleSet) -> None:
    waiting = lead(1, INTAKE)
    earlier = route(rules, [waiting]).decisions[0].summary["routing"]
    prior = {waiting.id: PriorRouting(earlier, earlier["owner"], {}, known=True)}

    again = route(rules, [waiting], prior)

    (kept,) = again.decisions
    assert kept.changes == {"OwnerId": earlier["owner"]}
    assert kept.summary["routing"]["pending"] is True
    assert kept.summary["routing"]["sla_task"] == earlier["sla_task"]  # the same Task key
    assert again.delta.empty and again.leads == {}


def test_a_landed_routing_that_a_person_moved_back_to_intake_routes_again(rules: RuleSet) -> None:
    waiting = lead(1, INTAKE)
    earlier = route(rules, [waiting]).decisions[0].summary["routing"]
    landed = {"OwnerId": earlier["owner"]}
    prior = {waiting.id: PriorRouting(earlier, earlier["owner"], landed, known=True)}
    again = route(rules, [waiting], prior)
    assert again.decisions[0].changes.get("OwnerId") in (ANNA, BEN)
    assert "pending" not in again.decisions[0].summary["routing"]


@pytest.mark.parametrize("state", ["converted", "deleted", "moved", "recycled"])
def test_a_lead_that_closed_or_moved_releases_its_load(rules: RuleSet, state: str) -> None:
    prior_routing = {"owner": ANNA, "changes_owner": True, "routed": True}
    owner = BEN if state == "moved" else ANNA
    extra: dict[str, Any] = {"is_converted": state == "converted", "is_deleted": state == "deleted"}
    item = lead(1, owner, **extra)
    prior = {item.id: PriorRouting(prior_routing, ANNA, {"OwnerId": ANNA}, known=True)}
    changes = {item.id: {"OwnerId": NURTURE}} if state == "recycled" else None

    page = route(rules, [item], prior, changes=changes)

    assert page.delta.loads == {ANNA: -1}
    assert page.leads[item.id].load_owner is None
    assert page.decisions[0].changes == ({"OwnerId": NURTURE} if state == "recycled" else {})


def test_a_lead_still_with_its_routed_owner_keeps_its_load(rules: RuleSet) -> None:
    item = lead(1, ANNA)
    prior = {
        item.id: PriorRouting(
            {"owner": ANNA, "changes_owner": True}, ANNA, {"OwnerId": ANNA}, known=True
        )
    }
    page = route(rules, [item], prior)
    assert page.delta.empty and page.decisions[0].changes == {}


def test_an_owner_field_not_under_write_is_reported_not_written(rules: RuleSet) -> None:
    fields = rules.fields.model_copy(
        update={"write": tuple(f for f in rules.fields.write if f != "OwnerId")}
    )
    narrow = dataclasses.replace(rules, fields=fields)
    (found,) = route(narrow, [lead(1, INTAKE)]).decisions
    assert "OwnerId" not in found.changes
    assert "not under 'write'" in found.skipped["OwnerId"]


def test_every_routing_step_is_an_explanation_line_of_the_routing_part(rules: RuleSet) -> None:
    (found,) = route(rules, [lead(1, INTAKE)]).decisions
    lines = [r for r in found.reasons if r.part == "routing"]
    assert lines and lines[0].detail == "owned by an intake owner"
    assert any(r.rule == "Team reps" for r in lines)


def missed_router(rules: RuleSet, item: Lead, prior: dict[str, PriorRouting]) -> Any:
    router = PageRouter(rules, ORG, {item.id: item}, prior, False, NOW, missed=frozenset({item.id}))
    return router([decision(item)], RoutingSnapshot())


def test_a_lead_left_untouched_past_its_sla_goes_to_someone_else(rules: RuleSet) -> None:
    item = lead(1, ANNA, values={"Status": "Open - Not Contacted"})
    routing = {
        "owner": ANNA,
        "changes_owner": True,
        "routed": True,
        "status": "Open - Not Contacted",
    }
    prior = {item.id: PriorRouting(routing, ANNA, {"OwnerId": ANNA}, known=True)}

    page = missed_router(rules, item, prior)

    (found,) = page.decisions
    assert found.changes == {"OwnerId": BEN}
    story = found.summary["routing"]
    assert story["need"] == "its owner left it untouched past the SLA"
    assert story["skipped"] == [
        {"team": "reps", "member": ANNA, "reason": "missed_sla", "detail": "missed the SLA"}
    ]
    assert page.delta.loads == {ANNA: -1, BEN: 1}


@pytest.mark.parametrize("worked", ["status", "owner"])
def test_a_lead_worked_before_its_sla_only_has_the_time_cleared(
    rules: RuleSet, worked: str
) -> None:
    status = "Working - Contacted" if worked == "status" else "Open - Not Contacted"
    item = lead(1, ANNA if worked == "status" else REP, values={"Status": status})
    routing = {"owner": ANNA, "changes_owner": True, "status": "Open - Not Contacted",
               "reroute_at": "2026-11-25T14:00:00+00:00"}  # fmt: skip
    prior = {item.id: PriorRouting(routing, ANNA, {"OwnerId": ANNA}, known=True)}

    page = missed_router(rules, item, prior)

    assert page.decisions[0].changes == {}
    assert page.leads[item.id].routing["reroute_at"] is None


def test_reroute_time_is_set_from_the_sla_for_users_only(rules: RuleSet) -> None:
    config = {**CONFIG, "sla": {"subject": "Call", "due_in": "1h", "reroute_after": "4h"}}
    timed = dataclasses.replace(rules, routing=RoutingConfig.model_validate(config))
    (found,) = route(timed, [lead(1, INTAKE, values={"Status": "Open - Not Contacted"})]).decisions
    assert found.summary["routing"]["reroute_at"] == "2026-11-25T19:00:00+00:00"
    assert found.summary["routing"]["status"] == "Open - Not Contacted"
