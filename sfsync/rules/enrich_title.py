"""Seniority and department from a job title, by keyword tables kept in mappings.

The first keyword found in the title decides, reading left to right and
preferring the longest keyword at a position: "Vice President of Sales" is
VP (not C-level for "President"), "Assistant to the CEO" is an individual
contributor, "Engineering Manager, Office of the CTO" is a manager. Keywords
and titles are folded the same way (case, accents, dots), so "V.P." is "vp".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sfsync.rules.enrich_text import clean_text, fold_key

# Job titles are 128 characters in Salesforce; look no further than this.
MAX_TITLE = 256
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
    def _pattern(self) -> re.Pattern[str] | None:
        keys = sorted({fold_key(k) for g in self.groups for k in g.keywords}, key=len, reverse=True)
        return re.compile("|".join(_bounded(k) for k in keys)) if keys else None

    @cached_property
    def _names(self) -> Mapping[str, str]:
        return {fold_key(k): g.name for g in self.groups for k in g.keywords}

    def find(self, folded_title: str) -> tuple[str | None, str | None]:
        """(group, keyword) of the first keyword in an already folded title."""
        match = self._pattern.search(folded_title) if self._pattern else None
        if match is None:
            return (self.otherwise if folded_title else None), None
        return self._names[match.group()], match.group()


def _bounded(keyword: str) -> str:
    """The keyword as a regex that matches whole words only where the script uses spaces."""
    left = "" if ord(keyword[0]) >= _NO_SPACES_FROM else r"(?<!\w)"
    right = "" if ord(keyword[-1]) >= _NO_SPACES_FROM else r"(?!\w)"
    return left + re.escape(keyword) + right


class TitleConfig(BaseModel):
    """The `title:` section of enrichment.yaml: seniority levels and departments."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seniority: KeywordTable = KeywordTable()
    departments: KeywordTable = KeywordTable()


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
    folded = fold_key(clean_text(value, MAX_TITLE))
    if not folded:
        return NO_TITLE
    level, level_word = config.seniority.find(folded)
    department, department_word = config.departments.find(folded)
    return TitleFacts(level, department, level_word, department_word)
