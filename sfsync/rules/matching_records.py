"""Leads, Contacts and Accounts as matching sees them: one record shape, in Lead field names.

A Contact's company is its account's name and its address is the mailing
address; an Account's company is its name and its address the billing
address. Reading every object into Lead names lets one rule compare a lead
with any of them. `SOQL_FIELDS` says what the mirror asks the org for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sfsync.rules.matching_config import MATCH_FIELDS

_SYSTEM = ("Id", "IsDeleted", "MasterRecordId", "OwnerId", "CreatedDate", "SystemModstamp")
_ADDRESS = ("Street", "City", "State", "PostalCode", "Country")
_PERSON = ("FirstName", "LastName", "Email", "Phone", "MobilePhone", "Title")

SOQL_FIELDS: dict[str, tuple[str, ...]] = {
    "Lead": (*_SYSTEM, "IsConverted", *MATCH_FIELDS),
    "Contact": (
        *_SYSTEM,
        "AccountId",
        "Account.Name",
        "Account.Website",
        *_PERSON,
        *(f"Mailing{p}" for p in _ADDRESS),
    ),
    "Account": (*_SYSTEM, "Name", "Website", "Phone", *(f"Billing{p}" for p in _ADDRESS)),
}


def lead_shaped(sobject: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """The record's matching fields in Lead names (absent fields are None)."""
    if sobject == "Lead":
        return {name: record.get(name) for name in MATCH_FIELDS}
    if sobject == "Contact":
        parent = record.get("Account")
        account: Mapping[str, Any] = parent if isinstance(parent, Mapping) else {}
        fields = {name: record.get(name) for name in _PERSON}
        fields.update({p: record.get(f"Mailing{p}") for p in _ADDRESS})
        fields.update(Company=account.get("Name"), Website=account.get("Website"))
        return _complete(fields)
    if sobject == "Account":
        fields = {p: record.get(f"Billing{p}") for p in _ADDRESS}
        fields.update(Company=record.get("Name"), Website=record.get("Website"),
                      Phone=record.get("Phone"))  # fmt: skip
        return _complete(fields)
    raise ValueError(f"matching reads Lead, Contact and Account, not {sobject}")


def _complete(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: fields.get(name) for name in MATCH_FIELDS}


def soql(sobject: str, since: str | None = None) -> str:
    """The mirror's query of one object, changes since `since` (a SOQL dateTime literal) only.

    Run with queryAll, so deleted and merged records come too.
    """
    where = f" WHERE SystemModstamp >= {since}" if since else ""
    fields = ", ".join(SOQL_FIELDS[sobject])
    return f"SELECT {fields} FROM {sobject}{where} ORDER BY SystemModstamp, Id"
