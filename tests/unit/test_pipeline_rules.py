"""decide() with the whole chain of the shipped mappings: enrich, score, behaviour, grade, status.

What each step contributes to the decision (its summary, its reasons, the
fields it writes), what people own, the engagement in the input hash, decay
by the day, the predictive-score hook, and that a decision made again on
the lead as sfsync left it changes nothing (no two-step convergence).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sfsync.mappings import load_rules
from sfsync.models import Contribution, Decision, Lead
from sfsync.rules.behavior import Engagement, EventKind
from sfsync.rules.chain import decay_day
from sfsync.rules.enrich import PERSON_VALUE
from sfsync.rules.grade import GradeTargets
from sfsync.rules.pipeline import HUMAN_OVERRIDE, UNKNOWN_QUEUE, decide, input_hash
from sfsync.rules.ruleset import RuleSet

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
QUEUE_ID = "00G000000000001AAA"
RULES = dataclasses.replace(load_rules(MAPPINGS), queue_ids={"Marketing Nurture": QUEUE_ID})
NOW = datetime(2025, 6, 1, 15, 30, tzinfo=UTC)
STAMP = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
OPEN, NURTURING, MQL = "Open - Not Contacted", "Nurturing", "Marketing Qualified"
WORKING, CLOSED = "Working - Contacted", "Closed - Not Converted"
SCORE, RATING, REASON, GRADE = "Lead_Score__c", "Rating", "Score_Reason__c", "Lead_Grade__c"
# A VP at a known German tech firm (sap.com is in the shipped firmographics), met at a trade
# show: 60 points of fit, short of the MQL's 70 until engagement adds to it.
FIT: dict[str, Any] = {
    "FirstName": "Ana",
    "LastName": "Roth",
    "Company": "SAP SE",
    "Email": "ana.roth@sap.com",
    "Title": "VP Sales",
    "Country": "Deutschland",
    "Phone": "030 1234567",
    "LeadSource": "Trade Show",
    "Status": OPEN,
    "OwnerId": "005000000000001AAA",
}
ENGAGED = [
    Engagement(EventKind.FORM_SUBMISSION, NOW - timedelta(days=1)),
    Engagement(EventKind.CAMPAIGN_RESPONSE, NOW - timedelta(days=3), "Webinar"),
    Engagement(EventKind.TASK, NOW - timedelta(days=2), "Call"),
]


def lead(**values: Any) -> Lead:
    return Lead("00Q000000000001AAA", STAMP, {**FIT, **values})


def after(decision: Decision, base: Lead) -> Lead:
    """The lead as the org holds it once the decision's writes landed."""
    return Lead(base.id, STAMP + timedelta(seconds=5), {**base.values, **decision.changes})


def test_an_engaged_good_fit_becomes_an_mql_with_every_step_explained() -> None:
    decision = decide(lead(), RULES, {}, NOW, ENGAGED)

    summary = decision.summary
    assert summary["status"] == MQL and summary["stage"] == "mql"
    assert summary["grade"] == "A+" and summary["rating"] == "Hot"
    assert summary["points_score"] == 60 and summary["behavior_score"] == 39
    assert summary["score"] == 99
    assert summary["owner"] == FIT["OwnerId"] and summary["source"] == "Trade Show"
    assert summary["facts"]["$company.industry"] == "Technology"
    changes = decision.changes
    assert changes["Status"] == MQL and changes[GRADE] == "A" and changes[RATING] == "Hot"
    assert changes["Country"] == "Germany" and changes["Phone"] == "+49301234567"
    assert changes["Industry"] == "Technology" and changes["NumberOfEmployees"] == 107000
    assert changes[REASON].startswith("Score 99, grade A+: Event or list source +5")
    parts = [r.part for r in decision.reasons]
    assert parts == sorted(parts, key=["enrichment", "score", "behavior", "grade",
                                       "rating", "status"].index)  # fmt: skip
    rules = {r.rule for r in decision.reasons}
    assert {"Fill Industry", "Webinar attended", "Form submitted", "Sales call"} <= rules
    assert {"Decision maker", "Grade A+", "Rating Hot", f"Status {MQL}"} <= rules
    assert decision.convert is not None  # conversion.yaml converts MQLs at once


