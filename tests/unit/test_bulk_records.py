"""Bulk API 2.0 CSV pages into typed records: a table of values, column types, cut pages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfsync.connectors.bulk import BulkJob, job_failure
from sfsync.connectors.bulk_records import column_types, read_csv, read_datetime, typed_records
from sfsync.connectors.salesforce import FieldInfo, ObjectInfo, parse_datetime
from sfsync.emulator.bulk_csv import csv_datetime, render
from sfsync.emulator.soql_render import format_datetime
from sfsync.errors import ConfigError, OrgUnavailable, TransientError


def _field(name: str, type_: str, *refs: str, rel: str | None = None) -> FieldInfo:
    return FieldInfo(name, type_, 0, True, True, (), False, tuple(refs), rel)


# Describes as the org would answer them (plain data, not our code stubbed out).
DESCRIBES = {
    "Contact": ObjectInfo(
        "Contact",
        {
            "Id": _field("Id", "id"),
            "IsDeleted": _field("IsDeleted", "boolean"),
            "AccountId": _field("AccountId", "reference", "Account", rel="Account"),
            "OwnerId": _field("OwnerId", "reference", "Group", "User", rel="Owner"),
            "Birthdate": _field("Birthdate", "date"),
        },
    ),
    "Account": ObjectInfo(
        "Account",
        {
            "Name": _field("Name", "string"),
            "NumberOfEmployees": _field("NumberOfEmployees", "int"),
            "AnnualRevenue": _field("AnnualRevenue", "currency"),
            "CreatedDate": _field("CreatedDate", "datetime"),
        },
    ),
    "Group": ObjectInfo("Group", {"Name": _field("Name", "string")}),
    "User": ObjectInfo(
        "User", {"Name": _field("Name", "string"), "IsActive": _field("IsActive", "boolean")}
    ),
}


def describe(name: str) -> ObjectInfo:
    return DESCRIBES[name]


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Id", "id"),
        ("isdeleted", "boolean"),
        ("Birthdate", "date"),
        ("Account.NumberOfEmployees", "int"),
        ("Account.AnnualRevenue", "currency"),
        ("account.createddate", "datetime"),
        ("Owner.IsActive", "boolean"),  # polymorphic: the first target type that has it
        ("Owner.Name", "string"),
        ("Nope", "string"),
        ("Nope.Name", "string"),
    ],
)
def test_column_types_follow_relationships_through_describe(label: str, expected: str) -> None:
    assert column_types("Contact", [label], describe) == [expected]


@pytest.mark.parametrize(
    ("type_", "text", "value"),
    [
        ("boolean", "true", True),
        ("boolean", "FALSE", False),
        ("int", "42", 42),
        ("double", "1.5", 1.5),
        ("currency", "1500000.0", 1_500_000.0),
        ("percent", "1e-3", 0.001),
        ("datetime", "2024-05-01T12:34:56.000Z", datetime(2024, 5, 1, 12, 34, 56, tzinfo=UTC)),
        ("datetime", "2024-05-01T12:34:56.000+0000", datetime(2024, 5, 1, 12, 34, 56, tzinfo=UTC)),
        ("date", "2024-05-01", date(2024, 5, 1)),
        ("string", "  spaced  ", "  spaced  "),
        ("string", "true", "true"),
        ("id", "00Q000000000001AAA", "00Q000000000001AAA"),
        ("boolean", "", None),
        ("int", "", None),
        ("string", "", None),
    ],
)
def test_values_take_their_field_type(type_: str, text: str, value: Any) -> None:
    assert typed_records(["X"], [[text]], [type_]) == [{"X": value}]


@pytest.mark.parametrize(("type_", "text"), [("boolean", "yes"), ("int", "4.5"), ("date", "May")])
def test_an_unreadable_value_names_the_column_not_the_value(type_: str, text: str) -> None:
    with pytest.raises(OrgUnavailable, match="column Secret__c") as caught:
        typed_records(["Secret__c"], [[text]], [type_])
    assert text not in str(caught.value)


def test_dotted_columns_nest_and_an_all_null_parent_is_null() -> None:
    header = ["Id", "Account.Name", "Account.Owner.Name"]
    rows = [["003A", "Acme", "Ann"], ["003B", "", ""], ["003C", "Solo", ""]]
    records = typed_records(header, rows, ["id", "string", "string"])
    assert records == [
        {"Id": "003A", "Account": {"Name": "Acme", "Owner": {"Name": "Ann"}}},
        {"Id": "003B", "Account": None},
        {"Id": "003C", "Account": {"Name": "Solo", "Owner": None}},
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"Id","Name"\n"1","a"\n', 2),  # fewer rows than Sforce-NumberOfRecords
        ('"Id","Name"\n"1","a"\n"2"\n', 2),  # the last row cut mid-way
        ("", 0),  # not even a header
    ],
)
def test_a_page_cut_short_is_transient(text: str, expected: int) -> None:
    with pytest.raises(TransientError):
        read_csv(text, expected)


def test_quoted_commas_quotes_and_line_breaks_stay_in_their_value() -> None:
    text = '"Id","Street"\n"1","1 Main St, ""Rear""\nSuite 2\r\nFloor 3"\n'
    header, rows = read_csv(text, 1)
    assert header == ["Id", "Street"]
    assert rows == [["1", '1 Main St, "Rear"\nSuite 2\r\nFloor 3']]


@pytest.mark.parametrize(
    ("message", "error", "kind"),
    [
        ("INVALID_FIELD: No such column 'Nope' on entity 'Lead'", ConfigError, "No such column"),
        ("MALFORMED_QUERY: unexpected token", ConfigError, "unexpected token"),
        ("UNKNOWN_EXCEPTION: retried more than 15 times", OrgUnavailable, "15 times"),
        ("", OrgUnavailable, "no errorMessage"),
    ],
)
def test_a_failed_job_is_a_clear_error_with_salesforces_message(
    message: str, error: type[Exception], kind: str
) -> None:
    failure = job_failure(BulkJob("750X", "Lead", "Failed"), {"errorMessage": message})
    assert type(failure) is error
    assert kind in str(failure) and "750X" in str(failure) and "Lead" in str(failure)


texts = st.one_of(st.none(), st.text(alphabet=st.characters(exclude_categories=("Cs",))))


@given(st.lists(st.tuples(texts, st.booleans(), st.none() | st.integers(-(10**9), 10**9))))
def test_what_the_emulator_writes_the_connector_reads_back(rows: list[tuple[Any, ...]]) -> None:
    columns, types = ["Name", "IsActive", "NumberOfEmployees"], ["string", "boolean", "int"]
    page = render(columns, types, rows).decode("utf-8")
    header, parsed = read_csv(page, len(rows))
    records = typed_records(header, parsed, types)
    # Salesforce stores no empty strings: an empty text comes back as null.
    expected = [
        {"Name": name or None, "IsActive": active, "NumberOfEmployees": number}
        for name, active, number in rows
    ]
    assert records == expected


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)))
def test_read_datetime_agrees_with_parse_datetime_on_both_forms(moment: datetime) -> None:
    stamp = moment.replace(microsecond=moment.microsecond // 1000 * 1000, tzinfo=UTC)
    for text in (csv_datetime(stamp), format_datetime(stamp)):  # Bulk's `Z`, REST's `+0000`
        assert read_datetime(text) == parse_datetime(text) == stamp
        assert read_datetime(text).tzinfo is not None


@pytest.mark.parametrize("text", ["2024-05-01", "2024-05-01T12:00:00", "soon"])
def test_read_datetime_refuses_what_is_not_an_aware_datetime(text: str) -> None:
    with pytest.raises(OrgUnavailable):
        read_datetime(text)
