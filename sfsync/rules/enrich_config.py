"""The schema of `mappings/enrichment.yaml`: the fields enrichers read, the facts fills copy.

Facts are named like fields with a `$` (`$email.free`, `$company.employees`)
so that criteria rows in grading and lifecycle rules can read them too.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property

import pycountry
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sfsync.rules.enrich_data import DataExtras
from sfsync.rules.enrich_title import TitleConfig


class Fact(StrEnum):
    """What enrichment derives; criteria rows and fills name these like fields."""

    EMAIL_ADDRESS = "$email.address"
    EMAIL_DOMAIN = "$email.domain"
    EMAIL_VALID = "$email.valid"
    EMAIL_FREE = "$email.free"
    EMAIL_DISPOSABLE = "$email.disposable"
    EMAIL_ROLE = "$email.role"
    PHONE_E164 = "$phone.e164"
    PHONE_COUNTRY = "$phone.country"
    PHONE_VALID = "$phone.valid"
    MOBILE_E164 = "$mobile.e164"
    MOBILE_COUNTRY = "$mobile.country"
    MOBILE_VALID = "$mobile.valid"
    COUNTRY_CODE = "$country.code"
    COUNTRY_NAME = "$country.name"
    STATE_CODE = "$state.code"
    STATE_NAME = "$state.name"
    COMPANY_NAME = "$company.name"
    COMPANY_DOMAIN = "$company.domain"
    COMPANY_KNOWN = "$company.known"
    COMPANY_EMPLOYEES = "$company.employees"
    COMPANY_REVENUE = "$company.revenue"
    COMPANY_INDUSTRY = "$company.industry"
    COMPANY_COMPETITOR = "$company.competitor"
    TITLE_SENIORITY = "$title.seniority"
    TITLE_DEPARTMENT = "$title.department"


# Facts that restate one source field in standard form, and which source that is.
_RESTATES: dict[Fact, str] = {
    Fact.EMAIL_ADDRESS: "email",
    Fact.PHONE_E164: "phone",
    Fact.MOBILE_E164: "mobile",
    Fact.COUNTRY_CODE: "country",
    Fact.COUNTRY_NAME: "country",
    Fact.STATE_CODE: "state",
    Fact.STATE_NAME: "state",
    Fact.COMPANY_NAME: "company",
}


class FillMode(StrEnum):
    """When a fill may write over the field's current value."""

    FILL_EMPTY = "fill_empty"
    STANDARDIZE = "standardize"


class Sources(BaseModel):
    """The Lead fields each enricher reads; null switches that enricher off."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    email: str | None = "Email"
    phone: str | None = "Phone"
    mobile: str | None = "MobilePhone"
    country: str | None = "Country"
    state: str | None = "State"
    company: str | None = "Company"
    website: str | None = "Website"
    title: str | None = "Title"


class FillRule(BaseModel):
    """Copy one fact into one Lead field."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    field: str = Field(min_length=1)
    fact: Fact = Field(alias="from")
    mode: FillMode = FillMode.FILL_EMPTY


class EnrichmentConfig(BaseModel):
    """The parsed `mappings/enrichment.yaml`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sources: Sources = Sources()
    # ISO alpha-2 country for reading phone numbers of leads whose country is unknown.
    default_country: str | None = None
    infer_country_from_phone: bool = True
    # Path of the org's own firmographics CSV, relative to the mappings folder.
    firmographics: str | None = None
    free_mail_domains: tuple[str, ...] = ()
    disposable_domains: tuple[str, ...] = ()
    role_prefixes: tuple[str, ...] = ()
    legal_suffixes: tuple[str, ...] = ()
    competitor_domains: tuple[str, ...] = ()
    title: TitleConfig = TitleConfig()
    fills: tuple[FillRule, ...] = ()

    @field_validator("default_country")
    @classmethod
    def _iso_country(cls, code: str | None) -> str | None:
        if code is not None and pycountry.countries.get(alpha_2=code.upper()) is None:
            raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code like US or DE")
        return code.upper() if code else None

    @model_validator(mode="after")
    def _fills_valid(self) -> EnrichmentConfig:
        fields = [rule.field for rule in self.fills]
        twice = sorted({f for f in fields if fields.count(f) > 1})
        if twice:
            raise ValueError(f"field(s) {twice} are filled by more than one rule")
        for rule in self.fills:
            _check_standardize(rule, self.sources)
        return self

    def extras(self) -> DataExtras:
        """The org's additions to the shipped lists, for `load_enrichment_data`."""
        return DataExtras(
            free_mail=self.free_mail_domains,
            disposable=self.disposable_domains,
            role_prefixes=self.role_prefixes,
            legal_suffixes=self.legal_suffixes,
            competitors=self.competitor_domains,
        )

    @cached_property
    def fill_plan(self) -> tuple[tuple[str, Fact, FillRule], ...]:
        """(field, fact, rule) of each fill, read once instead of per lead."""
        return tuple((rule.field, rule.fact, rule) for rule in self.fills)

    def fields_read(self) -> set[str]:
        """Every Lead field enrichment looks at (for the input hash)."""
        return {f for f in self.sources.model_dump().values() if f} | {r.field for r in self.fills}


def restated_field(fact: Fact, sources: Sources) -> str | None:
    """The Lead field whose value this fact restates in standard form, if any."""
    source = _RESTATES.get(fact)
    field: str | None = getattr(sources, source) if source else None
    return field


def _check_standardize(rule: FillRule, sources: Sources) -> None:
    if rule.mode is not FillMode.STANDARDIZE:
        return
    if restated_field(rule.fact, sources) != rule.field:
        allowed = ", ".join(f"{f.value} (into {getattr(sources, s)})" for f, s in _RESTATES.items())
        raise ValueError(
            f"fill of {rule.field}: standardize only rewrites a field into the standard form of "
            f"its own value; {rule.fact.value} cannot standardize {rule.field}. "
            f"Possible: {allowed}"
        )
