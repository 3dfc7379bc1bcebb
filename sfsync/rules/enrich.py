"""Enrichment: derive clean values and facts from what a lead holds, and fill empty fields.

Each enricher reads one or two Lead fields and yields *facts* named like
`$email.free` or `$company.employees`. Grading, behaviour and lifecycle rules
read those facts in their criteria rows as if they were fields. `fills` in
`mappings/enrichment.yaml` copy facts into Lead fields, and only into blank
ones (or ones still holding sfsync's own value): a value a person entered is
never replaced by different information. `standardize` is the one exception
an admin may allow: rewriting a value into the standard form of *itself*
("Calif." -> "CA"), never into something it did not say.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pycountry
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sfsync.models import Contribution
from sfsync.rules.enrich_company import CompanyMatch, find_company, normalise_company
from sfsync.rules.enrich_data import DataExtras, EnrichmentData
from sfsync.rules.enrich_email import EmailFacts, analyse_email
from sfsync.rules.enrich_geo import Country, State, resolve_country, resolve_state
from sfsync.rules.enrich_phone import NO_PHONE, PhoneFacts, analyse_phone
from sfsync.rules.enrich_text import blank, domain_candidates, host_of, same_value
from sfsync.rules.enrich_title import TitleConfig, TitleFacts, classify_title

PERSON_VALUE = "holds a value someone else entered; enrichment never replaces it"


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

    def fields_read(self) -> set[str]:
        """Every Lead field enrichment looks at (for the input hash)."""
        return {f for f in self.sources.model_dump().values() if f} | {r.field for r in self.fills}


def _check_standardize(rule: FillRule, sources: Sources) -> None:
    if rule.mode is not FillMode.STANDARDIZE:
        return
    source = _RESTATES.get(rule.fact)
    own_field = getattr(sources, source) if source else None
    if own_field != rule.field:
        allowed = ", ".join(f"{f.value} (into {getattr(sources, s)})" for f, s in _RESTATES.items())
        raise ValueError(
            f"fill of {rule.field}: standardize only rewrites a field into the standard form of "
            f"its own value; {rule.fact.value} cannot standardize {rule.field}. "
            f"Possible: {allowed}"
        )


@dataclass(frozen=True)
class Fill:
    """A value enrichment wants written, and why.

    `standardizes` marks the rewrite of a person's value into its standard
    form, allowed by mode `standardize`; the pipeline must not treat it as
    overwriting that person's value.
    """

    field: str
    value: Any
    fact: Fact
    standardizes: bool = False


@dataclass(frozen=True)
class Enrichment:
    """What enrichment found for one lead: the parts, the flat facts, the fills."""

    email: EmailFacts
    phone: PhoneFacts
    mobile: PhoneFacts
    country: Country | None
    country_source: str | None
    state: State | None
    company_name: str | None
    company: CompanyMatch | None
    competitor: str | None
    title: TitleFacts
    facts: Mapping[str, Any]
    fills: tuple[Fill, ...] = ()
    kept: Mapping[str, str] = Field(default_factory=dict)

    def values(self, lead_values: Mapping[str, Any]) -> dict[str, Any]:
        """The lead as the next rules should see it: its values, the fills, then the facts."""
        merged = dict(lead_values)
        merged.update((fill.field, fill.value) for fill in self.fills)
        merged.update(self.facts)
        return merged

    def explain(self) -> tuple[Contribution, ...]:
        """Lines for `sfsync explain`: what each enricher found, then each fill."""
        lines = [
            Contribution("Enrich e-mail", 0, self.email.describe()),
            Contribution("Enrich phone", 0, self.phone.describe()),
            Contribution("Enrich country", 0, _place(self.country, self.state, self.country_source)),
            Contribution("Enrich company", 0, _company(self)),
            Contribution("Enrich title", 0, self.title.describe()),
        ]
        lines += [Contribution(f"Fill {f.field}", 0, _fill_reason(f)) for f in self.fills]
        lines += [Contribution(f"Keep {name}", 0, why) for name, why in self.kept.items()]
        return tuple(lines)


def enrich_lead(
    values: Mapping[str, Any],
    config: EnrichmentConfig,
    data: EnrichmentData,
    last_written: Mapping[str, Any] | None = None,
) -> Enrichment:
    """Everything enrichment derives for one lead, and the fills that respect people's values.

    `last_written` holds what sfsync last wrote to this lead: a field still
    holding that value is sfsync's own and may be refreshed.
    """
    found = _derive(values, config, data)
    fills, kept = _plan_fills(values, found, config, last_written or {})
    return Enrichment(**found, fills=fills, kept=kept)


def _derive(values: Mapping[str, Any], config: EnrichmentConfig, data: EnrichmentData) -> Any:
    src = config.sources
    email = analyse_email(_read(values, src.email), data.email)
    country = resolve_country(_read(values, src.country), data.geo)
    code = country.code if country else None
    phone = _phone(values, src.phone, code, config)
    mobile = _phone(values, src.mobile, code, config)
    country_source = src.country if country else None
    if country is None and config.infer_country_from_phone:
        country, country_source = _country_from_phones(data, (phone, src.phone),
                                                        (mobile, src.mobile))  # fmt: skip
    state = resolve_state(_read(values, src.state), country.code if country else None, data.geo)
    website = _read(values, src.website)
    found = {
        "email": email, "phone": phone, "mobile": mobile, "country": country,
        "country_source": country_source, "state": state,
        "company_name": normalise_company(_read(values, src.company), data.legal_suffixes),
        "company": find_company(email.corporate_domain, website, data.firmographics),
        "competitor": _competitor(email.domain, website, data.competitors),
        "title": classify_title(_read(values, src.title), config.title),
    }  # fmt: skip
    found["facts"] = _flatten(found)
    return found


def _read(values: Mapping[str, Any], field: str | None) -> Any:
    return values.get(field) if field else None


def _phone(
    values: Mapping[str, Any], field: str | None, country: str | None, config: EnrichmentConfig
) -> PhoneFacts:
    raw = _read(values, field)
    return NO_PHONE if blank(raw) else analyse_phone(raw, country, config.default_country)


def _country_from_phones(
    data: EnrichmentData, *phones: tuple[PhoneFacts, str | None]
) -> tuple[Country | None, str | None]:
    """A country told by a number written with its own "+country code", if any."""
    for phone, field in phones:
        if phone.international and phone.country in data.geo.by_code:
            return data.geo.by_code[phone.country], field
    return None, None


def _competitor(email_domain: str | None, website: Any, competitors: frozenset[str]) -> str | None:
    if not competitors:
        return None
    hosts = (email_domain, host_of(website) if isinstance(website, str) else None)
    for host in hosts:
        for candidate in domain_candidates(host) if host else ():
            if candidate in competitors:
                return candidate
    return None


def _flatten(found: Mapping[str, Any]) -> dict[str, Any]:
    email, country, state = found["email"], found["country"], found["state"]
    phone, mobile, title = found["phone"], found["mobile"], found["title"]
    match: CompanyMatch | None = found["company"]
    facts = match.facts if match else None
    return {
        Fact.EMAIL_ADDRESS: email.address, Fact.EMAIL_DOMAIN: email.domain,
        Fact.EMAIL_VALID: email.valid if email.domain or email.address else None,
        Fact.EMAIL_FREE: email.free, Fact.EMAIL_DISPOSABLE: email.disposable,
        Fact.EMAIL_ROLE: email.role,
        Fact.PHONE_E164: phone.e164, Fact.PHONE_COUNTRY: phone.country,
        Fact.PHONE_VALID: None if phone is NO_PHONE else phone.valid,
        Fact.MOBILE_E164: mobile.e164, Fact.MOBILE_COUNTRY: mobile.country,
        Fact.MOBILE_VALID: None if mobile is NO_PHONE else mobile.valid,
        Fact.COUNTRY_CODE: country.code if country else None,
        Fact.COUNTRY_NAME: country.name if country else None,
        Fact.STATE_CODE: state.code if state else None,
        Fact.STATE_NAME: state.name if state else None,
        Fact.COMPANY_NAME: found["company_name"],
        Fact.COMPANY_DOMAIN: match.domain if match else email.corporate_domain,
        Fact.COMPANY_KNOWN: match is not None,
        Fact.COMPANY_EMPLOYEES: facts.employees if facts else None,
        Fact.COMPANY_REVENUE: facts.annual_revenue if facts else None,
        Fact.COMPANY_INDUSTRY: facts.industry if facts else None,
        Fact.COMPANY_COMPETITOR: found["competitor"] is not None,
        Fact.TITLE_SENIORITY: title.seniority, Fact.TITLE_DEPARTMENT: title.department,
    }  # fmt: skip


def _plan_fills(
    values: Mapping[str, Any],
    found: Mapping[str, Any],
    config: EnrichmentConfig,
    last_written: Mapping[str, Any],
) -> tuple[tuple[Fill, ...], dict[str, str]]:
    fills: list[Fill] = []
    kept: dict[str, str] = {}
    for rule in config.fills:
        value, current = found["facts"][rule.fact], values.get(rule.field)
        if value is None or same_value(current, value):
            continue
        if blank(current) or _ours(rule.field, current, last_written):
            fills.append(Fill(rule.field, value, rule.fact))
        elif _restates(rule, found, config.sources):
            fills.append(Fill(rule.field, value, rule.fact, standardizes=True))
        else:
            kept[rule.field] = PERSON_VALUE
    return tuple(fills), kept


def _ours(field: str, current: Any, last_written: Mapping[str, Any]) -> bool:
    return field in last_written and same_value(current, last_written[field])


def _restates(rule: FillRule, found: Mapping[str, Any], sources: Sources) -> bool:
    """Whether this lead's fact was read from the very field the rule would rewrite."""
    if rule.mode is not FillMode.STANDARDIZE:
        return False
    if rule.fact in (Fact.COUNTRY_CODE, Fact.COUNTRY_NAME):
        return bool(found["country_source"] == rule.field)
    source = _RESTATES.get(rule.fact)
    return source is not None and getattr(sources, source) == rule.field


def _place(country: Country | None, state: State | None, source: str | None) -> str:
    if country is None:
        return "country unknown"
    where = f"{country.name} ({country.code}) from {source}"
    return where + (f", state {state.name} ({state.code})" if state else "")


def _company(enrichment: Enrichment) -> str:
    name = enrichment.company_name or "no company name"
    match = enrichment.company
    if match is None:
        return f"{name}; no firmographics match"
    facts = match.facts
    return (
        f"{name}; {facts.name} by {match.source} {match.domain}: "
        f"{facts.employees} employees, revenue {facts.annual_revenue}, {facts.industry}"
    )


def _fill_reason(fill: Fill) -> str:
    how = "standard form of the value entered" if fill.standardizes else "field was empty"
    return f"{fill.value!r} from {fill.fact.value} ({how})"
