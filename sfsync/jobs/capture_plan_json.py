"""The ledger's plan of a new lead: everything needed to create it and record it, as JSON.

Written in the routing transaction (`store.capture.insert_planned`), read
back when the org has created the lead, or by the next run after a crash:
the request's values, the values sfsync chose (LeadState.last_written), the
routing memory with the new lead's id still a placeholder, the routing turn
taken (to give back if the org refuses the lead), and the decision row for
`sfsync explain`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sfsync.jobs.capture_plan import NewLead, Valid, label
from sfsync.jobs.capture_route import Routed, bind, encode_delta
from sfsync.jobs.capture_types import Action
from sfsync.models import Contribution, Lead
from sfsync.rules.pipeline import RuleSet, input_hash
from sfsync.store.capture import Finished


def build_plan(lead: NewLead, routing: Routed, rules: RuleSet, now: datetime) -> dict[str, Any]:
    """What the ledger keeps until the lead exists: the request's values and what goes along."""
    owner_field = rules.routing.owner_field if rules.routing is not None else "OwnerId"
    values = dict(lead.values)
    written = dict(lead.decision.changes)
    if routing.owner is not None:
        values[owner_field] = written[owner_field] = routing.owner
    decision = lead.decision
    summary = {**decision.summary, "owner": routing.owner or values.get(owner_field),
               "routing": routing.memory or {"routed": False, "need": "captured"},
               "capture": {"key": lead.valid.key, "source": lead.valid.source}}  # fmt: skip
    return {
        "values": values,
        "written": written,
        "routing": routing.memory,
        "load_owner": routing.load_owner,
        "delta": encode_delta(routing.delta),
        "filled_from": dict(lead.filled_from),
        "decision": {
            # The hash of the values as created: the first pull of the lead is sfsync's echo.
            "input_hash": input_hash(Lead(lead.valid.placeholder, now, values), rules),
            "rules_version": rules.version,
            "changes": written,
            "reasons": [reason(r) for r in decision.reasons] + list(routing.steps),
            "summary": summary,
            "skipped": dict(decision.skipped),
        },
    }


def reason(line: Contribution) -> dict[str, Any]:
    """A reason as the decision table keeps it (dataclasses.asdict, without its deep copies)."""
    return {"rule": line.rule, "points": line.points, "detail": line.detail, "part": line.part}


def bound_plan(plan: Mapping[str, Any], lead_id: str) -> dict[str, Any]:
    """The plan with the new lead's id in its routing memory and decision."""
    memory = bind(plan.get("routing"), lead_id)
    decision = dict(plan["decision"])
    summary = dict(decision.get("summary") or {})
    if memory is not None:
        summary["routing"] = memory
    decision["summary"] = summary
    return {**plan, "routing": memory, "decision": decision}


def created_reasons(plan: Mapping[str, Any], *, dry_run: bool) -> tuple[str, ...]:
    """The report's lines for a created lead: its score, grade and owner, what duplicates gave."""
    summary = plan["decision"]["summary"]
    parts = [f"score {summary.get('score')}"]
    if summary.get("grade"):
        parts.append(f"grade {summary['grade']}")
    if summary.get("owner"):
        parts.append(f"owner {summary['owner']}")
    lines = [("would be created: " if dry_run else "") + ", ".join(parts)]
    filled = plan.get("filled_from") or {}
    if filled:
        lines.append(f"filled from duplicates later in the batch: {', '.join(sorted(filled))}")
    return tuple(lines)


def held_duplicates(
    later: Mapping[int, list[Valid]], valid: Sequence[Valid]
) -> dict[str, list[Finished]]:
    """First member's key -> its group's later members, as done duplicates (id still unknown)."""
    keys = {v.index: v.key for v in valid}
    return {
        keys[first]: [
            Finished(v.key, v.source, Action.DUPLICATE, None, None,
                     (f"same person as {label(keys[first])} earlier in this batch",))
            for v in members
        ]
        for first, members in later.items()
    }  # fmt: skip
