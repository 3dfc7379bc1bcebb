"""Seniority and department from a job title, by keyword tables kept in mappings.

The first keyword found in the title decides, reading left to right and
preferring the longest keyword at a position: "Vice President of Sales" is
VP (not C-level for "President"), "Assistant to the CEO" is an individual
contributor, "Engineering Manager, Office of the CTO" is a manager. Keywords
and titles are folded the same way (case, accents, dots), so "V.P." is "vp".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sfsync.rules.enrich_text import clean_text, fold_key

# Job titles are 128 characters in Salesforce; look no further than this.
MAX_TITLE = 256
# Distinct titles remembered per config; a pure function's answers, so any size is safe.
MEMO_SIZE = 50_000
# Scripts written without spaces (CJK and later blocks): no word boundary there.
_NO_SPACES_FROM = 0x2E80


class KeywordGroup(BaseModel):
    """A named group of title keywords: a seniority level or a department."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    keywords: tuple[str, ...] = Field(min_length=1)

    @field_validator("keywords")
    @classmethod
    def _keywords_fold(cls, keywords: tuple[str, ...]) -> tuple[str, ...]:
        empty = [k for k in keywords if not fold_key(k)]
        if empty:
            raise ValueError(f"keyword(s) {empty} have no letters or digits")
        return keywords


class KeywordTable(BaseModel):
    """Groups whose keywords are searched in a title; the first keyword found decides."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    groups: tuple[KeywordGroup, ...] = ()
    # The group given to a non-blank title in which no keyword is found.
    otherwise: str | None = None

    @model_validator(mode="after")
    def _keywords_unique(self) -> KeywordTable:
        seen: dict[str, str] = {}
        for group in self.groups:
            for keyword in group.keywords:
                other = seen.setdefault(fold_key(keyword), group.name)
                if other != group.name:
                    raise ValueError(f"keyword {keyword!r} is in both {other!r} and {group.name!r}")
        return self

    @cached_property
    def _index(self) -> _KeywordIndex:
        return _KeywordIndex.build(self.groups)

    def find(self, folded_title: str) -> tuple[str | None, str | None]:
        """(group, keyword) of the first keyword in an already folded title."""
        found = self._index.first(folded_title)
        if found is None:
            return (self.otherwise if folded_title else None), None
        return self._index.names[found], found


@dataclass(frozen=True)
class _KeywordIndex:
    """Folded keyword -> group, searched word by word: a few dict lookups per title.

    Folded text is words joined by single spaces, so matching word n-grams
    is matching whole words. Keywords in scripts written without spaces
    (Japanese, Chinese) are searched as substrings instead.
    """

    names: Mapping[str, str]
    longest: int
    unspaced: tuple[str, ...]

    @classmethod
    def build(cls, groups: tuple[KeywordGroup, ...]) -> _KeywordIndex:
        names = {fold_key(k): g.name for g in groups for k in g.keywords}
        unspaced = tuple(k for k in names if ord(k[0]) >= _NO_SPACES_FROM)
        longest = max((k.count(" ") + 1 for k in names), default=0)
        return cls(names=names, longest=longest, unspaced=unspaced)

    def first(self, folded: str) -> str | None:
        words = folded.split(" ")
        for start in range(len(words)):
            for size in range(min(self.longest, len(words) - start), 0, -1):
                candidate = " ".join(words[start : start + size])
                if candidate in self.names:
                    return candidate
            if self.unspaced and not words[start].isascii():
                inside = next((k for k in self.unspaced if k in words[start]), None)
                if inside is not None:
                    return inside
        return None


class TitleConfig(BaseModel):
    """The `title:` section of enrichment.yaml: seniority levels and departments."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seniority: KeywordTable = KeywordTable()
    departments: KeywordTable = KeywordTable()

    @cached_property
    def memo(self) -> dict[str, TitleFacts]:
        """Recent answers by raw title: the same few hundred titles recur across leads."""
        return {}


@dataclass(frozen=True)
class TitleFacts:
    """A title's seniority and department, with the keyword that decided each."""

    seniority: str | None
    department: str | None
    seniority_keyword: str | None = None
    department_keyword: str | None = None

    def describe(self) -> str:
        """One line for `sfsync explain`."""
        level = f"{self.seniority} ({self.seniority_keyword or 'no keyword'})"
        department = f"{self.department} ({self.department_keyword or 'no keyword'})"
        return f"seniority {level}, department {department}"


NO_TITLE = TitleFacts(seniority=None, department=None)


def classify_title(value: object, config: TitleConfig) -> TitleFacts:
    """Seniority and department of a Title value; both None when the title is blank."""
    if not isinstance(value, str) or len(value) > MAX_TITLE:
        return _classify(value, config)
    memo = config.memo
    facts = memo.get(value)
    if facts is None:
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        facts = memo[value] = _classify(value, config)
    return facts


def _classify(value: object, config: TitleConfig) -> TitleFacts:
    folded = fold_key(clean_text(value, MAX_TITLE))
    if not folded:
        return NO_TITLE
    level, level_word = config.seniority.find(folded)
    department, department_word = config.departments.find(folded)
    return TitleFacts(level, department, level_word, department_word)
