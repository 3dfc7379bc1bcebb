"""Why a lead got its decision: every contribution for `sfsync explain`, one line for the org.

The audit trail keeps every line (enrichment facts and fills, each score
rule, each behaviour rule with its decay, the grade's steps, the rating and
the status rule that fired), each tagged with the part of the decision it
belongs to. The org gets a one-line summary cut to its field's length.
"""

from __future__ import annotations

from sfsync.models import Contribution
from sfsync.rules.chain import Evaluation
from sfsync.rules.score import REASON_MAX_LENGTH

ELLIPSIS = "…"


def reasons(found: Evaluation) -> tuple[Contribution, ...]:
    """Every line of the explanation, in the order the chain ran."""
    # Each rule module tags its own lines with their part (enrichment, score, grade...).
    lines: list[Contribution] = []
    if found.enrichment is not None:
        lines += found.enrichment.explain()
    lines += found.score_lines
    if found.grade is not None:
        lines += found.grade.steps
        lines.append(Contribution(f"Grade {found.grade.grade}", 0, _grade_detail(found), "grade"))
    if found.rating is not None:
        detail = f"score {found.score:g}" + (f", grade {found.grade.grade}" if found.grade else "")
        lines.append(Contribution(f"Rating {found.rating}", 0, detail, "rating"))
    if found.lifecycle is not None:
        lines += found.lifecycle.steps
    return tuple(lines)


def short_reason(found: Evaluation, limit: int | None = None) -> str:
    """ "Score 72, grade B: Executive title +25, Webinar attended +14", cut to `limit`.

    Behaviour lines show whole points: they fade a little every day, and the
    text should change when the score does, not with every decimal.
    """
    limit = limit or REASON_MAX_LENGTH
    parts = [f"{c.rule} {_points(c):+g}" for c in found.score_lines if _points(c)]
    head = f"Score {found.score:g}" + (f", grade {found.grade.grade}" if found.grade else "")
    text = f"{head}: " + (", ".join(parts) if parts else "no rule matched")
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def _points(line: Contribution) -> float:
    return float(round(line.points)) if line.part in ("behavior", "predict") else line.points


def _grade_detail(found: Evaluation) -> str:
    steps = found.grade.steps if found.grade else ()
    if not steps:
        return "no profile rule moved the grade"
    ups = sum(1 for s in steps if s.points > 0)
    return f"{ups} profile rule(s) matched, {len(steps) - ups} did not"
