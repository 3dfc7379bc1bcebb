"""Leads, Contacts and Accounts read into one Lead-shaped record; the mirror's queries."""

from __future__ import annotations

import pytest

from sfsync.rules.matching_config import MATCH_FIELDS
from sfsync.rules.matching_records import SOQL_FIELDS, lead_shaped, soql


def test_a_contact_takes_its_accounts_name_and_its_mailing_address() -> None:
    contact = {"FirstName": "Ana", "LastName": "García", "Email": "ana@acme.es",
               "MailingStreet": "Calle Mayor 1", "MailingCity": "Madrid", "MailingCountry": "ES",
               "Account": {"attributes": {"type": "Account"}, "Name": "Acme S.L.",
                           "Website": "acme.es"}}  # fmt: skip
    shaped = lead_shaped("Contact", contact)
    assert set(shaped) == set(MATCH_FIELDS)
    assert shaped["Company"] == "Acme S.L." and shaped["Website"] == "acme.es"
    assert (shaped["Street"], shaped["City"], shaped["Country"]) == (
        "Calle Mayor 1", "Madrid", "ES")  # fmt: skip
    assert shaped["Title"] is None


@pytest.mark.parametrize("account", [None, "not a record", {}])
def test_a_contact_without_an_account_has_no_company(account: object) -> None:
    assert lead_shaped("Contact", {"LastName": "X", "Account": account})["Company"] is None


def test_an_account_is_its_name_billing_address_website_and_phone() -> None:
    account = {"Name": "Acme Inc.", "Website": "https://acme.com", "Phone": "(415) 555-0100",
               "BillingCity": "San Francisco", "BillingPostalCode": "94105"}  # fmt: skip
    shaped = lead_shaped("Account", account)
    assert shaped["Company"] == "Acme Inc." and shaped["City"] == "San Francisco"
    assert shaped["PostalCode"] == "94105" and shaped["LastName"] is None


def test_only_the_three_objects_are_read() -> None:
    with pytest.raises(ValueError, match="Opportunity"):
        lead_shaped("Opportunity", {})


def test_the_mirror_queries_read_deletes_merges_and_changes_since_a_stamp() -> None:
    for sobject in ("Lead", "Contact", "Account"):
        assert {"Id", "IsDeleted", "MasterRecordId", "SystemModstamp"} <= set(SOQL_FIELDS[sobject])
    assert "Account.Name" in SOQL_FIELDS["Contact"]
    assert soql("Lead").endswith("FROM Lead ORDER BY SystemModstamp, Id")
    since = soql("Contact", "2024-05-01T12:00:00Z")
    assert "FROM Contact WHERE SystemModstamp >= 2024-05-01T12:00:00Z ORDER BY" in since
