"""From one lead to one decision: run the rule chain, then keep only the changes sfsync may make.

The chain (`rules.chain`) enriches, scores (points and behaviour), grades,
rates and picks the lifecycle status. What it wants written falls in two kinds:

- Results sfsync owns (score, rating, reason, grade, fills of empty fields):
  "humans win". sfsync writes such a field only while it is blank or still
  holds the value sfsync last wrote there; any other value was put there by
  someone else, so it is left alone and the decision says why.
- Moves that follow their own rules: the lifecycle status (forward only,
  never out of a status people own; recycling sets a queue as owner) and
  enrichment's `standardize` fills (a person's value in its standard form).
  These are checked by their rules, so the last-written test does not apply.

Only fields listed under `write` in fields.yaml are ever changed. Deleted and
converted leads are never written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sfsync.models import Contribution, Decision, Lead
from sfsync.rules.behavior import Engagement
from sfsync.rules.chain import Evaluation, evaluate, tagged
from sfsync.rules.convert import decide_conversion
from sfsync.rules.engagement import fingerprint
from sfsync.rules.predict import whole_percent
from sfsync.rules.reasons import reasons, short_reason
from sfsync.rules.ruleset import FieldsConfig, RuleSet

__all__ = [
    "HUMAN_OVERRIDE",
    "FieldsConfig",
    "RuleSet",
    "decide",
    "input_hash",
    "owned_by_someone_else",
    "same_value",
]

HUMAN_OVERRIDE = "set in the org by someone else; their value wins (clear it to hand it back)"
UNKNOWN_QUEUE = "queue {!r} is not one of the org's Lead queues; owner left alone"
HASH_LENGTH = 32


def decide(
    lead: Lead,
    rules: RuleSet,
    last_written: Mapping[str, Any],
    now: datetime,
    engagement: Sequence[Engagement] = (),
    extra: Sequence[Contribution] = (),
) -> Decision:
    """The decision for one lead, given what sfsync last wrote to it and what the lead did.

    `engagement` is the lead's campaign responses, Tasks and feed events;
    `extra` adds score contributions computed outside the chain (the
    predictive score of `rules.predictive` is computed inside it, on the
    enriched lead). Pure: the same arguments always give the same decision.
    """
    hashed = input_hash(lead, rules, engagement)
    if lead.is_deleted or lead.is_converted:
        state = "deleted" if lead.is_deleted else "converted"
        return Decision(
            lead.id, lead.system_modstamp, hashed, rules.version, {}, summary={"skipped": state}
        )
    found = evaluate(lead.values, rules, last_written, now, engagement, tagged(extra, "predict"))
    owned, moves, skipped = _wanted(found, rules)
    changes, overridden = _diff(lead, owned, last_written)
    changes.update({k: v for k, v in moves.items() if not same_value(lead.get(k), v)})
    skipped.update(overridden)
    summary = _summary(lead, found, rules, changes, now)
    convert = None
    if rules.conversion is not None:
        values = {**lead.values, **changes}
        convert, blocked = decide_conversion(values, rules.conversion, rules.active_users)
        if blocked:
            summary["conversion_blocked"] = blocked
    return Decision(
        lead_id=lead.id,
        base_stamp=lead.system_modstamp,
        input_hash=hashed,
        rules_version=rules.version,
        changes=changes,
        convert=convert,
        previous={name: lead.get(name) for name in changes},
        reasons=reasons(found),
        summary=summary,
        skipped=skipped,
    )


def input_hash(lead: Lead, rules: RuleSet, engagement: Sequence[Engagement] = ()) -> str:
    """Hash of what the rules read, leaving out the results sfsync writes itself.

    Results are not inputs: hashing them would make the echo of sfsync's own
    write look like a new input (see `RuleSet.hashed_fields`). Engagement is
    an input that never changes the Lead record, so its fingerprint joins the hash.
    """
    values = tuple(map(lead.values.get, rules.hashed_fields))
    # repr of plain values (text, numbers, booleans, None, dates) is stable and, unlike
    # JSON with sorted keys, cheap: this runs for every lead the pull reads.
    text = f"{rules.hash_prefix}{values!r}{fingerprint(engagement) if engagement else ''}"
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]


def _wanted(
    found: Evaluation, rules: RuleSet
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """(values under "humans win", moves checked by their own rules, fields left alone and why)."""
    owned = _results(found, rules)
    moves: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    if found.enrichment is not None:
        for fill in found.enrichment.fills:
            (moves if fill.standardizes else owned)[fill.field] = fill.value
        skipped.update(found.enrichment.kept)
    _lifecycle_moves(found, rules, moves, skipped)
    allowed = rules.allowed
    return (
        {k: v for k, v in owned.items() if k in allowed and k not in moves},
        {k: v for k, v in moves.items() if k in allowed},
        {k: v for k, v in skipped.items() if k in allowed},
    )


def _results(found: Evaluation, rules: RuleSet) -> dict[str, Any]:
    """Score, behaviour score, rating, reason and grade, by target field."""
    targets, grading = rules.scoring.targets, rules.grading
    apart = grading.targets.behavior_score if grading else None
    wanted: dict[str, Any] = {targets.score: _written_score(found, rules, apart)}
    if apart and found.behavior is not None:
        wanted[apart] = found.behavior.score
    rating_field = grading.targets.rating if grading and grading.ratings else None
    if targets.rating and targets.rating != rating_field:
        wanted[targets.rating] = found.rating if rating_field is None else found.points.rating
    if rating_field:
        wanted[rating_field] = found.rating
    if targets.reason:
        wanted[targets.reason] = short_reason(found, rules.fields.max_lengths.get(targets.reason))
    if grading and grading.targets.grade and found.grade is not None:
        wanted[grading.targets.grade] = found.grade.value_for(grading.targets)
    predictive = rules.predictive
    if predictive and predictive.config.target and found.probability is not None:
        wanted[predictive.config.target] = whole_percent(found.probability)
    return wanted


def _written_score(found: Evaluation, rules: RuleSet, apart: str | None) -> float:
    """The combined score, or without behaviour when grading.yaml writes it to its own field."""
    if not apart or found.behavior is None:
        return found.score
    total = found.points.score + sum(c.points for c in found.extra)
    top = rules.scoring.max_score
    return float(int(max(min(total, top if top is not None else total), 0.0) + 0.5))


def _lifecycle_moves(
    found: Evaluation, rules: RuleSet, moves: dict[str, Any], skipped: dict[str, str]
) -> None:
    outcome, config = found.lifecycle, rules.lifecycle
    if outcome is None or config is None:
        return
    if outcome.status is not None:
        moves[config.status_field] = outcome.status
    if config.stage_field and outcome.stage is not None:
        moves[config.stage_field] = outcome.stage.value
    if outcome.owner_queue:
        queue_id = queue_id_for(outcome.owner_queue, rules.queue_ids)
        if queue_id is None:
            skipped[config.owner_field] = UNKNOWN_QUEUE.format(outcome.owner_queue)
        else:
            moves[config.owner_field] = queue_id


def queue_id_for(name: str, queue_ids: Mapping[str, str]) -> str | None:
    """The Id of the queue the mappings name: from the org's facts, or the name is an Id."""
    if name in queue_ids:
        return queue_ids[name]
    looks_like_id = name.startswith("00G") and len(name) in (15, 18) and name.isalnum()
    return name if looks_like_id else None


