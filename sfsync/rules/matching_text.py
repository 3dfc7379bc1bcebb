"""What matching compares: names, e-mails, phones and companies in one folded form each.

"JOSÉ  Müller", "jose muller" and "José Mueller" are one person to a reader,
so every comparison and every blocking key starts from these forms: case,
accents and punctuation folded away, legal suffixes dropped from company
names, phone numbers as E.164 in the record's own country. Pure functions of
their arguments; the reference data (free-mail domains, legal suffixes, the
country index) comes in as `MatchData`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jellyfish

from sfsync.rules.enrich_company import normalise_company
from sfsync.rules.enrich_email import normalise_address
from sfsync.rules.enrich_geo import GeoIndex, resolve_country
from sfsync.rules.enrich_phone import analyse_phone
from sfsync.rules.enrich_text import clean_text, host_of

# Letters NFKD does not decompose into a base letter plus an accent.
_SPECIAL = str.maketrans({
    "ß": "ss", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d",
    "œ": "oe", "Œ": "oe", "þ": "th",
})  # fmt: skip
_NOT_WORD = re.compile(r"[\W_]+")
_AND = re.compile(r"(?:^| )(?:and|und|et|y|e)(?= |$)")
# Second-level labels under which companies register (acme.co.uk, acme.com.br).
_GENERIC_SLD = frozenset({"co", "com", "ac", "org", "net", "gov", "edu", "ne", "or", "go"})
MAX_KEY = 64
CACHE_SIZE = 65_536


@dataclass(frozen=True, eq=False)
class MatchData:
    """Reference data matching reads, built once by the caller and shared by every record."""

    free_mail: frozenset[str]
    legal_suffixes: re.Pattern[str]
    geo: GeoIndex
    # Folded name -> folded names it is a nickname or formal form of ("bob" <-> "robert").
    name_variants: Mapping[str, frozenset[str]]
    default_country: str | None = None


@lru_cache(maxsize=CACHE_SIZE)
def fold(value: str) -> str:
    """Lower-case words without accents or punctuation: "O'Brien-Smith, Jr." -> "o brien smith jr".

    Scripts without case or accents (CJK, Arabic) come through unchanged.
    """
    text = unicodedata.normalize("NFKD", value.translate(_SPECIAL))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return _NOT_WORD.sub(" ", text.replace("'", "").replace("\u2019", "")).strip()


def fold_field(value: Any, limit: int = 255) -> str:
    """`fold` of a raw field value; "" for None, blank or non-text junk."""
    if isinstance(value, str):
        return _fold_text(value, limit)
    text = clean_text(value, limit)
    return fold(text) if text else ""


@lru_cache(maxsize=CACHE_SIZE)
def _fold_text(value: str, limit: int) -> str:
    # A page's candidates share first names, cities and titles: cleaning is the dear part.
    text = clean_text(value, limit)
    return fold(text) if text else ""


@lru_cache(maxsize=CACHE_SIZE)
def phonetic(folded: str) -> str:
    """Metaphone of a folded name without spaces; the folded text itself for non-Latin scripts."""
    squeezed = folded.replace(" ", "")
    if not squeezed:
        return ""
    code = jellyfish.metaphone(squeezed) if squeezed.isascii() else ""
    return code.replace(" ", "") or squeezed


def initial(folded: str) -> str:
    """The first letter of a folded name, "" when blank."""
    return folded[:1]


def email_address(value: Any) -> str | None:
    """The address in lower case without a "+tag": what the Exact method compares."""
    address = normalise_address(value) if value is not None else None
    if address is None:
        return None
    local, domain = address.rsplit("@", 1)
    return f"{local.split('+', 1)[0]}@{domain}"


def registrable(host: str) -> str:
    """The domain a company registers: "mail.eu.acme.co.uk" -> "acme.co.uk"."""
    labels = [label for label in host.split(".") if label]
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _GENERIC_SLD else 2
    return ".".join(labels[-keep:])


def email_key(value: Any) -> str | None:
    """Salesforce's normalised e-mail match key: john_doe@us.ibm.com -> johndoe@ibm.com."""
    address = email_address(value)
    if address is None:
        return None
    local, domain = address.rsplit("@", 1)
    squeezed = _NOT_WORD.sub("", local) or local
    return f"{squeezed}@{registrable(domain)}"[: MAX_KEY * 2]


def email_domain(value: Any, data: MatchData) -> str | None:
    """The registrable domain of a corporate address; None for free-mail or no address."""
    address = email_address(value)
    if address is None:
        return None
    domain = registrable(address.rsplit("@", 1)[1])
    return None if domain in data.free_mail else domain


def website_domain(value: Any, data: MatchData) -> str | None:
    """The registrable domain of a Website value ("https://www.acme.com/about" -> "acme.com")."""
    text = clean_text(value, 255)
    host = host_of(text) if text else ""
    if "." not in host or " " in host:
        return None
    domain = registrable(host)
    return None if domain in data.free_mail else domain


def company_name(value: Any, data: MatchData) -> str:
    """The folded company name without its legal form: "ACME  Systems, Inc." -> "acme systems"."""
    stem = normalise_company(value, data.legal_suffixes)
    return fold(stem) if stem else ""


def company_key(folded_company: str) -> str | None:
    """The company as one token for blocking: "smith and jones" and "Smith & Jones" alike."""
    key = _AND.sub(" ", folded_company).replace(" ", "")
    return key[:MAX_KEY] or None


def country_code(record: Mapping[str, Any], data: MatchData) -> str | None:
    """The record's ISO country, read from its Country field (None when unknown)."""
    found = resolve_country(record.get("Country"), data.geo)
    return found.code if found else None


def phone_e164(value: Any, country: str | None, data: MatchData) -> str | None:
    """The number as E.164 without extension, or None when it is not a valid number.

    "0044 20 ..." is read as "+44 20 ...": the international prefix most of
    the world dials, written by people whose records carry no country.
    """
    text = clean_text(value, 41)
    if text.startswith("00"):
        text = "+" + text[2:]
    facts = analyse_phone(text, country, data.default_country)
    return facts.e164.split(" ", 1)[0] if facts.e164 else None


def phone_digits(value: Any) -> str:
    """Only the digits of a phone value (for numbers that are not valid anywhere)."""
    return "".join(ch for ch in clean_text(value, 41) if ch.isdigit())


def name_key(first: str, last: str) -> str | None:
    """Phonetic last name + first initial ("smith", "john" -> "SM0J"); None without a last name."""
    code = phonetic(last)
    return f"{code[: MAX_KEY - 1]}{initial(first).upper()}" if code else None
