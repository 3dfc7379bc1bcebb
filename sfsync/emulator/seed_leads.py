"""Seeded leads: people at companies, typed the way people type into web forms.

Each lead copies its company's facts with the variations real data has:
country and state spellings, a company name with or without its legal
suffix, blank optional fields. A small share are not prospects at all
(`SPECIAL_KINDS`: junk sign-ups, students, job seekers, competitors).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sfsync.emulator.org import Record
from sfsync.emulator.seed_companies import Company, weighted
from sfsync.emulator.seed_context import SeedContext
from sfsync.emulator.seed_lifecycle import Routing, lifecycle
from sfsync.emulator.seed_persons import Person
from sfsync.emulator.seed_regions import WEIGHTED_REGIONS, Region
from sfsync.emulator.seed_words import (
    COMPETITORS,
    JOB_SEEKER_TITLES,
    JUNK_COMPANY,
    JUNK_FIRST,
    JUNK_LAST,
    LEAD_SOURCE_WEIGHTS,
    NO_COMPANY,
)

LEAD_KINDS: tuple[tuple[str, float], ...] = (
    ("prospect", 97.0), ("junk", 1.0), ("student", 1.0), ("job_seeker", 0.5), ("competitor", 0.5),
)  # fmt: skip
SPECIAL_KINDS = frozenset(k for k, _ in LEAD_KINDS if k != "prospect")
_RATINGS = ((None, 55.0), ("Hot", 10.0), ("Warm", 20.0), ("Cold", 15.0))


@dataclass
class SeededLead:
    """A lead row with what the later steps need to know about it."""

    row: Record
    kind: str
    company: Company | None


def add_leads(
    ctx: SeedContext, count: int, companies: list[Company], routing: Routing
) -> list[SeededLead]:
    """`count` leads over the past year, at `companies` (several leads share a company)."""
    leads = []
    for _ in range(count):
        kind = str(weighted(ctx.rng, LEAD_KINDS))
        lead = (
            _prospect(ctx, ctx.rng.choice(companies)) if kind == "prospect" else _special(ctx, kind)
        )
        lifecycle(ctx, lead.row, routing, lead.company.region if lead.company else None)
        leads.append(lead)
    return leads


def person_fields(person: Person) -> dict[str, Any]:
    """The lead (or contact) fields that describe the person."""
    return {
        "Salutation": person.salutation,
        "FirstName": person.first.display if person.first else None,
        "LastName": person.last.display,
        "Title": person.title,
        "Email": person.email,
        "Phone": person.phone_text,
        "MobilePhone": person.mobile,
    }


def address_fields(ctx: SeedContext, company: Company) -> dict[str, Any]:
    """The company's address as one person typed it: spellings vary, parts go missing."""
    rng = ctx.rng
    full = rng.random() < 0.75
    state = company.city.state
    return {
        "Street": company.street if full else None,
        "City": _spelling(ctx, company.city.names) if rng.random() < 0.85 else None,
        "State": _spelling(ctx, state) if state and rng.random() < 0.85 else None,
        "PostalCode": company.postcode if full else None,
        "Country": str(weighted(rng, company.region.countries)) if rng.random() < 0.9 else None,
    }


def company_fields(ctx: SeedContext, company: Company) -> dict[str, Any]:
    """The company facts a lead carries, some left blank as forms allow."""
    rng = ctx.rng
    typed = company.stem if company.suffix and rng.random() < 0.15 else company.name
    return {
        "Company": typed,
        "Website": company.website if rng.random() < 0.3 else None,
        "Industry": company.industry if rng.random() < 0.7 else None,
        "NumberOfEmployees": company.employees if rng.random() < 0.6 else None,
        "AnnualRevenue": float(company.revenue) if rng.random() < 0.45 else None,
    }


def _spelling(ctx: SeedContext, spellings: tuple[str, ...]) -> str:
    """The usual spelling most of the time, another one sometimes."""
    return spellings[0] if ctx.rng.random() < 0.6 else ctx.rng.choice(spellings)


def prospect_fields(ctx: SeedContext, company: Company) -> tuple[dict[str, Any], Person]:
    """The fields of a new prospect at `company` (no id, status or owner yet), and the person."""
    fields = company_fields(ctx, company)
    person = ctx.people.one(company.region, company.stem, company.domain, company.city)
    row = {**fields, **person_fields(person), **address_fields(ctx, company), **_extras(ctx)}
    return row, person


def _prospect(ctx: SeedContext, company: Company) -> SeededLead:
    row, person = prospect_fields(ctx, company)
    lead = SeededLead(ctx.add("Lead", row), "prospect", company)
    if person.phone:
        ctx.phones[lead.row["Id"]] = person.phone
    return lead


def _extras(ctx: SeedContext) -> dict[str, Any]:
    rng = ctx.rng
    return {
        "LeadSource": weighted(rng, LEAD_SOURCE_WEIGHTS),
        "Rating": weighted(rng, _RATINGS),
        "HasOptedOutOfEmail": rng.random() < 0.05,
        "DoNotCall": rng.random() < 0.03,
    }


def _special(ctx: SeedContext, kind: str) -> SeededLead:
    if kind == "junk":
        return SeededLead(ctx.add("Lead", _junk(ctx)), kind, None)
    region: Region = weighted(ctx.rng, WEIGHTED_REGIONS)
    city = ctx.rng.choice(region.cities)
    if kind == "competitor":
        company, domain = ctx.rng.choice(COMPETITORS)
        person = ctx.people.one(region, company, domain, city, email_kind="corporate")
        extra: dict[str, Any] = {"Industry": "Technology"}
    else:
        company = (
            _no_company(ctx, city.names[0]) if kind == "student" else ctx.rng.choice(NO_COMPANY)
        )
        title = "Student" if kind == "student" else ctx.rng.choice(JOB_SEEKER_TITLES)
        person = ctx.people.one(region, company, None, city, email_kind="freemail", title=title)
        extra = {"Industry": "Education" if kind == "student" else None}
    row = {**person_fields(person), **_extras(ctx), **extra, "Company": company,
           "City": city.names[0], "Country": region.countries[0][0]}  # fmt: skip
    return SeededLead(ctx.add("Lead", row), kind, None)


def _no_company(ctx: SeedContext, city: str) -> str:
    """What students type as their company."""
    return ctx.rng.choice((f"University of {city}", f"{city} Business School", "Student", "N/A"))


def _junk(ctx: SeedContext) -> dict[str, Any]:
    """A test or keyboard-mash sign-up."""
    rng = ctx.rng
    first = rng.choice((*JUNK_FIRST, None))
    mash = "".join(rng.choice("asdfghjkl") for _ in range(rng.randint(3, 7)))
    last = rng.choice((*JUNK_LAST, mash))
    local = (first or "test").lower()
    domain = rng.choice(("test.com", "asdf.com"))
    email = ctx.people.reserve(f"{local}{rng.randint(1, 9999)}@{domain}")
    return {
        "FirstName": first, "LastName": last, "Company": rng.choice(JUNK_COMPANY),
        "Email": email, "Phone": rng.choice((None, "123", "0000000000", "555-5555")),
        "LeadSource": "Web", "Title": rng.choice((None, "test", "asdf")),
    }  # fmt: skip
