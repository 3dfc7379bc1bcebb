"""Cleaning a captured row against the Lead describe: values in, values or reasons out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from sfsync.connectors.salesforce import FieldInfo, ObjectInfo
from sfsync.jobs.capture_clean import Invalid, clean, coerce, parse_date, required, validate


def field(name: str, type_: str, length: int = 0, **kw: Any) -> FieldInfo:
    values = {"updateable": True, "nillable": True, "picklist": (), "restricted": False}
    values.update(kw)
    return FieldInfo(name=name, type=type_, length=length, **values)


LEAD = ObjectInfo(
    "Lead",
    {
        f.name: f
        for f in (
            field("Id", "id", 18, createable=False, nillable=False, defaulted_on_create=True),
            field("FirstName", "string", 40),
            field("LastName", "string", 80, nillable=False),
            field("Company", "string", 255, nillable=False),
            field("Email", "email", 80),
            field("Phone", "phone", 40),
            field("LeadSource", "picklist", 255, picklist=("Web", "Purchased List", "Trade Show")),
            field("Status", "picklist", 255, nillable=False, defaulted_on_create=True,
                  picklist=("Open", "Closed"), restricted=True),
            field("Interests__c", "multipicklist", 255, picklist=("CRM", "ERP", "BI")),
            field("NumberOfEmployees", "int"),
            field("AnnualRevenue", "currency"),
            field("DoNotCall", "boolean", nillable=False),
            field("OwnerId", "reference", 18, nillable=False),
            field("First_Contact__c", "date"),
            field("Callback__c", "datetime"),
            field("IsConverted", "boolean", createable=False, nillable=False),
            field("Region__c", "string", 40, nillable=False),
        )
    },
)  # fmt: skip
OK = {"LastName": "Lovelace", "Company": "Engines Ltd", "Region__c": "EU"}


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("LastName", "  Lovelace  ", "Lovelace"),
        ("LastName", "Love\tlace", "Love lace"),
        ("Email", "ada@engines.example.com", "ada@engines.example.com"),
        ("Email", "o'brien+leads@mail.example.co.uk", "o'brien+leads@mail.example.co.uk"),
        ("Phone", "+1 (415) 555-0100 x12", "+1 (415) 555-0100 x12"),
        ("Phone", 4155550100.0, "4155550100"),
        ("Phone", "030/1234567", "030/1234567"),
        ("LeadSource", "purchased list", "Purchased List"),
        ("LeadSource", "  TRADE SHOW", "Trade Show"),
        ("Interests__c", "crm; bi", "CRM;BI"),
        ("NumberOfEmployees", "1,200", 1200),
        ("NumberOfEmployees", "1.200", 1200),
        ("NumberOfEmployees", 12.0, 12),
        ("AnnualRevenue", "$1,250,000.50", 1250000.5),
        ("AnnualRevenue", "1.250.000,50 €", 1250000.5),
        ("AnnualRevenue", "2,5", 2.5),
        ("DoNotCall", "Yes", True),
        ("DoNotCall", "n", False),
        ("DoNotCall", "x", True),
        ("First_Contact__c", "2024-03-05", "2024-03-05"),
        ("First_Contact__c", "2024/03/05", "2024-03-05"),
        ("First_Contact__c", "05.03.2024", "2024-03-05"),
        ("First_Contact__c", "3/5/2024", "2024-03-05"),
        ("First_Contact__c", "13/5/2024", "2024-05-13"),
        ("First_Contact__c", "3/5/24", "2024-03-05"),
        ("First_Contact__c", "5 March 2024", "2024-03-05"),
        ("First_Contact__c", "5-Mar-2024", "2024-03-05"),
        ("First_Contact__c", "March 5, 2024", "2024-03-05"),
        ("First_Contact__c", "Sept 5 2024", "2024-09-05"),
        ("First_Contact__c", "2024-03-05T09:30:00Z", "2024-03-05"),
        ("First_Contact__c", 45356, "2024-03-05"),
        ("First_Contact__c", "45356", "2024-03-05"),
        ("First_Contact__c", datetime(2024, 3, 5, 17, 0), "2024-03-05"),
        ("First_Contact__c", date(2024, 3, 5), "2024-03-05"),
        ("Callback__c", "2024-03-05 09:30", "2024-03-05T09:30:00+00:00"),
        ("Callback__c", "05.03.2024 09:30:15", "2024-03-05T09:30:15+00:00"),
        ("Callback__c", "2024-03-05T09:30:00+02:00", "2024-03-05T09:30:00+02:00"),
        ("Callback__c", "3/5/2024", "2024-03-05T00:00:00+00:00"),
    ],
)
def test_values_become_what_the_field_takes(name: str, raw: Any, expected: Any) -> None:
    assert coerce(LEAD.fields[name], raw) == expected


@pytest.mark.parametrize(
    ("name", "raw", "reason"),
    [
        ("Email", "ada@@engines", "is not an e-mail address"),
        ("Email", "ada engines@example.com", "is not an e-mail address"),
        ("Email", "ada@localhost", "is not an e-mail address"),
        ("Phone", "call me maybe", "is not a phone number"),
        ("Phone", "12345", "is not a phone number"),
        ("Phone", "+1 415 555 0100 555 0100 555 0100", "is not a phone number"),
        ("LeadSource", "LinkedIn", "is not one of its values (Web, Purchased List, Trade Show)"),
        ("Status", "Maybe", "is not one of its values"),
        ("Interests__c", "CRM;Blockchain", "'Blockchain' is not one of its values"),
        ("FirstName", "A" * 41, "41 characters, the field holds 40"),
        ("NumberOfEmployees", "many", "is not a number"),
        ("NumberOfEmployees", "12.5", "is not a whole number"),
        ("AnnualRevenue", True, "is not a number"),
        ("DoNotCall", "perhaps", "is not yes or no"),
        ("First_Contact__c", "31/02/2024", "is not a date"),
        ("First_Contact__c", "2024-13-01", "is not a date"),
        ("First_Contact__c", "next Tuesday", "is not a date"),
        ("First_Contact__c", 12, "is not a date"),
        ("First_Contact__c", "5 Smarch 2024", "is not a date"),
        ("Callback__c", "2024-03-05 25:00", "is not a date and time"),
    ],
)
def test_bad_values_say_why(name: str, raw: Any, reason: str) -> None:
    with pytest.raises(Invalid, match=reason.replace("(", r"\(").replace(")", r"\)")):
        coerce(LEAD.fields[name], raw)


def test_day_first_reads_ambiguous_dates_the_other_way() -> None:
    assert parse_date("03/04/2024") == date(2024, 3, 4)
    assert parse_date("03/04/2024", day_first=True) == date(2024, 4, 3)
    assert parse_date("13/04/2024") == date(2024, 4, 13)  # unambiguous either way
    assert parse_date("04.03.2024") == date(2024, 3, 4)  # dots: day first, always


def test_a_row_is_cleaned_and_blanks_dropped() -> None:
    values, problems = clean(
        {**OK, "Email": " ", "Phone": None, "NumberOfEmployees": "1,200", "DoNotCall": ""}, LEAD
    )
    assert problems == []
    assert values == {**OK, "NumberOfEmployees": 1200}


def test_every_problem_of_a_row_is_reported_at_once() -> None:
    problems = validate(
        {"Email": "nope", "Company": "X" * 256, "Shoe_Size__c": 44, "IsConverted": "true",
         "LeadSource": "Fax"},
        LEAD,
    )  # fmt: skip
    assert problems == [
        "Email: 'nope' is not an e-mail address",
        "Company: 256 characters, the field holds 255",
        "Shoe_Size__c: Lead has no such field",
        "IsConverted: cannot be set when a lead is created",
        "LeadSource: 'Fax' is not one of its values (Web, Purchased List, Trade Show)",
        "LastName: required",
        "Company: required",
        "Region__c: required",
    ]


def test_required_fields_are_lastname_company_and_what_the_org_insists_on() -> None:
    # Status has a default, OwnerId defaults to the creator, booleans to false.
    assert required(LEAD) == ["LastName", "Company", "Region__c"]


def test_datetimes_keep_their_offset_and_naive_ones_are_utc() -> None:
    cet = timezone(timedelta(hours=1))
    assert coerce(LEAD.fields["Callback__c"], datetime(2024, 3, 5, 9, 30, tzinfo=cet)) == (
        "2024-03-05T09:30:00+01:00"
    )
    assert coerce(LEAD.fields["Callback__c"], datetime(2024, 3, 5, 9, 30)) == (
        datetime(2024, 3, 5, 9, 30, tzinfo=UTC).isoformat()
    )
