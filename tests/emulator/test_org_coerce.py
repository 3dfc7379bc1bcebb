"""JSON values become the Python types records hold, or the parser's error."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from sfsync.emulator.coerce import WrongKind, coerce, parse_values
from sfsync.emulator.schema import LEAD, FieldDef

NOON = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
WHEN = FieldDef("When__c", "datetime")
DAY = FieldDef("Day__c", "date")
SCORE = FieldDef("Score__c", "double", precision=5, scale=2)
COUNT = FieldDef("Count__c", "int")
FLAG = FieldDef("Flag__c", "boolean")
REF = FieldDef("Lead__c", "reference", 18, reference_to=("Lead",))
TEXT = FieldDef("Text__c", "string", 10)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (WHEN, "2024-05-01T12:00:00.000+0000", NOON),
        (WHEN, "2024-05-01T12:00:00Z", NOON),
        (WHEN, "2024-05-01T12:00:00.999Z", NOON),
        (WHEN, "2024-05-01T14:00:00+02:00", NOON),
        (WHEN, "2024-05-01T12:00:00", NOON),
        (WHEN, None, None),
        (DAY, "2024-05-01", date(2024, 5, 1)),
        (SCORE, 1.005, 1.01),
        (SCORE, "2.5", 2.5),
        (SCORE, 3, 3.0),
        (COUNT, 7.0, 7),
        (COUNT, "7", 7),
        (FLAG, None, False),
        (FLAG, "TRUE", True),
        (FLAG, False, False),
        (REF, "00Q0A0000000001", "00Q0A0000000001UAA"),
        (REF, "not-an-id", "not-an-id"),  # left for the reference check to refuse
        (TEXT, 42, "42"),
        (TEXT, "", None),
    ],
)
def test_coerce(field: FieldDef, value: Any, expected: Any) -> None:
    result = coerce(field, value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (WHEN, "2024-05-01"),
        (WHEN, "yesterday"),
        (WHEN, 1714564800),
        (DAY, "2024-13-01"),
        (DAY, "2024-05-01T12:00:00Z"),
        (SCORE, "abc"),
        (SCORE, True),
        (SCORE, float("nan")),
        (COUNT, 1.5),
        (FLAG, 1),
        (FLAG, "yes"),
        (TEXT, False),
        (TEXT, {"a": 1}),
    ],
)
def test_coerce_refuses(field: FieldDef, value: Any) -> None:
    with pytest.raises(WrongKind):
        coerce(field, value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "Cannot deserialize instance of int from VALUE_TRUE value true"),
        (1.5, "Cannot deserialize instance of int from VALUE_NUMBER_FLOAT value 1.5"),
        ([1], "Cannot deserialize instance of int from START_ARRAY value ["),
        ({}, "Cannot deserialize instance of int from START_OBJECT value {"),
    ],
)
def test_parser_error_names_the_json_token(value: Any, message: str) -> None:
    changes, errors = parse_values(LEAD, {"NumberOfEmployees": value, "City": "Bonn"})
    assert changes == {"City": "Bonn"}
    assert [e.status_code for e in errors] == ["JSON_PARSER_ERROR"]
    assert errors[0].message.startswith(message + " or request")
