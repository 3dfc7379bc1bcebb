"""New leads for scripted activity, made like seeded ones and distinct from everyone in the org.

The makers are primed with the org's people, e-mail addresses and companies
so that a new lead is never an accidental duplicate of an existing record:
the seeded ground truth stays complete while people add leads.
"""

from __future__ import annotations

from random import Random
from typing import Any

from sfsync.emulator.org import Org, Record
from sfsync.emulator.seed_companies import Company, CompanyMaker, company_stem
from sfsync.emulator.seed_context import SeedContext
from sfsync.emulator.seed_leads import prospect_fields
from sfsync.emulator.seed_persons import PersonMaker
from sfsync.emulator.seed_phone import random_phone
from sfsync.emulator.seed_pools import build_pools
from sfsync.emulator.seed_regions import REGIONS, City, Region

# Share of new leads at a company that is already an account.
EXISTING_ACCOUNT_SHARE = 0.5
_REGION_BY_COUNTRY = {r.countries[0][0]: r for r in REGIONS}
_WEBSITE_PREFIX = "https://www."


class NewLeadMaker:
    """Fields of new leads, at existing accounts or at companies new to the org."""

    def __init__(self, org: Org, rng: Random, seed: int) -> None:
        pools = build_pools(seed)
        self.rng = rng
        self.ctx = SeedContext(
            org=org,
            rng=rng,
            now=org.now(),
            pools=pools,
            companies=CompanyMaker(rng, pools),
            people=PersonMaker(rng, pools),
        )
        with org.lock:
            self.accounts = [a for a in org.tables["Account"].values() if not a["IsDeleted"]]
            _prime(self.ctx, org)

    def fields(self) -> dict[str, Any]:
        """The non-blank fields of one new prospect, without status or owner."""
        row, _ = prospect_fields(self.ctx, self._company())
        return {name: value for name, value in row.items() if value is not None}

    def _company(self) -> Company:
        if self.accounts and self.rng.random() < EXISTING_ACCOUNT_SHARE:
            known = company_from_account(self.rng.choice(self.accounts), self.rng)
            if known is not None:
                return known
        return self.ctx.companies.one()


def company_from_account(account: Record, rng: Random) -> Company | None:
    """The company behind a seeded account, or None when the account does not say enough."""
    region = _REGION_BY_COUNTRY.get(account["BillingCountry"] or "")
    website = account["Website"] or ""
    if region is None or not website.startswith(_WEBSITE_PREFIX):
        return None
    city = _city(region, account["BillingCity"])
    stem = company_stem(account["Name"])
    return Company(
        name=account["Name"],
        stem=stem,
        suffix=account["Name"][len(stem) :].strip(" ,") or None,
        domain=website.removeprefix(_WEBSITE_PREFIX),
        industry=account["Industry"] or "Other",
        employees=account["NumberOfEmployees"] or 1,
        revenue=int(account["AnnualRevenue"] or 0),
        region=region,
        city=city,
        street=account["BillingStreet"] or "",
        postcode=account["BillingPostalCode"],
        phone=random_phone(rng, region, city),
    )


def _city(region: Region, name: str | None) -> City:
    return next((c for c in region.cities if c.names[0] == name), region.cities[0])


def _prime(ctx: SeedContext, org: Org) -> None:
    """Reserve every person, address and company the org already holds."""
    account_names = {a["Id"]: a["Name"] for a in org.tables["Account"].values()}
    for account in org.tables["Account"].values():
        website = account["Website"] or ""
        ctx.companies.reserve(company_stem(account["Name"]), website.removeprefix(_WEBSITE_PREFIX))
    for lead in org.tables["Lead"].values():
        ctx.companies.reserve(company_stem(lead["Company"]))
        _prime_person(ctx, lead, lead["Company"])
    for contact in org.tables["Contact"].values():
        _prime_person(ctx, contact, account_names.get(contact["AccountId"] or "", ""))


def _prime_person(ctx: SeedContext, record: Record, company: str) -> None:
    if record["Email"]:
        ctx.people.reserve(record["Email"])
    ctx.people.claim(record["FirstName"], record["LastName"], company_stem(company))
