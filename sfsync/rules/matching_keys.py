"""Blocking keys: the few exact values under which a record can be found without a scan.

The store indexes these columns for every mirrored record; an incoming lead
looks its own values up there (and, for the within-batch case, in memory).
They follow Salesforce's match keys: the normalised e-mail, the phone, the
phonetic last name with the first initial (and the company), and for
Accounts the web domain and the company key. A key finds candidates; only a
rule decides a match.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sfsync.rules.matching_config import PERSON_OBJECTS, MatchKey
from sfsync.rules.matching_text import (
    MatchData,
    company_key,
    company_name,
    country_code,
    email_domain,
    email_key,
    fold_field,
    name_key,
    phone_e164,
    website_domain,
)

# (match key, value[, second value]): what one record is filed under or looks up.
Lookup = tuple[str, ...]


@dataclass(frozen=True)
class BlockingKeys:
    """The indexed key columns of one mirrored record (None where the record has no value)."""

    email_key: str | None = None
    email_domain: str | None = None
    phone_key: str | None = None
    name_key: str | None = None
    company_key: str | None = None

    def as_columns(self) -> dict[str, str | None]:
        """The keys by column name, as the store keeps them."""
        return {
            "email_key": self.email_key,
            "email_domain": self.email_domain,
            "phone_key": self.phone_key,
            "name_key": self.name_key,
            "company_key": self.company_key,
        }


def blocking_keys(fields: Mapping[str, Any], sobject: str, data: MatchData) -> BlockingKeys:
    """The keys a record of `sobject` (Lead-shaped `fields`) is filed under."""
    company = company_key(company_name(fields.get("Company"), data))
    if sobject not in PERSON_OBJECTS:
        return BlockingKeys(email_domain=website_domain(fields.get("Website"), data),
                            company_key=company)  # fmt: skip
    return BlockingKeys(
        email_key=email_key(fields.get("Email")),
        email_domain=email_domain(fields.get("Email"), data),
        phone_key=_phone(fields, data),
        name_key=name_key(fold_field(fields.get("FirstName")), fold_field(fields.get("LastName"))),
        company_key=company,
    )


def _phone(fields: Mapping[str, Any], data: MatchData) -> str | None:
    country = country_code(fields, data)
    return phone_e164(fields.get("Phone"), country, data) or phone_e164(
        fields.get("MobilePhone"), country, data
    )


def filed_under(keys: BlockingKeys, sobject: str) -> Iterator[Lookup]:
    """The lookups that find a record with these keys (the in-memory twin of the indexes)."""
    if sobject in PERSON_OBJECTS:
        if keys.email_key:
            yield (MatchKey.EMAIL, keys.email_key)
        if keys.phone_key:
            yield (MatchKey.PHONE, keys.phone_key)
        if keys.name_key and keys.company_key:
            # Without the company a phonetic name is shared by too many people to look up.
            yield (MatchKey.NAME_COMPANY, keys.name_key, keys.company_key)
    elif keys.email_domain:
        yield (MatchKey.DOMAIN, keys.email_domain)
    if keys.company_key:
        yield (MatchKey.COMPANY, keys.company_key)


def lookups(
    fields: Mapping[str, Any],
    data: MatchData,
    enabled: tuple[MatchKey, ...],
    keys: BlockingKeys | None = None,
) -> set[Lookup]:
    """What an incoming lead looks up: its person keys (names both ways round) and account keys.

    `keys` are the lead's own blocking keys when the caller has them already.
    """
    keys = keys or blocking_keys(fields, "Lead", data)
    found = set(filed_under(keys, "Lead"))
    first, last = fold_field(fields.get("FirstName")), fold_field(fields.get("LastName"))
    swapped = name_key(last, first)
    if swapped and keys.company_key:
        found.add((MatchKey.NAME_COMPANY, swapped, keys.company_key))
    mobile = phone_e164(fields.get("MobilePhone"), country_code(fields, data), data)
    if mobile:
        found.add((MatchKey.PHONE, mobile))
    domains = {keys.email_domain, website_domain(fields.get("Website"), data)}
    found |= {(MatchKey.DOMAIN, d) for d in domains if d}
    if keys.company_key:
        found.add((MatchKey.COMPANY, keys.company_key))
    return {lookup for lookup in found if lookup[0] in enabled}