@pytest.mark.parametrize(
    ("values", "events", "status", "stage", "grade"),
    [
        ({}, [], NURTURING, "nurture", "A+"),  # a good fit, not ready
        ({"Email": "spy@leadloop.io"}, ENGAGED, CLOSED, "disqualified", None),  # competitor
        ({"Title": "Student", "Company": "University of Bonn", "Email": "s@gmail.com"},
         ENGAGED, CLOSED, "disqualified", None),
        ({"LastName": "asdf", "Company": "test"}, [], CLOSED, "disqualified", None),
        ({"Title": "Intern", "Email": "kid@gmail.com", "Country": "Brazil", "Company": "Kid Co",
          "Phone": None}, [], OPEN, None, "F"),  # poor fit: nothing to do
        ({"Status": WORKING}, ENGAGED, WORKING, None, "A+"),  # sales own it: untouched
    ],
)  # fmt: skip
def test_lifecycle_outcomes(
    values: dict[str, Any], events: list[Engagement], status: str, stage: str | None,
    grade: str | None,
) -> None:  # fmt: skip
    decision = decide(lead(**values), RULES, {}, NOW, events)
    assert decision.summary["status"] == status
    assert decision.summary["stage"] == stage
    if grade is not None:
        assert decision.summary["grade"] == grade
    assert ("Status" in decision.changes) is (status != lead(**values).get("Status"))


def test_a_lead_a_person_closed_is_recycled_to_the_marketing_queue() -> None:
    closed = lead(Status=CLOSED)
    decision = decide(closed, RULES, {}, NOW)
    assert decision.changes["Status"] == NURTURING
    assert decision.changes["OwnerId"] == QUEUE_ID
    assert decision.summary["owner"] == QUEUE_ID
    # Engaged enough, it goes straight on to MQL: the next cycle has nothing left to do.
    engaged = decide(closed, RULES, {}, NOW, ENGAGED)
    assert (engaged.changes["Status"], engaged.changes["OwnerId"]) == (MQL, QUEUE_ID)
    # sfsync's own disqualification is not a person's hand-back: no recycling.
    assert "Status" not in decide(closed, RULES, {"Status": CLOSED}, NOW).changes


def test_an_unknown_recycling_queue_leaves_the_owner_alone_and_says_why() -> None:
    rules = dataclasses.replace(RULES, queue_ids={})
    decision = decide(lead(Status=CLOSED), rules, {}, NOW)
    assert "OwnerId" not in decision.changes
    assert decision.skipped["OwnerId"] == UNKNOWN_QUEUE.format("Marketing Nurture")


def test_a_queue_id_in_the_mappings_needs_no_lookup() -> None:
    lifecycle = RULES.lifecycle
    assert lifecycle is not None and lifecycle.recycle is not None
    recycle = lifecycle.recycle.model_copy(update={"owner_queue": "00G000000000009"})
    rules = dataclasses.replace(
        RULES, queue_ids={}, lifecycle=lifecycle.model_copy(update={"recycle": recycle})
    )
    assert decide(lead(Status=CLOSED), rules, {}, NOW).changes["OwnerId"] == "00G000000000009"


def test_people_win_over_fills_and_results_but_standard_forms_are_allowed() -> None:
    person = lead(Industry="Retail", Rating="Cold", Country="Deutschland")
    decision = decide(person, RULES, {}, NOW, ENGAGED)
    assert decision.skipped["Industry"] == PERSON_VALUE  # enrichment never replaces it
    assert decision.skipped[RATING] == HUMAN_OVERRIDE  # their rating wins
    assert decision.changes["Country"] == "Germany"  # the standard form of what they typed
    # Once sfsync wrote a value, it may refresh it.
    ours = decide(person, RULES, {RATING: "Cold"}, NOW, ENGAGED)
    assert ours.changes[RATING] == "Hot"


def test_fields_not_listed_under_write_are_never_changed() -> None:
    fields = RULES.fields.model_copy(update={"write": (SCORE, REASON)})
    decision = decide(lead(Status=CLOSED), dataclasses.replace(RULES, fields=fields), {}, NOW)
    assert set(decision.changes) == {SCORE, REASON}
    assert decision.summary["status"] == CLOSED  # where the lead stays


def test_the_reason_is_cut_to_the_fields_length() -> None:
    fields = RULES.fields.model_copy(update={"max_lengths": {REASON: 30}})
    reason = decide(lead(), dataclasses.replace(RULES, fields=fields), {}, NOW).changes[REASON]
    assert len(reason) == 30 and reason.endswith("…") and reason.startswith("Score ")


def test_a_behaviour_score_field_takes_the_behaviour_out_of_the_score() -> None:
    grading = RULES.grading
    assert grading is not None
    targets = GradeTargets(grade=GRADE, rating=RATING, behavior_score="Behavior_Score__c")
    fields = RULES.fields.model_copy(update={"write": (*RULES.fields.write, "Behavior_Score__c")})
    rules = dataclasses.replace(
        RULES, grading=grading.model_copy(update={"targets": targets}), fields=fields
    )
    together = decide(lead(), RULES, {}, NOW, ENGAGED)
    apart = decide(lead(), rules, {}, NOW, ENGAGED)
    assert apart.changes["Behavior_Score__c"] == together.summary["behavior_score"]
    assert apart.changes[SCORE] == together.summary["points_score"]
    assert apart.summary["score"] == together.summary["score"]  # the rating still sees both


