"""Behaviour score: points for what a lead did, fading with a half-life, minus red flags.

A webinar attended last week says more than one attended last year, so each
engagement's points halve every `half_life_days`: worth = points x 0.5^(age / half-life).
Engagement comes from campaign responses (by campaign type), completed
Tasks and external activity (page views, downloads, e-mail opens and clicks,
form submissions). Lead-field signals add points while their criteria hold,
negative ones included (bounced e-mail, opted out, competitor domain).
`now` is an argument: the score of the same history is the same at the same instant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sfsync.models import Contribution
from sfsync.rules.conditions import CriteriaRule

SECONDS_PER_DAY = 86_400.0
DEFAULT_HALF_LIFE_DAYS = 30.0
DEFAULT_MAX_AGE_DAYS = 365.0
# Scores are rounded so that the same history always hashes the same.
DECIMALS = 1
# (kind, detail) pairs whose rule is remembered; a pure function's answers, any size is safe.
MEMO_SIZE = 4096


class EventKind(StrEnum):
    """Kinds of engagement the connectors report."""

    CAMPAIGN_RESPONSE = "campaign_response"
    TASK = "task"
    PAGE_VIEW = "page_view"
    DOWNLOAD = "download"
    EMAIL_OPEN = "email_open"
    EMAIL_CLICK = "email_click"
    FORM_SUBMISSION = "form_submission"
    SITE_SEARCH = "site_search"
    SOCIAL = "social"


@dataclass(frozen=True)
class Engagement:
    """One thing a lead did, when, and its detail (campaign type, task type, asset)."""

    kind: EventKind
    at: datetime | date
    detail: str | None = None


class EventRule(BaseModel):
    """Points for engagement of one kind, optionally only for some details."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    kind: EventKind
    # Any of these details (case-insensitive), e.g. campaign types; empty means any.
    detail: tuple[str, ...] = ()
    points: float
    half_life_days: float | None = Field(default=None, gt=0)
    # Most points (in absolute value) this rule may give one lead, however busy.
    max_points: float | None = Field(default=None, gt=0)

    @field_validator("detail", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @cached_property
    def _details(self) -> frozenset[str]:
        return frozenset(d.casefold() for d in self.detail)

    def matches(self, event: Engagement) -> bool:
        """Whether this rule scores the event."""
        if event.kind != self.kind:
            return False
        return not self._details or (event.detail or "").casefold() in self._details


class FieldSignal(CriteriaRule):
    """Points while the lead's fields match, fading from the date in `since_field` if given."""

    name: str = Field(min_length=1, max_length=80)
    points: float
    since_field: str | None = None
    half_life_days: float | None = Field(default=None, gt=0)

    @cached_property
    def full_line(self) -> Contribution:
        """The line of a signal that does not fade: one frozen value shared by every lead."""
        return Contribution(self.name, self.points, "lead fields match", "behavior")


class BehaviorConfig(BaseModel):
    """The `behavior:` section of grading.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    half_life_days: float = Field(default=DEFAULT_HALF_LIFE_DAYS, gt=0)
    # Engagement older than this is ignored: after ~12 half-lives it is worth nothing anyway.
    max_age_days: float = Field(default=DEFAULT_MAX_AGE_DAYS, gt=0)
    events: tuple[EventRule, ...] = ()
    signals: tuple[FieldSignal, ...] = ()
    max_score: float | None = None
    min_score: float | None = None

    @model_validator(mode="after")
    def _names_unique(self) -> BehaviorConfig:
        names = [r.name for r in self.events] + [s.name for s in self.signals]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"rule name(s) {twice} are used more than once")
        low, high = self.min_score, self.max_score
        if low is not None and high is not None and low > high:
            raise ValueError(f"min_score {low:g} is above max_score {high:g}")
        return self

    @cached_property
    def rules_by_kind(self) -> Mapping[EventKind, tuple[int, ...]]:
        """Positions of the event rules for each kind, in file order."""
        return {k: tuple(i for i, r in enumerate(self.events) if r.kind == k) for k in EventKind}

    @cached_property
    def rule_memo(self) -> dict[tuple[EventKind, str | None], int | None]:
        """The rule found for each (kind, detail) of engagement seen so far."""
        return {}

    def fields_read(self) -> set[str]:
        """Fields the signals look at, including their `since_field`."""
        fields = {f for s in self.signals for f in s.fields_read()}
        return fields | {s.since_field for s in self.signals if s.since_field}


@dataclass(frozen=True, slots=True)
class BehaviorOutcome:
    """The behaviour score and one contribution per rule that gave points."""

    score: float
    contributions: tuple[Contribution, ...]


def decay(points: float, age_days: float, half_life_days: float) -> float:
    """Points left after `age_days`: halved every `half_life_days`; the future counts as now."""
    factor: float = 0.5 ** (max(age_days, 0.0) / half_life_days)
    return points * factor


def behavior_score(
    values: Mapping[str, Any],
    engagement: Iterable[Engagement],
    config: BehaviorConfig,
    now: datetime,
) -> BehaviorOutcome:
    """The decayed behaviour score of one lead at `now`, with its explanation."""
    events = _event_lines(engagement, config, now) if engagement else []
    lines = [*events, *_signal_lines(values, config, now)]
    total = sum(line.points for line in lines)
    if config.max_score is not None:
        total = min(total, config.max_score)
    if config.min_score is not None:
        total = max(total, config.min_score)
    return BehaviorOutcome(score=round(total, DECIMALS), contributions=tuple(lines))


def _event_lines(
    engagement: Iterable[Engagement], config: BehaviorConfig, now: datetime
) -> list[Contribution]:
    ages: dict[int, list[float]] = {}
    now = _aware(now)
    for event in engagement:
        index = _rule_for(event, config)
        if index is None:
            continue
        age = age_days(event.at, now)
        if age <= config.max_age_days:
            ages.setdefault(index, []).append(age)
    return [_event_line(config.events[i], found, config) for i, found in sorted(ages.items())]


def _rule_for(event: Engagement, config: BehaviorConfig) -> int | None:
    """The first rule that scores the event: list specific details before catch-alls.

    A pure function of the event's kind and detail, which recur: remembered.
    """
    key = (event.kind, event.detail)
    memo = config.rule_memo
    if key in memo:
        return memo[key]
    rules = config.events
    found = next((i for i in config.rules_by_kind[event.kind] if rules[i].matches(event)), None)
    if len(memo) >= MEMO_SIZE:
        memo.clear()
    memo[key] = found
    return found


def _event_line(rule: EventRule, ages: list[float], config: BehaviorConfig) -> Contribution:
    half_life = rule.half_life_days or config.half_life_days
    points = rule.points * sum(0.5 ** (max(age, 0.0) / half_life) for age in ages)
    if rule.max_points is not None and abs(points) > rule.max_points:
        points = rule.max_points if points > 0 else -rule.max_points
    detail = f"{len(ages)} x {rule.points:+g}, newest {max(int(min(ages)), 0)} day(s) ago"
    return Contribution(rule.name, round(points, 2), detail, "behavior")


def _signal_lines(
    values: Mapping[str, Any], config: BehaviorConfig, now: datetime
) -> list[Contribution]:
    lines: list[Contribution] = []
    for signal in config.signals:
        if signal.holds(values):
            lines.append(_signal_line(signal, values, config, now))
    return lines


def _signal_line(
    signal: FieldSignal, values: Mapping[str, Any], config: BehaviorConfig, now: datetime
) -> Contribution:
    since = as_datetime(values.get(signal.since_field)) if signal.since_field else None
    if since is None:
        return signal.full_line
    age = age_days(since, now)
    points = decay(signal.points, age, signal.half_life_days or config.half_life_days)
    return Contribution(signal.name, round(points, 2), f"since {age:.0f} day(s)", "behavior")


def age_days(at: datetime | date, now: datetime) -> float:
    """Days from `at` to `now`; dates count from midnight UTC, naive times are UTC."""
    moment = as_datetime(at)
    if moment is None:
        return 0.0
    return (_aware(now) - moment).total_seconds() / SECONDS_PER_DAY


def as_datetime(value: Any) -> datetime | None:
    """A timezone-aware datetime from a datetime, date or ISO text; None otherwise."""
    if isinstance(value, datetime):
        return _aware(value)
    if isinstance(value, date):
        return datetime.combine(value, time.min, UTC)
    if isinstance(value, str) and value.strip():
        try:
            return _aware(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
