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
from functools import lru_cache
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
_STANDARDIZE = FillMode.STANDARDIZE
# Facts read from the Country field or, without one, from a phone number's country code.
_BY_COUNTRY = frozenset({Fact.COUNTRY_CODE, Fact.COUNTRY_NAME})
# Facts that belong to one person: lines naming them are not remembered.
_PERSONAL = frozenset({Fact.EMAIL_ADDRESS, Fact.PHONE_E164, Fact.MOBILE_E164})
# Answers remembered per domain (and per explanation line); longer keys are not kept.
CACHE_SIZE = 16_384
MAX_REMEMBERED = 255
# The part of a decision explanation lines of enrichment belong to.
PART = "enrichment"


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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
        for fill in self.fills:
            merged[fill.field] = fill.value
        merged.update(self.facts)
        return merged

    def explain(self) -> tuple[Contribution, ...]:
        """Lines for `sfsync explain`: what each enricher found, then each fill."""
        email, phone = self.email, self.phone
        lines = [
            _own_line("Enrich e-mail", email.describe(), email.address is not None),
            _own_line("Enrich phone", phone.describe(), phone.e164 is not None),
            _line("Enrich country", _place(self)),
            _line("Enrich company", _company(self)),
            _line("Enrich title", self.title.describe()),
        ]
        lines += [
            _own_line(f"Fill {f.field}", _fill_reason(f), f.fact in _PERSONAL) for f in self.fills
        ]
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
    company, competitor = _by_domain(email, website, data)
    return _Parts(
        email=email, phone=phone, mobile=mobile, country=country,
        country_source=country_source,
        state=resolve_state(_read(values, src.state), country.code if country else None, data.geo),
        company_name=normalise_company(_read(values, src.company), data.legal_suffixes),
        company=company, competitor=competitor,
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


def _by_domain(
    email: EmailFacts, website: Any, data: EnrichmentData
) -> tuple[CompanyMatch | None, str | None]:
    """The firmographics match and the competitor, from the e-mail domain and the Website."""
    if website is None or (type(website) is str and len(website) <= MAX_REMEMBERED):
        return _domain_facts(email.corporate_domain, email.domain, website, data)
    return _look_up_domains(email.corporate_domain, email.domain, website, data)


def _look_up_domains(
    corporate: str | None, domain: str | None, website: Any, data: EnrichmentData
) -> tuple[CompanyMatch | None, str | None]:
    return (
        find_company(corporate, website, data.firmographics),
        _competitor(domain, website, data.competitors),
    )


# Thousands of leads share a few hundred company domains: their answers are remembered
# (a pure function of the domains, the Website and the data, which compares by identity).
_domain_facts = lru_cache(maxsize=CACHE_SIZE)(_look_up_domains)


def _competitor(email_domain: str | None, website: Any, competitors: frozenset[str]) -> str | None:
    if not competitors:
        return None
    hosts = (email_domain, host_of(website) if isinstance(website, str) else None)
    for host in hosts:
        for candidate in domain_candidates(host) if host else ():
            if candidate in competitors:
                return candidate
    return None


# Every fact, in the order `Enrichment.facts` lists them (explanations and summaries keep it).
# Looked up once here: reading a member off an enum class costs ~0.15 µs each time.
FACT_ORDER: tuple[Fact, ...] = (
    Fact.EMAIL_ADDRESS, Fact.EMAIL_DOMAIN, Fact.EMAIL_VALID, Fact.EMAIL_FREE,
    Fact.EMAIL_DISPOSABLE, Fact.EMAIL_ROLE,
    Fact.PHONE_E164, Fact.PHONE_COUNTRY, Fact.PHONE_VALID,
    Fact.MOBILE_E164, Fact.MOBILE_COUNTRY, Fact.MOBILE_VALID,
    Fact.COUNTRY_CODE, Fact.COUNTRY_NAME, Fact.STATE_CODE, Fact.STATE_NAME,
    Fact.COMPANY_NAME, Fact.COMPANY_DOMAIN, Fact.COMPANY_KNOWN, Fact.COMPANY_EMPLOYEES,
    Fact.COMPANY_REVENUE, Fact.COMPANY_INDUSTRY, Fact.COMPANY_COMPETITOR,
    Fact.TITLE_SENIORITY, Fact.TITLE_DEPARTMENT,
)  # fmt: skip


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
    values = (  # in FACT_ORDER
        email.address, email.domain, valid if email.present else None,
        email.free if valid else None, email.disposable if valid else None,
        email.role if valid else None,
        phone.e164, phone.country, None if phone is NO_PHONE else phone.valid,
        mobile.e164, mobile.country, None if mobile is NO_PHONE else mobile.valid,
        country.code if country else None, country.name if country else None,
        state.code if state else None, state.name if state else None,
        parts.company_name, match.domain if match else email.corporate_domain,
        match is not None, firm.employees if firm else None,
        firm.annual_revenue if firm else None, firm.industry if firm else None,
        parts.competitor is not None,
        title.seniority, title.department,
    )  # fmt: skip
    return dict(zip(FACT_ORDER, values, strict=True))


def _plan_fills(
    values: Mapping[str, Any],
    facts: Mapping[str, Any],
    country_source: str | None,
    config: EnrichmentConfig,
    last_written: Mapping[str, Any],
) -> tuple[tuple[Fill, ...], dict[str, str]]:
    fills: list[Fill] = []
    kept: dict[str, str] = {}
    for name, fact, rule in config.fill_plan:
        value = facts[fact]
        if value is None:
            continue
        current = values.get(name)
        if same_value(current, value):
            continue
        if blank(current) or _ours(name, current, last_written):
            fills.append(Fill(name, value, fact))
        elif _restates(rule, country_source, config.sources):
            fills.append(Fill(name, value, fact, standardizes=True))
        else:
            kept[name] = PERSON_VALUE
    return tuple(fills), kept


def _ours(field: str, current: Any, last_written: Mapping[str, Any]) -> bool:
    return field in last_written and same_value(current, last_written[field])


def _restates(rule: FillRule, country_source: str | None, sources: Sources) -> bool:
    """Whether this lead's fact was read from the very field the rule would rewrite."""
    if rule.mode is not _STANDARDIZE:
        return False
    if rule.fact in _BY_COUNTRY:
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


@lru_cache(maxsize=CACHE_SIZE)
def _line(rule: str, detail: str) -> Contribution:
    """An explanation line; the same titles, places and companies recur, and lines are frozen."""
    return Contribution(rule, 0, detail, PART)


def _own_line(rule: str, detail: str, personal: bool) -> Contribution:
    """A line that names this lead's own address or number is not worth remembering."""
    return Contribution(rule, 0, detail, PART) if personal else _line(rule, detail)


def _fill_reason(fill: Fill) -> str:
    how = "standard form of the value entered" if fill.standardizes else "field was empty"
    return f"{fill.value!r} from {fill.fact.value} ({how})"
