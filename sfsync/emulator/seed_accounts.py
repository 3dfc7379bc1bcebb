"""Seeded accounts, contacts and opportunities, and the conversions that made many of them.

A converted lead points at the account of its company (made by the first
conversion there, reused by later ones), at a contact copied from the lead,
and sometimes at an opportunity, as `convertLead` leaves them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sfsync.emulator.org import Record
from sfsync.emulator.seed_companies import Company, weighted
from sfsync.emulator.seed_context import DAY, SeedContext, stamp
from sfsync.emulator.seed_leads import SeededLead, person_fields
from sfsync.emulator.seed_lifecycle import MAX_AGE_DAYS, Routing, person_owner
from sfsync.emulator.seed_setup import CONVERTED_STATUS

OPPORTUNITY_SHARE = 0.6
STAGES = (("Prospecting", 10.0), ("Qualification", 15.0), ("Needs Analysis", 15.0),
          ("Closed Won", 35.0), ("Closed Lost", 25.0))  # fmt: skip
PRODUCTS = ("Platform Licence", "Starter Plan", "Enterprise Plan", "Onboarding", "Renewal",
            "Add-on Seats", "Pilot")  # fmt: skip
ACCOUNT_TYPES = (("Prospect", 50.0), ("Customer - Direct", 30.0), ("Customer - Channel", 10.0),
                 ("Channel Partner / Reseller", 5.0), ("Other", 5.0))  # fmt: skip
_PERSON_FIELDS = ("Salutation", "FirstName", "LastName", "Title", "Email", "Phone", "MobilePhone")


class AccountBook:
    """The accounts made so far, one per company, and the conversions into them."""

    def __init__(self, ctx: SeedContext, routing: Routing) -> None:
        self.ctx = ctx
        self.routing = routing
        self.by_stem: dict[str, Record] = {}
        self.company_of: dict[str, Company] = {}
        self.converted_into: set[str] = set()

    def convert(self, lead: SeededLead) -> None:
        """Turn `lead` into a converted lead with its account, contact and opportunity."""
        assert lead.company is not None, "only leads at real companies convert"
        ctx, row = self.ctx, lead.row
        created: datetime = row["CreatedDate"]
        latest = min(created + timedelta(days=120), ctx.ago(DAY))
        when = ctx.between(created + timedelta(days=1), latest)
        user = person_owner(ctx, self.routing, row["OwnerId"])
        account = self.account_for(lead.company, when, user, "Customer - Direct")
        self.converted_into.add(account["Id"])
        contact = self._contact_from_lead(row, account, when, user)
        opportunity = self._opportunity(account, row, when, user)
        row.update({
            "IsConverted": True, "Status": CONVERTED_STATUS, "ConvertedDate": when.date(),
            "ConvertedAccountId": account["Id"], "ConvertedContactId": contact["Id"],
            "ConvertedOpportunityId": opportunity["Id"] if opportunity else None,
            "OwnerId": user, "IsUnreadByOwner": False,
        })  # fmt: skip
        stamp(row, created, when, row["CreatedById"], user)

    def account_for(self, company: Company, when: datetime, owner: str, kind: str) -> Record:
        """The account of `company`, made at `when` unless an earlier one exists."""
        existing = self.by_stem.get(company.stem)
        if existing is not None:
            existing["CreatedDate"] = min(existing["CreatedDate"], when)
            return existing
        row = stamp(_account_fields(company, kind), when, when, owner, owner)
        row["OwnerId"] = owner
        self.by_stem[company.stem] = self.ctx.add("Account", row)
        self.company_of[row["Id"]] = company
        return row

    def fill(self, companies: list[Company], target: int) -> None:
        """Add accounts for more companies until there are `target`, then contacts for all."""
        for company in companies:
            if len(self.by_stem) >= target:
                break
            if company.stem not in self.by_stem:
                when = self.ctx.ago(self.ctx.rng.randint(DAY, MAX_AGE_DAYS * DAY))
                kind = str(weighted(self.ctx.rng, ACCOUNT_TYPES))
                self.account_for(company, when, self.routing.rep(self.ctx), kind)
        for account in list(self.by_stem.values()):
            # About two contacts per account, counting those made by conversions.
            low = 0 if account["Id"] in self.converted_into else 1
            for _ in range(self.ctx.rng.randint(low, low + 2)):
                self._new_contact(account)

    def _contact_from_lead(
        self, lead: Record, account: Record, when: datetime, owner: str
    ) -> Record:
        fields = {name: lead[name] for name in _PERSON_FIELDS}
        row = {**fields, **_mailing(account), "AccountId": account["Id"],
               "LeadSource": lead["LeadSource"], "OwnerId": owner,
               "HasOptedOutOfEmail": lead["HasOptedOutOfEmail"]}  # fmt: skip
        contact = self.ctx.add("Contact", stamp(row, when, when, owner, owner))
        if lead["Id"] in self.ctx.phones:
            self.ctx.phones[contact["Id"]] = self.ctx.phones[lead["Id"]]
        return contact

    def _new_contact(self, account: Record) -> None:
        ctx = self.ctx
        company = self.company_of[account["Id"]]
        person = ctx.people.one(
            company.region, company.stem, company.domain, company.city, email_kind="corporate"
        )
        when = ctx.past_moment(account["CreatedDate"])
        owner = account["OwnerId"]
        row = {**person_fields(person), **_mailing(account), "AccountId": account["Id"],
               "LeadSource": None, "OwnerId": owner, "HasOptedOutOfEmail": False}  # fmt: skip
        contact = ctx.add("Contact", stamp(row, when, when, owner, owner))
        if person.phone:
            ctx.phones[contact["Id"]] = person.phone

    def _opportunity(
        self, account: Record, lead: Record, when: datetime, owner: str
    ) -> Record | None:
        rng = self.ctx.rng
        if rng.random() >= OPPORTUNITY_SHARE:
            return None
        row = {
            "Name": f"{account['Name']} - {rng.choice(PRODUCTS)}"[:120],
            "AccountId": account["Id"], "StageName": weighted(rng, STAGES),
            "CloseDate": when.date() + timedelta(days=rng.randint(14, 120)),
            "Amount": float(rng.randrange(50, 2500) * 100), "LeadSource": lead["LeadSource"],
            "OwnerId": owner,
        }  # fmt: skip
        return self.ctx.add("Opportunity", stamp(row, when, when, owner, owner))


def _account_fields(company: Company, kind: str) -> dict[str, Any]:
    return {
        "Name": company.name, "Type": kind, "Website": f"https://www.{company.domain}",
        "Phone": company.phone.format(0), "Industry": company.industry,
        "AnnualRevenue": float(company.revenue), "NumberOfEmployees": company.employees,
        "BillingStreet": company.street, "BillingCity": company.city.names[0],
        "BillingState": company.city.state[0] if company.city.state else None,
        "BillingPostalCode": company.postcode, "BillingCountry": company.region.countries[0][0],
    }  # fmt: skip


def _mailing(account: Record) -> dict[str, Any]:
    return {f"Mailing{part}": account[f"Billing{part}"]
            for part in ("Street", "City", "State", "PostalCode", "Country")}  # fmt: skip
