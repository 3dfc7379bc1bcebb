"""SOQL text: escaped literals, UTC dateTime literals, the incremental pull, Id IN chunking."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfsync.connectors.soql import (
    MAX_WHERE_CHARS,
    SYSTEM_FIELDS,
    by_ids_query,
    datetime_literal,
    id_chunks,
    incremental_query,
    quote,
    select_fields,
)

_UNESCAPE = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


def read_literal(text: str, start: int) -> tuple[str, int]:
    """Scan a SOQL string literal opening at `start` the way the org does: (value, end index)."""
    assert text[start] == "'"
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            out.append(_UNESCAPE[text[i + 1]])
            i += 2
        elif ch == "'":
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise AssertionError(f"unterminated literal in {text!r}")


def where_clause(query: str) -> str:
    return query.split(" WHERE ", 1)[1]


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("abc", "'abc'"),
        ("", "''"),
        ("O'Brien", r"'O\'Brien'"),
        ("back\\slash", r"'back\\slash'"),
        ('say "hi"', r"'say \"hi\"'"),
        ("two\nlines\r\n", r"'two\nlines\r\n'"),
        ("tab\there", r"'tab\there'"),
        ("bell\b\f", r"'bell\b\f'"),
        ("\\'", r"'\\\''"),
        ("日本 🚀", "'日本 🚀'"),
    ],
)
def test_quote_escapes(value: str, literal: str) -> None:
    assert quote(value) == literal
    assert read_literal(literal, 0) == (value, len(literal))


@pytest.mark.parametrize("value", ["\x00", "a\x00b", "abc\x00"])
def test_quote_refuses_nul(value: str) -> None:
    with pytest.raises(ValueError, match="NUL"):
        quote(value)


@settings(max_examples=300, deadline=None, database=None)
@given(st.text().filter(lambda s: "\x00" not in s))
def test_quote_round_trips_and_closes_at_the_end(value: str) -> None:
    literal = quote(value)
    assert read_literal(literal, 0) == (value, len(literal))


@pytest.mark.parametrize(
    "attack",
    [
        "' OR Id != '",
        "x' OR Name LIKE '%",
        "\\' OR Id != \\'",
        "'; DELETE FROM Lead; --",
        "005' ORDER BY Name LIMIT 1 --\n",
    ],
)
def test_injection_stays_inside_the_literal(attack: str) -> None:
    query = incremental_query("Lead", ["Email"], None, timedelta(0), exclude_modified_by=attack)
    prefix = "LastModifiedById != "
    start = query.index(prefix) + len(prefix)
    value, end = read_literal(query, start)
    assert value == attack
    assert query[end:] == " ORDER BY SystemModstamp, Id"


@pytest.mark.parametrize(
    ("moment", "literal"),
    [
        (datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC), "2024-05-01T12:00:00Z"),
        (
            datetime(2024, 5, 1, 14, 0, 0, tzinfo=timezone(timedelta(hours=2))),
            "2024-05-01T12:00:00Z",
        ),
        (
            datetime(2024, 12, 31, 22, 30, tzinfo=timezone(timedelta(hours=-5))),
            "2025-01-01T03:30:00Z",
        ),
        (datetime(2024, 5, 1, 12, 0, 59, 999_999, tzinfo=UTC), "2024-05-01T12:00:59Z"),
    ],
)
def test_datetime_literal_in_utc(moment: datetime, literal: str) -> None:
    assert datetime_literal(moment) == literal


def test_datetime_literal_refuses_naive() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        datetime_literal(datetime(2024, 5, 1, 12, 0))


SYSTEM = ", ".join(SYSTEM_FIELDS)
SINCE = datetime(2024, 5, 1, 12, 0, 30, 500_000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("since", "overlap", "exclude", "where"),
    [
        (None, timedelta(seconds=60), None, ""),
        (SINCE, timedelta(seconds=60), None, " WHERE SystemModstamp >= 2024-05-01T11:59:30Z"),
        (SINCE, timedelta(0), None, " WHERE SystemModstamp >= 2024-05-01T12:00:30Z"),
        (
            SINCE,
            timedelta(hours=1),
            "005000000000001AAA",
            " WHERE SystemModstamp >= 2024-05-01T11:00:30Z"
            " AND LastModifiedById != '005000000000001AAA'",
        ),
        (
            None,
            timedelta(0),
            "005000000000001AAA",
            " WHERE LastModifiedById != '005000000000001AAA'",
        ),
    ],
)
def test_incremental_query_shape(
    since: datetime | None, overlap: timedelta, exclude: str | None, where: str
) -> None:
    query = incremental_query("Lead", ["Email", "Title"], since, overlap, exclude)
    assert query == (f"SELECT {SYSTEM}, Email, Title FROM Lead{where} ORDER BY SystemModstamp, Id")


@settings(max_examples=100, deadline=None, database=None)
@given(
    since=st.datetimes(
        min_value=datetime(2001, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
    ),
    overlap=st.integers(min_value=0, max_value=86_400),
)
def test_incremental_lower_bound_never_later_than_since_minus_overlap(
    since: datetime, overlap: int
) -> None:
    query = incremental_query("Lead", [], since, timedelta(seconds=overlap))
    text = where_clause(query).split(" ", 2)[2].split(" ", 1)[0]
    bound = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert since - timedelta(seconds=overlap) - timedelta(seconds=1) < bound
    assert bound <= since - timedelta(seconds=overlap)


def lead_ids(count: int) -> list[str]:
    return [f"00Q{i:012d}AAA" for i in range(count)]


def test_id_chunks_hold_about_190_ids_and_lose_none() -> None:
    ids = lead_ids(1000)
    chunks = list(id_chunks(ids))
    assert [i for chunk in chunks for i in chunk] == ids
    assert all(180 <= len(chunk) <= 190 for chunk in chunks[:-1])
    assert len(chunks) == 6


def test_by_ids_where_clause_fits_4000_chars() -> None:
    for chunk in id_chunks(lead_ids(1000)):
        assert len(where_clause(by_ids_query("Lead", ["Email"], chunk))) <= MAX_WHERE_CHARS


@settings(max_examples=150, deadline=None, database=None)
@given(
    ids=st.lists(st.text(alphabet="abcXYZ019'\\\"", min_size=1, max_size=40), max_size=400),
    budget=st.integers(min_value=60, max_value=4000),
)
def test_id_chunks_preserve_order_and_respect_the_budget(ids: list[str], budget: int) -> None:
    chunks = list(id_chunks(ids, budget))
    assert [i for chunk in chunks for i in chunk] == ids
    assert all(chunks)
    for chunk in chunks:
        clause = "Id IN (" + ",".join(quote(i) for i in chunk) + ")"
        assert len(clause) <= budget or len(chunk) == 1


def test_id_chunks_of_nothing() -> None:
    assert list(id_chunks([])) == []


def test_by_ids_query_quotes_every_id() -> None:
    query = by_ids_query("Lead", ["Email"], ["00Q000000000001AAA", "x'y"])
    assert query.endswith(" FROM Lead WHERE Id IN ('00Q000000000001AAA', 'x\\'y')")


@pytest.mark.parametrize(
    ("fields", "extra"),
    [
        ([], []),
        (["Email", "Title"], ["Email", "Title"]),
        (["id", "ID", "systemmodstamp", "Email"], ["Email"]),
        (["Email", "EMAIL", "email", "Title", "title"], ["Email", "Title"]),
        (["Title", "Email", "Title"], ["Title", "Email"]),
    ],
)
def test_select_fields_dedupes_case_insensitively(fields: list[str], extra: list[str]) -> None:
    assert select_fields(fields) == [*SYSTEM_FIELDS, *extra]
