"""Why a lead got its decision: every contribution for `sfsync explain`, one line for the org.

The audit trail keeps every line (enrichment facts and fills, each score
rule, each behaviour rule with its decay, the grade's steps, the rating and
the status rule that fired), each tagged with the part of the decision it
belongs to. The org gets a one-line summary cut to its field's length.
"""

from __future__ import annotations

from functools import lru_cache

from sfsync.models import Contribution
from sfsync.rules.chain import Evaluation
from sfsync.rules.score import REASON_MAX_LENGTH

ELLIPSIS = "…"
LINE_CACHE_SIZE = 4096


def reasons(found: Evaluation) -> tuple[Contribution, ...]:
    """Every line of the explanation, in the order the chain ran."""
    # Each rule module tags its own lines with their part (enrichment, score, grade...).
    lines: list[Contribution] = []
    if found.enrichment is not None:
        lines += found.enrichment.explain()
    lines += found.score_lines
    grade = found.grade
    if grade is not None:
        lines += grade.steps
        ups = sum(1 for s in grade.steps if s.points > 0)
        lines.append(_grade_line(grade.grade, ups, len(grade.steps) - ups))
    if found.rating is not None:
        detail = f"score {found.score:g}" + (f", grade {grade.grade}" if grade else "")
        lines.append(_line(f"Rating {found.rating}", detail, "rating"))
    if found.lifecycle is not None:
        lines += found.lifecycle.steps
    return tuple(lines)


def short_reason(found: Evaluation, limit: int | None = None) -> str:
    """ "Score 72, grade B: Executive title +25, Webinar attended +14", cut to `limit`.

    Behaviour lines show whole points: they fade a little every day, and the
    text should change when the score does, not with every decimal.
    """
    limit = limit or REASON_MAX_LENGTH
    parts = [_part(c.rule, points) for c in found.score_lines if (points := _points(c))]
    head = f"Score {found.score:g}" + (f", grade {found.grade.grade}" if found.grade else "")
    text = f"{head}: " + (", ".join(parts) if parts else "no rule matched")
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


@lru_cache(maxsize=LINE_CACHE_SIZE)
def _part(rule: str, points: float) -> str:
    # 15 and 15.0 share a key, and both read "+15"; zero points never get here.
    return f"{rule} {points:+g}"


def _points(line: Contribution) -> float:
    return float(round(line.points)) if line.part in ("behavior", "predict") else line.points


def _grade_line(grade: str, ups: int, downs: int) -> Contribution:
    if not ups and not downs:
        return _line(f"Grade {grade}", "no profile rule moved the grade", "grade")
    return _line(f"Grade {grade}", f"{ups} profile rule(s) matched, {downs} did not", "grade")


@lru_cache(maxsize=LINE_CACHE_SIZE)
def _line(rule: str, detail: str, part: str) -> Contribution:
    """A line without points; grades and ratings recur, and lines are frozen values."""
    return Contribution(rule, 0, detail, part)
