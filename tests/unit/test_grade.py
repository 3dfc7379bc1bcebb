"""Fit grades (steps of a third of a letter, clamped at F and A+) and Hot/Warm/Cold ratings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sfsync.errors import ConfigError
from sfsync.mappings import load_model
from sfsync.rules.conditions import compile_row
from sfsync.rules.criteria import Criterion, Operator
from sfsync.rules.grade import (
    GRADES,
    GradeConfig,
    GradeOutcome,
    GradeTargets,
    GradingConfig,
    RatingRule,
    grade_lead,
    rank,
    rate_lead,
)

MAPPINGS = Path(__file__).resolve().parents[2] / "mappings"
SHIPPED = load_model(MAPPINGS / "grading.yaml", GradingConfig)


def _profile(start: str = "D", **rule: Any) -> GradeConfig:
    row = {"field": "Industry", "operator": "equals", "value": "Technology"}
    return GradeConfig.model_validate(
        {"start": start, "profile": [{"name": "Tech", "criteria": [row], **rule}]}
    )


@pytest.mark.parametrize(
    ("start", "up", "down", "industry", "grade"),
    [
        ("D", 1, 0, "Technology", "D+"),
        ("D", 3, 0, "Technology", "C"),
        ("D", 12, 0, "Technology", "A+"),  # clamped at the top
        ("A", 3, 0, "Technology", "A+"),
        ("D", 3, 1, "Retail", "D-"),
        ("D", 3, 2, "Retail", "F"),
        ("D", 3, 12, "Retail", "F"),  # clamped at the bottom
        ("F", 0, 1, "Retail", "F"),
        ("D", 3, 1, None, "D"),  # unknown: no move
        ("D", 3, 1, "  ", "D"),
        ("C+", 0, 0, "Technology", "C+"),
    ],
)
def test_steps_and_clamps(start: str, up: int, down: int, industry: str | None, grade: str) -> None:
    outcome = grade_lead({"Industry": industry}, _profile(start, up=up, down=down))
    assert outcome.grade == grade


def test_grade_scale_runs_from_f_to_a_plus() -> None:
    assert GRADES[0] == "F" and GRADES[-1] == "A+" and len(GRADES) == 13
    assert [rank(g) for g in ("F", "D-", "C", "A+")] == [0, 1, 5, 12]


def test_steps_explain_the_grade() -> None:
    outcome = grade_lead({"Industry": "Retail"}, _profile(up=3, down=2))
    assert outcome.steps[0].rule == "Tech" and outcome.steps[0].points == -2
    assert outcome.steps[0].detail == "does not match the profile"
    assert grade_lead({}, _profile(up=3, down=2)).steps == ()


@pytest.mark.parametrize(
    ("grade", "letter_only", "written"), [("B+", True, "B"), ("B+", False, "B+"), ("F", True, "F")]
)
def test_value_written_to_the_grade_field(grade: str, letter_only: bool, written: str) -> None:
    targets = GradeTargets(grade="Lead_Grade__c", letter_only=letter_only)
    assert GradeOutcome(grade, ()).value_for(targets) == written


@pytest.mark.parametrize(
    ("values", "grade"),
    [
        ({}, "D"),
        (
            {
                "Industry": "Technology",
                "NumberOfEmployees": 5000,
                "AnnualRevenue": 1e9,
                "$country.code": "US",
                "$title.seniority": "VP",
                "$email.free": False,
                "$email.disposable": False,
            },
            "A+",
        ),
        ({"Industry": "Technology", "NumberOfEmployees": 500, "$country.code": "DE"}, "A-"),
        ({"Industry": "Retail", "NumberOfEmployees": 5, "$country.code": "BR"}, "F"),
        ({"$title.seniority": "Manager"}, "D"),  # not a decision maker -1, manager +1
        ({"$title.seniority": "Individual"}, "D-"),
        ({"$email.free": True, "$email.disposable": False}, "F"),
    ],
)
def test_shipped_profile(values: dict[str, Any], grade: str) -> None:
    assert grade_lead(values, SHIPPED.grade).grade == grade


@pytest.mark.parametrize(
    ("score", "grade", "rating"),
    [
        (60, "B-", "Hot"),
        (100, "A+", "Hot"),
        (59.9, "B-", "Warm"),
        (60, "C+", "Warm"),
        (30, "C-", "Warm"),
        (29.9, "C-", "Cold"),
        (30, "D+", "Cold"),
        (60, "F", "Warm"),  # very interested, poor fit
        (60, None, "Warm"),
        (0, None, "Cold"),
        (-10, "F", "Cold"),
    ],
)
def test_shipped_ratings(score: float, grade: str | None, rating: str) -> None:
    assert rate_lead(score, grade, SHIPPED.ratings) == rating


def test_no_rating_when_no_rule_reaches() -> None:
    assert rate_lead(10, "A", (RatingRule(rating="Hot", min_score=50),)) is None
    assert rate_lead(10, "A", ()) is None


def test_shipped_config_lists_facts_it_reads() -> None:
    assert {"Industry", "$title.seniority", "$company.competitor"} <= SHIPPED.fields_read()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"start": "E"}, "'E' is not a grade; use one of F, D-, D"),
        ({"start": "d+"}, None),  # case does not matter
        ({"up": 13}, "less than or equal to 12"),
        ({"down": -1}, "greater than or equal to 0"),
        ({"name": ""}, "at least 1 character"),
        ({"filter_logic": "1 OR 2"}, "filter logic names row\\(s\\) \\[2\\] but only 1 row"),
        ({"filter_logic": "1 AND"}, "ends too early"),
        ({"criteria": []}, "at least 1 item"),
        ({"criteria": [{"field": "X", "operator": "equals"}]}, "operator equals needs a value"),
        ({"criteria": [{"field": "X", "operator": "resembles", "value": 1}]}, "Input should be"),
        ({"weight": 3}, "Extra inputs are not permitted"),
    ],
)
def test_bad_profile_rules(config: dict[str, Any], message: str | None) -> None:
    start = config.pop("start", "D")
    rule = {"name": "R", "criteria": [{"field": "X", "operator": "is_blank"}], **config}
    data = {"start": start, "profile": [rule]}
    if message is None:
        assert GradeConfig.model_validate(data).start == "D+"
        return
    with pytest.raises(ValidationError, match=message):
        GradeConfig.model_validate(data)


_ONE_RULE = {"profile": [{"name": "R", "criteria": [{"field": "X", "operator": "is_blank"}]}]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"grade": {"profile": []}}, "at least 1 item"),
        ({}, "grade\n  Field required"),
        ({"grade": _ONE_RULE, "ratings": [{"rating": "Hot", "min_grade": "A++"}]},
         "'A\\+\\+' is not a grade"),
        ({"grade": _ONE_RULE, "ratings": [{"rating": "", "min_score": 1}]},
         "at least 1 character"),
    ],
)  # fmt: skip
def test_bad_grading_files(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        GradingConfig.model_validate(data)


def test_a_bad_grade_in_a_file_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "grading.yaml"
    path.write_text(
        "grade:\n  start: E\n  profile:\n    - name: R\n"
        "      criteria: [{field: X, operator: is_blank}]\n"
    )
    with pytest.raises(ConfigError, match=r"grading\.yaml:2: grade\.start: 'E' is not a grade"):
        load_model(path, GradingConfig)


# -- compiled criteria rows (sfsync.rules.conditions) -----------------------------------

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([200, 200.0, 0, 1, -0.0, 1e300, ["x"], {"a": 1}]),
    st.integers(-1000, 1000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", " ", "Tech", "tech ", "TRUE", "true", "200", "2e2", "CEO", "ceo-x", "İ",
                     "x@www.Acme.com", "https://eu.acme.com/x", "acme.com.", "ACME.COM"]),
    st.text(max_size=12),
)  # fmt: skip
_OPTION = st.one_of(
    st.sampled_from(["Tech", "true", "200", "200.0", "CEO", " ", "İ", "acme.com", "com", ""]),
    st.sampled_from([True, False, 200, 2.5, 0]),
    st.text(max_size=6),
)
_TEXT_OPERATORS = ["equals", "not_equal", "in", "not_in", "contains_word", "contains",
                   "does_not_contain", "starts_with", "matches_domain"]  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(
    operator=st.sampled_from(_TEXT_OPERATORS),
    options=st.one_of(_OPTION, st.lists(_OPTION, min_size=1, max_size=4)),
    actual=_VALUES,
)
def test_compiled_rows_mean_what_criteria_rows_mean(
    operator: str, options: object, actual: object
) -> None:
    row = Criterion(field="F", operator=Operator(operator), value=options)
    assert compile_row(row)({"F": actual}) == row.holds({"F": actual})


@settings(max_examples=300, deadline=None)
@given(
    operator=st.sampled_from(["greater_than", "greater_or_equal", "less_than", "less_or_equal"]),
    limit=st.one_of(st.integers(-5, 5), st.floats(allow_nan=False), st.sampled_from(["3", "2.5"])),
    actual=_VALUES,
)
def test_compiled_comparisons_mean_what_criteria_rows_mean(
    operator: str, limit: object, actual: object
) -> None:
    row = Criterion(field="F", operator=Operator(operator), value=limit)
    assert compile_row(row)({"F": actual}) == row.holds({"F": actual})


@pytest.mark.parametrize("operator", _TEXT_OPERATORS)
@pytest.mark.parametrize(
    ("options", "actual"),
    [
        (["200.0"], 200), (["2e2"], 200.0), (["200"], 200.5), (["200"], "200"),
        (["true"], True), (["True "], True), ([" "], None), ([""], None), (["x"], None),
        (["CEO"], "the ceo"), (["c.e.o"], "C.E.O."), (["İ"], "i̇"), (["x"], ["x"]),
        (["acme.com"], "Jo@WWW.Acme.com"), (["acme.com"], "https://eu.acme.com/p"),
        (["acme.com"], "notacme.com"), ([""], "acme."), ([True], "true"), ([True], 1),
        (["www.acme.com"], "x@www.acme.com"), (["ftp"], "ftp://acme.com"),
    ],
)  # fmt: skip
def test_compiled_rows_on_the_tricky_cases(
    operator: str, options: list[str], actual: object
) -> None:
    row = Criterion(field="F", operator=Operator(operator), value=options)
    assert compile_row(row)({"F": actual}) == row.holds({"F": actual})


@pytest.mark.parametrize("operator", ["is_blank", "is_not_blank"])
@pytest.mark.parametrize("actual", [None, "", "  ", "x", 0, False, "\x00"])
def test_compiled_blank_rows(operator: str, actual: object) -> None:
    row = Criterion(field="F", operator=Operator(operator))
    assert compile_row(row)({"F": actual}) == row.holds({"F": actual})


def test_rows_with_values_that_are_not_scalars_are_refused() -> None:
    with pytest.raises(ValidationError):
        Criterion(field="F", operator=Operator.EQUALS, value=[{"a": 1}])
