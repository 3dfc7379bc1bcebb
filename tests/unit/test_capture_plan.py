"""Capture's planning: duplicate groups, new leads decided, owners chosen before the lead exists."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from sfsync.jobs.capture_plan import (
    Target,
    Valid,
    account_owners,
    duplicates,
    fill_empty,
    label,
    new_lead,
)
from sfsync.jobs.capture_route import (
    NOT_ROUTED,
    SENTINEL,
    bind,
    decode_delta,
    encode_delta,
    negate,
    route_new,
)
from sfsync.mappings import load_rules
from sfsync.routing_state import RoutingDelta, RoutingSnapshot
from sfsync.rules.matching import Match
from sfsync.rules.routing_followup import routing_key
from tests.unit.routing_kit import ANN, BOB, CAT, NOW, ORG, team_config

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
RULES = load_rules(MAPPINGS)


def valid(index: int, **values: Any) -> Valid:
    base = {"LastName": f"L{index}", "Company": f"C{index}"}
    return Valid(index, f"src:hash:{index + 2}", "src", {**base, **values})


def match(lead: int, record: str, sobject: str = "Lead", *, batch: bool = False,
          confidence: float = 1.0, owner: str | None = None) -> Match:  # fmt: skip
    return Match(f"capture{lead}", record, sobject, "standard_person", confidence, (),
                 owner_id=owner, same_batch=batch)  # fmt: skip


def test_candidates_matching_each_other_form_one_group_led_by_the_first() -> None:
    batch = [valid(i) for i in range(5)]
    found = duplicates(batch, {
        "capture0": [match(0, "capture3", batch=True)],
        "capture3": [match(3, "capture0", batch=True), match(3, "capture4", batch=True)],
        "capture4": [match(4, "capture3", batch=True)],
    })  # fmt: skip
    assert found == {
        3: Target("Lead", None, 0, "standard_person", 1.0),
        4: Target("Lead", None, 0, "standard_person", 1.0),
    }


def test_a_group_with_an_org_match_is_that_record_and_contacts_win_ties() -> None:
    batch = [valid(i) for i in range(3)]
    found = duplicates(batch, {
        "capture0": [match(0, "capture2", batch=True)],
        "capture1": [match(1, "00Qlead", confidence=0.9), match(1, "003contact", "Contact",
                                                                    confidence=0.9)],
        "capture2": [match(2, "capture0", batch=True), match(2, "00Qother", confidence=0.8),
                     match(2, "001acct", "Account", owner=ANN)],
    })  # fmt: skip
    assert found[1] == Target("Contact", "003contact", None, "standard_person", 0.9)
    # 2 matches the org itself; 0, its group's first, duplicates that same record.
    assert found[2].record_id == found[0].record_id == "00Qother"


def test_accounts_are_not_duplicates_but_give_their_owner() -> None:
    matches = {"capture0": [match(0, "001a", "Account", owner=BOB),
                            match(0, "001b", "Account", owner=CAT, confidence=0.5)]}  # fmt: skip
    assert duplicates([valid(0)], matches) == {}
    assert account_owners(matches) == {"capture0": BOB}


def test_labels_name_spreadsheet_rows_and_keep_other_keys() -> None:
    assert label("broker:abc:17") == "row 17"
    assert label("form-1234") == "form-1234"
    target = Target("Lead", None, 0, "standard_person")
    assert target.describe({0: "broker:abc:2"}) == (
        "same person as row 2 earlier in this batch (standard_person)"
    )


def test_later_duplicates_fill_only_the_first_ones_empty_fields() -> None:
    assert fill_empty({"Title": "", "Phone": "1"}, {"Title": "CTO", "Phone": "2", "City": ""}) == {
        "Title": "CTO"
    }
    first = valid(0, Email="ada@engines.example.com")
    later = [valid(1, Title="CTO", Email="x@y.example.com"), valid(2, Title="CEO", City="Bonn")]
    lead = new_lead(first, later, RULES, NOW, fill=True)
    assert lead.values["Title"] == "CTO" and lead.values["City"] == "Bonn"
    assert lead.values["Email"] == "ada@engines.example.com"
    assert dict(lead.filled_from) == {"Title": "src:hash:3", "City": "src:hash:4"}
    assert "Title" not in new_lead(first, later, RULES, NOW, fill=False).values


def test_a_new_lead_is_created_with_what_the_rules_decided() -> None:
    lead = new_lead(valid(0, Email="cto@bigcorp.example.com", Title="CTO", NumberOfEmployees=5000),
                    [], RULES, NOW, fill=True)  # fmt: skip
    assert lead.values["Lead_Score__c"] == lead.decision.changes["Lead_Score__c"]
    assert set(lead.decision.changes) <= RULES.allowed
    assert lead.decision.lead_id == "capture0"


ROUTED = dataclasses.replace(
    RULES,
    routing=team_config([ANN, BOB, CAT], sla={"subject": "Call {LastName}", "due_in": "2h"}),
    routing_org=ORG,
)


def test_new_leads_get_owners_in_turn_and_a_memory_bound_to_their_id_later() -> None:
    leads = [new_lead(valid(i), [], ROUTED, NOW, fill=True) for i in range(4)]
    leads[2] = dataclasses.replace(leads[2], values={**leads[2].values, "OwnerId": CAT})
    routed, total = route_new(leads, ROUTED, RoutingSnapshot(), NOW, {})
    assert [r.owner for r in routed] == [ANN, BOB, None, CAT]
    assert routed[2] == NOT_ROUTED  # the row named its owner: a person's choice stands
    assert total.picks == {"t": 3} and total.loads == {ANN: 1, BOB: 1, CAT: 1}
    memory = routed[0].memory
    assert memory is not None and memory["changes_owner"] is False and memory["routed"]
    assert memory["sla_task"]["values"]["WhoId"] == SENTINEL
    bound = bind(json.loads(json.dumps(memory)), "00Q000000000123AAA")
    assert bound is not None
    assert bound["sla_task"]["values"]["WhoId"] == "00Q000000000123AAA"
    assert bound["sla_task"]["key"] == routing_key(
        "00Q000000000123AAA", _outcome(ANN, "All"), NOW, "sla"
    )
    assert SENTINEL not in json.dumps(bound)
    assert bind(None, "x") is None


def _outcome(owner: str, rule: str) -> Any:
    from sfsync.rules.routing import Need, RoutingOutcome

    return RoutingOutcome(True, owner, Need.NEW, rule=rule)


def test_without_routing_yaml_or_a_writable_owner_nothing_is_routed() -> None:
    leads = [new_lead(valid(0), [], RULES, NOW, fill=True)]
    no_routing = dataclasses.replace(RULES, routing=None)
    assert route_new(leads, no_routing, RoutingSnapshot(), NOW, {})[0] == [NOT_ROUTED]
    write = [f for f in ROUTED.fields.write if f != "OwnerId"]
    fields = ROUTED.fields.model_copy(update={"write": write})
    unwritable = dataclasses.replace(ROUTED, fields=fields)
    assert route_new(leads, unwritable, RoutingSnapshot(), NOW, {})[0] == [NOT_ROUTED]


@pytest.mark.parametrize(
    "delta",
    [
        RoutingDelta(),
        RoutingDelta(
            credits={("t", ANN): -2, ("t", BOB): 1},
            assigned={("t", ANN): 1},
            loads={ANN: 1},
            picks={"t": 1},
        ),
    ],
)
def test_a_turn_survives_json_and_is_given_back_exactly(delta: RoutingDelta) -> None:
    restored = decode_delta(json.loads(json.dumps(encode_delta(delta))))
    assert restored == delta
    assert delta.merge(negate(delta)).empty
    snapshot = RoutingSnapshot(credits={("t", ANN): 3}, loads={ANN: 4})
    back = snapshot.apply(delta).apply(negate(delta))
    assert {k: v for k, v in back.credits.items() if v} == snapshot.credits
    assert {k: v for k, v in back.loads.items() if v} == snapshot.loads
    assert not any(back.assigned.values()) and not any(back.picks.values())
