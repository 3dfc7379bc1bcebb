"""Pools of names, streets and postcodes drawn from Faker once per seed.

Faker costs tens of microseconds a call, far too slow for 100,000 leads, so
each locale contributes a few hundred values once and the seeded `Random`
combines them. Each name carries an ASCII form for e-mail addresses and
domains; Chinese and Arabic names come from small tables with their usual
romanisation because Faker has no transliteration for them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from faker import Faker

from sfsync.emulator.seed_regions import ADDRESS_LOCALES, NAME_LOCALES
from sfsync.emulator.seed_words import NICKNAMES

FIRST_NAMES_PER_LOCALE = 150
LAST_NAMES_PER_LOCALE = 200
STREETS_PER_LOCALE = 200
POSTCODES_PER_LOCALE = 100
# Draws allowed per wanted unique value before a pool settles for fewer.
_MAX_DRAWS = 6


@dataclass(frozen=True)
class Name:
    """A first or last name as written, and its ASCII form for addresses."""

    display: str
    ascii: str


@dataclass(frozen=True)
class Pools:
    """Everything Faker contributes to one seeded org."""

    first: Mapping[str, tuple[Name, ...]]
    last: Mapping[str, tuple[Name, ...]]
    streets: Mapping[str, tuple[str, ...]]
    postcodes: Mapping[str, tuple[str, ...]]


_ZH_FIRST = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("磊", "lei"),
    ("强", "qiang"), ("洋", "yang"), ("军", "jun"), ("杰", "jie"), ("丽", "li"), ("涛", "tao"),
    ("明", "ming"), ("超", "chao"), ("秀英", "xiuying"), ("建华", "jianhua"),
)  # fmt: skip
_ZH_LAST = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"),
)  # fmt: skip
_AR_FIRST = (
    ("محمد", "mohammed"), ("أحمد", "ahmed"), ("فاطمة", "fatima"), ("علي", "ali"),
    ("عمر", "omar"), ("خالد", "khalid"), ("ليلى", "layla"), ("يوسف", "youssef"),
    ("مريم", "maryam"), ("حسن", "hassan"), ("نور", "nour"), ("سارة", "sara"),
)  # fmt: skip
_AR_LAST = (
    ("الحسن", "alhassan"), ("منصور", "mansour"), ("حداد", "haddad"), ("خوري", "khoury"),
    ("سعيد", "saeed"), ("نصر", "nasr"), ("العلي", "alali"), ("الشامي", "alshami"),
    ("عبدالله", "abdullah"), ("الزين", "alzein"),
)  # fmt: skip
_TABLES = {"zh_CN": (_ZH_FIRST, _ZH_LAST), "ar_AA": (_AR_FIRST, _AR_LAST)}
_SPECIAL = {"ß": "ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "ł": "l", "Ł": "L", "đ": "d"}


def ascii_fold(text: str) -> str:
    """Lower-case ASCII letters of `text` ("Jørgen Müller" → "jorgenmuller"), for addresses."""
    replaced = "".join(_SPECIAL.get(ch, ch) for ch in text)
    decomposed = unicodedata.normalize("NFKD", replaced)
    return "".join(ch for ch in decomposed.lower() if "a" <= ch <= "z")


def _unique(draw: Callable[[], str], wanted: int) -> tuple[str, ...]:
    """Up to `wanted` distinct values from `draw`, in first-seen order."""
    seen: dict[str, None] = {}
    for _ in range(wanted * _MAX_DRAWS):
        seen[draw()] = None
        if len(seen) >= wanted:
            break
    return tuple(seen)


def _faker(locale: str, seed: int) -> Faker:
    fake = Faker(locale)
    fake.seed_instance(seed)
    return fake


def _latin_names(fake: Faker, locale: str) -> tuple[tuple[Name, ...], tuple[Name, ...]]:
    first = _unique(fake.first_name, FIRST_NAMES_PER_LOCALE)
    if locale in ("en_US", "en_GB"):
        # Formal names with common nicknames, so Name Variant duplicates can be planted.
        first = tuple(dict.fromkeys((*first, *(n for n in NICKNAMES if n.isascii()))))
    last = _unique(fake.last_name, LAST_NAMES_PER_LOCALE)
    return _named(first), _named(last)


def _named(values: tuple[str, ...]) -> tuple[Name, ...]:
    return tuple(Name(v, ascii_fold(v)) for v in values if ascii_fold(v))


def _japanese_names(fake: Faker) -> tuple[tuple[Name, ...], tuple[Name, ...]]:
    def pairs(draw: Callable[[], tuple[str, str, str]], wanted: int) -> tuple[Name, ...]:
        found = {p[0]: p[2] for p in (draw() for _ in range(wanted * 2))}
        return tuple(Name(k, ascii_fold(v)) for k, v in found.items() if ascii_fold(v))

    return pairs(fake.first_name_pair, 80), pairs(fake.last_name_pair, 80)


def _names(locale: str, seed: int) -> tuple[tuple[Name, ...], tuple[Name, ...]]:
    if locale in _TABLES:
        first, last = _TABLES[locale]
        return tuple(Name(*p) for p in first), tuple(Name(*p) for p in last)
    fake = _faker(locale, seed)
    if locale == "ja_JP":
        return _japanese_names(fake)
    return _latin_names(fake, locale)


@lru_cache(maxsize=4)
def build_pools(seed: int) -> Pools:
    """The Faker-drawn pools for `seed` (cached: pools are immutable and slow to draw)."""
    first: dict[str, tuple[Name, ...]] = {}
    last: dict[str, tuple[Name, ...]] = {}
    for offset, locale in enumerate(NAME_LOCALES):
        first[locale], last[locale] = _names(locale, seed * 1000 + offset)
    streets: dict[str, tuple[str, ...]] = {}
    postcodes: dict[str, tuple[str, ...]] = {}
    for offset, locale in enumerate(ADDRESS_LOCALES):
        fake = _faker(locale, seed * 1000 + 500 + offset)
        streets[locale] = _unique(fake.street_address, STREETS_PER_LOCALE)
        postcodes[locale] = _unique(fake.postcode, POSTCODES_PER_LOCALE)
    return Pools(first=first, last=last, streets=streets, postcodes=postcodes)
