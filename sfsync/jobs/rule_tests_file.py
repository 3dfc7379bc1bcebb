"""The format of `mappings/tests/*.yaml`: example leads and what the rules should make of them.

Each file is a list of cases:

    - name: VP at a bank who attended a webinar
      now: 2025-06-01T12:00:00Z          # optional; engagement ages count from it
      lead: {FirstName: Ann, Title: VP Sales, Company: Acme Bank, Status: Open - Not Contacted}
      engagement:                        # optional: what the lead did, and how long ago
        - {kind: campaign_response, detail: Webinar, days_ago: 3}
      last_written: {}                   # optional: what sfsync wrote last (for recycling)
      expect:
        score: {min: 60, max: 90}        # a band (either end may be left out), or a number
        grade: B+
        rating: Hot
        status: Marketing Qualified
        stage: mql                       # text checks take one value or a list (any of)

An expectation written as `null` expects nothing there (no rating, no stage);
one left out is not checked.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    RootModel,
    field_validator,
    model_validator,
)

from sfsync.rules.behavior import EventKind

MAX_TEXT = 32_000


def _field_value(value: Any) -> Any:
    """What a lead field may hold in an example: what the org's JSON and YAML can both say."""
    if value is None or isinstance(value, bool | int | float | datetime | date):
        return value
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise ValueError(f"text longer than {MAX_TEXT} characters")
        return value
    raise ValueError("a field value is text, a number, true/false, a date or null")


def _options(value: Any) -> tuple[str | None, ...]:
    """One expected value or a list of them (any may match); null expects nothing there."""
    items = value if isinstance(value, list) else [value]
    if not items or not all(_is_option(item) for item in items):
        raise ValueError("expect one value or a list of values, each text or null")
    return tuple(None if item is None else str(item) for item in items)


def _is_option(item: Any) -> bool:
    return item is None or (isinstance(item, str | int | float) and not isinstance(item, bool))


FieldValue = Annotated[Any, BeforeValidator(_field_value)]
Options = Annotated[tuple[str | None, ...], BeforeValidator(_options)]
# Summary keys a case may expect, in the order the table shows them.
CHECKS = ("score", "behavior_score", "grade", "rating", "status", "stage", "owner")
NUMBER_CHECKS = ("score", "behavior_score")
# Scores are rounded to a tenth; a band's ends take no notice of float noise below that.
TOLERANCE = 1e-9


class Band(BaseModel):
    """A range a number must fall in; either end may be open."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _a_range(self) -> Band:
        if self.min is None and self.max is None:
            raise ValueError("a band needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}")
        return self

    def holds(self, value: float) -> bool:
        """Whether `value` lies in the band, both ends included."""
        low = self.min if self.min is not None else value
        high = self.max if self.max is not None else value
        return low - TOLERANCE <= value <= high + TOLERANCE

    def __str__(self) -> str:
        if self.min == self.max:
            return f"{self.min:g}"
        if self.min is None:
            return f"≤ {self.max:g}"
        if self.max is None:
            return f"≥ {self.min:g}"
        return f"{self.min:g} to {self.max:g}"


class Expectation(BaseModel):
    """What the decision's summary should say; keys left out are not checked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    score: Band | None = None
    behavior_score: Band | None = None
    grade: Options | None = None
    rating: Options | None = None
    status: Options | None = None
    stage: Options | None = None
    owner: Options | None = None

    @field_validator(*NUMBER_CHECKS, mode="before")
    @classmethod
    def _exact(cls, value: Any) -> Any:
        # `score: 45` is the band from 45 to 45.
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"min": value, "max": value}
        return value

    @model_validator(mode="after")
    def _something(self) -> Expectation:
        if not self.model_fields_set:
            raise ValueError(f"expect needs at least one of {', '.join(CHECKS)}")
        return self

    def expected(self) -> list[tuple[str, Any]]:
        """(key, expectation) for each key the case gave, in table order."""
        given = [(key, getattr(self, key)) for key in CHECKS if key in self.model_fields_set]
        # `rating: null` reaches here as None: for text checks it is the option "nothing".
        return [(k, (None,) if v is None and k not in NUMBER_CHECKS else v) for k, v in given]


class Activity(BaseModel):
    """One engagement of the example lead, some days before the case's `now`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: EventKind
    detail: str | None = Field(default=None, max_length=255)
    days_ago: float = Field(ge=0, le=36_500)


class RuleCase(BaseModel):
    """One example lead and what the rules should decide for it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    lead: dict[Annotated[str, Field(min_length=1, max_length=80)], FieldValue] = Field(min_length=1)
    engagement: tuple[Activity, ...] = Field(default=(), max_length=10_000)
    now: datetime | None = None
    last_written: dict[str, FieldValue] = Field(default_factory=dict)
    expect: Expectation


class RuleTestFile(RootModel[list[RuleCase]]):
    """A whole test file: a non-empty list of cases with distinct names."""

    @model_validator(mode="after")
    def _names_distinct(self) -> RuleTestFile:
        if not self.root:
            raise ValueError("a test file holds a list of cases; this one is empty")
        names = [case.name for case in self.root]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"case name(s) {twice} are used more than once")
        return self
