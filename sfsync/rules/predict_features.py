"""What the predictive score reads from a lead: each feature puts it in exactly one level.

A feature turns one Lead field into a *level*: a category ("Industry:
Technology"), a size band ("Employees: 250-999"), a seniority ("Title:
Director"), an e-mail kind ("E-mail: free-mail"). Blank fields have their own
level (`BLANK`) and values the model never learnt their own (`OTHER`), so every
feature always gives exactly one level. The model is then one weight per
(feature, level) plus an intercept: a logistic regression over one-hot
levels, explainable term by term.

Features are saved inside the model file with everything they need
(vocabulary, spellings, band edges, keyword tables, free-mail domains), so a
model scores leads exactly as it was trained, whatever ships with later
versions. Pure: values in, level out; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from functools import cached_property
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sfsync.rules.enrich_email import MAX_ADDRESS, normalise_address
from sfsync.rules.enrich_text import clean_text, domain_candidates, fold_key
from sfsync.rules.enrich_title import MAX_TITLE, KeywordGroup, KeywordTable

BLANK = "(blank)"
OTHER = "(other)"
RESERVED_LEVELS = frozenset({BLANK, OTHER})
# Picklist values are 255 characters at most; longer text is no category we know.
MAX_CATEGORY_TEXT = 255
# "1,000,000,000,000.00" is 20; a longer text is no count or amount.
MAX_NUMBER_TEXT = 40
FREE_MAIL, CORPORATE, INVALID = "free-mail", "corporate", "invalid"

# Distinct raw values remembered per feature; the same few hundred recur across leads.
MEMO_SIZE = 50_000
# Longer values are not remembered: a memo of pasted novels would hold megabytes.
MAX_MEMO_KEY = 256


class _Feature(BaseModel):
    """What every feature has: a display name, the field it reads, a memo of answers."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str = Field(min_length=1, max_length=80)
    field: str = Field(min_length=1, max_length=80)

    @cached_property
    def _memo(self) -> dict[object, str]:
        return {}

    def level(self, values: Mapping[str, Any]) -> str:
        """The lead's level of this feature (always exactly one)."""
        raw = values.get(self.field)
        # By type too: True == 1 == 1.0 as keys, but they are not the same level.
        key = raw if type(raw) is str and len(raw) <= MAX_MEMO_KEY else (type(raw), raw)
        try:
            return self._memo[key]
        except KeyError:
            pass
        except TypeError:  # unhashable: a list from a misbehaving proxy
            return self.level_of(raw)
        if len(self._memo) >= MEMO_SIZE:
            self._memo.clear()
        level = self._memo[key] = self.level_of(raw)
        return level

    def level_of(self, raw: object) -> str:
        """The level of one raw field value."""
        raise NotImplementedError


class CategoryFeature(_Feature):
    """A text field compared by folded value: the learnt values, plus spellings of them.

    `aliases` maps other folded spellings to a value ("deutschland" -> "DE"),
    so a country is one level however people typed it.
    """

    kind: Literal["category"] = "category"
    values: tuple[str, ...] = ()
    aliases: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _values_distinct(self) -> CategoryFeature:
        keys = [fold_key(v) or v for v in self.values]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{self.name}: values repeat once case and accents are folded")
        if RESERVED_LEVELS.intersection(self.values):
            raise ValueError(f"{self.name}: {sorted(RESERVED_LEVELS)} are reserved level names")
        unknown = sorted(set(self.aliases.values()) - set(self.values))
        if unknown:
            raise ValueError(f"{self.name}: aliases point to unknown values {unknown[:5]}")
        return self

    @cached_property
    def _index(self) -> dict[str, str]:
        return {**self.aliases, **{fold_key(v) or v: v for v in self.values}}

    def levels(self) -> tuple[str, ...]:
        """Every level this feature can give."""
        return (*self.values, OTHER, BLANK)

    def level_of(self, raw: object) -> str:
        """A learnt value, OTHER or BLANK."""
        text = clean_text(raw, MAX_CATEGORY_TEXT)
        if not text:
            return BLANK
        return self._index.get(fold_key(text) or text, OTHER)


class BandFeature(_Feature):
    """A number in bands: below the first edge, between edges, from the last edge up."""

    kind: Literal["bands"] = "bands"
    edges: tuple[float, ...] = Field(min_length=1, max_length=50)

    @field_validator("edges")
    @classmethod
    def _increasing(cls, edges: tuple[float, ...]) -> tuple[float, ...]:
        if any(b <= a for a, b in pairwise(edges)):
            raise ValueError("band edges must increase")
        return edges

    @cached_property
    def _labels(self) -> tuple[str, ...]:
        edges = [_compact(e) for e in self.edges]
        inner = [f"{a}-{b}" for a, b in pairwise(edges)]
        return (f"<{edges[0]}", *inner, f"{edges[-1]}+")

    def levels(self) -> tuple[str, ...]:
        """Every level this feature can give."""
        return (*self._labels, BLANK)

    def level_of(self, raw: object) -> str:
        """The band of a number; BLANK when there is none (or it is not a count)."""
        number = as_number(raw)
        if number is None:
            return BLANK
        return self._labels[sum(1 for edge in self.edges if number >= edge)]


