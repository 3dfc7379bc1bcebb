"""Lead conversion in the org (`Org.convert_lead`): records made or merged, refusals, atomicity."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import pytest

from sfsync.emulator.convert import LeadConvert, LeadConvertResult
from sfsync.emulator.org import OrgSettings, ValidationRule
from tests.emulator.org_kit import T0, Kit, make_kit

CONVERTED = "Closed - Converted"
FULL_LEAD: dict[str, Any] = {
    "Salutation": "Dr.", "FirstName": "Ada", "LastName": "Ng", "Title": "CTO",
    "Company": "Globex", "Street": "1 Main St", "City": "Springfield", "State": "IL",
    "PostalCode": "62701", "Country": "USA", "Phone": "+1 555 0100",
    "MobilePhone": "+1 555 0101", "Email": "ada@globex.example", "Website": "globex.example",
    "LeadSource": "Trade Show", "Industry": "Technology", "NumberOfEmployees": 250,
    "AnnualRevenue": 5000000,
}  # fmt: skip
WRITTEN_OBJECTS = ("Account", "Contact", "Opportunity", "Lead")


@pytest.fixture
def kit() -> Kit:
    return make_kit()


def convert(kit: Kit, lead_id: str | None, **options: Any) -> LeadConvertResult:
    request = LeadConvert(lead_id=lead_id, converted_status=options.pop("status", CONVERTED))
    return kit.org.convert_lead(replace(request, **options), user_id=kit.ids["rep"])


def snapshot(kit: Kit) -> dict[str, Any]:
    """Everything a refused conversion must leave as it was."""
    tables = {name: dict(kit.org.tables[name]) for name in WRITTEN_OBJECTS}
    return {"tables": tables, "history": list(kit.org.history)}


# -- new records -------------------------------------------------------------------------


def test_a_lead_becomes_a_new_account_contact_and_opportunity(kit: Kit) -> None:
    lead_id = kit.create_lead(**FULL_LEAD)
    kit.clock.advance(60)
    result = convert(kit, lead_id)
    assert result.success and result.lead_id == lead_id
    assert None not in (result.account_id, result.contact_id, result.opportunity_id)
    account = kit.record("Account", str(result.account_id))
    contact = kit.record("Contact", str(result.contact_id))
    opportunity = kit.record("Opportunity", str(result.opportunity_id))
    expected_contact = {**EXPECTED_CONTACT, "AccountId": result.account_id}
    expected_opportunity = {**EXPECTED_OPPORTUNITY, "AccountId": result.account_id}
    assert {k: account[k] for k in EXPECTED_ACCOUNT} == EXPECTED_ACCOUNT
    assert {k: contact[k] for k in expected_contact} == expected_contact
    assert {k: opportunity[k] for k in expected_opportunity} == expected_opportunity
    # New records belong to the lead's owner; the converting user created them.
    owners = {account["OwnerId"], contact["OwnerId"], opportunity["OwnerId"]}
    assert owners == {kit.admin}
    assert account["CreatedById"] == kit.ids["rep"]


EXPECTED_ACCOUNT = {
    "Name": "Globex", "BillingStreet": "1 Main St", "BillingCity": "Springfield",
    "BillingState": "IL", "BillingPostalCode": "62701", "BillingCountry": "USA",
    "Industry": "Technology", "NumberOfEmployees": 250, "AnnualRevenue": 5000000.0,
    "Website": "globex.example", "Phone": "+1 555 0100",
}  # fmt: skip
EXPECTED_CONTACT = {
    "Salutation": "Dr.", "FirstName": "Ada", "LastName": "Ng", "Name": "Ada Ng",
    "Title": "CTO", "Email": "ada@globex.example", "Phone": "+1 555 0100",
    "MobilePhone": "+1 555 0101", "MailingStreet": "1 Main St",
    "MailingCity": "Springfield", "MailingState": "IL", "MailingPostalCode": "62701",
    "MailingCountry": "USA", "LeadSource": "Trade Show",
}  # fmt: skip
EXPECTED_OPPORTUNITY = {
    "Name": "Globex-", "StageName": "Prospecting", "LeadSource": "Trade Show",
    "CloseDate": T0.date() + timedelta(days=30),
}  # fmt: skip


def test_the_converted_lead_carries_the_new_ids_status_date_and_stamps(kit: Kit) -> None:
    lead_id = kit.create_lead(**FULL_LEAD)
    kit.clock.advance(3600)
    result = convert(kit, lead_id)
    lead = kit.lead(lead_id)
    assert {k: lead[k] for k in LEAD_AFTER} == {
        "IsConverted": True,
        "Status": CONVERTED,
        "ConvertedDate": T0.date(),
        "ConvertedAccountId": result.account_id,
        "ConvertedContactId": result.contact_id,
        "ConvertedOpportunityId": result.opportunity_id,
        "LastModifiedById": kit.ids["rep"],
        "SystemModstamp": T0 + timedelta(seconds=3600),
        "LastModifiedDate": T0 + timedelta(seconds=3600),
    }
    event = kit.org.history[-1]
    assert (event.sobject, event.record_id, event.operation) == ("Lead", lead_id, "convert")
    assert event.user_id == kit.ids["rep"]
    assert event.changes["ConvertedAccountId"] == result.account_id


LEAD_AFTER = (
    "IsConverted", "Status", "ConvertedDate", "ConvertedAccountId", "ConvertedContactId",
    "ConvertedOpportunityId", "LastModifiedById", "SystemModstamp", "LastModifiedDate",
)  # fmt: skip


@pytest.mark.parametrize(
    ("options", "expected_name"),
    [
        ({}, "Globex-"),
        ({"opportunity_name": "Globex <renewal> & more"}, "Globex <renewal> & more"),
    ],
)
def test_the_opportunity_name(kit: Kit, options: dict[str, Any], expected_name: str) -> None:
    result = convert(kit, kit.create_lead(**FULL_LEAD), **options)
    assert kit.record("Opportunity", str(result.opportunity_id))["Name"] == expected_name


def test_a_long_company_gives_a_default_opportunity_name_cut_to_its_field(kit: Kit) -> None:
    result = convert(kit, kit.create_lead(Company="C" * 200))
    assert kit.record("Opportunity", str(result.opportunity_id))["Name"] == "C" * 120


def test_without_opportunity(kit: Kit) -> None:
    before = len(kit.org.tables["Opportunity"])
    result = convert(kit, kit.create_lead(**FULL_LEAD), do_not_create_opportunity=True)
    assert result.success and result.opportunity_id is None
    assert len(kit.org.tables["Opportunity"]) == before
    assert kit.lead(result.lead_id or "")["ConvertedOpportunityId"] is None


# -- merging into existing records -------------------------------------------------------


def existing_contact(kit: Kit, **values: Any) -> str:
    row = {"LastName": "Old", "FirstName": "Adele", "AccountId": kit.ids["account"], **values}
    return kit.org.load("Contact", [row])[0]


@pytest.mark.parametrize(
    ("overwrite", "contact_source", "expected_source"),
    [
        (False, "Web", "Web"),
        (True, "Web", "Trade Show"),
        (False, None, "Trade Show"),
    ],
)
def test_merging_fills_only_empty_fields(
    kit: Kit, overwrite: bool, contact_source: str | None, expected_source: str
) -> None:
    contact_id = existing_contact(kit, LeadSource=contact_source)
    accounts = len(kit.org.tables["Account"])
    result = convert(
        kit,
        kit.create_lead(**FULL_LEAD),
        account_id=kit.ids["account"],
        contact_id=contact_id,
        overwrite_lead_source=overwrite,
    )
    assert (result.account_id, result.contact_id) == (kit.ids["account"], contact_id)
    assert len(kit.org.tables["Account"]) == accounts
    account = kit.record("Account", kit.ids["account"])
    contact = kit.record("Contact", contact_id)
    # Filled: the fields that were empty. Kept: the ones that had a value.
    assert (account["Name"], account["Phone"], account["Industry"]) == (
        "Acme Corp",
        "+1 555 0100",
        "Technology",
    )
    assert (contact["LastName"], contact["FirstName"], contact["Email"]) == (
        "Old",
        "Adele",
        "ada@globex.example",
    )
    assert contact["LeadSource"] == expected_source
    assert kit.record("Opportunity", str(result.opportunity_id))["AccountId"] == kit.ids["account"]


def test_into_an_existing_account_a_new_contact_is_made_under_it(kit: Kit) -> None:
    result = convert(kit, kit.create_lead(**FULL_LEAD), account_id=kit.ids["account"])
    assert result.account_id == kit.ids["account"]
    assert kit.record("Contact", str(result.contact_id))["AccountId"] == kit.ids["account"]


def test_an_existing_opportunity_is_attached_instead_of_a_new_one(kit: Kit) -> None:
    row = {"Name": "Deal", "StageName": "Qualification", "CloseDate": T0.date()}
    opportunity_id = kit.org.load("Opportunity", [{**row, "AccountId": kit.ids["account"]}])[0]
    before = len(kit.org.tables["Opportunity"])
    result = convert(
        kit, kit.create_lead(), account_id=kit.ids["account"], opportunity_id=opportunity_id
    )
    assert result.opportunity_id == opportunity_id
    assert len(kit.org.tables["Opportunity"]) == before


# -- owners ------------------------------------------------------------------------------


def test_a_queue_owned_lead_converts_with_an_owner(kit: Kit) -> None:
    lead_id = kit.create_lead(OwnerId=kit.ids["lead_queue"])
    result = convert(kit, lead_id, owner_id=kit.ids["rep"][:15])
    assert result.success
    for sobject, record_id in (("Account", result.account_id), ("Contact", result.contact_id)):
        assert kit.record(sobject, str(record_id))["OwnerId"] == kit.ids["rep"]


# -- refusals ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """A conversion the org refuses; `lead` values on top of a valid lead, `options` by name."""

    name: str
    code: str
    fields: tuple[str, ...]
    lead: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    # Run on the kit and the lead id before converting (delete it, convert it first...).
    prepare: Callable[[Kit, str], None] | None = None
    lead_id: str | None = None


def _delete(kit: Kit, lead_id: str) -> None:
    assert kit.org.delete("Lead", lead_id, user_id=kit.admin).success


def _convert_first(kit: Kit, lead_id: str) -> None:
    assert convert(kit, lead_id).success


def _delete_account(kit: Kit, _: str) -> None:
    assert kit.org.delete("Account", kit.ids["account"], user_id=kit.admin).success


REFUSALS = [
    Refusal("queue owner, no ownerId", "REQUIRED_FIELD_MISSING", ("ownerId",),
            lead={"OwnerId": "@lead_queue"}),
    Refusal("ownerId is a queue", "INVALID_CROSS_REFERENCE_KEY", ("OwnerId",),
            options={"owner_id": "@lead_queue"}),
    Refusal("ownerId inactive", "INACTIVE_OWNER_OR_USER", ("OwnerId",),
            options={"owner_id": "@former"}),
    Refusal("status not converted", "INVALID_STATUS", ("convertedStatus",),
            options={"status": "Working - Contacted"}),
    Refusal("status unknown", "INVALID_STATUS", ("convertedStatus",), options={"status": "Won"}),
    Refusal("status missing", "REQUIRED_FIELD_MISSING", ("convertedStatus",),
            options={"status": None}),
    Refusal("already converted", "CANNOT_UPDATE_CONVERTED_LEAD", ("leadId",),
            prepare=_convert_first),
    Refusal("deleted lead", "ENTITY_IS_DELETED", ("leadId",), prepare=_delete),
    Refusal("no such lead", "INVALID_CROSS_REFERENCE_KEY", ("leadId",),
            lead_id="00Q0A0000000ZZZ"),
    Refusal("not an id", "MALFORMED_ID", ("leadId",), lead_id="00Q-nope"),
    Refusal("an account id", "INVALID_CROSS_REFERENCE_KEY", ("leadId",), lead_id="@account"),
    Refusal("no leadId", "REQUIRED_FIELD_MISSING", ("leadId",), lead_id=""),
    Refusal("contact without account", "REQUIRED_FIELD_MISSING", ("contactId",),
            options={"contact_id": "@contact"}),
    Refusal("deleted account", "ENTITY_IS_DELETED", ("accountId",),
            options={"account_id": "@account"}, prepare=_delete_account),
    Refusal("record templates", "INVALID_OPERATION", ("accountRecord",),
            options={"unsupported": ("accountRecord",)}),
    Refusal("opportunityId and a name", "FIELD_INTEGRITY_EXCEPTION",
            ("opportunityId", "opportunityName"),
            options={"account_id": "@account", "opportunity_id": "@opportunity",
                     "opportunity_name": "X"}),
]  # fmt: skip


def _resolve(value: Any, ids: dict[str, str]) -> Any:
    return ids[value[1:]] if isinstance(value, str) and value.startswith("@") else value


@pytest.mark.parametrize("case", REFUSALS, ids=lambda c: c.name)
def test_refused_conversions_write_nothing(kit: Kit, case: Refusal) -> None:
    kit.ids["contact"] = existing_contact(kit)
    row = {"Name": "Deal", "StageName": "Prospecting", "CloseDate": T0.date()}
    row["AccountId"] = kit.ids["account"]
    kit.ids["opportunity"] = kit.org.load("Opportunity", [row])[0]
    lead_values = {k: _resolve(v, kit.ids) for k, v in case.lead.items()}
    lead_id = kit.create_lead(**lead_values)
    if case.prepare is not None:
        case.prepare(kit, lead_id)
    before = snapshot(kit)
    target = lead_id if case.lead_id is None else _resolve(case.lead_id, kit.ids)
    options = {k: _resolve(v, kit.ids) for k, v in case.options.items()}
    result = convert(kit, target, **options)
    assert not result.success
    assert [(e.status_code, e.fields) for e in result.errors] == [(case.code, case.fields)]
    assert (result.account_id, result.contact_id, result.opportunity_id) == (None, None, None)
    assert snapshot(kit) == before


@pytest.mark.parametrize(
    ("sobject", "option", "row"),
    [
        ("Contact", "contact_id", {"LastName": "Elsewhere"}),
        ("Opportunity", "opportunity_id",
         {"Name": "Deal", "StageName": "Prospecting", "CloseDate": T0.date()}),
    ],
)  # fmt: skip
def test_a_record_of_another_account_is_refused(
    kit: Kit, sobject: str, option: str, row: dict[str, Any]
) -> None:
    other = kit.org.load("Account", [{"Name": "Other"}])[0]
    record_id = kit.org.load(sobject, [{**row, "AccountId": other}])[0]
    options = {"account_id": kit.ids["account"], option: record_id}
    result = convert(kit, kit.create_lead(), **options)
    element = option.replace("_id", "Id")
    assert [(e.status_code, e.fields) for e in result.errors] == [
        ("INVALID_CROSS_REFERENCE_KEY", (element,))
    ]


def test_a_refusal_late_in_the_conversion_undoes_the_records_already_made() -> None:
    rule = ValidationRule(
        "No_Prospecting", "Stage must be set by sales", lambda r: True, "Opportunity"
    )
    kit = make_kit(OrgSettings(validation_rules=[rule]))
    lead_id = kit.create_lead(**FULL_LEAD)
    before = snapshot(kit)
    result = convert(kit, lead_id)
    assert [e.status_code for e in result.errors] == ["FIELD_CUSTOM_VALIDATION_EXCEPTION"]
    assert snapshot(kit) == before
    assert convert(kit, lead_id, do_not_create_opportunity=True).success


def test_a_converted_lead_refuses_a_later_update(kit: Kit) -> None:
    lead_id = kit.create_lead()
    assert convert(kit, lead_id).success
    refused = kit.update_lead(lead_id, Title="VP")
    assert [e.status_code for e in refused.errors] == ["CANNOT_UPDATE_CONVERTED_LEAD"]
