"""Field comparison methods, after Salesforce's "Matching Methods Used with Matching Rules".

Each method reads one field of a record into a comparable form (`prepare`,
once per record) and scores two such forms from 0 to 100 with the best of its
algorithms (`score`), naming the algorithm that gave the score. A blank field
prepares to None; what a blank means is the rule's business, not the method's.

| method | algorithms (best wins) | Salesforce threshold |
|---|---|---|
| exact | exact after folding case, accents and punctuation | 100 |
| email | exact on the lower-case address without "+tag" | 100 |
| domain | the record's corporate e-mail and Website domains overlap | 100 |
| fuzzy_first_name | exact, initials, name variant (nicknames), Jaro-Winkler | 85 |
| fuzzy_last_name | exact, keyboard distance, metaphone | 90 |
| fuzzy_company | exact without legal suffix, acronym, alignment of the letters | 70 |
| fuzzy_phone | exact per section: country 10, area 50, next digits 30, last 4 digits 10 | 80 |
| fuzzy_city | exact, edit distance | 85 |
| fuzzy_street | house number 40, street words 60 (edit distance) | 80 |
| postal_code | exact, ZIP vs ZIP+4 | 80 |
| fuzzy_title | exact, acronym, word-set edit distance | 50 |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import phonenumbers
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

from sfsync.rules.matching_text import (
    MatchData,
    company_name,
    country_code,
    email_address,
    email_domain,
    fold_field,
    phone_digits,
    phone_e164,
    phonetic,
    website_domain,
)

Score = tuple[float, str]
NO_SCORE: Score = (0.0, "none")
# Jaro-Winkler similarity two sound-alike names must also have to count as the same.
SOUND_ALIKE_SPELLING = 0.8
# A slip to a neighbouring key is a smaller mistake than any other letter (see `keyboard`).
NEIGHBOUR_COST = 0.3
_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
_STOP_WORDS = frozenset({"of", "and", "the", "for", "und", "de", "du", "la", "le", "et", "y"})
_STREET_WORDS = {
    "street": "st", "avenue": "ave", "av": "ave", "road": "rd", "boulevard": "blvd",
    "drive": "dr", "lane": "ln", "court": "ct", "place": "pl", "square": "sq",
    "highway": "hwy", "suite": "ste", "strasse": "str", "north": "n", "south": "s",
    "east": "e", "west": "w", "apartment": "apt", "floor": "fl",
}  # fmt: skip
PHONE_WEIGHTS = (10.0, 50.0, 30.0, 10.0)
# Fewer digits than a local number are not a phone number ("123"); nor is "0000000".
MIN_DIGITS = 7
STREET_NUMBER_WEIGHT = 40.0


@dataclass(frozen=True)
class Method:
    """A comparison method: how to read a field, how to score two readings, its usual threshold."""

    name: str
    prepare: Callable[[Mapping[str, Any], str, MatchData], Any]
    score: Callable[[Any, Any, MatchData], Score]
    threshold: float


def _neighbours() -> dict[str, frozenset[str]]:
    """QWERTY keys touching each key (same row, and the rows above and below)."""
    where = {ch: (r, c + r * 0.5) for r, row in enumerate(_ROWS) for c, ch in enumerate(row)}
    return {a: frozenset(b for b in where if b != a and _touch(where[a], where[b])) for a in where}


def _touch(a: tuple[int, float], b: tuple[int, float]) -> bool:
    return abs(a[0] - b[0]) <= 1 and abs(a[1] - b[1]) <= 1


NEIGHBOURS = _neighbours()


# -- prepare -------------------------------------------------------------------------------------


def _folded(record: Mapping[str, Any], field: str, data: MatchData) -> str | None:
    return fold_field(record.get(field)) or None


def _email(record: Mapping[str, Any], field: str, data: MatchData) -> str | None:
    return email_address(record.get(field))


def _domains(record: Mapping[str, Any], field: str, data: MatchData) -> frozenset[str] | None:
    found = {email_domain(record.get("Email"), data), website_domain(record.get(field), data)}
    found.discard(None)
    return frozenset(d for d in found if d) or None


def _company(record: Mapping[str, Any], field: str, data: MatchData) -> str | None:
    return company_name(record.get(field), data) or None


def _phone(record: Mapping[str, Any], field: str, data: MatchData) -> tuple[str, ...] | None:
    """Sections of the E.164 number; a number valid nowhere keeps only its digits (7 or more)."""
    value = record.get(field)
    e164 = phone_e164(value, country_code(record, data), data)
    if e164:
        return phone_sections(e164)
    digits = phone_digits(value)
    return (digits,) if len(digits) >= MIN_DIGITS and len(set(digits)) > 1 else None


@lru_cache(maxsize=65_536)
def phone_sections(e164: str) -> tuple[str, str, str, str]:
    """(country code, area code, middle digits, last four) of an E.164 number."""
    number = phonenumbers.parse(e164, None)
    national = phonenumbers.national_significant_number(number)
    area = phonenumbers.length_of_geographical_area_code(number)
    if area == 0:
        area = phonenumbers.length_of_national_destination_code(number)
    area = min(area, max(len(national) - 4, 0))
    return str(number.country_code), national[:area], national[area:-4], national[-4:]


def _street(record: Mapping[str, Any], field: str, data: MatchData) -> tuple[str, str] | None:
    words = fold_field(record.get(field)).split()
    if not words:
        return None
    numbers = " ".join(w for w in words if any(ch.isdigit() for ch in w))
    names = " ".join(_STREET_WORDS.get(w, w) for w in words if not any(c.isdigit() for c in w))
    return numbers, names


def _postal(record: Mapping[str, Any], field: str, data: MatchData) -> str | None:
    return fold_field(record.get(field), 20).replace(" ", "").upper() or None


# -- score ---------------------------------------------------------------------------------------


def exact(a: Any, b: Any, data: MatchData) -> Score:
    """100 when the prepared values are equal."""
    return (100.0, "exact") if a == b else NO_SCORE


def overlap(a: frozenset[str], b: frozenset[str], data: MatchData) -> Score:
    """100 when two sets of domains share one."""
    return (100.0, "exact") if a & b else NO_SCORE


def initials(a: str, b: str) -> bool:
    """One name is the initial(s) of the other: "j" or "j r" against "john robert"."""
    short, long_ = sorted((a, b), key=len)
    if len(short) > 1 and " " not in short:
        return False  # one word of two letters or more: no initial (the common case, made quick)
    letters = short.split()
    if not letters or any(len(w) > 1 for w in letters):
        return False
    words = long_.split()
    return len(words) >= len(letters) and all(
        w[0] == ch for w, ch in zip(words, letters, strict=False)
    )


def first_name(a: str, b: str, data: MatchData) -> Score:
    """Exact, initials, name variant (nickname table), Jaro-Winkler; the best score."""
    if a == b:
        return 100.0, "exact"
    if initials(a, b):
        return 100.0, "initials"
    if b in data.name_variants.get(a, ()) or a in data.name_variants.get(b, ()):
        return 100.0, "name variant"
    return round(JaroWinkler.similarity(a, b) * 100, 1), "jaro-winkler"


def keyboard(a: str, b: str) -> float:
    """Similarity 0-100 by edit distance where a neighbouring key costs NEIGHBOUR_COST.

    A swap of two adjacent letters ("msith") counts as one edit (optimal string alignment).
    """
    cost = 0.0
    for op in Levenshtein.editops(a, b):
        neighbour = op.tag == "replace" and b[op.dest_pos] in NEIGHBOURS.get(a[op.src_pos], ())
        cost += NEIGHBOUR_COST if neighbour else 1
    cost = min(cost, OSA.distance(a, b))
    return round(max(0.0, 100 * (1 - cost / max(len(a), len(b), 1))), 1)


def _close(a: str, b: str) -> bool:
    return JaroWinkler.similarity(a, b) >= SOUND_ALIKE_SPELLING


def last_name(a: str, b: str, data: MatchData) -> Score:
    """Exact, keyboard distance, metaphone (sounds alike); the best score."""
    if a == b:
        return 100.0, "exact"
    x, y = a.replace(" ", ""), b.replace(" ", "")
    if x == y:
        return 100.0, "exact"
    # Metaphone alone hears "Kaur" in "Gray" and "Bull" in "Bailey": a sound-alike counts
    # only when the spelling is close too.
    if phonetic(a) == phonetic(b) and x.isascii() and y.isascii() and _close(x, y):
        return 100.0, "metaphone"
    return keyboard(x, y), "keyboard distance"


def acronym(a: str, b: str) -> bool:
    """One name is the initials of the other's words: "amd" and "advanced micro devices"."""
    short, long_ = sorted((a, b), key=len)
    if " " in short or len(short) < 2:
        return False
    words = [w for w in long_.split() if w not in _STOP_WORDS]
    return len(words) >= 2 and "".join(w[0] for w in words) == short


