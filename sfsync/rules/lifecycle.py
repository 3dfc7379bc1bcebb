"""Lifecycle status: where a lead stands, moved only forward, never over a person's work.

Stages (new, nurture, marketing-qualified, disqualified, bad fit) are mapped to
the org's own Status values, listed in lifecycle order. Each cycle the rules
pick a target stage: disqualify (students, job seekers, competitors, test and
junk records), else MQL when score and grade pass, else nurture for a good
fit not yet ready, else bad fit. The move happens only if it goes forward
along the order and the current status is not one people own ("Working -
Contacted"). Recycling is the one way back: a lead a person closed (e.g.
"Closed - Not Converted" with a reason) returns to nurture, owned by a
marketing queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sfsync.models import Contribution
from sfsync.rules.conditions import CriteriaRule
from sfsync.rules.criteria import Criterion
from sfsync.rules.enrich_text import same_value
from sfsync.rules.grade import GradeName, rank

# Moves remembered per lifecycle config; a pure function's answers, so any size is safe.
MEMO_SIZE = 20_000


class Stage(StrEnum):
    """Lifecycle stages the rules reason about; the org names them with its Status values."""

    NEW = "new"
    WORKING = "working"
    NURTURE = "nurture"
    MQL = "mql"
    DISQUALIFIED = "disqualified"
    BAD_FIT = "bad_fit"


class Disqualifier(CriteriaRule):
    """A kind of lead that is never worth selling to (student, competitor, junk...)."""

    name: str = Field(min_length=1, max_length=80)


class MqlGate(BaseModel):
    """What a lead must reach to be marketing-qualified."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_score: float
    min_grade: GradeName | None = None


class GradeGate(BaseModel):
    """A grade threshold: at least (nurture) or at most (bad fit)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_grade: GradeName | None = None
    max_grade: GradeName | None = None


class Recycling(CriteriaRule):
    """Leads a person closed go back to nurture; optional criteria (e.g. a reason field)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    criteria: tuple[Criterion, ...] = ()
    from_statuses: tuple[str, ...] = Field(alias="from", min_length=1)
    # Queue name (or Id) that owns recycled leads; null leaves the owner alone.
    owner_queue: str | None = None


