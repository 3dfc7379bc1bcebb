"""Criteria rows and filter logic: a table per operator, then the logic grammar."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from sfsync.rules.criteria import Criteria, Criterion, FilterLogicError, parse_filter_logic

CASES: list[tuple[str, Any, Any, bool]] = [
    ("equals", "Web", "web", True),
    ("equals", "Web", ["Phone", "Web"], True),
    ("equals", "Web", "Phone", False),
    ("equals", None, "Web", False),
    ("equals", 200, 200.0, True),
    ("equals", True, "true", True),
    ("not_equal", "Web", "Phone", True),
    ("not_equal", None, "Phone", True),
    ("contains", "VP of Sales", ["vp", "chief"], True),
    ("contains", "Engineer", ["vp", "chief"], False),
    ("contains", None, "vp", False),
    ("contains", "Director", "cto", True),
    ("contains_word", "Director", "cto", False),
    ("contains_word", "CTO / Founder", ["cto"], True),
    ("contains_word", "Head of Sales", "head of", True),
    ("contains_word", "VP-Sales", "vp", True),
    ("contains", "", "vp", False),
    ("does_not_contain", "Assistant to the VP", "assistant", False),
    ("does_not_contain", None, "assistant", True),
    ("starts_with", "Director of IT", "director", True),
    ("starts_with", "IT Director", "director", False),
    ("in", "Banking", ["Finance", "Banking"], True),
    ("not_in", "Retail", ["Finance", "Banking"], True),
    ("greater_than", 201, 200, True),
    ("greater_than", 200, 200, False),
    ("greater_than", "250", 200, True),
    ("greater_than", None, 200, False),
    ("greater_than", "many", 200, False),
    ("greater_or_equal", 200, 200, True),
    ("less_than", 19, 20, True),
    ("less_or_equal", 20, 20, True),
    ("less_or_equal", 21, 20, False),
    ("is_blank", None, None, True),
    ("is_blank", "   ", None, True),
    ("is_blank", "x", None, False),
    ("is_not_blank", "x", None, True),
    ("matches_domain", "ann@Mail.Gmail.com", ["gmail.com"], True),
    ("matches_domain", "ann@notgmail.com", ["gmail.com"], False),
    ("matches_domain", "https://www.acme.com/about", "acme.com", True),
    ("matches_domain", None, "acme.com", False),
    ("equals", "Ærøskøbing Ünïcode 😀", "ærøskøbing ünïcode 😀", True),
]


@pytest.mark.parametrize(("operator", "actual", "expected", "holds"), CASES)
def test_operator(operator: str, actual: Any, expected: Any, holds: bool) -> None:
    row = Criterion(field="F", operator=operator, value=expected)  # type: ignore[arg-type]
    assert row.holds({"F": actual}) is holds


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"field": "F", "operator": "equals"}, "needs a value"),
        ({"field": "F", "operator": "is_blank", "value": "x"}, "takes no value"),
        ({"field": "F", "operator": "greater_than", "value": "lots"}, "needs a number"),
        ({"field": "F", "operator": "resembles", "value": "x"}, "Input should be"),
        ({"field": "F", "operator": "equals", "value": "x", "extra": 1}, "Extra inputs"),
    ],
)
def test_bad_rows_are_refused(row: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Criterion.model_validate(row)


LOGIC = [
    ("1 AND 2", [True, True, False], True),
    ("1 AND 3", [True, True, False], False),
    ("1 OR 3", [False, True, True], True),
    ("1 AND (2 OR 3)", [True, False, True], True),
    ("(1 AND 2) OR 3", [False, False, True], True),
    ("NOT 1", [False], True),
    ("NOT (1 OR 2)", [False, False], True),
    ("1 and not 2", [True, False], True),
    ("((1))", [True], True),
]


@pytest.mark.parametrize(("text", "rows", "expected"), LOGIC)
def test_filter_logic(text: str, rows: list[bool], expected: bool) -> None:
    assert parse_filter_logic(text)(rows) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("1 AND 2 OR 3", "mixes AND and OR"),
        ("1 AND", "ends too early"),
        ("(1 AND 2", "ends too early"),
        ("(1 AND 2 3", "missing"),
        ("1 2", "unexpected"),
        ("1 & 2", "unexpected '&'"),
        ("0", "start at 1"),
        ("1 AND )", "unexpected"),
    ],
)
def test_bad_filter_logic(text: str, message: str) -> None:
    with pytest.raises(FilterLogicError, match=message):
        parse_filter_logic(text)


def test_logic_must_name_existing_rows() -> None:
    rows = (Criterion(field="A", operator="is_blank"),)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"row\(s\) \[2\]"):
        Criteria(rows=rows, filter_logic="1 OR 2")


def test_no_logic_means_all_rows() -> None:
    rows = (
        Criterion(field="A", operator="equals", value="x"),  # type: ignore[arg-type]
        Criterion(field="B", operator="equals", value="y"),  # type: ignore[arg-type]
    )
    assert Criteria(rows=rows).holds({"A": "x", "B": "y"})
    assert not Criteria(rows=rows).holds({"A": "x", "B": "z"})
    assert Criteria().holds({})
