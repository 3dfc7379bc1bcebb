"""A named rule with criteria rows and filter logic, compiled once for fast, repeated use.

Grading, behaviour and lifecycle rules all share the scoring.yaml form
(`criteria: [{field, operator, value}]` plus optional `filter_logic`). The
rows and logic are validated by `criteria.Criteria` when the file loads.
For speed, every row whose value is text or numbers is compiled once into a
closure over pre-folded values; any other row calls `Criterion.holds`
itself. Property tests check that both always agree.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sfsync.rules.criteria import Criteria, Criterion, Operator, compile_filter_logic

Test = Callable[[Mapping[str, Any]], bool]
_SCHEME = re.compile(r"^[a-z]+://")
_MEMBERSHIP = {Operator.EQUALS, Operator.IN, Operator.NOT_EQUAL, Operator.NOT_IN}
_NEGATED = {Operator.NOT_EQUAL, Operator.NOT_IN}
_ORDER: dict[Operator, Callable[[float, float], bool]] = {
    Operator.GREATER_THAN: operator.gt,
    Operator.GREATER_OR_EQUAL: operator.ge,
    Operator.LESS_THAN: operator.lt,
    Operator.LESS_OR_EQUAL: operator.le,
}


class CriteriaRule(BaseModel):
    """Criteria rows (all must hold, unless filter logic says otherwise)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    criteria: tuple[Criterion, ...] = Field(min_length=1)
    filter_logic: str | None = None

    @model_validator(mode="after")
    def _logic_valid(self) -> CriteriaRule:
        # Criteria checks that the logic parses and names existing rows.
        Criteria(rows=self.criteria, filter_logic=self.filter_logic)
        return self

    @cached_property
    def holds(self) -> Test:
        """Whether the rule's criteria are true for a record's values (compiled on first use)."""
        return compile_rule(self.criteria, self.filter_logic)

    def fields_read(self) -> set[str]:
        """The fields (and `$facts`) the rule looks at."""
        return {row.field for row in self.criteria}


def compile_rule(rows: Sequence[Criterion], filter_logic: str | None = None) -> Test:
    """Rows and logic as one fast test, with exactly the meaning of `Criteria.holds`.

    Rows are tested only until the answer is known (all rows are pure). A
    rule whose rows all read one field ("VP or Director, but not Assistant")
    remembers its whole answer per text value of that field, not each row's.
    """
    fields = {row.field for row in rows}
    shared = len(rows) > 1 and len(fields) == 1
    tests = [compile_row(row, remember=not shared) for row in rows]
    test = _all_of(tests) if filter_logic is None else compile_filter_logic(filter_logic, tests)
    if shared and any(row.operator in _TEXT_WORK for row in rows):
        return _remembered(rows[0].field, test)
    return test


def _all_of(tests: list[Test]) -> Test:
    if not tests:
        return lambda _values: True
    first, *rest = tests
    if not rest:
        return first
    second = _all_of(rest) if len(rest) < NESTED_ROWS else _every(rest)
    return lambda values: first(values) and second(values)


def _every(tests: list[Test]) -> Test:
    return lambda values: all(test(values) for test in tests)


def compile_row(row: Criterion, *, remember: bool = True) -> Test:
    """A fast test with exactly the meaning of `row.holds`.

    `remember=False` leaves out the memo of text answers (the caller keeps its own).
    """
    options: list[Any] = list(row.value) if isinstance(row.value, list | tuple) else [row.value]
    if not all(isinstance(o, str | int | float) for o in options):
        return _BY_OPERATOR.get(row.operator, _as_is)(row, [])
    test = _TEXT_FORMS.get(row.operator, _as_is)(row, options)
    return _remembered(row.field, test) if remember and row.operator in _TEXT_WORK else test


# Operators whose test folds and searches text: worth remembering per value, as the same
# titles, companies and sources recur across leads. Comparisons and blank checks are cheaper
# than the lookup.
_TEXT_WORK = frozenset(
    {*_MEMBERSHIP, Operator.CONTAINS, Operator.CONTAINS_WORD, Operator.DOES_NOT_CONTAIN,
     Operator.STARTS_WITH, Operator.MATCHES_DOMAIN}
)  # fmt: skip
MEMO_SIZE = 8192
# Rows joined by AND that are compiled into nested closures; more are looped over.
NESTED_ROWS = 16