def _summary(
    lead: Lead, found: Evaluation, rules: RuleSet, changes: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    config = rules.lifecycle
    status_field = config.status_field if config else "Status"
    owner_field = config.owner_field if config else "OwnerId"
    outcome = found.lifecycle
    summary: dict[str, Any] = {
        "score": found.score,
        "points_score": found.points.score,
        "behavior_score": found.behavior.score if found.behavior else None,
        "grade": found.grade.grade if found.grade else None,
        "rating": found.rating,
        # Where the lead stands once the writes land (context for analytics and rule tests).
        "status": changes.get(status_field, lead.get(status_field)),
        "stage": outcome.stage.value if outcome and outcome.stage else None,
        "decided_at": now.isoformat(),
        "owner": changes.get(owner_field, lead.get(owner_field)),
        "source": lead.get("LeadSource"),
    }
    if found.enrichment is not None:
        summary["facts"] = {k: v for k, v in found.enrichment.facts.items() if v is not None}
    if found.probability is not None:
        summary["conversion_probability"] = round(found.probability, 4)
    return summary


def _diff(
    lead: Lead, wanted: Mapping[str, Any], last_written: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    changes: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for name, value in wanted.items():
        current = lead.get(name)
        if same_value(current, value):
            continue
        if owned_by_someone_else(current, last_written, name):
            skipped[name] = HUMAN_OVERRIDE
        else:
            changes[name] = value
    return changes, skipped


def owned_by_someone_else(current: Any, last_written: Mapping[str, Any], name: str) -> bool:
    """A value sfsync did not put there: not blank, and not what sfsync last wrote.

    Clearing the field in the org hands it back to sfsync.
    """
    if current in (None, ""):
        return False
    return name not in last_written or not same_value(current, last_written[name])


def same_value(a: Any, b: Any) -> bool:
    """Equality as the org stores values: blank text is null, 45 equals 45.0."""
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return bool(a == b)
