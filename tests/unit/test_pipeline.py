"""decide(): the changes sfsync may make to one lead, "humans win", and the input hash.

These tests use the shipped scoring and fields alone (no enrichment, grading
or lifecycle), so the score oracle is `score_lead`; the whole chain is
tested in test_pipeline_rules.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sfsync.mappings import load_rules
from sfsync.models import Lead
from sfsync.rules.pipeline import (
    HUMAN_OVERRIDE,
    FieldsConfig,
    RuleSet,
    decide,
    input_hash,
    same_value,
)
from sfsync.rules.score import score_lead

RULES = dataclasses.replace(
    load_rules(Path(__file__).resolve().parents[2] / "mappings"),
    enrichment=None,
    enrichment_data=None,
    grading=None,
    lifecycle=None,
)
SCORE, RATING, REASON = "Lead_Score__c", "Rating", "Score_Reason__c"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
STAMP = datetime(2024, 5, 1, 11, 59, 30, tzinfo=UTC)
INPUTS = {
    "FirstName": "Ada",
    "LastName": "Lovelace",
    "Company": "Analytical Engines Ltd",
    "Title": "CTO",
    "LeadSource": "Web",
    "Industry": "Technology",
    "NumberOfEmployees": 500,
    "Country": "United Kingdom",
    "Email": "ada@engines.example",
}


def lead(managed: Mapping[str, Any] | None = None, **flags: Any) -> Lead:
    values = {**INPUTS, **(managed or {})}
    return Lead("00Q000000000001AAA", STAMP, values, **flags)


def wanted(rules: RuleSet = RULES) -> dict[str, Any]:
    outcome = score_lead(INPUTS, rules.scoring)
    return {SCORE: outcome.score, RATING: outcome.rating, REASON: outcome.reason()}


WANT = wanted()
OTHER_RATING = next(r for r in ("Hot", "Warm", "Cold") if r != WANT[RATING])


def test_the_example_lead_scores_something() -> None:
    assert WANT[SCORE] > 0 and WANT[RATING] and WANT[REASON].startswith("Score ")


@pytest.mark.parametrize(
    ("managed", "last_written", "changed", "skipped"),
    [
        # a new lead: every managed field is blank
        ({}, {}, {SCORE, RATING, REASON}, set()),
        ({SCORE: None, RATING: "", REASON: None}, {}, {SCORE, RATING, REASON}, set()),
        # already holds the wanted values (45 equals 45.0): nothing to do
        (WANT, {}, set(), set()),
        ({**WANT, SCORE: int(WANT[SCORE])}, WANT, set(), set()),
        # a person set the rating: it is theirs
        ({**WANT, RATING: OTHER_RATING}, {}, set(), {RATING}),
        ({RATING: OTHER_RATING}, {}, {SCORE, REASON}, {RATING}),
        ({RATING: OTHER_RATING}, {RATING: "Something else"}, {SCORE, REASON}, {RATING}),
        ({SCORE: 3, REASON: "set by hand"}, {SCORE: 4}, {RATING}, {SCORE, REASON}),
        # the org still holds what sfsync last wrote: sfsync may change it
        ({RATING: OTHER_RATING}, {RATING: OTHER_RATING}, {SCORE, RATING, REASON}, set()),
        ({SCORE: 3}, {SCORE: 3.0}, {SCORE, RATING, REASON}, set()),
        # last written but the person cleared it: handed back
        ({RATING: ""}, {RATING: OTHER_RATING}, {SCORE, RATING, REASON}, set()),
    ],
)
def test_decide_humans_win(
    managed: dict[str, Any], last_written: dict[str, Any], changed: set[str], skipped: set[str]
) -> None:
    decision = decide(lead(managed), RULES, last_written, NOW)
    assert set(decision.changes) == changed
    assert {name: WANT[name] for name in changed} == dict(decision.changes)
    assert dict(decision.skipped) == dict.fromkeys(skipped, HUMAN_OVERRIDE)
    for name in skipped:
        assert name not in decision.changes


def test_decision_carries_its_context() -> None:
    decision = decide(lead(), RULES, {}, NOW)
    assert decision.lead_id == "00Q000000000001AAA"
    assert decision.base_stamp == STAMP
    assert decision.rules_version == RULES.version
    assert decision.input_hash == input_hash(lead(), RULES)
    assert {k: decision.summary[k] for k in ("score", "rating", "decided_at")} == {
        "score": WANT[SCORE],
        "rating": WANT[RATING],
        "decided_at": NOW.isoformat(),
    }
    context = {k: decision.summary[k] for k in ("owner", "status", "source")}
    assert context == {
        k: INPUTS.get(f)
        for k, f in (("owner", "OwnerId"), ("status", "Status"), ("source", "LeadSource"))
    }
    assert [c.rule for c in decision.reasons if c.part == "score"] == [
        c.rule for c in score_lead(INPUTS, RULES.scoring).contributions
    ]
    assert [c.rule for c in decision.reasons if c.part != "score"] == [f"Rating {WANT[RATING]}"]


@pytest.mark.parametrize(
    ("flags", "state"),
    [
        ({"is_deleted": True}, "deleted"),
        ({"is_converted": True}, "converted"),
        ({"is_deleted": True, "is_converted": True}, "deleted"),
    ],
)
def test_deleted_and_converted_leads_are_never_written(flags: dict[str, bool], state: str) -> None:
    decision = decide(lead(**flags), RULES, {}, NOW)
    assert dict(decision.changes) == {}
    assert decision.summary == {"skipped": state}
    assert decision.patch_hash == decide(lead(WANT), RULES, {}, NOW).patch_hash


def with_fields(**update: Any) -> RuleSet:
    fields = FieldsConfig.model_validate({**RULES.fields.model_dump(), **update})
    return dataclasses.replace(RULES, fields=fields)


@pytest.mark.parametrize(
    "write",
    [(SCORE,), (SCORE, REASON), (SCORE, RATING), (SCORE, "Status")],
)
def test_only_fields_listed_under_write_change(write: tuple[str, ...]) -> None:
    rules = with_fields(write=write)
    decision = decide(lead(), rules, {}, NOW)
    assert set(decision.changes) == {SCORE, RATING, REASON} & set(write)
    assert set(decision.skipped) <= set(write)


@pytest.mark.parametrize("limit", [10, 20, 40])
def test_reason_truncated_to_the_field_length(limit: int) -> None:
    assert len(WANT[REASON]) > limit
    decision = decide(lead(), with_fields(max_lengths={REASON: limit}), {}, NOW)
    reason = decision.changes[REASON]
    assert len(reason) == limit
    assert reason.endswith("…")
    assert WANT[REASON].startswith(reason[:-1])


def test_input_hash_ignores_managed_fields() -> None:
    base = input_hash(lead(), RULES)
    assert input_hash(lead(WANT), RULES) == base
    assert input_hash(lead({SCORE: 1, RATING: "Hot", REASON: "x"}), RULES) == base
    assert input_hash(lead({"Description": "not read by any rule"}), RULES) == base


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Title", "Intern"),
        ("Title", None),
        ("LeadSource", "Trade Show"),
        ("NumberOfEmployees", 501),
        ("Email", "ada@gmail.com"),
        ("Country", "France"),
        ("Status", "Working - Contacted"),
    ],
)
def test_input_hash_changes_with_an_input(name: str, value: Any) -> None:
    changed = Lead("00Q000000000001AAA", STAMP, {**INPUTS, name: value})
    assert input_hash(changed, RULES) != input_hash(lead(), RULES)


def test_input_hash_ignores_value_order() -> None:
    reordered = Lead("00Q000000000001AAA", STAMP, dict(reversed(list(INPUTS.items()))))
    assert input_hash(reordered, RULES) == input_hash(lead(), RULES)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (None, None, True),
        (None, "", True),
        ("", None, True),
        ("", "", True),
        (45, 45.0, True),
        (45.0, 45, True),
        (0, 0.0, True),
        (1.5, 1.5, True),
        ("Hot", "Hot", True),
        (45, "45", False),
        ("45", 45.0, False),
        ("Hot", "hot", False),
        ("Hot", "Hot ", False),
        (0, None, False),
        (0, "", False),
        (None, "Hot", False),
        (45, 45.5, False),
    ],
)
def test_same_value(a: Any, b: Any, same: bool) -> None:
    assert same_value(a, b) is same
    assert same_value(b, a) is same
