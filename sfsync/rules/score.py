"""Points-based lead scoring and a Hot/Warm/Cold rating from thresholds.

Each scoring rule adds its points when its criteria hold; the rating is the
first threshold the total reaches. Every contribution is kept so that the
score can be explained line by line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sfsync.models import Contribution
from sfsync.rules.conditions import CriteriaRule, Test
from sfsync.rules.criteria import Criteria, Criterion

REASON_MAX_LENGTH = 255


class ScoreRule(BaseModel):
    """Points added when the criteria hold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    points: float
    criteria: tuple[Criterion, ...] = Field(min_length=1)
    filter_logic: str | None = None

    @model_validator(mode="after")
    def _logic_valid(self) -> ScoreRule:
        self.test  # noqa: B018 - builds the Criteria, which validates the filter logic
        return self

    @property
    def test(self) -> Criteria:
        """The rule's criteria as one testable value."""
        return Criteria(rows=self.criteria, filter_logic=self.filter_logic)

    @cached_property
    def holds(self) -> Test:
        """The criteria compiled once (same meaning as `test.holds`, many times faster)."""
        return CriteriaRule(criteria=self.criteria, filter_logic=self.filter_logic).holds


class RatingBand(BaseModel):
    """A rating given from a minimum score upwards."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rating: str = Field(min_length=1)
    min_score: float


class ScoreTargets(BaseModel):
    """The Lead fields the score, rating and reason are written to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    score: str
    rating: str | None = None
    reason: str | None = None


class ScoringConfig(BaseModel):
    """The parsed `mappings/scoring.yaml`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    targets: ScoreTargets
    rules: tuple[ScoreRule, ...] = Field(min_length=1)
    ratings: tuple[RatingBand, ...] = ()
    max_score: float | None = None

    @field_validator("ratings")
    @classmethod
    def _bands_descending(cls, bands: tuple[RatingBand, ...]) -> tuple[RatingBand, ...]:
        return tuple(sorted(bands, key=lambda b: b.min_score, reverse=True))

    def fields_read(self) -> set[str]:
        """Every Lead field the rules look at."""
        return {c.field for rule in self.rules for c in rule.criteria}

    @cached_property
    def bands(self) -> tuple[tuple[float, str], ...]:
        """(min_score, rating) of each band, highest first, as plain values."""
        return tuple((band.min_score, band.rating) for band in self.ratings)

    @cached_property
    def compiled(self) -> tuple[tuple[Test, Contribution], ...]:
        """Each rule's compiled test with the line it adds: the same value for every lead."""
        return tuple(
            (rule.holds, Contribution(rule=rule.name, points=rule.points, part="score"))
            for rule in self.rules
        )


@dataclass(frozen=True, slots=True)
class ScoreOutcome:
    """A lead's score, its rating, and the contributions behind them."""

    score: float
    rating: str | None
    contributions: tuple[Contribution, ...]

    def reason(self, limit: int = REASON_MAX_LENGTH) -> str:
        """A one-line reason that fits a text field of `limit` characters."""
        parts = [f"{c.rule} {c.points:+g}" for c in self.contributions]
        text = f"Score {self.score:g}: " + (", ".join(parts) if parts else "no rule matched")
        return text if len(text) <= limit else text[: limit - 1] + "…"


def score_lead(values: Mapping[str, Any], config: ScoringConfig) -> ScoreOutcome:
    """Score one lead's values: the sum of the points of every rule whose criteria hold."""
    # Lines are shared between leads (they are frozen): building one per lead cost more.
    contributions = tuple([line for holds, line in config.compiled if holds(values)])
    total = sum(c.points for c in contributions)
    if config.max_score is not None:
        total = min(total, config.max_score)
    total = max(total, 0.0)
    return ScoreOutcome(score=total, rating=rate(total, config), contributions=contributions)


def rate(score: float, config: ScoringConfig) -> str | None:
    """The rating of the highest band whose minimum the score reaches."""
    for min_score, rating in config.bands:
        if score >= min_score:
            return rating
    return None
