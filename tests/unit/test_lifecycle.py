"""Lifecycle status: every transition, never backwards, people's statuses, recycling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sfsync.errors import ConfigError
from sfsync.mappings import load_model
from sfsync.rules.lifecycle import LifecycleConfig, Stage, next_status

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
SHIPPED = load_model(MAPPINGS / "lifecycle.yaml", LifecycleConfig)
OPEN, NURTURING, MQL = "Open - Not Contacted", "Nurturing", "Marketing Qualified"
WORKING, CLOSED, CONVERTED = "Working - Contacted", "Closed - Not Converted", "Closed - Converted"
QUEUE = "Marketing Nurture"


def _lead(status: str | None, **values: Any) -> dict[str, Any]:
    return {"Status": status, "LastName": "Doe", "Company": "Acme", "Title": "CTO", **values}


# (status now, score, grade) -> status written (None: left alone)
@pytest.mark.parametrize(
    ("status", "score", "grade", "written"),
    [
        (OPEN, 80, "B", MQL),
        (OPEN, 10, "B", NURTURING),
        (OPEN, 80, "C-", NURTURING),  # passes the score, not the grade
        (OPEN, 10, "D", None),  # not a good fit, not ready: nothing applies
        (OPEN, 70, "C+", MQL),  # exactly on both thresholds
        (OPEN, 69.9, "C+", NURTURING),
        (OPEN, 10, "C-", NURTURING),  # exactly on the nurture grade
        (OPEN, 10, "D+", None),
        (OPEN, 80, None, None),  # no grade: neither MQL (needs C+) nor nurture
        (NURTURING, 80, "A", MQL),
        (NURTURING, 10, "B", None),  # already there
        (MQL, 10, "B", None),  # nurture would be backwards
        (MQL, 80, "A", None),
        (WORKING, 80, "A", None),  # people own it
        (CONVERTED, 80, "A", None),
        (CLOSED, 80, "A", None),  # set by sfsync (see last_written): MQL is backwards
        ("Custom Status", 80, "A", None),  # not in the order: left alone
        (None, 80, "A", MQL),
        ("", 10, "B", NURTURING),
    ],
)
def test_transitions(
    status: str | None, score: float, grade: str | None, written: str | None
) -> None:
    outcome = next_status(_lead(status), score, grade, SHIPPED, {"Status": status})
    assert outcome.status == written
    assert outcome.owner_queue is None
    assert outcome.changed is (written is not None)


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"Email": "x@leadloop.io", "$company.competitor": True}, "Competitor"),
        ({"Title": "Student"}, "Student"),
        ({"Title": "Werkstudent Marketing"}, "Student"),
        ({"Title": None, "Company": "N/A"}, "Student"),
        ({"Title": "Open to work", "Company": "Self"}, "Job seeker"),
        ({"LastName": "asdf"}, "Test or junk record"),
        ({"Company": "Test Company"}, "Test or junk record"),
        ({"$email.domain": "test.com"}, "Test or junk record"),
        ({"$email.disposable": True}, "Test or junk record"),
    ],
)
def test_disqualification(values: dict[str, Any], reason: str) -> None:
    for status in (OPEN, NURTURING, MQL, None):
        outcome = next_status(_lead(status, **values), 90, "A+", SHIPPED)
        assert (outcome.stage, outcome.status) == (Stage.DISQUALIFIED, CLOSED)
        assert outcome.steps[0].detail == f"disqualified: {reason}"


@pytest.mark.parametrize(
    ("values", "status"),
    [
        ({"Title": "Director", "$title.seniority": "Director", "Company": "N/A"}, MQL),
        ({"Title": "Analyst", "$title.seniority": "Individual", "Company": "N/A"}, CLOSED),
        ({"Title": "Studentenwerk Director", "Company": "Studentenwerk"}, MQL),
    ],
)
def test_no_company_alone_does_not_make_a_student(values: dict[str, Any], status: str) -> None:
    assert next_status(_lead(OPEN, **values), 90, "A", SHIPPED).status == status


@pytest.mark.parametrize("status", [WORKING, CONVERTED])
def test_people_owned_statuses_are_never_touched_even_for_junk(status: str) -> None:
    outcome = next_status(_lead(status, LastName="test"), 0, "F", SHIPPED)
    assert outcome.status is None and outcome.stage is None
    assert outcome.steps[0].detail == f"status {status!r} belongs to people; sfsync leaves it"


def test_sales_hand_back_is_recycled_to_nurture_with_the_marketing_queue() -> None:
    outcome = next_status(_lead(CLOSED), 10, "D", SHIPPED, last_written={"Status": OPEN})
    assert (outcome.stage, outcome.status, outcome.owner_queue) == (Stage.NURTURE, NURTURING, QUEUE)
    assert outcome.steps[0].detail == f"a person set {CLOSED!r}: back to nurture, owned by {QUEUE}"


def test_recycling_without_any_record_of_sfsync_writes() -> None:
    assert next_status(_lead(CLOSED), 10, "D", SHIPPED).status == NURTURING


def test_sfsync_s_own_disqualification_is_not_recycled() -> None:
    outcome = next_status(_lead(CLOSED), 10, "D", SHIPPED, last_written={"Status": CLOSED})
    assert outcome.status is None and outcome.owner_queue is None


def test_junk_closed_by_a_person_stays_closed() -> None:
    outcome = next_status(_lead(CLOSED, LastName="asdf"), 10, "D", SHIPPED, {"Status": OPEN})
    assert (outcome.stage, outcome.status, outcome.owner_queue) == (Stage.DISQUALIFIED, None, None)


def _config(**overrides: Any) -> LifecycleConfig:
    base: dict[str, Any] = {
        "order": [OPEN, NURTURING, MQL, WORKING, CLOSED],
        "people_own": [WORKING],
        "stages": {"nurture": NURTURING, "mql": MQL, "bad_fit": CLOSED, "disqualified": CLOSED},
        "mql": {"min_score": 50},
        "nurture": {"min_grade": "B"},
        "bad_fit": {"max_grade": "D-"},
    }
    return LifecycleConfig.model_validate({**base, **overrides})


def test_recycling_criteria_narrow_it_down() -> None:
    recycle = {
        "from": [CLOSED],
        "owner_queue": QUEUE,
        "criteria": [{"field": "Reason__c", "operator": "in", "value": ["No budget"]}],
    }
    config = _config(recycle=recycle)  # fmt: skip
    assert next_status(_lead(CLOSED, Reason__c="No budget"), 0, "F", config).status == NURTURING
    assert next_status(_lead(CLOSED, Reason__c="Chose rival"), 0, "F", config).status is None


def test_recycling_may_leave_the_owner_alone() -> None:
    config = _config(recycle={"from": [CLOSED]})
    outcome = next_status(_lead(CLOSED), 0, "F", config)
    assert (outcome.status, outcome.owner_queue) == (NURTURING, None)


@pytest.mark.parametrize(
    ("grade", "status"),
    [("F", CLOSED), ("D-", CLOSED), ("D", None), ("B", NURTURING), (None, None)],
)
def test_bad_fit(grade: str | None, status: str | None) -> None:
    outcome = next_status(_lead(OPEN), 0, grade, _config())
    assert outcome.status == status


def test_mql_without_a_grade_threshold() -> None:
    assert next_status(_lead(OPEN), 50, None, _config()).status == MQL


def test_stage_without_a_status_is_reported_but_not_written() -> None:
    config = _config(stages={"nurture": NURTURING, "mql": MQL, "disqualified": CLOSED},
                     bad_fit=None)  # fmt: skip
    assert next_status(_lead(OPEN), 0, "F", config).stage is None


def test_fields_read() -> None:
    assert {"Status", "Title", "Company", "$company.competitor"} <= SHIPPED.fields_read()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"order": [OPEN]}, "at least 2 items"),
        ({"order": [OPEN, OPEN, MQL]}, "status\\(es\\) \\['Open - Not Contacted'\\] appear twice"),
        ({"people_own": ["Gone"]}, "status\\(es\\) \\['Gone'\\] are not listed in order"),
        ({"stages": {"mql": "Qualified"}}, "\\['Qualified'\\] are not listed in order"),
        ({"stages": {"mql": MQL, "hot": MQL}}, "Input should be 'new', 'working'"),
        ({"people_own": [WORKING, MQL]},
         "sfsync cannot move leads to status\\(es\\) \\['Marketing Qualified'\\]: people own them"),
        ({"stages": {"nurture": NURTURING, "disqualified": CLOSED, "bad_fit": CLOSED}},
         "stages needs a status for \\['mql'\\]"),
        ({"stages": {"mql": MQL, "disqualified": CLOSED, "bad_fit": CLOSED}},
         "stages needs a status for \\['nurture'\\]"),
        ({"disqualify": [{"name": "Junk", "criteria": [{"field": "X", "operator": "is_blank"}]}],
          "stages": {"mql": MQL, "nurture": NURTURING, "bad_fit": CLOSED}},
         "stages needs a status for \\['disqualified'\\]"),
        ({"nurture": {}}, "nurture needs min_grade"),
        ({"bad_fit": {"min_grade": "C"}}, "bad_fit needs max_grade"),
        ({"mql": {"min_score": 50, "min_grade": "Z"}}, "'Z' is not a grade"),
        ({"mql": {"min_grade": "B"}}, "min_score\n  Field required"),
        ({"recycle": {"from": ["Lost"]}}, "\\['Lost'\\] are not listed in order"),
        ({"recycle": {"from": []}}, "at least 1 item"),
        ({"recycle": {"from": [CLOSED], "filter_logic": "1 OR 2"}}, "filter logic names row"),
        ({"disqualify": [{"name": "Junk", "criteria": []}]}, "at least 1 item"),
        ({"statuses": [OPEN]}, "Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_bad_config(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _config(**overrides)


def test_a_bad_lifecycle_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "lifecycle.yaml"
    path.write_text("order: [A, B]\nstages:\n  nurture: C\nrecycle:\n  from: [A]\n")
    with pytest.raises(
        ConfigError, match=r"lifecycle\.yaml:1: \(top level\): status\(es\) \['C'\]"
    ):
        load_model(path, LifecycleConfig)
