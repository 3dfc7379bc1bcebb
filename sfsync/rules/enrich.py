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
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sfsync.models import Contribution
from sfsync.rules.enrich_company import CompanyMatch, find_company, normalise_company
from sfsync.rules.enrich_config import (
    EnrichmentConfig,
    Fact,
    FillMode,
    FillRule,
    Sources,
    restated_field,
)
from sfsync.rules.enrich_data import EnrichmentData
from sfsync.rules.enrich_email import EmailFacts, analyse_email
from sfsync.rules.enrich_geo import Country, State, resolve_country, resolve_state
from sfsync.rules.enrich_phone import NO_PHONE, PhoneFacts, analyse_phone
from sfsync.rules.enrich_text import blank, domain_candidates, host_of, same_value
from sfsync.rules.enrich_title import TitleFacts, classify_title

PERSON_VALUE = "holds a value someone else entered; enrichment never replaces it"
# The part of a decision explanation lines of enrichment belong to.
PART = "enrichment"


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


class _Parts(NamedTuple):
    """What each enricher found; the first fields of `Enrichment`, in order."""

    email: EmailFacts
    phone: PhoneFacts
    mobile: PhoneFacts
    country: Country | None
    # The field the country was read from: the Country field, or a phone field.
    country_source: str | None
    state: State | None
    company_name: str | None
    company: CompanyMatch | None
    competitor: str | None
    title: TitleFacts


@dataclass(frozen=True)
class Enrichment:
    """What enrichment found for one lead: each enricher's result, the facts, the fills."""

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
    # Every fact by its `$name`, as criteria rows read them.
    facts: Mapping[str, Any] = field(default_factory=dict)
    fills: tuple[Fill, ...] = ()
    kept: Mapping[str, str] = field(default_factory=dict)

    def values(self, lead_values: Mapping[str, Any]) -> dict[str, Any]:
        """The lead as the next rules should see it: its values, the fills, then the facts."""
        merged = dict(lead_values)
        merged.update((fill.field, fill.value) for fill in self.fills)
        merged.update(self.facts)
        return merged

    def explain(self) -> tuple[Contribution, ...]:
        """Lines for `sfsync explain`: what each enricher found, then each fill."""
        lines = [
            Contribution("Enrich e-mail", 0, self.email.describe(), PART),
            Contribution("Enrich phone", 0, self.phone.describe(), PART),
            Contribution("Enrich country", 0, _place(self), PART),
            Contribution("Enrich company", 0, _company(self), PART),
            Contribution("Enrich title", 0, self.title.describe(), PART),
        ]
        lines += [Contribution(f"Fill {f.field}", 0, _fill_reason(f), PART) for f in self.fills]
        lines += [Contribution(f"Keep {n}", 0, why, PART) for n, why in self.kept.items()]
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
    parts = _derive(values, config, data, last_written or {})
    facts = _facts(parts)
    fills, kept = _plan_fills(values, facts, parts.country_source, config, last_written or {})
    return Enrichment(*parts, facts=facts, fills=fills, kept=kept)


def _derive(
    values: Mapping[str, Any],
    config: EnrichmentConfig,
    data: EnrichmentData,
    last_written: Mapping[str, Any],
) -> _Parts:
    src = config.sources
    email = analyse_email(_read(values, src.email), data.email)
    country = resolve_country(_read(values, src.country), data.geo)
    code = country.code if country else None
    phone = _phone(values, src.phone, code, config)
    mobile = _phone(values, src.mobile, code, config)
    country_source = src.country if country else None
    if country is None and config.infer_country_from_phone:
        # A number sfsync itself wrote in "+1..." form only restates default_country.
        phones = [(p, f) for p, f in ((phone, src.phone), (mobile, src.mobile))
                  if not (f and _ours(f, values.get(f), last_written))]  # fmt: skip
        country, country_source = _country_from_phones(data, *phones)
        if country is not None:
            # Read both numbers in the country one of them told, as the next cycle will
            # once that country is filled in: one pass gives what two would.
            phone = _phone(values, src.phone, country.code, config)
            mobile = _phone(values, src.mobile, country.code, config)
    website = _read(values, src.website)
    return _Parts(
        email=email, phone=phone, mobile=mobile, country=country,
        country_source=country_source,
        state=resolve_state(_read(values, src.state), country.code if country else None, data.geo),
        company_name=normalise_company(_read(values, src.company), data.legal_suffixes),
        company=find_company(email.corporate_domain, website, data.firmographics),
        competitor=_competitor(email.domain, website, data.competitors),
        title=classify_title(_read(values, src.title), config.title),
    )  # fmt: skip


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
    for phone, source in phones:
        if phone.international and phone.country in data.geo.by_code:
            return data.geo.by_code[phone.country], source
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


