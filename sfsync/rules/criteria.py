"""Criteria rows and filter logic, the way admins write assignment-rule entries.

A rule's criteria are numbered rows `(field, operator, value)`; its filter logic
(`1 AND (2 OR 3)`) combines them, and without one every row must hold.
Text comparisons ignore case, as Salesforce's do. A list value means "any of".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, field_validator, model_validator


class Operator(StrEnum):
    """Comparison operators of a criteria row."""

    EQUALS = "equals"
    NOT_EQUAL = "not_equal"
    CONTAINS = "contains"
    # Whole words only: "CTO" must not match "Director".
    CONTAINS_WORD = "contains_word"
    DOES_NOT_CONTAIN = "does_not_contain"
    STARTS_WITH = "starts_with"
    IN = "in"
    NOT_IN = "not_in"
    GREATER_THAN = "greater_than"
    GREATER_OR_EQUAL = "greater_or_equal"
    LESS_THAN = "less_than"
    LESS_OR_EQUAL = "less_or_equal"
    IS_BLANK = "is_blank"
    IS_NOT_BLANK = "is_not_blank"
    MATCHES_DOMAIN = "matches_domain"
    # Inclusive [low, high]: numbers as numbers; text (postal codes) by its leading characters.
    BETWEEN = "between"


_NO_VALUE = {Operator.IS_BLANK, Operator.IS_NOT_BLANK}
_NUMERIC = {
    Operator.GREATER_THAN,
    Operator.GREATER_OR_EQUAL,
    Operator.LESS_THAN,
    Operator.LESS_OR_EQUAL,
}


class Criterion(BaseModel):
    """One criteria row."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str
    operator: Operator
    # Scalars or a flat list of them (YAML can express anything; rules read only these).
    value: str | bool | int | float | list[str | bool | int | float] | None = None

    @model_validator(mode="after")
    def _value_fits_operator(self) -> Criterion:
        if self.operator in _NO_VALUE:
            if self.value is not None:
                raise ValueError(f"operator {self.operator.value} takes no value")
        elif self.value is None or self.value == []:
            raise ValueError(f"operator {self.operator.value} needs a value")
        if self.operator in _NUMERIC and _number(self.value) is None:
            raise ValueError(f"operator {self.operator.value} needs a number, got {self.value!r}")
        if self.operator is Operator.BETWEEN:
            _check_bounds(self.value)
        return self

    def holds(self, values: Mapping[str, Any]) -> bool:
        """Whether this row is true for a record's values."""
        return _TESTS[self.operator](values.get(self.field), self.value)