def _remembered(field: str, test: Test) -> Test:
    """`test` with its answers remembered per value of `field` (a pure function of it).

    Only text, true/false and blank values are remembered: never 1 for True,
    and no unhashable values.
    """
    memo: dict[str | bool | None, bool] = {}

    def remembered(values: Mapping[str, Any]) -> bool:
        actual = values.get(field)
        kind = type(actual)
        if kind is not str and kind is not bool and actual is not None:
            return test(values)
        found = memo.get(actual)
        if found is None:
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            found = memo[actual] = test(values)
        return found

    return remembered


def _as_is(row: Criterion, _options: list[Any]) -> Test:
    return row.holds


def _membership(row: Criterion, options: list[Any]) -> Test:
    """equals / in / not_equal / not_in: text compares folded, numbers compare as numbers."""
    field, negated = row.field, row.operator in _NEGATED
    folded = frozenset(_folded(options))
    numbers = tuple(n for n in map(_number, options) if n is not None)
    # A single true/false value makes criteria compare everything as text.
    as_text = isinstance(row.value, bool)

    def test(values: Mapping[str, Any]) -> bool:
        actual = values.get(field)
        if actual is None:
            found = "" in folded
        elif isinstance(actual, str | bool) or (as_text and isinstance(actual, int | float)):
            found = str(actual).casefold().strip() in folded
        elif isinstance(actual, int | float):
            found = any(n == float(actual) for n in numbers)
        else:
            return row.holds(values)
        return found is not negated

    return test


def _comparison(row: Criterion, _options: list[Any]) -> Test:
    field, compare, limit = row.field, _ORDER[row.operator], _number(row.value)

    def test(values: Mapping[str, Any]) -> bool:
        actual = values.get(field)
        if actual is None or isinstance(actual, bool) or limit is None:
            return False
        try:
            return compare(float(actual), limit)
        except (TypeError, ValueError):
            return False

    return test


def _words(row: Criterion, options: list[Any]) -> Test:
    words = [re.escape(w) for w in _folded(options) if w]
    pattern = re.compile(rf"(?<!\w)(?:{'|'.join(words)})(?!\w)") if words else None
    return _on_text(row.field, lambda text: pattern is not None and bool(pattern.search(text)))


def _contains(row: Criterion, options: list[Any]) -> Test:
    parts, negated = [p for p in _folded(options) if p], row.operator is Operator.DOES_NOT_CONTAIN
    test = _on_text(row.field, lambda text: any(p in text for p in parts))
    return (lambda values: not test(values)) if negated else test


def _starts(row: Criterion, options: list[Any]) -> Test:
    starts = tuple(p for p in _folded(options) if p)
    return _on_text(row.field, lambda text: bool(starts) and text.startswith(starts))


def _domains(row: Criterion, options: list[Any]) -> Test:
    domains = frozenset(_folded(options))
    ends = tuple("." + d for d in domains)

    def test(values: Mapping[str, Any]) -> bool:
        text = _fold(values.get(row.field)).rsplit("@", 1)[-1]
        domain = _SCHEME.sub("", text).split("/", 1)[0].removeprefix("www.")
        return bool(domain) and (domain in domains or domain.endswith(ends))

    return test


def _on_text(field: str, check: Callable[[str], bool]) -> Test:
    """A test on the folded text of a field; blank text never matches (as in criteria)."""

    def test(values: Mapping[str, Any]) -> bool:
        text = _fold(values.get(field))
        return bool(text) and check(text)

    return test


def _fold(value: Any) -> str:
    return "" if value is None else str(value).casefold().strip()


def _folded(options: list[Any]) -> list[str]:
    return [_fold(o) for o in options]


def _blankness(row: Criterion, _options: list[Any]) -> Test:
    field, wanted = row.field, row.operator is Operator.IS_BLANK

    def test(values: Mapping[str, Any]) -> bool:
        actual = values.get(field)
        empty = actual is None or (isinstance(actual, str) and not actual.strip())
        return empty is wanted

    return test


def _number(value: Any) -> float | None:
    """A number as criteria reads one: never from true/false, None for text that is not one."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# Rows whose values are all text or numbers; other rows need no folded values.
_BY_OPERATOR: dict[Operator, Callable[[Criterion, list[Any]], Test]] = {
    **dict.fromkeys(_ORDER, _comparison),
    Operator.IS_BLANK: _blankness,
    Operator.IS_NOT_BLANK: _blankness,
}
_TEXT_FORMS: dict[Operator, Callable[[Criterion, list[Any]], Test]] = {
    **_BY_OPERATOR,
    **dict.fromkeys(_MEMBERSHIP, _membership),
    Operator.CONTAINS_WORD: _words,
    Operator.CONTAINS: _contains,
    Operator.DOES_NOT_CONTAIN: _contains,
    Operator.STARTS_WITH: _starts,
    Operator.MATCHES_DOMAIN: _domains,
}