def _facts(parts: _Parts) -> dict[str, Any]:
    """Every fact by name. E-mail flags are unknown (None) without a valid address."""
    email, phone, mobile, country, state = (
        parts.email,
        parts.phone,
        parts.mobile,
        parts.country,
        parts.state,
    )
    valid, match, title = email.valid, parts.company, parts.title
    firm = match.facts if match else None
    return {
        Fact.EMAIL_ADDRESS: email.address, Fact.EMAIL_DOMAIN: email.domain,
        Fact.EMAIL_VALID: valid if email.present else None,
        Fact.EMAIL_FREE: email.free if valid else None,
        Fact.EMAIL_DISPOSABLE: email.disposable if valid else None,
        Fact.EMAIL_ROLE: email.role if valid else None,
        Fact.PHONE_E164: phone.e164, Fact.PHONE_COUNTRY: phone.country,
        Fact.PHONE_VALID: None if phone is NO_PHONE else phone.valid,
        Fact.MOBILE_E164: mobile.e164, Fact.MOBILE_COUNTRY: mobile.country,
        Fact.MOBILE_VALID: None if mobile is NO_PHONE else mobile.valid,
        Fact.COUNTRY_CODE: country.code if country else None,
        Fact.COUNTRY_NAME: country.name if country else None,
        Fact.STATE_CODE: state.code if state else None,
        Fact.STATE_NAME: state.name if state else None,
        Fact.COMPANY_NAME: parts.company_name,
        Fact.COMPANY_DOMAIN: match.domain if match else email.corporate_domain,
        Fact.COMPANY_KNOWN: match is not None,
        Fact.COMPANY_EMPLOYEES: firm.employees if firm else None,
        Fact.COMPANY_REVENUE: firm.annual_revenue if firm else None,
        Fact.COMPANY_INDUSTRY: firm.industry if firm else None,
        Fact.COMPANY_COMPETITOR: parts.competitor is not None,
        Fact.TITLE_SENIORITY: title.seniority, Fact.TITLE_DEPARTMENT: title.department,
    }  # fmt: skip


def _plan_fills(
    values: Mapping[str, Any],
    facts: Mapping[str, Any],
    country_source: str | None,
    config: EnrichmentConfig,
    last_written: Mapping[str, Any],
) -> tuple[tuple[Fill, ...], dict[str, str]]:
    fills: list[Fill] = []
    kept: dict[str, str] = {}
    for rule in config.fills:
        value, current = facts[rule.fact], values.get(rule.field)
        if value is None or same_value(current, value):
            continue
        if blank(current) or _ours(rule.field, current, last_written):
            fills.append(Fill(rule.field, value, rule.fact))
        elif _restates(rule, country_source, config.sources):
            fills.append(Fill(rule.field, value, rule.fact, standardizes=True))
        else:
            kept[rule.field] = PERSON_VALUE
    return tuple(fills), kept


def _ours(field: str, current: Any, last_written: Mapping[str, Any]) -> bool:
    return field in last_written and same_value(current, last_written[field])


def _restates(rule: FillRule, country_source: str | None, sources: Sources) -> bool:
    """Whether this lead's fact was read from the very field the rule would rewrite."""
    if rule.mode is not FillMode.STANDARDIZE:
        return False
    if rule.fact in (Fact.COUNTRY_CODE, Fact.COUNTRY_NAME):
        return country_source == rule.field
    return bool(restated_field(rule.fact, sources) == rule.field)


def _place(found: Enrichment) -> str:
    country, state = found.country, found.state
    if country is None:
        return "country unknown"
    where = f"{country.name} ({country.code}) from {found.country_source}"
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
