"""Random records and random WHERE / ORDER BY clauses against a plain Python model of SOQL.

The model here is written from SOQL's rules, not from the engine: text
compares on `casefold`, null only equals null (`!=` and NOT IN keep nulls),
relative dates are whole UTC days, ORDER BY puts nulls first on ASC and
last on DESC and keeps table order on ties.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any, TypeAlias

from hypothesis import given, settings
from hypothesis import strategies as st

from sfsync.emulator import soql
from sfsync.emulator.org import Org
from sfsync.ids import to18

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
TODAY = NOW.date()
OWNERS = [to18("005000000000001"), to18("005000000000002"), to18("00G000000000001")]
# Field -> how SOQL compares it.
FIELDS = {
    "Company": "text",
    "City": "text",
    "LeadSource": "text",
    "NumberOfEmployees": "number",
    "AnnualRevenue": "number",
    "DoNotCall": "boolean",
    "EmailBouncedDate": "datetime",
    "ConvertedDate": "date",
    "OwnerId": "id",
}
ORDERED_OPS = ["=", "!=", "<>", "<", "<=", ">", ">="]
_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "\b": "\\b", "\f": "\\f"}  # fmt: skip

# A small alphabet (quotes, wildcards, letters whose case folding is odd) makes equal and
# LIKE-matching values common; the wide one finds other edge cases.
chars = st.sampled_from(list("aAbB'\"\\%_ \n\u03a3\u03c3\u03c2\u00df\u00e9")) | st.characters(
    codec="utf-8"
)
texts = st.text(chars, min_size=1, max_size=4)
# Whole-second UTC stamps clustered on day boundaries, where relative dates are decided.
stamps = st.builds(
    lambda day, seconds: (
        datetime.combine(TODAY + timedelta(days=day), time(0), UTC) + timedelta(seconds=seconds)
    ),
    st.integers(-11, 11),
    st.sampled_from([0, -1, 1, 6 * 3600, 12 * 3600]),
)
days = st.integers(-10, 10).map(lambda k: TODAY + timedelta(days=k))
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "text": texts,
    "number": st.integers(-12, 12).map(lambda q: q / 4) | st.integers(-3, 3),
    "boolean": st.booleans(),
    "datetime": stamps,
    "date": days,
    "id": st.sampled_from(OWNERS),
}


def _record_strategy() -> st.SearchStrategy[dict[str, Any]]:
    columns = {name: VALUES[kind] for name, kind in FIELDS.items()}
    # An int field holds ints; booleans are never null in a Salesforce record.
    columns["NumberOfEmployees"] = st.integers(-3, 3)
    nullable = {name: st.none() | values for name, values in columns.items()}
    return st.fixed_dictionaries({**nullable, "DoNotCall": st.booleans()})


records = st.lists(_record_strategy(), max_size=12)


def quote(text: str) -> str:
    return "'" + "".join(_ESCAPES.get(char, char) for char in text) + "'"


@dataclass(frozen=True)
class Lit:
    """A literal as written in the query and the value the model compares with."""

    text: str
    value: Any  # None, a plain value, or ("range", first_day, last_day) as day offsets


@st.composite
def datetime_literals(draw: st.DrawFn) -> Lit:
    value = draw(stamps)
    hours = draw(st.integers(-12, 14))
    local = value.astimezone(timezone(timedelta(hours=hours)))
    millis = draw(st.sampled_from(["", ".000"]))
    sign = "-" if hours < 0 else "+"
    zone = "Z" if hours == 0 and draw(st.booleans()) else f"{sign}{abs(hours):02d}:00"
    return Lit(f"{local:%Y-%m-%dT%H:%M:%S}{millis}{zone}", value)


@st.composite
def relative_dates(draw: st.DrawFn) -> Lit:
    n = draw(st.integers(0, 10))
    word, first, last = draw(
        st.sampled_from(
            [("TODAY", 0, 0), ("yesterday", -1, -1), ("Tomorrow", 1, 1),
             (f"LAST_N_DAYS:{n}", -n, 0), (f"next_n_days:{n}", 1, n)]
        )
    )  # fmt: skip
    return Lit(word, ("range", first, last))


@st.composite
def id_literals(draw: st.DrawFn) -> Lit:
    value = draw(st.sampled_from(OWNERS))
    return Lit(quote(value[: draw(st.sampled_from([15, 18]))]), value)


LITERALS: dict[str, st.SearchStrategy[Lit]] = {
    "text": texts.map(lambda text: Lit(quote(text), text)),
    "number": st.integers(-12, 12).map(lambda q: Lit(f"{q / 4:.2f}", q / 4))
    | st.integers(-3, 3).map(lambda n: Lit(str(n), n)),
    "boolean": st.sampled_from([Lit("true", True), Lit("FALSE", False), Lit("True", True)]),
    "datetime": datetime_literals() | relative_dates(),
    "date": days.map(lambda day: Lit(day.isoformat(), day)) | relative_dates(),
    "id": id_literals(),
}
NULL = Lit("null", None)


@dataclass(frozen=True)
class Cmp:
    field: str
    op: str
    lit: Lit


@dataclass(frozen=True)
class In:
    field: str
    negated: bool
    lits: tuple[Lit, ...]


@dataclass(frozen=True)
class Like:
    field: str
    parts: tuple[str, ...]  # one character each; "%" and "_" are wildcards, "\\%" literal


@dataclass(frozen=True)
class Op:
    op: str  # "and", "or" or "not"
    items: tuple[Node, ...]
    word: str


Node: TypeAlias = Cmp | In | Like | Op


@st.composite
def comparisons(draw: st.DrawFn) -> Node:
    field = draw(st.sampled_from(list(FIELDS)))
    kind = FIELDS[field]
    literal = st.just(NULL) | LITERALS[kind]
    shape = draw(st.sampled_from(["cmp", "in", "like"] if kind == "text" else ["cmp", "in"]))
    if shape == "in":
        return In(
            field, draw(st.booleans()), tuple(draw(st.lists(literal, min_size=1, max_size=4)))
        )
    if shape == "like":
        wild = st.sampled_from(["%", "_", "\\%", "\\_"])
        return Like(field, tuple(draw(st.lists(wild | chars, max_size=5))))
    ops = ["=", "!="] if kind == "boolean" else ORDERED_OPS
    return Cmp(field, draw(st.sampled_from(ops)), draw(literal))


def _joined(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    runs = st.tuples(st.sampled_from(["and", "or"]), st.lists(children, min_size=2, max_size=3))
    negations = children.map(lambda child: ("not", [child]))
    return st.builds(
        lambda pair, upper: Op(pair[0], tuple(pair[1]), pair[0].upper() if upper else pair[0]),
        runs | negations,
        st.booleans(),
    )


wheres = st.recursive(comparisons(), _joined, max_leaves=8)


def render(node: Node) -> str:
    if isinstance(node, Cmp):
        return f"{node.field} {node.op} {node.lit.text}"
    if isinstance(node, In):
        listed = ", ".join(lit.text for lit in node.lits)
        return f"{node.field} {'NOT IN' if node.negated else 'IN'} ({listed})"
    if isinstance(node, Like):
        body = "".join(p if p in ("%", "_", "\\%", "\\_") else quote(p)[1:-1] for p in node.parts)
        return f"{node.field} LIKE '{body}'"
    inner = [f"({render(item)})" if isinstance(item, Op) else render(item) for item in node.items]
    if node.op == "not":
        return f"{node.word} {inner[0]}"
    return f" {node.word} ".join(inner)


def holds(node: Node, record: dict[str, Any]) -> bool:
    if isinstance(node, Op):
        results = [holds(item, record) for item in node.items]
        if node.op == "not":
            return not results[0]
        return all(results) if node.op == "and" else any(results)
    value = _fold(node.field, record[node.field])
    if isinstance(node, Like):
        return value is not None and _like(value, node.parts)
    if isinstance(node, In):
        found = any(_compare(node.field, value, "=", lit) for lit in node.lits)
        return not found if node.negated else found
    return _compare(node.field, value, node.op, node.lit)


def _compare(field: str, value: Any, op: str, lit: Lit) -> bool:
    target = lit.value
    # '' and null are the same to SOQL; a literal null only matches = and !=.
    if target is None or target == "":
        return {"=": value is None, "!=": value is not None, "<>": value is not None}.get(op, False)
    if value is None:
        return op in ("!=", "<>")
    if isinstance(target, tuple):
        day = value.astimezone(UTC).date() if isinstance(value, datetime) else value
        offset = (day - TODAY).days
        first, last = target[1], target[2]
        inside = first <= offset <= last
        tests = {"=": inside, "!=": not inside, "<>": not inside, "<": offset < first,
                 "<=": offset <= last, ">": offset > last, ">=": offset >= first}  # fmt: skip
        return bool(tests[op])
    target = _fold(field, target)
    if op in ("!=", "<>"):
        return bool(value != target)
    return bool({"=": value == target, "<": value < target, "<=": value <= target,
                 ">": value > target, ">=": value >= target}[op])  # fmt: skip


def _fold(field: str, value: Any) -> Any:
    return value.casefold() if FIELDS[field] == "text" and value is not None else value


def _like(value: str, parts: tuple[str, ...]) -> bool:
    tokens: list[str] = []
    for part in parts:
        if part in ("%", "_"):
            tokens.append(part)
        else:
            # Literal characters (escaped wildcards included) compare case-folded.
            literal = part[1] if part in ("\\%", "\\_") else part
            tokens.extend("=" + char for char in literal.casefold())

    @functools.cache
    def match(i: int, j: int) -> bool:
        if j == len(tokens):
            return i == len(value)
        if tokens[j] == "%":
            return match(i, j + 1) or (i < len(value) and match(i + 1, j))
        if i == len(value):
            return False
        return (tokens[j] == "_" or tokens[j][1:] == value[i]) and match(i + 1, j + 1)

    return match(0, 0)


def _run(rows: list[dict[str, Any]], text: str) -> tuple[list[str], list[str]]:
    """The ids the engine returns for `text`, and all ids in table order."""
    org = Org()
    ids = org.load("Lead", rows, stamp=NOW)
    query = soql.parse(text, org.schema)
    result = soql.execute(query, org.tables, include_deleted=False, api_version="62.0", now=NOW)
    return [row["Id"] for row in result.page(0, 100)], ids


@settings(max_examples=150, deadline=None)
@given(records, wheres)
def test_where_agrees_with_the_python_model(rows: list[dict[str, Any]], where: Node) -> None:
    got, ids = _run(rows, f"SELECT Id FROM Lead WHERE {render(where)}")
    assert got == [id_ for id_, row in zip(ids, rows, strict=True) if holds(where, row)]


order_items = st.tuples(
    st.sampled_from(list(FIELDS)),
    st.sampled_from(["", " ASC", " DESC", " desc"]),
    st.sampled_from(["", " NULLS FIRST", " NULLS LAST", " nulls last"]),
)


def _model_order(rows: list[dict[str, Any]], items: list[tuple[str, str, str]]) -> list[int]:
    def compare(left: int, right: int) -> int:
        for field, direction, nulls in items:
            descending = "desc" in direction.lower()
            nulls_first = "first" in nulls.lower() or (not nulls and not descending)
            x, y = _fold(field, rows[left][field]), _fold(field, rows[right][field])
            if x is None or y is None:
                if x is None and y is None:
                    continue
                return (-1 if x is None else 1) * (1 if nulls_first else -1)
            if x != y:
                return (-1 if x < y else 1) * (-1 if descending else 1)
        return 0

    return sorted(range(len(rows)), key=functools.cmp_to_key(compare))


@settings(max_examples=100, deadline=None)
@given(
    records,
    st.lists(order_items, min_size=1, max_size=3, unique_by=lambda item: item[0]),
    st.none() | st.integers(0, 14),
    st.none() | st.integers(0, 14),
)
def test_order_by_agrees_with_a_python_sort(
    rows: list[dict[str, Any]],
    items: list[tuple[str, str, str]],
    limit: int | None,
    offset: int | None,
) -> None:
    order = ", ".join(f"{field}{direction}{nulls}" for field, direction, nulls in items)
    tail = ("" if limit is None else f" LIMIT {limit}") + (
        "" if offset is None else f" OFFSET {offset}"
    )
    got, ids = _run(rows, f"SELECT Id FROM Lead ORDER BY {order}{tail}")
    expected = [ids[index] for index in _model_order(rows, items)]
    start = offset or 0
    assert got == expected[start : None if limit is None else start + limit]


@settings(max_examples=50, deadline=None)
@given(texts)
def test_any_string_round_trips_through_a_literal(text: str) -> None:
    got, ids = _run(
        [{"Company": text}, {"Company": text + "x"}],
        f"SELECT Id FROM Lead WHERE Company = {quote(text)}",
    )
    assert got == ids[:1]
