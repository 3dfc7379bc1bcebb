"""Column mapping for import: suggestions from headers, mapping files, full names, row values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sfsync.connectors.salesforce import FieldInfo, ObjectInfo
from sfsync.errors import ConfigError
from sfsync.jobs.capture_columns import (
    ColumnMap,
    candidates,
    check_required,
    load_columns,
    row_values,
    split_name,
    suggest,
)
from sfsync.jobs.capture_read import Sheet


def field(name: str, label: str = "", createable: bool = True) -> FieldInfo:
    return FieldInfo(name, "string", 80, True, True, (), False, label=label, createable=createable)


LEAD = ObjectInfo(
    "Lead",
    {
        f.name: f
        for f in (
            field("FirstName", "First Name"), field("LastName", "Last Name"),
            field("Company", "Company"), field("Email", "Email"), field("Phone", "Phone"),
            field("MobilePhone", "Mobile Phone"), field("PostalCode", "Zip/Postal Code"),
            field("Title", "Title"), field("Website", "Website"),
            field("Description", "Description"), field("LeadSource", "Lead Source"),
            field("Lead_Score__c", "Lead Score"), field("Broker_Id__c", "Broker ID"),
            field("Name", "Full Name", createable=False), field("Id", "Lead ID", createable=False),
        )
    },
)  # fmt: skip


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ("E-mail", "Email"),
        ("EMAIL ADDRESS", "Email"),
        ("Company Name", "Company"),
        ("company_name", "Company"),
        ("Organisation", "Company"),
        ("Zip", "PostalCode"),
        ("Zip/Postal Code", "PostalCode"),
        ("ZIP CODE", "PostalCode"),
        ("first name", "FirstName"),
        ("FirstName", "FirstName"),
        ("Vorname", "FirstName"),
        ("Surname", "LastName"),
        ("Cell", "MobilePhone"),
        ("Job Title", "Title"),
        ("Web site", "Website"),
        ("Notes", "Description"),
        ("Lead Score", "Lead_Score__c"),
        ("Lead_Score", "Lead_Score__c"),
        ("Broker ID", "Broker_Id__c"),
        ("Full Name", "$full_name"),  # the label of Name, which cannot be set: split instead
        ("Source", None),  # brokers' own labels are rarely LeadSource values
        ("Lead ID", None),
        ("Shoe size", None),
    ],
)
def test_headers_suggest_fields(header: str, target: str | None) -> None:
    assert suggest([header], LEAD).columns == {header: target}


def test_a_field_is_suggested_once_and_a_full_name_only_without_first_and_last() -> None:
    found = suggest(["Email", "E-mail", "Name", "First", "Last"], LEAD).columns
    assert found == {"Email": "Email", "E-mail": None, "Name": None, "First": "FirstName",
                     "Last": "LastName"}  # fmt: skip
    assert suggest(["Name", "Company"], LEAD).columns == {"Name": "$full_name",
                                                         "Company": "Company"}  # fmt: skip


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("Ada Lovelace", "Ada", "Lovelace"),
        ("  Ada   King  Lovelace ", "Ada King", "Lovelace"),
        ("Lovelace, Ada", "Ada", "Lovelace"),
        ("Cher", "", "Cher"),
    ],
)
def test_full_names_split(full: str, first: str, last: str) -> None:
    assert split_name(full) == (first, last)


def test_row_values_skip_blank_and_ignored_cells_and_split_names() -> None:
    columns = ColumnMap({"Name": "$full_name", "Org": "Company", "Ref": None, "Mail": "Email"})
    values = row_values(["Name", "Org", "Ref", "Mail", "Extra"],
                        ["  Ada Lovelace ", "Engines", "R1", "  ", "x"], columns)  # fmt: skip
    assert values == {"Company": "Engines", "LastName": "Lovelace", "FirstName": "Ada"}


def test_candidates_are_keyed_by_source_file_hash_and_row(tmp_path: Path) -> None:
    sheet = Sheet(tmp_path / "f.csv", "ab" * 32, ["Last", "Company"],
                  [(2, ["Lovelace", "Engines"]), (5, ["Turing", "Bletchley"])])  # fmt: skip
    found = candidates(sheet, ColumnMap({"Last": "LastName", "Company": "Company"}), "Broker")
    assert [c.key for c in found] == [f"Broker:{'ab' * 32}:2", f"Broker:{'ab' * 32}:5"]
    assert found[1].values == {"LastName": "Turing", "Company": "Bletchley"}
    assert {c.source for c in found} == {"Broker"}


def test_a_mapping_file_is_read_and_saved_the_same(tmp_path: Path) -> None:
    path = tmp_path / "columns.yaml"
    path.write_text(
        "columns:\n  e-mail: Email\n  Company Name: Company\n  Who: $full_name\n  Ref: ~\n"
        "dates: day_first\nsource: Broker Q3\n"
    )
    loaded = load_columns(path, ["E-Mail", "Company Name", "Who", "Ref", "Other"], LEAD)
    assert loaded.columns == {"E-Mail": "Email", "Company Name": "Company", "Who": "$full_name",
                              "Ref": None, "Other": None}  # fmt: skip
    assert loaded.day_first and loaded.source == "Broker Q3"
    path.write_text(loaded.to_yaml())
    headers = ["E-Mail", "Company Name", "Who", "Ref", "Other"]
    assert load_columns(path, headers, LEAD) == loaded


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns:\n  Nope: Email\n", "columns: 'Nope' is not a column of the file"),
        ("columns:\n  Mail: Emial\n", "columns: Mail: Lead has no field 'Emial'"),
        ("columns:\n  Mail: Email\ndates: sideways\n", "columns.yaml:3"),
        ("colums:\n  Mail: Email\n", "columns.yaml:1"),
    ],
)
def test_bad_mapping_files_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "columns.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_columns(path, ["Mail"], LEAD)


@pytest.mark.parametrize(
    ("columns", "missing"),
    [
        ({"a": "LastName"}, "Company"),
        ({"a": "Company"}, "LastName"),
        ({"a": "Email"}, "LastName or Company"),
        ({"a": "$full_name", "b": "Company"}, None),
    ],
)
def test_files_without_last_name_or_company_are_refused(
    columns: dict[str, Any], missing: str | None
) -> None:
    if missing is None:
        check_required(ColumnMap(columns))
        return
    with pytest.raises(ConfigError, match=f"no column maps to {missing}:"):
        check_required(ColumnMap(columns))
