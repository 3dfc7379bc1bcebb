"""Marketing and sales touches on seeded leads: campaign responses and completed tasks.

Engagement is what enrichment and scoring read besides the lead's own
fields; it is spread at random, independent of whether a lead converted.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sfsync.emulator.org import Record
from sfsync.emulator.seed_companies import weighted
from sfsync.emulator.seed_context import DAY, SeedContext, stamp
from sfsync.emulator.seed_lifecycle import Routing, person_owner

MEMBER_SHARE = 0.3
TASK_SHARE = 0.2
LEADS_PER_CAMPAIGN = 2000
MIN_CAMPAIGNS, MAX_CAMPAIGNS = 4, 40
CAMPAIGN_TYPES = ("Webinar", "Content Download", "Conference", "Email", "Trade Show")
TOPICS: dict[str, tuple[str, ...]] = {
    "Webinar": ("Pipeline Hygiene 101", "Lead Routing at Scale", "Forecasting Playbook"),
    "Content Download": ("State of B2B Data", "RevOps Benchmark Report", "Data Quality Checklist"),
    "Conference": ("Customer Summit", "Partner Day", "RevOps Live"),
    "Email": ("Monthly Newsletter", "Spring Product Launch", "Renewal Reminder"),
    "Trade Show": ("Sales Tech Expo", "RevOps World", "B2B Marketing Fair"),
}
# Member statuses each campaign type produces, weighted.
MEMBER_STATUSES: dict[str, tuple[tuple[str, float], ...]] = {
    "Webinar": (("Sent", 30), ("Registered", 20), ("Attended", 35), ("Responded", 15)),
    "Content Download": (("Responded", 100),),
    "Conference": (("Registered", 30), ("Attended", 50), ("Responded", 20)),
    "Email": (("Sent", 60), ("Responded", 40)),
    "Trade Show": (("Attended", 70), ("Responded", 30)),
}  # fmt: skip
RESPONDED = frozenset({"Responded", "Attended"})
_LENGTH_DAYS = {"Webinar": 0, "Content Download": 60, "Conference": 2, "Email": 0,
                "Trade Show": 3}  # fmt: skip
_TASKS = (("Call", "Intro call"), ("Call", "Left voicemail"), ("Call", "Discovery call"),
          ("Email", "Email: Follow-up"), ("Email", "Email: Pricing information"))  # fmt: skip


def add_campaigns(ctx: SeedContext, routing: Routing, lead_count: int) -> list[Record]:
    """A few campaigns of each type over the past year."""
    count = min(MAX_CAMPAIGNS, max(MIN_CAMPAIGNS, lead_count // LEADS_PER_CAMPAIGN))
    return [_campaign(ctx, routing, CAMPAIGN_TYPES[i % len(CAMPAIGN_TYPES)]) for i in range(count)]


def add_members(ctx: SeedContext, campaigns: list[Record], leads: list[Record]) -> None:
    """Campaign memberships for a share of the live leads, one or two campaigns each."""
    if not campaigns:
        return
    for lead in leads:
        if lead.get("IsDeleted") or ctx.rng.random() >= MEMBER_SHARE:
            continue
        for campaign in ctx.rng.sample(campaigns, k=min(len(campaigns), ctx.rng.randint(1, 2))):
            _member(ctx, campaign, lead)


def add_tasks(ctx: SeedContext, routing: Routing, leads: list[Record]) -> None:
    """Completed calls and e-mails on a share of the live leads; sets LastActivityDate."""
    for lead in leads:
        if lead.get("IsDeleted") or ctx.rng.random() >= TASK_SHARE:
            continue
        dates = [_task(ctx, routing, lead) for _ in range(ctx.rng.randint(1, 3))]
        lead["LastActivityDate"] = max(dates)


def _campaign(ctx: SeedContext, routing: Routing, kind: str) -> Record:
    rng = ctx.rng
    start = (ctx.now - timedelta(days=rng.randint(0, 360))).date()
    end = start + timedelta(days=_LENGTH_DAYS[kind])
    today = ctx.now.date()
    status = "Completed" if end < today else "In Progress"
    created = ctx.ago((today - start).days * DAY + rng.randint(7, 30) * DAY)
    owner = routing.rep(ctx)
    row: dict[str, Any] = {
        "Name": f"{kind} {start:%b %Y}: {rng.choice(TOPICS[kind])}"[:80], "Type": kind,
        "Status": status, "IsActive": status != "Completed", "StartDate": start, "EndDate": end,
    }  # fmt: skip
    return ctx.add("Campaign", stamp(row, created, created, owner, owner))


def _member(ctx: SeedContext, campaign: Record, lead: Record) -> None:
    start = datetime.combine(campaign["StartDate"], datetime.min.time(), ctx.now.tzinfo)
    when = ctx.past_moment(max(lead["CreatedDate"], start))
    status = str(weighted(ctx.rng, MEMBER_STATUSES[campaign["Type"]]))
    responded = status in RESPONDED
    row = {
        "CampaignId": campaign["Id"],
        "LeadId": lead["Id"],
        "Status": status,
        "HasResponded": responded,
        "FirstRespondedDate": when.date() if responded else None,
    }
    by = lead["CreatedById"]
    ctx.add("CampaignMember", stamp(row, when, when, by, by))


def _task(ctx: SeedContext, routing: Routing, lead: Record) -> date:
    kind, subject = ctx.rng.choice(_TASKS)
    end = lead["LastModifiedDate"] if lead.get("IsConverted") else ctx.ago(1)
    when = ctx.between(lead["CreatedDate"], end)
    owner = person_owner(ctx, routing, lead["OwnerId"])
    row = {"WhoId": lead["Id"], "OwnerId": owner, "Subject": subject, "Status": "Completed",
           "Priority": "Normal", "ActivityDate": when.date(), "Type": kind,
           "TaskSubtype": kind, "IsClosed": True}  # fmt: skip
    ctx.add("Task", stamp(row, when, when, owner, owner))
    return when.date()