def test_without_grading_ratings_the_scoring_rating_applies() -> None:
    grading = RULES.grading
    assert grading is not None
    rules = dataclasses.replace(RULES, grading=grading.model_copy(update={"ratings": ()}))
    decision = decide(lead(), rules, {}, NOW)
    assert decision.summary["rating"] == "Hot"  # scoring.yaml: 60 and up is Hot


def test_decay_moves_the_score_once_a_day() -> None:
    events = [Engagement(EventKind.CAMPAIGN_RESPONSE, NOW - timedelta(days=5), "Webinar")]
    today = decide(lead(), RULES, {}, NOW, events).summary["behavior_score"]
    later_today = decide(lead(), RULES, {}, NOW + timedelta(hours=8), events)
    month_on = decide(lead(), RULES, {}, NOW + timedelta(days=30), events)
    assert later_today.summary["behavior_score"] == today  # same day, same score
    assert month_on.summary["behavior_score"] == pytest.approx(today / 2, abs=0.2)
    assert decay_day(NOW) == datetime(2025, 6, 1, tzinfo=UTC)


def test_engagement_is_part_of_the_input_hash() -> None:
    plain = input_hash(lead(), RULES)
    assert input_hash(lead(), RULES, []) == plain
    engaged = input_hash(lead(), RULES, ENGAGED)
    assert engaged != plain
    assert input_hash(lead(), RULES, list(reversed(ENGAGED))) == engaged  # order-free
    assert input_hash(lead(), RULES, ENGAGED[:2]) != engaged
    assert decide(lead(), RULES, {}, NOW, ENGAGED).input_hash == engaged


@pytest.mark.parametrize("name", ["Country", "Status", "Industry", "Phone", "Email", "Title"])
def test_inputs_sfsync_may_rewrite_still_count_in_the_hash(name: str) -> None:
    assert input_hash(lead(**{name: "something else"}), RULES) != input_hash(lead(), RULES)


@pytest.mark.parametrize("name", [SCORE, RATING, REASON, GRADE])
def test_results_do_not_count_in_the_hash(name: str) -> None:
    assert input_hash(lead(**{name: "anything"}), RULES) == input_hash(lead(), RULES)


def test_extra_contributions_join_the_score_and_the_story() -> None:
    extra = [Contribution("Predictive score", 12.0, "41 % likely to convert")]
    plain = decide(lead(Title="Analyst"), RULES, {}, NOW)
    boosted = decide(lead(Title="Analyst"), RULES, {}, NOW, (), extra)
    assert boosted.summary["score"] == plain.summary["score"] + 12
    (line,) = [r for r in boosted.reasons if r.part == "predict"]
    assert line.rule == "Predictive score" and line.points == 12.0
    assert "Predictive score +12" in boosted.changes[REASON]


CASES = [
    {},
    {"Status": CLOSED},
    {"Country": None, "Phone": "+47 4737 0809", "MobilePhone": "5224 4933"},
    {"Country": None, "Phone": "(415) 953-7598"},
    {"Email": "s@gmail.com", "Title": "Student", "Company": "Student"},
    {"Industry": None, "Email": "x@siemens.com", "Company": "Siemens AG", "State": "Bayern"},
    {"Country": "U.K.", "Phone": "020 7946 0000", "Title": "Head of IT"},
]


@pytest.mark.parametrize("values", CASES)
@pytest.mark.parametrize("events", [[], ENGAGED])
def test_deciding_again_after_the_writes_changes_nothing(
    values: dict[str, Any], events: list[Engagement]
) -> None:
    first = lead(**values)
    decision = decide(first, RULES, {}, NOW, events)
    again = decide(after(decision, first), RULES, dict(decision.changes), NOW, events)
    assert dict(again.changes) == {}
    assert again.summary["score"] == decision.summary["score"]


def test_deleted_and_converted_leads_are_skipped_whatever_the_rules() -> None:
    for flags in ({"is_deleted": True}, {"is_converted": True}):
        gone = Lead("00Q000000000001AAA", STAMP, FIT, **flags)
        decision = decide(gone, RULES, {}, NOW, ENGAGED)
        assert decision.changes == {} and "skipped" in decision.summary


def test_rules_without_optional_files_decide_as_scoring_alone() -> None:
    bare = RuleSet(fields=RULES.fields, scoring=RULES.scoring, version="v")
    decision = decide(lead(), bare, {}, NOW, ENGAGED)
    assert decision.summary["grade"] is None and decision.summary["behavior_score"] is None
    assert set(decision.changes) <= {SCORE, RATING, REASON}
    assert {r.part for r in decision.reasons} <= {"score", "rating"}


def test_the_score_stays_within_max_score() -> None:
    decision = decide(lead(LeadSource="Web"), RULES, {}, NOW, ENGAGED)
    assert decision.summary["points_score"] + decision.summary["behavior_score"] > 100
    assert decision.summary["score"] == 100 == RULES.scoring.max_score
