"""Country and state spellings to ISO codes, fit for orgs with State and Country picklists.

People type "USA", "U.K.", "Deutschland", "🇩🇪" and "Calif."; picklist orgs
want "US", "GB", "DE" and "CA". The index is built once from pycountry (ISO
names, official and common names, alpha-2/3 codes, flags) plus the shipped
alias files, then every lookup is one dictionary read on a folded key.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import pycountry

from sfsync.errors import ConfigError
from sfsync.rules.enrich_text import clean_text, csv_rows, fold_key

# Chinese subdivision names carry their kind ("Guangdong Sheng"); people drop it.
_KIND_WORDS = (" sheng", " shi", " zizhiqu", " sar", " uygur", " huizu", " zhuangzu")
# Country and state fields are short; anything longer is not a place name.
MAX_PLACE = 80
# Raw values remembered, and the longest one kept as a key.
CACHE_SIZE = 4096
MAX_REMEMBERED = 2 * MAX_PLACE


@dataclass(frozen=True)
class Country:
    """A resolved country: ISO alpha-2 code and the ISO short name picklists show."""

    code: str
    name: str


@dataclass(frozen=True)
class State:
    """A resolved state or province: its picklist code (US-CA -> "CA"), ISO code and name."""

    code: str
    iso: str
    name: str


@dataclass(frozen=True, eq=False)
class GeoIndex:
    """Folded spelling -> country, and (country, folded spelling) -> state.

    Compared by identity so that lookups can be memoised per index.
    """

    countries: dict[str, Country]
    states: dict[tuple[str, str], State]
    by_code: dict[str, Country]


def build_geo_index(country_aliases: str = "", state_aliases: str = "") -> GeoIndex:
    """The index from pycountry plus alias CSV texts (columns alias,code / country,alias,code).

    Aliases win over pycountry's own spellings, so an org can redefine one.
    """
    by_code = {c.alpha_2: Country(c.alpha_2, c.name) for c in pycountry.countries}
    countries = dict(_pycountry_spellings(by_code))
    for alias, code in _country_alias_rows(country_aliases, by_code):
        countries[fold_key(alias) or alias] = by_code[code]
    states = dict(_pycountry_states())
    for key, state in _state_alias_rows(state_aliases, states):
        states[key] = state
    return GeoIndex(countries=countries, states=states, by_code=by_code)


def resolve_country(value: object, index: GeoIndex) -> Country | None:
    """The country a Country field means, or None when it is blank or unknown."""
    if type(value) is str and len(value) <= MAX_REMEMBERED:
        return _remembered_country(value, index)
    return _resolve_country(value, index)


def _resolve_country(value: object, index: GeoIndex) -> Country | None:
    text = clean_text(value, MAX_PLACE)
    return _country(text, index) if text else None


def resolve_state(value: object, country_code: str | None, index: GeoIndex) -> State | None:
    """The state a State field means within `country_code`; None when unknown.

    A state is only resolved inside a known country: "GA" is Georgia in the
    US but nothing at all in Germany.
    """
    if type(value) is str and len(value) <= MAX_REMEMBERED:
        return _remembered_state(value, country_code, index)
    return _resolve_state(value, country_code, index)


def _resolve_state(value: object, country_code: str | None, index: GeoIndex) -> State | None:
    text = clean_text(value, MAX_PLACE)
    if not text or not country_code:
        return None
    return index.states.get((country_code, fold_key(text)))


# The same few hundred spellings recur across leads: answers by raw value are remembered
# (pure functions of the value and the index, which compares by identity).
_remembered_country = lru_cache(maxsize=CACHE_SIZE)(_resolve_country)
_remembered_state = lru_cache(maxsize=CACHE_SIZE)(_resolve_state)


@lru_cache(maxsize=4096)
def _country(text: str, index: GeoIndex) -> Country | None:
    found = index.countries.get(fold_key(text))
    return found if found is not None else index.countries.get(text)


def _pycountry_spellings(by_code: dict[str, Country]) -> Iterator[tuple[str, Country]]:
    for record in pycountry.countries:
        country = by_code[record.alpha_2]
        for attr in ("alpha_2", "alpha_3", "name", "official_name", "common_name"):
            spelling = getattr(record, attr, None)
            if spelling and fold_key(spelling):
                yield fold_key(spelling), country
        flag = getattr(record, "flag", None)
        if flag:
            yield flag, country


def _pycountry_states() -> Iterator[tuple[tuple[str, str], State]]:
    # Sub-subdivisions first, so that a top-level one wins a shared spelling.
    records = sorted(pycountry.subdivisions, key=lambda s: s.parent_code is None)
    for record in records:
        country = record.country_code
        code = record.code.split("-", 1)[1]
        state = State(code=code, iso=record.code, name=record.name)
        for spelling in (code, *_name_variants(record.name)):
            yield (country, fold_key(spelling)), state


def _name_variants(name: str) -> Iterator[str]:
    """ "Ceredigion [Sir Ceredigion]" -> both names; "Guangdong Sheng" -> also "Guangdong"."""
    for part in name.replace("]", "").split("["):
        part = part.strip()
        yield part
        for word in _KIND_WORDS:
            if part.casefold().endswith(word):
                yield part[: -len(word)]


def _country_alias_rows(text: str, by_code: dict[str, Country]) -> Iterator[tuple[str, str]]:
    for line, row in csv_rows(text, "country aliases", ("alias", "code")):
        alias, code = row["alias"], row["code"].upper()
        if code not in by_code:
            raise ConfigError(f"country aliases:{line}: code {code!r} is not an ISO country")
        yield alias, code


def _state_alias_rows(
    text: str, states: dict[tuple[str, str], State]
) -> Iterator[tuple[tuple[str, str], State]]:
    by_iso = {s.iso: s for s in states.values()}
    for line, row in csv_rows(text, "state aliases", ("country", "alias", "code")):
        iso = f"{row['country'].upper()}-{row['code'].upper()}"
        if iso not in by_iso:
            raise ConfigError(f"state aliases:{line}: {iso!r} is not an ISO 3166-2 code")
        yield (row["country"].upper(), fold_key(row["alias"])), by_iso[iso]
