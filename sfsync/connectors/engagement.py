"""Campaign members and Tasks as engagement events: translation only, no judgement of worth.

A campaign member counts while it has responded; a Task while it is closed
and its WhoId is a lead. A row that stops counting (a response withdrawn, a
Task reopened or moved to a contact, a deleted record) comes back as a
`deleted` event, so the mirror drops it and the lead is decided again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from sfsync.connectors.salesforce import parse_datetime
from sfsync.models import EngagementEvent

CAMPAIGN_RESPONSE = "campaign_response"
TASK = "task"
LEAD_PREFIX = "00Q"
# TaskSubtype "Task" says nothing; the user-set Type ("Call", "Email") then does.
_GENERIC_SUBTYPE = "Task"


def engagement_events(
    sobject: str, pages: Iterator[list[dict[str, Any]]]
) -> Iterator[list[EngagementEvent]]:
    """Each page of a CampaignMember or Task query (`soql.engagement_query`) as events."""
    for page in pages:
        yield [e for record in page if (e := engagement_event(sobject, record)) is not None]


def engagement_event(sobject: str, record: Mapping[str, Any]) -> EngagementEvent | None:
    """The event a CampaignMember or Task record stands for (None for a record without an Id)."""
    if not isinstance(record.get("Id"), str):
        return None
    if sobject == "CampaignMember":
        return _campaign_member(record)
    return _task(record)


def _campaign_member(record: Mapping[str, Any]) -> EngagementEvent:
    lead_id = record.get("LeadId") or None
    campaign = record.get("Campaign")
    kind = campaign.get("Type") if isinstance(campaign, Mapping) else None
    counts = bool(record.get("HasResponded")) and lead_id is not None
    at = _date(record.get("FirstRespondedDate")) or parse_datetime(record.get("CreatedDate"))
    return EngagementEvent(
        kind=CAMPAIGN_RESPONSE, at=at, lead_id=lead_id, detail=_text(kind),
        source="CampaignMember", source_id=str(record["Id"]),
        stamp=parse_datetime(record.get("SystemModstamp")),
        deleted=bool(record.get("IsDeleted")) or not counts,
    )  # fmt: skip


def _task(record: Mapping[str, Any]) -> EngagementEvent:
    who = str(record.get("WhoId") or "")
    lead_id = who if who.startswith(LEAD_PREFIX) else None
    subtype = _text(record.get("TaskSubtype"))
    detail = subtype if subtype and subtype != _GENERIC_SUBTYPE else _text(record.get("Type"))
    counts = bool(record.get("IsClosed")) and lead_id is not None
    at = _date(record.get("ActivityDate")) or parse_datetime(record.get("CreatedDate"))
    return EngagementEvent(
        kind=TASK, at=at, lead_id=lead_id, detail=detail or subtype,
        source="Task", source_id=str(record["Id"]),
        stamp=parse_datetime(record.get("SystemModstamp")),
        deleted=bool(record.get("IsDeleted")) or not counts,
    )  # fmt: skip


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str) and value.strip() else None
