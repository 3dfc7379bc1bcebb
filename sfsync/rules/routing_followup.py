"""What follows a routing decision: the SLA follow-up Task and the hot-lead webhook message.

Both are built here as plain values; the job sends them. Each carries an
idempotency key derived from the lead and the routing (lead, owner, rule,
the decision's base stamp), so a retried or repeated send creates at most
one Task and one message per routing. Text templates name lead fields as
`{Field}` (plus `{owner}`, `{owner_name}`, `{rule}`, `{team}`); a field the lead lacks reads as
empty, and nothing else in braces is ever evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sfsync.models import stable_hash
from sfsync.rules.routing import RoutingOutcome
from sfsync.rules.routing_config import SlaConfig, parse_duration

_PLACEHOLDER = re.compile(r"\{([A-Za-z_$][A-Za-z0-9_.$]{0,79})\}")
MAX_SUBJECT = 255
MAX_TEXT = 3000


@dataclass(frozen=True)
class FollowUp:
    """A Task to create (its field values) and the key that makes creating it idempotent."""

    key: str
    values: Mapping[str, Any]


def render(template: str, values: Mapping[str, Any], extra: Mapping[str, str]) -> str:
    """`template` with `{Field}` replaced by the lead's values (blank when missing)."""

    def value(match: re.Match[str]) -> str:
        name = match[1]
        found = extra.get(name) if name in extra else values.get(name)
        return "" if found is None else str(found)

    return " ".join(_PLACEHOLDER.sub(value, template).split())


def routing_key(lead_id: str, outcome: RoutingOutcome, base_stamp: datetime, kind: str) -> str:
    """One key per lead, routing and kind of follow-up: retries and repeats reuse it."""
    return stable_hash([kind, lead_id, outcome.owner_id, outcome.rule, base_stamp])


def sla_task(
    lead_id: str,
    values: Mapping[str, Any],
    outcome: RoutingOutcome,
    base_stamp: datetime,
    now: datetime,
) -> FollowUp | None:
    """The follow-up Task for the new owner, or None when the routing asks for none."""
    sla: SlaConfig | None = outcome.sla
    if sla is None or outcome.owner_id is None or not outcome.routed:
        return None
    due = now + parse_duration(sla.due_in)
    extra = _extra(outcome, None)
    task: dict[str, Any] = {
        "Subject": render(sla.subject, values, extra)[:MAX_SUBJECT] or "Follow up",
        "WhoId": lead_id,
        "OwnerId": outcome.owner_id,
        "Priority": sla.priority,
        "Status": sla.status,
        # ActivityDate is a date; the reminder carries the exact time the SLA ends.
        "ActivityDate": due.date().isoformat(),
        "IsReminderSet": True,
        "ReminderDateTime": due.isoformat(timespec="seconds"),
    }
    if sla.description:
        task["Description"] = render(sla.description, values, extra)
    return FollowUp(routing_key(lead_id, outcome, base_stamp, "sla"), task)


def webhook_payload(
    lead_id: str,
    values: Mapping[str, Any],
    outcome: RoutingOutcome,
    template: str,
    lead_url: str | None = None,
    owner_name: str | None = None,
) -> dict[str, Any]:
    """A Slack-style JSON body (`text` plus one section block) announcing a hot lead."""
    text = _escape(render(template, values, _extra(outcome, owner_name))[:MAX_TEXT])
    link = f"<{lead_url}|Open the lead>" if lead_url else f"Lead {lead_id}"
    return {
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"{text}\n{link}"}}],
    }


def _extra(outcome: RoutingOutcome, owner_name: str | None) -> dict[str, str]:
    return {
        "owner": owner_name or outcome.owner_id or "",
        "owner_name": owner_name or outcome.owner_id or "",
        "rule": outcome.rule or "",
        "team": outcome.team or "",
    }


def _escape(text: str) -> str:
    """Slack's three control characters, so lead text cannot forge links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
