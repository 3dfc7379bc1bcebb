"""Fit grade A+ to F against an ideal customer profile, and a Hot/Warm/Cold rating.

Grading works the way Account Engagement grades prospects: every lead starts
at a grade (D by default); each profile rule whose criteria hold moves it up
by some thirds of a letter (D -> D+ -> C-), and a rule that is known not to
hold may move it down. A rule whose fields are all blank says nothing, so an
unknown industry neither helps nor hurts. The grade measures *fit*; the score
measures *interest*; the rating combines both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from sfsync.models import Contribution
from sfsync.rules.behavior import BehaviorConfig
from sfsync.rules.conditions import CriteriaRule
from sfsync.rules.enrich_text import blank
from sfsync.rules.predict import PredictiveConfig

# Lowest to highest; each step is a third of a letter, F has no thirds.
GRADES = ("F", "D-", "D", "D+", "C-", "C", "C+", "B-", "B", "B+", "A-", "A", "A+")
RANKS = {grade: rank for rank, grade in enumerate(GRADES)}
TOP = len(GRADES) - 1
MATCH, MISMATCH = "matches the profile", "does not match the profile"
# A move on the grade scale, in thirds of a letter, and its line in the explanation.
Step = tuple[int, Contribution]


def _known_grade(value: str) -> str:
    grade = value.strip().upper()
    if grade not in RANKS:
        raise ValueError(f"{value!r} is not a grade; use one of {', '.join(GRADES)}")
    return grade


GradeName = Annotated[str, AfterValidator(_known_grade)]


def rank(grade: str) -> int:
    """The position of a grade on the F (0) to A+ (12) scale."""
    return RANKS[grade]


class ProfileRule(CriteriaRule):
    """One trait of the ideal customer: up when it holds, down when it surely does not."""

    name: str = Field(min_length=1, max_length=80)
    # Thirds of a letter: 1 moves D to D+, 3 moves D to C.
    up: int = Field(default=1, ge=0, le=TOP)
    down: int = Field(default=0, ge=0, le=TOP)

    @cached_property
    def steps(self) -> tuple[Step | None, Step | None]:
        """The step up when the rule holds and down when it surely does not (None: no step).

        Built once: the lines are frozen values every lead that takes the step shares.
        """
        up = (self.up, Contribution(self.name, self.up, MATCH, "grade")) if self.up else None
        down = (-self.down, Contribution(self.name, -self.down, MISMATCH, "grade"))
        return up, (down if self.down else None)

    @cached_property
    def step(self) -> Callable[[Mapping[str, Any]], Step | None]:
        """The lead's step, compiled once: up if the rule holds, down if it surely does not."""
        holds, (up, down) = self.holds, self.steps
        if down is None:
            return lambda values: up if holds(values) else None
        fields = tuple(row.field for row in self.criteria)

        def step(values: Mapping[str, Any]) -> Step | None:
            if holds(values):
                return up
            # All fields blank: the rule says nothing about the lead.
            return None if all(blank(values.get(f)) for f in fields) else down

        return step


class GradeConfig(BaseModel):
    """The `grade:` section of grading.yaml: a starting grade and the profile rules."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: GradeName = "D"
    profile: tuple[ProfileRule, ...] = Field(min_length=1)


class RatingRule(BaseModel):
    """A rating given when both the score and the grade reach their minimums."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rating: str = Field(min_length=1)
    min_score: float | None = None
    min_grade: GradeName | None = None


class GradeTargets(BaseModel):
    """The Lead fields grade, rating and behaviour score are written to (null: not written)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    grade: str | None = None
    # Write only the letter ("B" for "B+"): for picklists holding A B C D F.
    letter_only: bool = True
    rating: str | None = None
    behavior_score: str | None = None


class GradingConfig(BaseModel):
    """The parsed `mappings/grading.yaml`: behaviour score, fit grade and rating."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    targets: GradeTargets = GradeTargets()
    behavior: BehaviorConfig = BehaviorConfig()
    grade: GradeConfig
    # Tried in order; the first whose minimums the lead reaches gives the rating.
    ratings: tuple[RatingRule, ...] = ()
    # The trained model's probability as score points (its file is loaded with the mappings).
    predictive: PredictiveConfig | None = None

    def fields_read(self) -> set[str]:
        """Every field and `$fact` the grade and behaviour rules look at."""
        return {f for rule in self.grade.profile for f in rule.fields_read()} | (
            self.behavior.fields_read()
        )


@dataclass(frozen=True, slots=True)
class GradeOutcome:
    """A lead's grade and the steps that led to it (points are thirds of a letter)."""

    grade: str
    steps: tuple[Contribution, ...]

    @property
    def letter(self) -> str:
        """The grade without + or -, for picklists of plain letters."""
        return self.grade[0]

    def value_for(self, targets: GradeTargets) -> str:
        """The value to write to the grade field."""
        return self.letter if targets.letter_only else self.grade


def grade_lead(values: Mapping[str, Any], config: GradeConfig) -> GradeOutcome:
    """Grade a lead's values (lead fields and `$facts`) against the profile."""
    position = RANKS[config.start]
    steps: list[Contribution] = []
    for rule in config.profile:
        step = rule.step(values)
        if step is not None:
            position = min(TOP, max(0, position + step[0]))
            steps.append(step[1])
    return GradeOutcome(grade=GRADES[position], steps=tuple(steps))


def rate_lead(score: float, grade: str | None, ratings: tuple[RatingRule, ...]) -> str | None:
    """The first rating whose minimum score and grade the lead reaches; None if none."""
    position = rank(grade) if grade else -1
    for rule in ratings:
        if rule.min_score is not None and score < rule.min_score:
            continue
        if rule.min_grade is not None and position < rank(rule.min_grade):
            continue
        return rule.rating
    return None
