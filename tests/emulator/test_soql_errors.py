"""Queries the SOQL engine refuses, with Salesforce's errorCode and a pointer at the problem."""

from __future__ import annotations

import pytest

from sfsync.emulator import soql
from sfsync.emulator.schema import OrgSchema

SCHEMA = OrgSchema()
NO_FOO = (
    "No such column 'Foo' on entity 'Lead'. If you are attempting to use a custom field, be "
    "sure to append the '__c' after the custom field name. Please reference your WSDL or the "
    "describe call for the appropriate names."
)

CASES = [
    # (query, errorCode, column the caret points at, text the detail contains)
    ("SELECT Foo FROM Lead", "INVALID_FIELD", 8, NO_FOO),
    ("SELECT Id FROM Foo", "INVALID_TYPE", 16, "sObject type 'Foo' is not supported."),
    ("SELECT Id FROM Lead WHERE Foo = 1", "INVALID_FIELD", 27, "No such column 'Foo'"),
    ("SELECT Id FROM Lead ORDER BY Foo", "INVALID_FIELD", 30, "No such column 'Foo'"),
    ("SELECT Foo.Name FROM Lead", "INVALID_FIELD", 8, "Didn't understand relationship 'Foo'"),
    ("SELECT OwnerId.Name FROM Lead", "INVALID_FIELD", 8, "relationship 'OwnerId'"),
    ("SELECT Owner FROM Lead", "INVALID_FIELD", 8, "No such column 'Owner' on entity 'Lead'"),
    ("SELECT Owner.Nope FROM Lead", "INVALID_FIELD", 8, "'Nope' on entity 'Name'"),
    ("SELECT Account.Nope FROM Contact", "INVALID_FIELD", 8, "'Nope' on entity 'Account'"),
    ("SELECT Id FROM Lead ORDER BY Description", "INVALID_FIELD", 30, "can not be sorted"),
    ("SELECT Id FROM Lead WHERE Description = 'x'", "INVALID_FIELD", 27, "can not be filtered"),
    # AND and OR never mix without parentheses.
    (
        "SELECT Id FROM Lead WHERE Email = 'a' AND Company = 'b' OR Name = 'c'",
        "MALFORMED_QUERY",
        57,
        "unexpected token: 'OR'",
    ),
    (
        "SELECT Id FROM Lead WHERE Email = 'a' OR Company = 'b' AND Name = 'c'",
        "MALFORMED_QUERY",
        56,
        "unexpected token: 'AND'",
    ),
    ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY", 26, "unexpected token: <EOF>"),
    ("SELECT Id Lead", "MALFORMED_QUERY", 11, "unexpected token: 'Lead'"),
    ("SELECT Id, FROM Lead", "MALFORMED_QUERY", 12, "unexpected token: 'FROM'"),
    ("SELECT FROM Lead", "MALFORMED_QUERY", 8, "unexpected token: 'FROM'"),
    ("SELECT Id FROM Lead GROUP BY Id", "MALFORMED_QUERY", 21, "unexpected token: 'GROUP'"),
    ("SELECT Id FROM Lead WHERE Name = #", "MALFORMED_QUERY", 34, "unexpected token: '#'"),
    ("SELECT Id FROM Lead WHERE Name = 'abc", "MALFORMED_QUERY", 34, "unterminated string"),
    ("SELECT Id FROM Lead WHERE Name = 'a\\qb'", "MALFORMED_QUERY", 34, "sequence '\\q'"),
    ("SELECT Id FROM Lead WHERE Name LIKE 'a%' OR", "MALFORMED_QUERY", 44, "<EOF>"),
    ("SELECT Id FROM Lead WHERE (Name = 'a'", "MALFORMED_QUERY", 38, "<EOF>"),
    # Literals of the wrong type for the field.
    ("SELECT Id FROM Lead WHERE CreatedDate > 2024-01-01", "MALFORMED_QUERY", 41,
     "value of filter criterion for field 'CreatedDate' must be of type dateTime "
     "and should not be enclosed in quotes"),
    ("SELECT Id FROM Lead WHERE CreatedDate > '2024-01-01T00:00:00Z'", "MALFORMED_QUERY", 41,
     "must be of type dateTime"),
    ("SELECT Id FROM Lead WHERE ConvertedDate = 2024-01-01T00:00:00Z", "MALFORMED_QUERY", 43,
     "field 'ConvertedDate' must be of type date and"),
    ("SELECT Id FROM Lead WHERE NumberOfEmployees = '5'", "MALFORMED_QUERY", 47,
     "must be of type integer and should not be enclosed in quotes"),
    ("SELECT Id FROM Lead WHERE AnnualRevenue IN (1, true)", "MALFORMED_QUERY", 48,
     "must be of type double"),
    ("SELECT Id FROM Lead WHERE IsDeleted = 'true'", "MALFORMED_QUERY", 39,
     "must be of type boolean"),
    ("SELECT Id FROM Lead WHERE LastName = 5", "MALFORMED_QUERY", 38,
     "must be of type string and should be enclosed in quotes"),
    ("SELECT Id FROM Lead WHERE Owner.Name = TODAY", "MALFORMED_QUERY", 40,
     "field 'Owner.Name' must be of type string"),
    ("SELECT Id FROM Lead WHERE CreatedDate = 2024-02-30T00:00:00Z", "MALFORMED_QUERY", 41,
     "invalid dateTime"),
    ("SELECT Id FROM Lead WHERE ConvertedDate = 2024-13-01", "MALFORMED_QUERY", 43,
     "invalid date"),
    ("SELECT Id FROM Lead WHERE NumberOfEmployees LIKE '5%'", "MALFORMED_QUERY", 50,
     "invalid operator on integer field"),
    ("SELECT Id FROM Lead WHERE NumberOfEmployees = 5 AND Id LIKE '00Q%'", "MALFORMED_QUERY",
     61, "invalid operator on id field: Id"),
    ("SELECT Id FROM Lead WHERE Name LIKE 5", "MALFORMED_QUERY", 37, "must be of type string"),
    ("SELECT Id FROM Lead WHERE OwnerId = 'nope'", "INVALID_QUERY_FILTER_OPERATOR", 37,
     "invalid ID field: nope"),
    # Only COUNT() is supported among functions.
    ("SELECT COUNT(Id) FROM Lead", "MALFORMED_QUERY", 8, "COUNT(Id)"),
    ("SELECT MAX(Owner.Name) FROM Lead", "MALFORMED_QUERY", 8, "MAX(Owner.Name)"),
    ("SELECT Id, COUNT() FROM Lead", "MALFORMED_QUERY", 8, "COUNT() must be the only"),
    ("SELECT COUNT() FROM Lead ORDER BY Owner.Name", "MALFORMED_QUERY", 35,
     "Ordered field must be grouped or aggregated: Owner.Name"),
    ("SELECT Id, ID FROM Lead", "MALFORMED_QUERY", 12, "duplicate field selected: Id"),
    ("SELECT Id FROM Lead OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE", 28,
     "Maximum SOQL offset allowed for apiName Lead is 2000"),
    ("SELECT Id FROM Lead LIMIT 1.5", "MALFORMED_QUERY", 27, "unexpected token: '1.5'"),
    ("SELECT Id FROM Lead LIMIT -1", "MALFORMED_QUERY", 27, "unexpected token: '-1'"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "code", "column", "detail"), CASES)
