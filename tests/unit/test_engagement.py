"""Engagement: campaign members and Tasks as events, feed kinds, fingerprints, the queries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from sfsync.connectors.engagement import engagement_event
from sfsync.connectors.soql import engagement_query, leads_by_email_query
from sfsync.models import EngagementEvent
from sfsync.rules.behavior import Engagement, EventKind
from sfsync.rules.engagement import fingerprint, parse_kind, to_engagement

LEAD = "00Q000000000001AAA"
STAMP = "2025-05-30T10:00:00.000+0000"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("page_view", EventKind.PAGE_VIEW),
        ("Page View", EventKind.PAGE_VIEW),
        ("page-view", EventKind.PAGE_VIEW),
        ("  PAGEVIEW ", EventKind.PAGE_VIEW),
        ("whitepaper download", EventKind.DOWNLOAD),
        ("email_click", EventKind.EMAIL_CLICK),
        ("open", EventKind.EMAIL_OPEN),
        ("Form", EventKind.FORM_SUBMISSION),
        ("site_search", EventKind.SITE_SEARCH),
        ("social", EventKind.SOCIAL),
        ("campaign_response", EventKind.CAMPAIGN_RESPONSE),
        ("", None),
        ("telepathy", None),
        ("page_view\x00", None),
        ("ページビュー", None),
    ],
)
def test_feed_kinds(text: str, kind: EventKind | None) -> None:
    assert parse_kind(text) is kind


def test_to_engagement_drops_deleted_rows_and_unknown_kinds_and_sorts() -> None:
    events = [
        EngagementEvent("task", datetime(2025, 5, 2, tzinfo=UTC), detail="Call"),
        EngagementEvent("page_view", date(2025, 5, 1)),
        EngagementEvent("task", date(2025, 5, 3), deleted=True),
        EngagementEvent("carrier_pigeon", date(2025, 5, 4)),
    ]
    assert to_engagement(events) == [
        Engagement(EventKind.PAGE_VIEW, date(2025, 5, 1)),
        Engagement(EventKind.TASK, datetime(2025, 5, 2, tzinfo=UTC), "Call"),
    ]


def test_fingerprint_is_order_free_and_empty_for_no_engagement() -> None:
    a = Engagement(EventKind.TASK, date(2025, 5, 1), "Call")
    b = Engagement(EventKind.DOWNLOAD, date(2025, 5, 2), "Guide")
    assert fingerprint([]) == ""
    assert fingerprint([a, b]) == fingerprint([b, a]) != fingerprint([a])
    assert fingerprint([a]) != fingerprint([Engagement(EventKind.TASK, date(2025, 5, 1), "Email")])


def _member(**values: Any) -> dict[str, Any]:
    return {
        "Id": "00v000000000001AAA", "LeadId": LEAD, "HasResponded": True,
        "FirstRespondedDate": "2025-05-20", "CreatedDate": "2025-05-01T08:00:00.000+0000",
        "Campaign": {"attributes": {"type": "Campaign"}, "Type": "Webinar"},
        "SystemModstamp": STAMP, "IsDeleted": False, **values,
    }  # fmt: skip


def _task(**values: Any) -> dict[str, Any]:
    return {
        "Id": "00T000000000001AAA", "WhoId": LEAD, "IsClosed": True, "TaskSubtype": "Call",
        "Type": "Call", "ActivityDate": "2025-05-21",
        "CreatedDate": "2025-05-21T09:00:00.000+0000", "SystemModstamp": STAMP, "IsDeleted": False,
        **values,
    }  # fmt: skip


def test_a_campaign_response_is_an_event_of_its_campaign_type() -> None:
    event = engagement_event("CampaignMember", _member())
    assert event == EngagementEvent(
        kind="campaign_response", at=date(2025, 5, 20), lead_id=LEAD, detail="Webinar",
        source="CampaignMember", source_id="00v000000000001AAA",
        stamp=datetime(2025, 5, 30, 10, tzinfo=UTC),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("values", "deleted", "at"),
    [
        ({"HasResponded": False}, True, date(2025, 5, 20)),  # sent, never answered
        ({"IsDeleted": True}, True, date(2025, 5, 20)),
        ({"LeadId": None, "ContactId": "003000000000001AAA"}, True, date(2025, 5, 20)),
        ({"FirstRespondedDate": None}, False, datetime(2025, 5, 1, 8, tzinfo=UTC)),
        ({"FirstRespondedDate": "not a date"}, False, datetime(2025, 5, 1, 8, tzinfo=UTC)),
        ({"Campaign": None}, False, date(2025, 5, 20)),
    ],
)
def test_campaign_members_that_do_not_count_come_back_deleted(
    values: dict[str, Any], deleted: bool, at: date
) -> None:
    event = engagement_event("CampaignMember", _member(**values))
    assert event is not None and event.deleted is deleted and event.at == at


@pytest.mark.parametrize(
    ("values", "detail", "deleted", "lead_id"),
    [
        ({}, "Call", False, LEAD),
        ({"TaskSubtype": "Task", "Type": "Email"}, "Email", False, LEAD),  # generic subtype
        ({"TaskSubtype": None, "Type": None}, None, False, LEAD),
        ({"IsClosed": False}, "Call", True, LEAD),  # reopened
        ({"WhoId": "003000000000001AAA"}, "Call", True, None),  # a contact's task
        ({"WhoId": None}, "Call", True, None),
        ({"IsDeleted": True}, "Call", True, LEAD),
    ],
)
def test_tasks(
    values: dict[str, Any], detail: str | None, deleted: bool, lead_id: str | None
) -> None:
    event = engagement_event("Task", _task(**values))
    assert event is not None
    assert (event.kind, event.detail, event.deleted, event.lead_id) == ("task", detail, deleted,
                                                                        lead_id)  # fmt: skip
    assert event.source == "Task" and event.at == date(2025, 5, 21)


def test_a_record_without_an_id_is_no_event() -> None:
    assert engagement_event("Task", {**_task(), "Id": None}) is None


def test_the_first_load_reads_only_what_counts_within_the_horizon() -> None:
    soql = engagement_query("CampaignMember", None, timedelta(seconds=60), 364.5)
    assert "SystemModstamp >= LAST_N_DAYS:365" in soql  # no clock in the text: replays
    assert "LeadId != null AND HasResponded = true" in soql and "Campaign.Type" in soql
    assert soql.endswith("ORDER BY SystemModstamp, Id")
    task = engagement_query("Task", None, timedelta(seconds=60), 30)
    assert "IsClosed = true" in task and "WhoId != null" in task


def test_later_reads_take_every_change_since_the_watermark_minus_the_overlap() -> None:
    since = datetime(2025, 6, 1, 12, 0, 30, tzinfo=UTC)
    soql = engagement_query("Task", since, timedelta(seconds=60), 365)
    assert "WHERE SystemModstamp >= 2025-06-01T11:59:30Z ORDER BY" in soql
    member = engagement_query("CampaignMember", since, timedelta(seconds=60), 365)
    assert "SystemModstamp >= 2025-06-01T11:59:30Z AND LeadId != null" in member
    assert "HasResponded = true" not in member  # a withdrawn response must be seen too


def test_leads_by_email_escapes_every_address() -> None:
    soql = leads_by_email_query(["a@x.com", "o'brien@x.com"])
    assert soql == "SELECT Id, Email FROM Lead WHERE Email IN ('a@x.com', 'o\\'brien@x.com')"