class TitleLevelFeature(_Feature):
    """Seniority from the job title, by a keyword table (first keyword in the title wins)."""

    kind: Literal["title_level"] = "title_level"
    table: KeywordTable

    def levels(self) -> tuple[str, ...]:
        """Every level this feature can give."""
        names = tuple(g.name for g in self.table.groups)
        otherwise = self.table.otherwise or OTHER
        return (*names, *((otherwise,) if otherwise not in names else ()), BLANK)

    def level_of(self, raw: object) -> str:
        """The seniority group of a title, the table's `otherwise` group, or BLANK."""
        folded = fold_key(clean_text(raw, MAX_TITLE))
        if not folded:
            return BLANK
        group, _keyword = self.table.find(folded)
        return group or OTHER


class EmailFeature(_Feature):
    """Whether the address is at a free-mail host, a company's own domain, or unusable.

    Addresses are read as enrichment reads them (`enrich_email`); only the
    domain's answer is remembered, since every lead's address is its own.
    """

    kind: Literal["email"] = "email"
    free_mail: tuple[str, ...] = ()

    @cached_property
    def _free_mail(self) -> frozenset[str]:
        return frozenset(self.free_mail)

    def levels(self) -> tuple[str, ...]:
        """Every level this feature can give."""
        return (FREE_MAIL, CORPORATE, INVALID, BLANK)

    def level(self, values: Mapping[str, Any]) -> str:
        """free-mail, corporate, invalid, or BLANK."""
        return self.level_of(values.get(self.field))

    def level_of(self, raw: object) -> str:
        """free-mail, corporate, invalid, or BLANK."""
        if raw is None or raw == "":
            return BLANK
        address = normalise_address(raw)
        if address is None:
            return INVALID if clean_text(raw, MAX_ADDRESS) else BLANK
        domain = address.rpartition("@")[2]
        free = self._memo.get(domain)
        if free is None:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            hosts = domain_candidates(domain)
            free = self._memo[domain] = FREE_MAIL if _any_in(hosts, self._free_mail) else CORPORATE
        return free


Feature = Annotated[
    CategoryFeature | BandFeature | TitleLevelFeature | EmailFeature,
    Field(discriminator="kind"),
]


def _any_in(items: Iterable[str], members: frozenset[str]) -> bool:
    return not members.isdisjoint(items)


def as_number(value: object) -> float | None:
    """A non-negative finite number from a count or amount field, else None.

    Salesforce sends numbers, but CSV imports and hand-made test leads carry
    "1,200" or " 45 "; booleans, NaN, infinities and negatives mean nothing here.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        text = clean_text(value, MAX_NUMBER_TEXT + 1)
        if len(text) > MAX_NUMBER_TEXT:  # cutting it would make another number
            return None
        text = text.replace(",", "").replace("_", "").replace(" ", "")
        try:
            value = float(text)
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None


def _compact(number: float) -> str:
    """1000 -> "1k", 5e7 -> "50M": band labels people read at a glance."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if number >= size and (number / size) == int(number / size):
            return f"{int(number / size)}{suffix}"
    return f"{number:g}"


# The seniority table the predictive score trains with. It is its own (not
# enrichment.yaml's) because conversion odds need levels grading does not:
# juniors and people between jobs convert far less than individual contributors.
DEFAULT_SENIORITY = KeywordTable(
    otherwise="Individual",
    groups=(
        KeywordGroup(name="C-level", keywords=(
            "CEO", "CTO", "CFO", "COO", "CIO", "CMO", "CRO", "CPO", "CISO", "Chief", "Founder",
            "Co-Founder", "Cofounder", "Owner", "President", "Managing Director", "Partner",
            "Geschäftsführer", "Président-directeur général", "PDG", "Directeur Général")),
        KeywordGroup(name="VP", keywords=("VP", "SVP", "EVP", "AVP", "Vice President",
                                          "Vizepräsident")),
        KeywordGroup(name="Director", keywords=("Director", "Head", "Directeur", "Directora",
                                                "Direktor", "General Manager")),
        KeywordGroup(name="Manager", keywords=("Manager", "Mgr", "Gerente", "Leiter", "Leiterin",
                                               "Lead", "Supervisor")),
        KeywordGroup(name="Junior", keywords=("Student", "Intern", "Trainee", "Assistant",
                                              "Werkstudent", "Apprentice", "Junior")),
        KeywordGroup(name="Job seeker", keywords=("Job Seeker", "Unemployed", "Looking for work",
                                                  "Open to work", "Seeking")),
    ),
)  # fmt: skip

EMPLOYEE_EDGES = (10.0, 50.0, 250.0, 1000.0, 5000.0)
REVENUE_EDGES = (1e6, 1e7, 5e7, 1e8, 5e8, 1e9)