def test_refused(text: str, code: str, column: int, detail: str) -> None:
    with pytest.raises(soql.SoqlError) as caught:
        soql.parse(text, SCHEMA)
    error = caught.value
    assert error.error_code == code
    assert f"ERROR at Row:1:Column:{column}\n" in error.message
    assert detail in error.message


def test_message_layout_matches_salesforce() -> None:
    with pytest.raises(soql.SoqlError) as caught:
        soql.parse("SELECT Foo FROM Lead", SCHEMA)
    expected = f"\nSELECT Foo FROM Lead\n       ^\nERROR at Row:1:Column:8\n{NO_FOO}"
    assert caught.value.message == expected
    assert str(caught.value) == f"INVALID_FIELD: {expected}"


def test_errors_on_later_rows_point_at_that_row() -> None:
    text = "SELECT Id\nFROM Lead\n  WHERE Nope__c = 1"
    with pytest.raises(soql.SoqlError) as caught:
        soql.parse(text, SCHEMA)
    assert caught.value.message.startswith(
        "\n  WHERE Nope__c = 1\n        ^\nERROR at Row:3:Column:9\n"
    )


def test_keywords_and_names_ignore_case() -> None:
    query = soql.parse(
        "select ID, owner.NAME from LEAD where EMAIL != NULL and not ISDELETED = TRUE "
        "order by CREATEDDATE desc nulls first limit 5 offset 1",
        SCHEMA,
    )
    assert query.sobject == "Lead"
    assert [path.label for path in query.fields] == ["Id", "Owner.Name"]
    assert [item.path.label for item in query.order_by] == ["CreatedDate"]
    assert (query.limit, query.offset, query.order_by[0].nulls_first) == (5, 1, True)