class LifecycleConfig(BaseModel):
    """The parsed `mappings/lifecycle.yaml`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status_field: str = "Status"
    owner_field: str = "OwnerId"
    # Optional Lead field that receives the stage name (e.g. to mark bad fits).
    stage_field: str | None = None
    order: tuple[str, ...] = Field(min_length=2)
    people_own: tuple[str, ...] = ()
    stages: Mapping[Stage, str] = Field(min_length=1)
    mql: MqlGate | None = None
    nurture: GradeGate | None = None
    bad_fit: GradeGate | None = None
    disqualify: tuple[Disqualifier, ...] = ()
    recycle: Recycling | None = None

    @model_validator(mode="after")
    def _consistent(self) -> LifecycleConfig:
        _check_order(self)
        _check_gates(self)
        return self

    @cached_property
    def memo(self) -> dict[tuple[Any, ...], LifecycleOutcome]:
        """Moves already worked out, by (status, score, grade, disqualifier): they recur."""
        return {}

    def position(self, status: str) -> int | None:
        """Where a status sits in the lifecycle order; None if it is not in it."""
        return self.order.index(status) if status in self.order else None

    def fields_read(self) -> set[str]:
        """Fields the lifecycle rules look at."""
        rules: list[CriteriaRule] = [*self.disqualify, *([self.recycle] if self.recycle else [])]
        return {self.status_field} | {f for r in rules for f in r.fields_read()}


def _check_order(config: LifecycleConfig) -> None:
    twice = sorted({s for s in config.order if config.order.count(s) > 1})
    if twice:
        raise ValueError(f"status(es) {twice} appear twice in order")
    named = [*config.people_own, *config.stages.values()]
    named += list(config.recycle.from_statuses) if config.recycle else []
    unknown = sorted({s for s in named if s not in config.order})
    if unknown:
        raise ValueError(f"status(es) {unknown} are not listed in order")
    owned = sorted(
        {s for st, s in config.stages.items() if st != Stage.WORKING} & {*config.people_own}
    )
    if owned:
        raise ValueError(f"sfsync cannot move leads to status(es) {owned}: people own them")


def _check_gates(config: LifecycleConfig) -> None:
    needs = {Stage.MQL: config.mql, Stage.NURTURE: config.nurture or config.recycle,
             Stage.BAD_FIT: config.bad_fit, Stage.DISQUALIFIED: config.disqualify}  # fmt: skip
    missing = sorted(
        stage.value for stage, used in needs.items() if used and stage not in config.stages
    )
    if missing:
        raise ValueError(f"stages needs a status for {missing}, which the rules move leads to")
    if config.nurture and config.nurture.min_grade is None:
        raise ValueError("nurture needs min_grade: the grade of a good fit")
    if config.bad_fit and config.bad_fit.max_grade is None:
        raise ValueError("bad_fit needs max_grade: the best grade that is still a bad fit")


@dataclass(frozen=True, slots=True)
class LifecycleOutcome:
    """The stage the rules chose, the status and owner to write (None: leave), and why."""

    stage: Stage | None
    status: str | None
    owner_queue: str | None
    steps: tuple[Contribution, ...]

    @property
    def changed(self) -> bool:
        """Whether anything should be written."""
        return self.status is not None or self.owner_queue is not None


def next_status(
    values: Mapping[str, Any],
    score: float,
    grade: str | None,
    config: LifecycleConfig,
    last_written: Mapping[str, Any] | None = None,
) -> LifecycleOutcome:
    """The status move for one lead, given its values (fields and `$facts`), score and grade.

    `last_written` is what sfsync last wrote to the lead: a closed status
    that sfsync did not write was set by a person, which is what recycling needs.
    """
    current = str(values.get(config.status_field) or "")
    if current in config.people_own:
        return _stay(None, f"status {current!r} belongs to people; sfsync leaves it")
    disqualifier = _disqualifier(values, config)
    if disqualifier is None and _recycles(values, current, config, last_written or {}):
        return _recycle(current, config)
    return _targeted(current, score, grade, config, disqualifier)


def _disqualifier(values: Mapping[str, Any], config: LifecycleConfig) -> Disqualifier | None:
    """The first disqualifier that holds, if any."""
    for rule in config.disqualify:
        if rule.holds(values):
            return rule
    return None


def _targeted(
    current: str,
    score: float,
    grade: str | None,
    config: LifecycleConfig,
    disqualifier: Disqualifier | None,
) -> LifecycleOutcome:
    """The move to the stage the rules pick: a pure function of its arguments, remembered."""
    if not score or score != score:
        # 0.0 and -0.0 are one key but read "0" and "-0"; NaN is never found again.
        return _pick(current, score, grade, config, disqualifier)
    # The type of score joins the key so that 70 and 70.0 are never mixed up.
    named = disqualifier.name if disqualifier is not None else None
    key = (current, score, type(score), grade, named)
    memo = config.memo
    found = memo.get(key)
    if found is None:
        found = _pick(current, score, grade, config, disqualifier)
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        memo[key] = found
    return found


def _pick(
    current: str,
    score: float,
    grade: str | None,
    config: LifecycleConfig,
    disqualifier: Disqualifier | None,
) -> LifecycleOutcome:
    stage, why = _target(score, grade, config, disqualifier)
    return _stay(None, why) if stage is None else _move(current, stage, why, config)


def _recycles(
    values: Mapping[str, Any], current: str, config: LifecycleConfig, last: Mapping[str, Any]
) -> bool:
    recycle = config.recycle
    if recycle is None or current not in recycle.from_statuses:
        return False
    set_by_sfsync = same_value(last.get(config.status_field), current)
    return not set_by_sfsync and recycle.holds(values)


def _recycle(current: str, config: LifecycleConfig) -> LifecycleOutcome:
    queue = config.recycle.owner_queue if config.recycle else None
    detail = f"a person set {current!r}: back to nurture" + (f", owned by {queue}" if queue else "")
    status = config.stages[Stage.NURTURE]
    return LifecycleOutcome(
        Stage.NURTURE, status, queue, (Contribution("Recycle", 0, detail, "status"),)
    )


def _target(
    score: float,
    grade: str | None,
    config: LifecycleConfig,
    disqualifier: Disqualifier | None,
) -> tuple[Stage | None, str]:
    if disqualifier is not None:
        return Stage.DISQUALIFIED, f"disqualified: {disqualifier.name}"
    position = rank(grade) if grade else -1
    mql = config.mql
    if mql and score >= mql.min_score and position >= _rank(mql.min_grade):
        return Stage.MQL, f"score {score:g} and grade {grade} pass the MQL thresholds"
    if config.nurture and position >= _rank(config.nurture.min_grade):
        return Stage.NURTURE, f"good fit (grade {grade}) but not ready yet (score {score:g})"
    if config.bad_fit and 0 <= position <= _rank(config.bad_fit.max_grade):
        return Stage.BAD_FIT, f"bad fit: grade {grade}"
    return None, f"no lifecycle rule applies (score {score:g}, grade {grade})"


def _rank(grade: str | None) -> int:
    return rank(grade) if grade else -1


def _move(current: str, stage: Stage, why: str, config: LifecycleConfig) -> LifecycleOutcome:
    status = config.stages.get(stage)
    if status is None or status == current:
        return _stay(stage, why + (f"; already {current!r}" if status else ""))
    here, there = config.position(current), config.position(status)
    if current and here is None:
        return _stay(stage, why + f"; status {current!r} is not in the lifecycle order")
    if here is not None and there is not None and there <= here:
        return _stay(stage, why + f"; {current!r} -> {status!r} would move backwards")
    return LifecycleOutcome(
        stage, status, None, (Contribution(f"Status {status}", 0, why, "status"),)
    )


def _stay(stage: Stage | None, why: str) -> LifecycleOutcome:
    return LifecycleOutcome(
        stage, None, None, (Contribution("Status unchanged", 0, why, "status"),)
    )
