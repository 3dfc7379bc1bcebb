"""Company names without legal suffixes, and company facts looked up by web domain.

"Acme Inc.", "ACME, Inc" and "Acme" are one company to a person, so the
normalised name drops the legal form. Facts (employees, revenue, industry)
come from a firmographics file keyed by domain: the lead's corporate e-mail
domain first, its Website otherwise. A small file ships; users point to theirs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from sfsync.errors import ConfigError
from sfsync.rules.enrich_text import clean_text, csv_rows, domain_candidates, host_of

FIRMOGRAPHICS_COLUMNS = ("domain", "name", "employees", "annual_revenue", "industry", "country")
# A legal suffix is only removed after a separator, so "Bancorp" keeps its "corp".
_TRAILING_JUNK = " ,&-\u2013/"
MAX_COMPANY = 255
CACHE_SIZE = 65_536
_DOMAIN_SHAPE = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+")


@dataclass(frozen=True)
class CompanyFacts:
    """One firmographics row: what is known about the company behind a domain."""

    domain: str
    name: str
    employees: int | None = None
    annual_revenue: float | None = None
    industry: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class CompanyMatch:
    """The company found for a lead, and the domain (and where it came from) that found it."""

    facts: CompanyFacts
    domain: str
    source: str


def suffix_pattern(suffixes: Iterable[str]) -> re.Pattern[str]:
    """One pattern that finds any legal suffix at the end of a name; dots are optional."""
    ordered = sorted({s.strip() for s in suffixes if s.strip()}, key=len, reverse=True)
    if not ordered:
        return re.compile(r"(?!)")
    options = "|".join(re.escape(s).replace(r"\.", r"\.?") for s in ordered)
    return re.compile(rf"[\s,]+(?:{options})\s*$", re.IGNORECASE)


def normalise_company(value: object, suffixes: re.Pattern[str]) -> str | None:
    """The company name without its legal form ("Acme, Inc." -> "Acme"); None when blank.

    Two suffixes are removed at most ("Acme Pty. Ltd."); a name that would be
    left empty ("Inc.") is kept as it is. Names recur across leads, so recent
    answers are remembered.
    """
    if isinstance(value, str) and len(value) <= MAX_COMPANY:
        return _normalise_recent(value, suffixes)
    return _normalise(value, suffixes)


def _normalise(value: object, suffixes: re.Pattern[str]) -> str | None:
    name = clean_text(value, MAX_COMPANY)
    if not name:
        return None
    for _ in range(2):
        shorter = suffixes.sub("", name).rstrip(_TRAILING_JUNK)
        if not shorter or shorter == name:
            break
        name = shorter
    return name


_normalise_recent = lru_cache(maxsize=CACHE_SIZE)(_normalise)


def find_company(
    email_domain: str | None, website: object, table: Mapping[str, CompanyFacts]
) -> CompanyMatch | None:
    """The firmographics row for the lead's corporate e-mail domain, else for its Website."""
    for domain, source in ((email_domain, "e-mail domain"), (_website_host(website), "Website")):
        if domain:
            for candidate in domain_candidates(domain):
                facts = table.get(candidate)
                if facts is not None:
                    return CompanyMatch(facts=facts, domain=candidate, source=source)
    return None


def _website_host(website: object) -> str | None:
    text = clean_text(website, MAX_COMPANY)
    host = host_of(text) if text else ""
    return host if _DOMAIN_SHAPE.fullmatch(host) else None


def parse_firmographics(text: str, origin: str) -> dict[str, CompanyFacts]:
    """Domain -> facts from a firmographics CSV text; bad rows raise ConfigError with the line.

    Columns: domain, name, employees, annual_revenue, industry, country. Only
    domain and name are required; blank cells mean unknown.
    """
    table: dict[str, CompanyFacts] = {}
    for line, row in csv_rows(text, origin, ("domain", "name")):
        facts = _company_row(row, f"{origin}:{line}")
        if facts.domain in table:
            raise ConfigError(f"{origin}:{line}: domain {facts.domain!r} is listed twice")
        table[facts.domain] = facts
    return table


def _company_row(row: Mapping[str, str], where: str) -> CompanyFacts:
    domain = host_of(row["domain"])
    if not _DOMAIN_SHAPE.fullmatch(domain):
        raise ConfigError(f"{where}: domain {row['domain']!r} is not a domain like acme.com")
    country = row.get("country", "").upper() or None
    if country is not None and not re.fullmatch(r"[A-Z]{2}", country):
        raise ConfigError(f"{where}: country {country!r} must be an ISO code like US or DE")
    return CompanyFacts(
        domain=domain,
        name=row["name"],
        employees=_whole(row.get("employees", ""), "employees", where),
        annual_revenue=_amount(row.get("annual_revenue", ""), "annual_revenue", where),
        industry=row.get("industry") or None,
        country=country,
    )


def _whole(text: str, column: str, where: str) -> int | None:
    amount = _amount(text, column, where)
    if amount is not None and amount != int(amount):
        raise ConfigError(f"{where}: {column} must be a whole number, got {text!r}")
    return None if amount is None else int(amount)


def _amount(text: str, column: str, where: str) -> float | None:
    if not text:
        return None
    try:
        amount = float(text.replace("_", ""))
    except ValueError:
        raise ConfigError(f"{where}: {column} must be a number, got {text!r}") from None
    if not 0 <= amount < 1e15:
        raise ConfigError(f"{where}: {column} must be between 0 and 10^15, got {text!r}")
    return amount
