"""The comparison itself: each broken promise is named, live runs are judged more loosely."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest

from tests.reliability.promises import Observation, WriteKey, check

LEAD, OTHER = "00Q0A0000000001AAA", "00Q0A0000000002AAA"
SCORED = (55.0, "Warm", "Score 55", False, False)


def write(lead: str, operation: str = "update", **changes: Any) -> WriteKey:
    return (lead, operation, json.dumps(changes, sort_keys=True))


REFERENCE = Observation(
    state={LEAD: SCORED, OTHER: (10.0, "Cold", "Score 10", False, True)},
    writes=Counter([write(LEAD, Lead_Score__c=55.0), write(OTHER, Lead_Score__c=10.0)]),
    converts=Counter(),
    written_after_delete=[],
    dead=frozenset(),
)


def test_the_same_observation_keeps_every_promise() -> None:
    assert check(REFERENCE, REFERENCE) == []
    twice = replace(REFERENCE, writes=REFERENCE.writes + Counter([write(LEAD, Lead_Score__c=55.0)]))
    assert check(REFERENCE, twice) == [] and twice.repeats == 1


@pytest.mark.parametrize(
    ("troubled", "named"),
    [
        (replace(REFERENCE, state={**REFERENCE.state, LEAD: (40.0, *SCORED[1:])}), "values"),
        (replace(REFERENCE, writes=Counter([write(OTHER, Lead_Score__c=10.0)])), "lost write"),
        (
            replace(REFERENCE, writes=REFERENCE.writes + Counter([write(LEAD, Rating="Hot")])),
            "foreign write",
        ),
        (replace(REFERENCE, converts=Counter({LEAD: 2})), "converted twice"),
        (replace(REFERENCE, written_after_delete=[OTHER]), "written after delete"),
        (replace(REFERENCE, dead=frozenset({(LEAD, "STRING_TOO_LONG")})), "dead letter"),
    ],
)
def test_each_broken_promise_is_named(troubled: Observation, named: str) -> None:
    problems = check(REFERENCE, troubled)
    assert problems and all(p.promise == named for p in problems), problems


def test_a_live_run_may_skip_states_but_not_invent_values() -> None:
    deleted_unscored = {**REFERENCE.state, OTHER: (None, None, None, False, True)}
    skipped = replace(
        REFERENCE, state=deleted_unscored, writes=Counter([write(LEAD, Lead_Score__c=55.0)])
    )
    assert check(REFERENCE, skipped, exact=False) == []
    assert check(REFERENCE, skipped, exact=True)
    invented = replace(REFERENCE, writes=Counter([write(LEAD, Lead_Score__c=60.0)]))
    assert [str(p) for p in check(REFERENCE, invented, exact=False)] == [
        f"foreign write: {LEAD} update Lead_Score__c=60.0"
    ]
    raced = replace(REFERENCE, dead=frozenset({(OTHER, "ENTITY_IS_DELETED")}))
    assert check(REFERENCE, raced, exact=False) == []
