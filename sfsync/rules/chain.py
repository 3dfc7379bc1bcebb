"""The rule chain for one lead: enrich, score, behaviour, grade, rating, lifecycle status.

Each step reads the lead as the previous steps leave it: enrichment's fills
and `$facts` first, so scoring, grading and lifecycle rules see clean values.
The score the rating and the lifecycle read is the lead score (scoring.yaml's
points) plus the behaviour score plus the predictive score (the trained
model's probability times grading.yaml's `predictive.points`, worked out on
the enriched lead) plus any extra contributions the caller adds, kept within
0 and scoring.yaml's `max_score`, in whole points: the org keeps
Lead_Score__c without decimals, and a value the org would round differently
would be written again every cycle.

Decay is worked out as of the start of `now`'s day (UTC): a score then stays
the same through the cycles of one day, and moves once a day, when the
sweep decides engaged leads again, instead of a little at every cycle.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from functools import lru_cache
from typing import Any

from sfsync.models import Contribution
from sfsync.rules.behavior import BehaviorOutcome, Engagement, behavior_score
from sfsync.rules.enrich import Enrichment, enrich_lead
from sfsync.rules.grade import GradeOutcome, grade_lead, rate_lead
from sfsync.rules.lifecycle import LifecycleOutcome, next_status
from sfsync.rules.predict import predicted_contribution
from sfsync.rules.ruleset import RuleSet
from sfsync.rules.score import ScoreOutcome, rate, score_lead


@dataclass(frozen=True)
class Evaluation:
    """What every step of the chain found for one lead."""

    # The lead as the rules saw it: its values, enrichment's fills, then the `$facts`.
    values: Mapping[str, Any]
    enrichment: Enrichment | None
    points: ScoreOutcome
    behavior: BehaviorOutcome | None
    extra: tuple[Contribution, ...]
    # Points + behaviour + extra, in [0, max_score], whole points.
    score: float
    grade: GradeOutcome | None
    rating: str | None
    lifecycle: LifecycleOutcome | None
    # The predictive model's chance that the lead converts (None: no model configured).
    probability: float | None = None

    @property
    def score_lines(self) -> tuple[Contribution, ...]:
        """Every contribution to the score, in the order they were added."""
        # A plain property: a cached_property's lock costs more than building the tuple.
        # The rule modules tag their own lines (score, behavior); `extra` is tagged on entry.
        behavior = self.behavior.contributions if self.behavior else ()
        return (*self.points.contributions, *behavior, *self.extra)


def evaluate(
    values: Mapping[str, Any],
    rules: RuleSet,
    last_written: Mapping[str, Any],
    now: datetime,
    engagement: Sequence[Engagement] = (),
    extra: Sequence[Contribution] = (),
) -> Evaluation:
    """Run every configured step on one lead's values (pure: same inputs, same result)."""
    enrichment = _enrich(values, rules, last_written)
    seen = enrichment.values(values) if enrichment else values
    probability, predicted = _predict(seen, rules)
    added = (*extra, *predicted)
    points = score_lead(seen, rules.scoring)
    grading = rules.grading
    day = decay_day(now)
    behavior = behavior_score(seen, engagement, grading.behavior, day) if grading else None
    score = combined_score(points, behavior, added, rules.scoring.max_score)
    grade = grade_lead(seen, grading.grade) if grading else None
    rating = _rating(score, grade, rules)
    lifecycle = None
    if rules.lifecycle is not None:
        lifecycle = _status(seen, score, grade.grade if grade else None, rules, last_written)
    return Evaluation(
        values=seen, enrichment=enrichment, points=points, behavior=behavior,
        extra=added, score=score, grade=grade, rating=rating, lifecycle=lifecycle,
        probability=probability,
    )  # fmt: skip


def _predict(
    values: Mapping[str, Any], rules: RuleSet
) -> tuple[float | None, tuple[Contribution, ...]]:
    """The model's probability and its score line, from the lead as enrichment leaves it.

    The enriched view is what the org holds once the fills land, so the next
    cycle predicts the same and writes nothing again.
    """
    predictive = rules.predictive
    if predictive is None:
        return None, ()
    config = predictive.config
    probability, line, _factors = predicted_contribution(values, predictive.model, config)
    return probability, tagged((line,), "predict")


@lru_cache(maxsize=64)
def decay_day(now: datetime) -> datetime:
    """The moment decay is worked out at: the start of `now`'s day in UTC."""
    # Remembered: a page of leads is decided at one `now` (a pure function of it).
    moment = now.astimezone(UTC) if now.tzinfo is not None else now.replace(tzinfo=UTC)
    return datetime.combine(moment.date(), time.min, UTC)


def combined_score(
    points: ScoreOutcome,
    behavior: BehaviorOutcome | None,
    extra: Sequence[Contribution],
    max_score: float | None,
) -> float:
    """Points plus behaviour plus extra, kept in [0, max_score] and rounded half up."""
    total = points.score + (behavior.score if behavior else 0.0) + sum(c.points for c in extra)
    if max_score is not None:
        total = min(total, max_score)
    return float(math.floor(max(total, 0.0) + 0.5))


def _enrich(
    values: Mapping[str, Any], rules: RuleSet, last_written: Mapping[str, Any]
) -> Enrichment | None:
    if rules.enrichment is None or rules.enrichment_data is None:
        return None
    return enrich_lead(values, rules.enrichment, rules.enrichment_data, last_written)


def _status(
    values: Mapping[str, Any],
    score: float,
    grade: str | None,
    rules: RuleSet,
    last_written: Mapping[str, Any],
) -> LifecycleOutcome:
    """The lifecycle move; a recycled lead also takes the move the next cycle would make.

    Recycling returns a lead to nurture; from there the usual rules apply at
    once (it may already qualify as an MQL), so one decision gives the final
    status and the next cycle has nothing left to change.
    """
    config = rules.lifecycle
    assert config is not None
    first = next_status(values, score, grade, config, last_written)
    recycle = config.recycle
    current = str(values.get(config.status_field) or "")
    if recycle is None or first.status is None or current not in recycle.from_statuses:
        return first
    moved = {**values, config.status_field: first.status}
    ours = {**last_written, config.status_field: first.status}
    then = next_status(moved, score, grade, config, ours)
    if then.status is None:
        return first
    return dataclasses.replace(then, owner_queue=first.owner_queue, steps=first.steps + then.steps)


def _rating(score: float, grade: GradeOutcome | None, rules: RuleSet) -> str | None:
    """grading.yaml's ratings (score and grade) when it names a rating field, else scoring's."""
    grading = rules.grading
    if grading is not None and grading.targets.rating and grading.ratings:
        return rate_lead(score, grade.grade if grade else None, grading.ratings)
    return rate(score, rules.scoring)


def tagged(lines: Sequence[Contribution], part: str) -> tuple[Contribution, ...]:
    """The lines with their `part` set (lines that name one keep it)."""
    return tuple(
        line if line.part else Contribution(line.rule, line.points, line.detail, part)
        for line in lines
    )
