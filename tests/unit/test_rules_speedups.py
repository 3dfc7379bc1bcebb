"""The shortcuts that make decide() fast mean exactly what the plain definitions mean.

Compiled criteria (short-circuit filter logic, one memo per single-field
rule) against `Criteria.holds`; the hand-written JSON of the engagement
fingerprint against `stable_hash`; the remembered lifecycle moves against
fresh ones; the facts listed once each. The golden decisions
(test_decide_equivalence.py) check the whole chain on seeded leads.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfsync.models import stable_hash
from sfsync.rules.behavior import Engagement, EventKind
from sfsync.rules.conditions import compile_rule
from sfsync.rules.criteria import (
    NESTED_TERMS,
    Criteria,
    Criterion,
    Operator,
    compile_filter_logic,
    parse_filter_logic,
)
from sfsync.rules.engagement import _order, fingerprint
from sfsync.rules.enrich import FACT_ORDER
from sfsync.rules.enrich_config import Fact
from sfsync.rules.lifecycle import LifecycleConfig, next_status

# -- criteria ----------------------------------------------------------------------------

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, 1.0, 200, -0.0, "", " ", "true", "False", "1", "CEO", "Vice CEO",
                     "Assistant to the CEO", "x@acme.com", "acme.com", "200", ["x"]]),
    st.text(max_size=8),
)  # fmt: skip
_OPTIONS = st.one_of(
    st.sampled_from(["CEO", "true", "1", "acme.com", "", "Assistant", True, False, 1, 200]),
    st.lists(st.sampled_from(["CEO", "Vice", "true", "x", 0, 1.5, "200"]), min_size=1, max_size=3),
)
_ROW = st.builds(
    lambda field, operator, value: _row(field, operator, value),
    field=st.sampled_from(["F", "G"]),
    operator=st.sampled_from(list(Operator)),
    value=_OPTIONS,
).filter(lambda row: row is not None)


def _row(field: str, operator: Operator, value: Any) -> Criterion | None:
    """A valid row, or None where the operator refuses the value."""
    if operator in (Operator.IS_BLANK, Operator.IS_NOT_BLANK):
        value = None
    if operator is Operator.BETWEEN:
        value = [0, 5]
    try:
        return Criterion(field=field, operator=operator, value=value)
    except ValueError:
        return None


def _logic(count: int, draw: Any) -> str | None:
    """None, or a random valid logic over rows 1..count (AND / OR grouped, NOT, nesting)."""
    if draw(st.booleans()):
        return None
    numbers = [str(n) for n in range(1, count + 1)]
    terms = [f"NOT {n}" if draw(st.booleans()) else n for n in numbers]
    if count >= 3 and draw(st.booleans()):
        inner = draw(st.sampled_from(["AND", "OR"]))
        terms = [terms[0], f"({terms[1]} {inner} {terms[2]})", *terms[3:]]
    return f" {draw(st.sampled_from(['AND', 'OR']))} ".join(terms)


@st.composite
def _rules(draw: Any) -> tuple[tuple[Criterion, ...], str | None]:
    rows = tuple(draw(st.lists(_ROW, min_size=1, max_size=4)))
    return rows, _logic(len(rows), draw)


@settings(max_examples=400, deadline=None)
@given(rule=_rules(), records=st.lists(st.tuples(_VALUES, _VALUES), min_size=1, max_size=8))
def test_compiled_rules_mean_what_criteria_mean(
    rule: tuple[tuple[Criterion, ...], str | None], records: list[tuple[Any, Any]]
) -> None:
    # One compiled test for many records, in turn: its memos must never leak an answer.
    rows, logic = rule
    compiled, plain = compile_rule(rows, logic), Criteria(rows=rows, filter_logic=logic)
    for f, g in records + records:
        values = {"F": f, "G": g}
        assert compiled(values) == plain.holds(values), values


def test_a_rule_on_one_field_remembers_true_and_1_apart() -> None:
    rows = (
        Criterion(field="F", operator=Operator.EQUALS, value=True),
        Criterion(field="F", operator=Operator.IS_NOT_BLANK),
    )
    compiled, plain = compile_rule(rows), Criteria(rows=rows)
    for value in (True, 1, 1.0, "true", "1", False, 0, None, True, 1):
        assert compiled({"F": value}) == plain.holds({"F": value}), value


LOGIC_CASES = [
    "1",
    "NOT 1",
    "1 AND 2",
    "1 OR 2 OR 3",
    "NOT (1 OR 2) AND 3",
    "(1 AND NOT 2) OR (3 AND 4)",
    "1 OR 5",  # row 5 is past the rows: false, as parse_filter_logic reads it
    " OR ".join(str(n % 4 + 1) for n in range(NESTED_TERMS + 5)),
    " AND ".join(str(n % 4 + 1) for n in range(NESTED_TERMS + 5)),
]


@pytest.mark.parametrize("text", LOGIC_CASES)
@pytest.mark.parametrize("bits", range(16))
def test_compiled_logic_means_the_parsed_logic(text: str, bits: int) -> None:
    results = [bool(bits >> n & 1) for n in range(4)]
    tests = [lambda _v, r=r: r for r in results]
    assert compile_filter_logic(text, tests)(None) is parse_filter_logic(text)(results)


def test_compiled_logic_stops_at_the_answer() -> None:
    called: list[int] = []

    def test(n: int, answer: bool) -> Any:
        def run(_values: Any) -> bool:
            called.append(n)
            return answer

        return run

    compile_filter_logic("1 OR 2", [test(1, True), test(2, True)])({})
    assert called == [1]


# -- the engagement fingerprint ------------------------------------------------------------

ODD_DETAILS = [None, "", "Webinar", 'say "hi"', "back\\slash", "tab\tnew\nline", "\x00\x1f",
               "Ünïcode – ✓", "emoji 😀", "line\u2028sep", "</script>"]  # fmt: skip


@pytest.mark.parametrize("detail", ODD_DETAILS)
def test_fingerprint_is_the_stable_hash_of_the_rows(detail: str | None) -> None:
    events = [
        Engagement(EventKind.CAMPAIGN_RESPONSE, datetime(2025, 5, 1, 9, 30, tzinfo=UTC), detail),
        Engagement(EventKind.TASK, date(2025, 4, 30), "Call"),
        Engagement(EventKind.PAGE_VIEW, datetime(2025, 5, 1, 9, 30), detail),
    ]
    expected = stable_hash(sorted(_order(e) for e in events))[:16]
    assert fingerprint(events) == expected
    assert fingerprint(list(reversed(events))) == expected
    assert fingerprint([]) == ""


# -- enrichment facts and lifecycle moves ---------------------------------------------------


def test_every_fact_is_listed_once() -> None:
    assert len(FACT_ORDER) == len(set(FACT_ORDER)) and set(FACT_ORDER) == set(Fact)


LIFECYCLE = LifecycleConfig.model_validate(
    {
        "order": ["New", "Nurturing", "MQL", "Closed"],
        "stages": {"new": "New", "nurture": "Nurturing", "mql": "MQL", "disqualified": "Closed"},
        "mql": {"min_score": 70, "min_grade": "C"},
        "nurture": {"min_grade": "D"},
        "disqualify": [{"name": "Student", "criteria": [
            {"field": "Title", "operator": "contains", "value": "student"}]}],
    }
)  # fmt: skip


@pytest.mark.parametrize(
    ("score", "grade", "status", "title"),
    [
        (0.0, "F", "New", "CEO"),
        (-0.0, "F", "New", "CEO"),
        (70, "B", "New", "CEO"),
        (70.0, "B", "New", "CEO"),
        (69.5, "B", "Nurturing", "CEO"),
        (float("nan"), "B", "New", "CEO"),
        (90.0, "A", "New", "Student"),
        (90.0, None, "", None),
    ],
)
def test_remembered_moves_are_fresh_moves(
    score: float, grade: str | None, status: str, title: str | None
) -> None:
    values = {"Status": status, "Title": title}
    LIFECYCLE.memo.clear()
    fresh = next_status(values, score, grade, LIFECYCLE)
    for _ in range(2):
        again = next_status(values, score, grade, LIFECYCLE)
        assert again == fresh
        assert [(line.rule, line.detail) for line in again.steps] == [
            (line.rule, line.detail) for line in fresh.steps
        ]


def test_zero_and_minus_zero_read_as_written() -> None:
    # They are one dict key; the explanation still says what it was given.
    values = {"Status": "New"}
    minus = next_status(values, -0.0, None, LIFECYCLE).steps[0].detail
    plus = next_status(values, 0.0, None, LIFECYCLE).steps[0].detail
    assert "score -0" in minus and "score 0" in plus and "-0" not in plus
