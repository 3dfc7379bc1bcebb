"""WHERE and ORDER BY semantics, compiled once per execution into Python closures.

SOQL's rules, as the emulator applies them:
- Text compares case-insensitively (on `str.casefold`), ids exactly.
- null only equals null: `= null` / `!= null` test for it; `x != v` and
  `x NOT IN (...)` are true on a null x; `<`, `>`, LIKE and IN are false.
- A relative date (TODAY, LAST_N_DAYS:n) is a range of whole UTC days:
  `=` means inside it, `<` before it, `>` after it.
- ORDER BY sorts nulls first on ASC and last on DESC unless told otherwise;
  the sort is stable, so ties keep the table's order.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sfsync.emulator.results import Record
from sfsync.emulator.soql_ast import (
    BoolOp,
    Compare,
    Condition,
    DateRange,
    FieldPath,
    InList,
    Like,
    Not,
    OrderItem,
    Value,
)
from sfsync.emulator.soql_paths import Getter
from sfsync.emulator.soql_values import field_kind

Predicate = Callable[[Record], bool]
GetterFor = Callable[[FieldPath], Getter]
_Bounds = tuple[Any, Any]

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
# Ordered operators on a relative date: which bound (0 start, 1 end) and how.
# `< TODAY` is before today, `<= TODAY` before tomorrow, `> TODAY` from tomorrow.
_RANGE_TESTS: dict[str, tuple[int, Callable[[Any, Any], bool]]] = {
    "<": (0, operator.lt),
    "<=": (1, operator.lt),
    ">": (1, operator.ge),
    ">=": (0, operator.ge),
}


def compile_where(condition: Condition, getter_for: GetterFor, now: datetime) -> Predicate:
    """A predicate over records equivalent to `condition`, evaluated at `now`."""
    return _Compiler(getter_for, now).compile(condition)


class _Compiler:
    def __init__(self, getter_for: GetterFor, now: datetime) -> None:
        self.getter_for = getter_for
        self.today = now.astimezone(UTC).date()

    def compile(self, condition: Condition) -> Predicate:
        if isinstance(condition, BoolOp):
            return _combine(condition.op, [self.compile(item) for item in condition.items])
        if isinstance(condition, Not):
            inner = self.compile(condition.item)
            return lambda record: not inner(record)
        if isinstance(condition, Like):
            return _like(self.getter_for(condition.path), condition.regex)
        if isinstance(condition, InList):
            return self._in(condition)
        return self._compare(condition)

    def _compare(self, condition: Compare) -> Predicate:
        get = self._getter(condition.path)
        value = condition.value
        if value is None:
            return _null_compare(get, condition.op)
        if isinstance(value, DateRange):
            return _range_compare(get, condition.op, self._bounds(condition.path, value))
        return _value_compare(get, condition.op, _fold(condition.path, value))

    def _in(self, condition: InList) -> Predicate:
        get = self._getter(condition.path)
        values = condition.values
        ranges = [self._bounds(condition.path, v) for v in values if isinstance(v, DateRange)]
        plain = {_fold(condition.path, v) for v in values if not isinstance(v, DateRange)}
        takes_null = None in plain

        def listed(record: Record) -> bool:
            value = get(record)
            if value is None:
                return takes_null
            return value in plain or any(low <= value < high for low, high in ranges)

        if condition.negated:
            return lambda record: not listed(record)
        return listed

    def _getter(self, path: FieldPath) -> Getter:
        """The path's getter, case-folding text so comparisons ignore case."""
        get = self.getter_for(path)
        if field_kind(path.type) != "text":
            return get
        return lambda record: None if (value := get(record)) is None else value.casefold()

    def _bounds(self, path: FieldPath, span: DateRange) -> _Bounds:
        """[first day, day after the last) of a relative date, as dates or UTC datetimes."""
        first = self.today + timedelta(days=span.first)
        end = first + timedelta(days=span.days)
        if path.type == "date":
            return first, end
        return _midnight(first), _midnight(end)


def sort_rows(
    rows: list[Record], order_by: Sequence[OrderItem], getter_for: GetterFor
) -> list[Record]:
    """`rows` sorted by the ORDER BY keys (stable; see the module docstring).

    One stable pass per key, least significant first, over precomputed key
    columns: plain values compare much faster than per-row key tuples.
    """
    order = list(range(len(rows)))
    for item in reversed(order_by):
        column = _sort_column(rows, item, getter_for(item.path))
        order.sort(key=column.__getitem__, reverse=item.descending)
    return [rows[index] for index in order]


def _sort_column(rows: list[Record], item: OrderItem, get: Getter) -> list[Any]:
    values = [get(record) for record in rows]
    if field_kind(item.path.type) == "text":
        values = [None if value is None else value.casefold() for value in values]
    if None not in values:
        return values
    # Nulls get rank 0 or 2 around the values' 1, placed so `reverse` puts them right.
    null_key = (0, 0) if item.nulls_first != item.descending else (2, 0)
    return [null_key if value is None else (1, value) for value in values]


def _combine(op: str, items: list[Predicate]) -> Predicate:
    if len(items) == 2:
        first, second = items
        if op == "and":
            return lambda record: first(record) and second(record)
        return lambda record: first(record) or second(record)
    if op == "and":
        return lambda record: all(item(record) for item in items)
    return lambda record: any(item(record) for item in items)


def _null_compare(get: Getter, op: str) -> Predicate:
    if op == "=":
        return lambda record: get(record) is None
    if op == "!=":
        return lambda record: get(record) is not None
    return lambda record: False


def _range_compare(get: Getter, op: str, bounds: _Bounds) -> Predicate:
    low, high = bounds
    if op == "=":
        return lambda r: (v := get(r)) is not None and low <= v < high
    if op == "!=":
        return lambda r: (v := get(r)) is None or not low <= v < high
    index, test = _RANGE_TESTS[op]
    limit = bounds[index]
    return lambda r: (v := get(r)) is not None and test(v, limit)


def _value_compare(get: Getter, op: str, value: Value) -> Predicate:
    if op == "!=":
        return lambda r: (v := get(r)) is None or v != value
    test = _OPS[op]
    return lambda r: (v := get(r)) is not None and test(v, value)


def _like(get: Getter, regex: str) -> Predicate:
    match = re.compile(regex, re.DOTALL).fullmatch
    return lambda r: (v := get(r)) is not None and match(v.casefold()) is not None


def _fold(path: FieldPath, value: Value) -> Value:
    if isinstance(value, str) and field_kind(path.type) == "text":
        return value.casefold()
    return value


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)
