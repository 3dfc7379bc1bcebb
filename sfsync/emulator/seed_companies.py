"""Seeded companies: the firms leads work at and accounts are made from.

Company stems are unique (case-insensitively), so two different companies
never differ only by a legal suffix: a lead at "Acme" and one at "Acme Inc."
are the same company, which is what the `company_suffix` duplicate relies on.
"""

from __future__ import annotations

from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from random import Random
from typing import Any

from sfsync.emulator.seed_phone import Phone, random_phone
from sfsync.emulator.seed_pools import Name, Pools, ascii_fold
from sfsync.emulator.seed_regions import REGIONS, WEIGHTED_REGIONS, City, Region
from sfsync.emulator.seed_words import BRAND_HEADS, BRAND_TAILS, COMPANY_WORDS, INDUSTRY_WEIGHTS

# (low, high, weight) of NumberOfEmployees: many small firms, few large ones.
EMPLOYEE_BANDS = ((1, 9, 20), (10, 49, 25), (50, 249, 25), (250, 999, 15), (1000, 4999, 10),
                  (5000, 100_000, 5))  # fmt: skip
# Every legal suffix, longest first so "GmbH & Co. KG" is not read as "KG".
LEGAL_SUFFIXES = tuple(
    sorted({sfx for r in REGIONS for sfx in r.legal_suffixes}, key=lambda s: (-len(s), s))
)
_BANDS = tuple(((low, high), weight) for low, high, weight in EMPLOYEE_BANDS)
SUFFIX_SHARE = 0.75
_STEM_TRIES = 20


@dataclass(frozen=True)
class Company:
    """A firm: its name as usually written, its domain, size and head office."""

    name: str
    stem: str
    suffix: str | None
    domain: str
    industry: str
    employees: int
    revenue: int
    region: Region
    city: City
    street: str
    postcode: str | None
    phone: Phone

    @property
    def website(self) -> str:
        """The company's web address as a person types it into a form."""
        return f"www.{self.domain}"


# id(pairs) -> (pairs, values, cumulative weights); holding `pairs` keeps its id unique.
_PREPARED: dict[int, tuple[Sequence[tuple[Any, float]], list[Any], list[float]]] = {}


def weighted(rng: Random, pairs: Sequence[tuple[Any, float]]) -> Any:
    """One value of (value, weight) pairs; tables are prepared once (this runs ~10^6 times)."""
    prepared = _PREPARED.get(id(pairs))
    if prepared is None or prepared[0] is not pairs:
        cumulative = list(accumulate(weight for _, weight in pairs))
        prepared = _PREPARED[id(pairs)] = (pairs, [value for value, _ in pairs], cumulative)
    _, values, cumulative = prepared
    return values[bisect(cumulative, rng.random() * cumulative[-1])]


def company_stem(name: str) -> str:
    """`name` without a trailing legal suffix ("Acme Inc." -> "Acme"), as matching compares."""
    text = " ".join(name.split())
    lowered = text.lower()
    for suffix in LEGAL_SUFFIXES:
        if lowered.endswith(" " + suffix.lower()):
            return text[: -len(suffix) - 1].rstrip(" ,")
    return text


def _surname(rng: Random, pools: Pools, region: Region) -> str:
    locale = region.name_locales[0][0]
    name: Name = rng.choice(pools.last[locale])
    # Firms in non-Latin scripts trade internationally under their romanised name.
    return name.display if is_latin(name.display) else name.ascii.capitalize()


def is_latin(text: str) -> bool:
    """True when `text` is written in Latin script (accents allowed, CJK and Arabic not)."""
    return all(ord(ch) <= 0x24F for ch in text)


def _stem(rng: Random, pools: Pools, region: Region) -> tuple[str, str | None]:
    """A company stem and the industry its wording suggests (None when it suggests none)."""
    roll = rng.random()
    word, industry = rng.choice(COMPANY_WORDS)
    if roll < 0.30:
        return _surname(rng, pools, region), None
    if roll < 0.55:
        return f"{_surname(rng, pools, region)} {word}", industry
    if roll < 0.65:
        return f"{_surname(rng, pools, region)} & {_surname(rng, pools, region)}", None
    brand = rng.choice(BRAND_HEADS) + rng.choice(BRAND_TAILS)
    if roll < 0.85:
        return f"{brand} {word}", industry
    return brand, None


def _size(rng: Random) -> tuple[int, int]:
    low, high = weighted(rng, _BANDS)
    employees = rng.randint(low, high)
    revenue = round(employees * rng.randint(50_000, 400_000), -3)
    return employees, revenue


class CompanyMaker:
    """Draws companies with unique stems and domains from one seeded `Random`."""

    def __init__(self, rng: Random, pools: Pools) -> None:
        self.rng = rng
        self.pools = pools
        self._stems: set[str] = set()
        self._domains: set[str] = set()

    def reserve(self, stem: str, domain: str | None = None) -> None:
        """Mark a stem (and domain) as taken by a company that already exists elsewhere."""
        self._stems.add(stem.lower())
        if domain:
            self._domains.add(domain)

    def many(self, count: int) -> list[Company]:
        """`count` new companies spread over the regions by weight."""
        return [self.one() for _ in range(count)]

    def one(self, region: Region | None = None) -> Company:
        """One new company, in `region` or a region drawn by weight."""
        rng = self.rng
        region = region or weighted(rng, WEIGHTED_REGIONS)
        stem, industry = self._unique_stem(region)
        suffix = rng.choice(region.legal_suffixes) if rng.random() < SUFFIX_SHARE else None
        city = rng.choice(region.cities)
        employees, revenue = _size(rng)
        return Company(
            name=f"{stem} {suffix}" if suffix else stem,
            stem=stem,
            suffix=suffix,
            domain=self._domain(stem, region),
            industry=industry or str(weighted(rng, INDUSTRY_WEIGHTS)),
            employees=employees,
            revenue=revenue,
            region=region,
            city=city,
            street=rng.choice(self.pools.streets[region.address_locale]),
            postcode=self._postcode(region),
            phone=random_phone(rng, region, city),
        )

    def _unique_stem(self, region: Region) -> tuple[str, str | None]:
        for attempt in range(_STEM_TRIES * 2):
            stem, industry = _stem(self.rng, self.pools, region)
            if attempt >= _STEM_TRIES:
                stem = f"{stem} {self.rng.choice(region.cities).names[0]}"
            if stem.lower() not in self._stems:
                self._stems.add(stem.lower())
                return stem, industry
        raise RuntimeError("company names exhausted")  # pragma: no cover - needs ~10^6 firms

    def _domain(self, stem: str, region: Region) -> str:
        words = [ascii_fold(w) for w in stem.replace("&", " ").split()]
        slug = "-".join(w for w in words if w) if self.rng.random() < 0.4 else "".join(words)
        domain = f"{slug}{region.tld}"
        counter = 1
        while domain in self._domains:
            counter += 1
            domain = f"{slug}{counter}{region.tld}"
        self._domains.add(domain)
        return domain

    def _postcode(self, region: Region) -> str | None:
        if region.key == "AE":
            return None
        return self.rng.choice(self.pools.postcodes[region.address_locale])