def company(a: str, b: str, data: MatchData) -> Score:
    """Exact without legal form, acronym, and an alignment of the letters; the best score."""
    x, y = a.replace(" ", ""), b.replace(" ", "")
    if x == y:
        return 100.0, "exact"
    if acronym(a, b):
        return 100.0, "acronym"
    return round(max(fuzz.ratio(x, y), fuzz.token_sort_ratio(a, b)), 1), "syllable alignment"


def phone(a: tuple[str, ...], b: tuple[str, ...], data: MatchData) -> Score:
    """Weighted sections: country 10, area code 50, the next digits 30, the last four 10.

    Numbers that could not be read as E.164 match only digit for digit.
    """
    if a == b:
        return 100.0, "exact"
    if len(a) != len(PHONE_WEIGHTS) or len(b) != len(PHONE_WEIGHTS):
        return NO_SCORE
    total = sum(w for w, x, y in zip(PHONE_WEIGHTS, a, b, strict=True) if x == y)
    return total, "sections"


def city(a: str, b: str, data: MatchData) -> Score:
    """Exact, or edit distance."""
    if a == b:
        return 100.0, "exact"
    return round(fuzz.ratio(a, b), 1), "edit distance"


def street(a: tuple[str, str], b: tuple[str, str], data: MatchData) -> Score:
    """House numbers (40) and street words by edit distance (60); words alone when unnumbered."""
    if a == b:
        return 100.0, "exact"
    words = fuzz.token_sort_ratio(a[1], b[1])
    if not a[0] and not b[0]:
        return round(words, 1), "edit distance"
    number = STREET_NUMBER_WEIGHT if a[0] == b[0] else 0.0
    return round(number + words * (100 - STREET_NUMBER_WEIGHT) / 100, 1), "sections"


def postal(a: str, b: str, data: MatchData) -> Score:
    """Exact, or 90 for a five-digit ZIP against the same ZIP+4."""
    if a == b:
        return 100.0, "exact"
    short, long_ = sorted((a, b), key=len)
    if len(short) >= 5 and long_.startswith(short):
        return 90.0, "prefix"
    return NO_SCORE


def title(a: str, b: str, data: MatchData) -> Score:
    """Exact, acronym ("cto" and "chief technology officer"), word-set edit distance."""
    if a == b:
        return 100.0, "exact"
    if acronym(a, b):
        return 100.0, "acronym"
    return round(fuzz.token_set_ratio(a, b), 1), "edit distance"


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("exact", _folded, exact, 100),
        Method("email", _email, exact, 100),
        Method("domain", _domains, overlap, 100),
        Method("fuzzy_first_name", _folded, first_name, 85),
        Method("fuzzy_last_name", _folded, last_name, 90),
        Method("fuzzy_company", _company, company, 70),
        Method("fuzzy_phone", _phone, phone, 80),
        Method("fuzzy_city", _folded, city, 85),
        Method("fuzzy_street", _street, street, 80),
        Method("postal_code", _postal, postal, 80),
        Method("fuzzy_title", _folded, title, 50),
    )
}