class Criteria(BaseModel):
    """Numbered rows plus optional filter logic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rows: tuple[Criterion, ...] = ()
    filter_logic: str | None = None

    @field_validator("filter_logic")
    @classmethod
    def _logic_parses(cls, value: str | None) -> str | None:
        if value is not None:
            parse_filter_logic(value)
        return value

    @model_validator(mode="after")
    def _logic_names_rows(self) -> Criteria:
        if self.filter_logic is not None:
            used = set(_row_numbers(self.filter_logic))
            missing = sorted(n for n in used if not 1 <= n <= len(self.rows))
            if missing:
                raise ValueError(
                    f"filter logic names row(s) {missing} but only {len(self.rows)} row(s) exist"
                )
        return self

    def holds(self, values: Mapping[str, Any]) -> bool:
        """Whether the criteria are true for a record; no rows means always true."""
        results = [row.holds(values) for row in self.rows]
        if self.filter_logic is None:
            return all(results)
        return parse_filter_logic(self.filter_logic)(results)


# -- operators ---------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    return "" if value is None else str(value).casefold().strip()


def _options(expected: Any) -> list[str]:
    items = expected if isinstance(expected, list | tuple) else [expected]
    return [_text(item) for item in items]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _compare(test: Callable[[float, float], bool]) -> Callable[[Any, Any], bool]:
    def check(actual: Any, expected: Any) -> bool:
        a, e = _number(actual), _number(expected)
        return a is not None and e is not None and test(a, e)

    return check


def _domain_of(value: Any) -> str:
    text = _text(value)
    text = text.rsplit("@", 1)[-1]
    text = re.sub(r"^[a-z]+://", "", text).split("/", 1)[0]
    return text.removeprefix("www.")


def _matches_domain(actual: Any, expected: Any) -> bool:
    domain = _domain_of(actual)
    if not domain:
        return False
    return any(domain == d or domain.endswith("." + d) for d in _options(expected))


def _equals(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return _text(actual) in _options(expected)
    number = _number(actual)
    if number is not None and not isinstance(actual, str):
        return any(_number(e) == number for e in _as_list(expected))
    return _text(actual) in _options(expected)


def _as_list(expected: Any) -> list[Any]:
    return list(expected) if isinstance(expected, list | tuple) else [expected]


def _contains(actual: Any, expected: Any) -> bool:
    text = _text(actual)
    return bool(text) and any(option in text for option in _options(expected) if option)


def _contains_word(actual: Any, expected: Any) -> bool:
    text = _text(actual)
    return bool(text) and any(
        re.search(rf"(?<!\w){re.escape(option)}(?!\w)", text)
        for option in _options(expected)
        if option
    )


def _check_bounds(value: Any) -> None:
    bounds = value if isinstance(value, list | tuple) else []
    if len(bounds) != 2 or any(isinstance(b, bool) or _text(b) == "" for b in bounds):
        raise ValueError(f"operator between needs [low, high], got {value!r}")
    low, high = bounds
    if not isinstance(low, str) and not isinstance(high, str):
        wrong = float(low) > float(high)
    else:
        wrong = _code(low) > _code(high)
    if wrong:
        raise ValueError(f"operator between needs low <= high, got {value!r}")


def _code(value: Any) -> str:
    """Text as a postal code compares: folded, without spaces or dashes."""
    return re.sub(r"[\s-]", "", _text(value))


def _between(actual: Any, expected: Any) -> bool:
    """Number bounds compare numbers; text bounds compare the code's first characters.

    So "94105-1234" lies in ["94000", "94999"] and "SW1A 1AA" in ["SW1", "SW9"].
    Zero-padded codes ("01067") need text bounds: write them quoted.
    """
    low, high = expected
    number = _number(actual)
    numeric = not isinstance(low, str) and not isinstance(high, str)
    if numeric and number is not None:
        return float(low) <= number <= float(high)
    code = _code(actual)
    if not code:
        return False
    lo_text, hi_text = _code(low), _code(high)
    return code[: len(lo_text)] >= lo_text and code[: len(hi_text)] <= hi_text


def _starts_with(actual: Any, expected: Any) -> bool:
    text = _text(actual)
    return bool(text) and any(text.startswith(o) for o in _options(expected) if o)


_TESTS: dict[Operator, Callable[[Any, Any], bool]] = {
    Operator.EQUALS: _equals,
    Operator.NOT_EQUAL: lambda a, e: not _equals(a, e),
    Operator.IN: _equals,
    Operator.NOT_IN: lambda a, e: not _equals(a, e),
    Operator.CONTAINS: _contains,
    Operator.DOES_NOT_CONTAIN: lambda a, e: not _contains(a, e),
    Operator.CONTAINS_WORD: _contains_word,
    Operator.STARTS_WITH: _starts_with,
    Operator.GREATER_THAN: _compare(lambda a, e: a > e),
    Operator.GREATER_OR_EQUAL: _compare(lambda a, e: a >= e),
    Operator.LESS_THAN: _compare(lambda a, e: a < e),
    Operator.LESS_OR_EQUAL: _compare(lambda a, e: a <= e),
    Operator.IS_BLANK: lambda a, _e: _blank(a),
    Operator.IS_NOT_BLANK: lambda a, _e: not _blank(a),
    Operator.MATCHES_DOMAIN: _matches_domain,
    Operator.BETWEEN: _between,
}


# -- filter logic --------------------------------------------------------------

Logic = Callable[[Sequence[bool]], bool]
T = TypeVar("T")
# What filter logic compiles to: a function of the rows' results, or of the record itself.
Node = Callable[[T], bool]
_TOKEN = re.compile(r"\s*(?:(\d+)|(\()|(\))|(AND\b)|(OR\b)|(NOT\b)|(\S))", re.IGNORECASE)


class FilterLogicError(ValueError):
    """A filter logic string that does not parse."""


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for match in _TOKEN.finditer(text):
        number, lpar, rpar, and_, or_, not_, junk = match.groups()
        if junk:
            raise FilterLogicError(f"unexpected {junk!r} in filter logic {text!r}")
        token = number or lpar or rpar or (and_ or or_ or not_ or "").upper()
        out.append(token)
    return out


def _row_numbers(text: str) -> list[int]:
    return [int(t) for t in _tokens(text) if t.isdigit()]


def parse_filter_logic(text: str) -> Logic:
    """Compile `1 AND (2 OR NOT 3)` into a function of the rows' results.

    Like Salesforce, mixing AND and OR without parentheses is refused, because
    admins read `1 AND 2 OR 3` differently.
    """
    return _parse(text, _ResultsNodes())


def compile_filter_logic(text: str, tests: Sequence[Callable[[T], bool]]) -> Callable[[T], bool]:
    """The logic over row tests themselves: `1 OR 2` runs test 2 only when test 1 fails.

    Same meaning as `parse_filter_logic(text)` applied to every test's result
    (a row number past the tests is false), for tests that are pure and
    return bools: skipping a test then changes nothing but the time taken.
    """
    return _parse(text, _TestNodes(tuple(tests)))


def _parse(text: str, nodes: _Nodes[T]) -> Callable[[T], bool]:
    tokens = _tokens(text)
    if not tokens:
        raise FilterLogicError("filter logic is empty")
    parser = _LogicParser(tokens, text, nodes)
    logic = parser.expression()
    if parser.pos != len(tokens):
        raise FilterLogicError(f"unexpected {tokens[parser.pos]!r} in filter logic {text!r}")
    return logic


MAX_LOGIC_DEPTH = 50
# Longest AND / OR chain compiled into nested closures; longer ones (rare) loop instead,
# so that hundreds of rows cannot reach the interpreter's recursion limit.
NESTED_TERMS = 16


class _Nodes(Protocol[T]):
    """What the parser builds: a row's node, and the AND or OR of nodes (NOT is its own)."""

    def row(self, index: int) -> Node[T]: ...

    def all_of(self, terms: list[Node[T]]) -> Node[T]: ...

    def any_of(self, terms: list[Node[T]]) -> Node[T]: ...


