"""The reference data enrichment reads: domain lists, legal suffixes, places, firmographics.

Loaded once at start-up by the caller (`load_enrichment_data`) and passed
into `enrich_lead`, so that enrichment itself does no I/O. Shipped files live
in `sfsync/data/`; disposable domains come from the maintained
`disposable-email-domains` package; a user's firmographics file replaces the
shipped one when `enrichment.yaml` names it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources

import disposable_email_domains

from sfsync.rules.enrich_company import CompanyFacts, parse_firmographics, suffix_pattern
from sfsync.rules.enrich_email import EmailLists
from sfsync.rules.enrich_geo import GeoIndex, build_geo_index
from sfsync.rules.enrich_text import fold_key, host_of

SHIPPED_FIRMOGRAPHICS = "firmographics.csv"
_DATA_FILES = (
    "free_mail.txt",
    "role_prefixes.txt",
    "legal_suffixes.txt",
    "country_aliases.csv",
    "state_aliases.csv",
    SHIPPED_FIRMOGRAPHICS,
)


@dataclass(frozen=True, eq=False)
class EnrichmentData:
    """Everything enrichment looks things up in; built once, shared by every lead."""

    email: EmailLists
    legal_suffixes: re.Pattern[str]
    firmographics: Mapping[str, CompanyFacts]
    geo: GeoIndex
    competitors: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DataExtras:
    """Additions an org makes in enrichment.yaml to the shipped lists."""

    free_mail: Iterable[str] = ()
    disposable: Iterable[str] = ()
    role_prefixes: Iterable[str] = ()
    legal_suffixes: Iterable[str] = ()
    competitors: Iterable[str] = ()


def shipped_texts() -> dict[str, str]:
    """The text of every shipped data file, by file name (the only I/O here)."""
    folder = resources.files("sfsync") / "data"
    return {name: (folder / name).read_text(encoding="utf-8") for name in _DATA_FILES}


def load_enrichment_data(
    texts: Mapping[str, str],
    extras: DataExtras = DataExtras(),
    firmographics: tuple[str, str] | None = None,
) -> EnrichmentData:
    """Build the lookup data from file texts (see `shipped_texts`) plus an org's extras.

    `firmographics` is (text, origin) of a user's file; without it the
    shipped sample is used. Bad rows raise ConfigError naming origin and line.
    """
    free = _domains(word_list(texts["free_mail.txt"]), extras.free_mail)
    disposable = _domains(disposable_email_domains.blocklist, extras.disposable) - free
    roles = [*word_list(texts["role_prefixes.txt"]), *extras.role_prefixes]
    suffixes = [*word_list(texts["legal_suffixes.txt"]), *extras.legal_suffixes]
    firm_text, origin = firmographics or (texts[SHIPPED_FIRMOGRAPHICS], SHIPPED_FIRMOGRAPHICS)
    return EnrichmentData(
        email=EmailLists(free, disposable, frozenset(r.casefold() for r in roles)),
        legal_suffixes=suffix_pattern(suffixes),
        firmographics=parse_firmographics(firm_text, origin),
        geo=build_geo_index(texts["country_aliases.csv"], texts["state_aliases.csv"]),
        competitors=_domains(extras.competitors),
    )


def word_list(text: str) -> list[str]:
    """Non-blank, non-comment lines of a list file, stripped."""
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if fold_key(line) and not line.startswith("#")]


def _domains(*lists: Iterable[str]) -> frozenset[str]:
    return frozenset(host_of(d) for items in lists for d in items if host_of(d))
