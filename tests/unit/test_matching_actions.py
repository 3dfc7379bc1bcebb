"""What a new lead's matches change (rules.matching_actions): flags, survivors, owners."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sfsync.rules.matching import Comparison, Match
from sfsync.rules.matching_actions import act_on_matches, surviving_lead
from sfsync.rules.matching_config import MatchActions

FLAG = MatchActions(lead_to_lead="flag", duplicate_field="Duplicate_Of__c")
EMAIL = Comparison("Email", "email", "exact", 100.0, 100.0, True)


def match(
    record_id: str, sobject: str = "Lead", created: str = "2026-01-01", **kw: object
) -> Match:
    fields = {"rule": "standard_person", "confidence": 0.95, "comparisons": (EMAIL,), **kw}
    return Match("00QNEW", record_id, sobject, created=created, **fields)  # type: ignore[arg-type]


def test_the_newer_lead_names_the_oldest_one_it_duplicates() -> None:
    found = [match("00QB", created="2026-03-01"), match("00QA", created="2026-02-01")]
    out = act_on_matches("00QNEW", {"CreatedDate": "2026-11-25"}, found, FLAG)
    assert out.changes == {"Duplicate_Of__c": "00QA"}
    assert [r.rule for r in out.reasons] == ["Match", "Match", "Duplicate"]


def test_the_older_of_two_copies_is_not_flagged() -> None:
    newer = [match("00QZ", created="2026-12-01")]
    assert act_on_matches("00QNEW", {"CreatedDate": "2026-11-25"}, newer, FLAG).changes == {}


def test_copies_made_in_the_same_second_are_told_apart_by_id() -> None:
    same = "2026-11-25T10:00:00.000+0000"
    assert surviving_lead("00QB", same, [match("00QA", created=same)]) is not None
    assert surviving_lead("00QA", same, [match("00QB", created=same)]) is None


def test_a_value_a_person_set_is_kept_and_the_status_moves_only_when_asked() -> None:
    found = [match("00QA", created="2020-01-01")]
    kept = act_on_matches("00QNEW", {"Duplicate_Of__c": "00QOTHER"}, found, FLAG)
    assert kept.changes == {} and "already names 00QOTHER" in kept.reasons[-1].detail
    with_status = FLAG.model_copy(update={"duplicate_status": "Duplicate"})
    assert act_on_matches("00QNEW", {}, found, with_status).changes == {
        "Duplicate_Of__c": "00QA", "Status": "Duplicate",
    }  # fmt: skip


def test_alert_only_explains_and_owners_come_from_the_surest_match() -> None:
    found = [
        match("001A", "Account", owner_id="005A", confidence=0.7),
        match("001B", "Account", owner_id="005B", confidence=0.9),
        match("003C", "Contact", owner_id="005C"),
        match("00QA", created="2020-01-01"),
    ]
    out = act_on_matches("00QNEW", {}, found, MatchActions())
    assert out.changes == {}
    assert (out.account_owner_id, out.contact_owner_id) == ("005B", "005C")
    assert len(out.summary) == 3


def test_weak_matches_are_ignored_and_flag_needs_a_field() -> None:
    weak = MatchActions(min_confidence=0.99)
    assert (
        act_on_matches(
            "00QNEW", {}, [match("001A", "Account", owner_id="005A")], weak
        ).account_owner_id
        is None
    )
    with pytest.raises(ValidationError, match="duplicate_field"):
        MatchActions(lead_to_lead="flag")


@pytest.mark.parametrize(
    ("policy", "master", "merged"), [("oldest", "00QA", "00QNEW"), ("newest", "00QNEW", "00QA")]
)
def test_merge_picks_the_master_by_policy(policy: str, master: str, merged: str) -> None:
    actions = MatchActions(lead_to_lead="merge", merge_master=policy)
    out = act_on_matches("00QNEW", {"CreatedDate": "2026-11-25"}, [match("00QA")], actions)
    assert out.merge == {"master": master, "merged": [merged]}
    assert out.changes == {} and out.reasons[-1].rule == "Duplicate"