class _ResultsNodes:
    """Functions of the list of every row's result (`parse_filter_logic`)."""

    def row(self, index: int) -> Logic:
        return lambda r: index < len(r) and r[index]

    def all_of(self, terms: list[Logic]) -> Logic:
        return lambda r: all(t(r) for t in terms)

    def any_of(self, terms: list[Logic]) -> Logic:
        return lambda r: any(t(r) for t in terms)


@dataclass(frozen=True)
class _TestNodes(Generic[T]):
    """Functions of a record that call the row tests, stopping as soon as the answer is known.

    `1 OR 2 OR 3` becomes `t1(v) or (t2(v) or t3(v))`: nested closures cost less
    per record than `any()` over a generator.
    """

    tests: tuple[Node[T], ...]

    def row(self, index: int) -> Node[T]:
        return self.tests[index] if index < len(self.tests) else _never

    def all_of(self, terms: list[Node[T]]) -> Node[T]:
        if len(terms) > NESTED_TERMS:
            return lambda v: all(t(v) for t in terms)
        first, *rest = terms
        if not rest:
            return first
        second = self.all_of(rest)
        return lambda v: first(v) and second(v)

    def any_of(self, terms: list[Node[T]]) -> Node[T]:
        if len(terms) > NESTED_TERMS:
            return lambda v: any(t(v) for t in terms)
        first, *rest = terms
        if not rest:
            return first
        second = self.any_of(rest)
        return lambda v: first(v) or second(v)


def _never(_values: Any) -> bool:
    return False


class _LogicParser(Generic[T]):
    def __init__(self, tokens: list[str], text: str, nodes: _Nodes[T]) -> None:
        self.tokens, self.text, self.pos = tokens, text, 0
        self.depth = 0
        self.nodes = nodes

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise FilterLogicError(f"filter logic {self.text!r} ends too early")
        self.pos += 1
        return token

    def expression(self) -> Node[T]:
        terms = [self.unary()]
        joiner: str | None = None
        while self._peek() in ("AND", "OR"):
            op = self._take()
            if joiner and op != joiner:
                raise FilterLogicError(
                    f"filter logic {self.text!r} mixes AND and OR: add parentheses"
                )
            joiner = op
            terms.append(self.unary())
        return self.nodes.any_of(terms) if joiner == "OR" else self.nodes.all_of(terms)

    def unary(self) -> Node[T]:
        self.depth += 1
        if self.depth > MAX_LOGIC_DEPTH:
            raise FilterLogicError(f"filter logic nests deeper than {MAX_LOGIC_DEPTH} levels")
        try:
            return self._unary()
        finally:
            self.depth -= 1

    def _unary(self) -> Node[T]:
        token = self._take()
        if token == "NOT":
            inner = self.unary()
            return lambda v: not inner(v)
        if token == "(":
            inner = self.expression()
            if self._take() != ")":
                raise FilterLogicError(f"missing ')' in filter logic {self.text!r}")
            return inner
        if token.isdigit():
            index = int(token) - 1
            if index < 0:
                raise FilterLogicError(f"row numbers start at 1 in filter logic {self.text!r}")
            return self.nodes.row(index)
        raise FilterLogicError(f"unexpected {token!r} in filter logic {self.text!r}")
