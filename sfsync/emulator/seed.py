"""Seeded orgs: a realistic, deterministic Salesforce org of any size, with ground truth.

`build_org(leads, seed)` makes users, queues, lead statuses, accounts,
contacts, opportunities, campaigns, tasks and exactly `leads` Lead records
(deleted, merged, converted and planted duplicates included). The same
(leads, seed) gives the same records and ids; timestamps are relative to the
org's clock at build time (CreatedDate over the past 365 days, everything in
the past, whole seconds, UTC).

How the data is made lives in the `seed_*` modules, one concern each:
regions, words and pools (what values look like), companies and persons,
lifecycle (dates, status, owner), conversion (the known model behind
historical conversions), accounts, duplicates and planting (ground truth),
engagement (campaigns and tasks).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from random import Random

from sfsync.emulator.org import Clock, Org, OrgSettings, system_clock
from sfsync.emulator.schema import STANDARD_OBJECTS, OrgSchema
from sfsync.emulator.seed_accounts import AccountBook
from sfsync.emulator.seed_companies import CompanyMaker
from sfsync.emulator.seed_context import DAY, SeedContext
from sfsync.emulator.seed_conversion import MIN_AGE_DAYS, was_converted
from sfsync.emulator.seed_duplicates import DUPLICATE_KINDS, DuplicateTruth
from sfsync.emulator.seed_engagement import add_campaigns, add_members, add_tasks
from sfsync.emulator.seed_leads import SeededLead, add_leads
from sfsync.emulator.seed_lifecycle import Routing, mark_deleted
from sfsync.emulator.seed_persons import PersonMaker
from sfsync.emulator.seed_planting import Planter, contact_originals
from sfsync.emulator.seed_pools import build_pools
from sfsync.emulator.seed_setup import STATUS_NAMES, add_queues, add_statuses, add_users

__all__ = ["DUPLICATE_KINDS", "DuplicateTruth", "SeededOrg", "build_org", "seeded_schema"]

DUPLICATE_SHARE = 0.05
MERGED_SHARE = 0.005
DELETED_SHARE = 0.02
JUNK_DELETED_SHARE = 0.25
LEADS_PER_COMPANY = 3
LEADS_PER_ACCOUNT = 10
MIN_COMPANIES, MIN_ACCOUNTS = 12, 5
# Objects in load order: referenced objects before the ones pointing at them.
LOAD_ORDER = ("User", "Group", "QueueSobject", "LeadStatus", "Account", "Contact",
              "Opportunity", "Lead", "Campaign", "CampaignMember", "Task")  # fmt: skip


@dataclass
class SeededOrg:
    """A built org and what tests need to know about it."""

    org: Org
    # The active user the worker logs in as (integration@sfsync.example.com).
    integration_user_id: str
    # Active sales reps and the admin: the people who edit leads.
    human_user_ids: list[str]
    inactive_user_ids: list[str]
    # Queue Name -> Group id; "Support Tier 1" takes cases only, not leads.
    queue_ids: dict[str, str]
    duplicates: list[DuplicateTruth]
    # Test and keyboard-mash sign-ups ("test test", "asdf"): not prospects, not duplicates.
    junk_lead_ids: list[str] = field(default_factory=list)


def seeded_schema() -> OrgSchema:
    """The standard schema with Lead.Status listing the seeded LeadStatus values."""
    lead = STANDARD_OBJECTS["Lead"]
    status = replace(lead.fields["Status"], picklist=STATUS_NAMES)
    return OrgSchema(objects={**STANDARD_OBJECTS, "Lead": lead.with_fields([status])})


def build_org(
    leads: int,
    seed: int = 42,
    *,
    settings: OrgSettings | None = None,
    clock: Clock = system_clock,
) -> SeededOrg:
    """A seeded org with exactly `leads` Lead records, the same for the same (leads, seed)."""
    org = Org(seeded_schema(), settings=settings, clock=clock)
    ctx = _context(org, seed)
    staff = add_users(ctx)
    add_statuses(ctx, staff.admin_id)
    routing = Routing(staff, add_queues(ctx, staff.admin_id))
    routing.rep_weights = [ctx.rng.uniform(0.3, 3.0) for _ in staff.rep_ids]
    duplicates, junk = _people_and_leads(ctx, routing, leads)
    for sobject in LOAD_ORDER:
        org.load(sobject, ctx.rows.get(sobject, []))
    return SeededOrg(
        org=org,
        integration_user_id=staff.integration_id,
        human_user_ids=staff.human_ids,
        inactive_user_ids=staff.inactive_ids,
        queue_ids=dict(routing.queues),
        duplicates=duplicates,
        junk_lead_ids=junk,
    )


def lead_counts(leads: int) -> tuple[int, int, int]:
    """(ordinary, planted duplicate, merged) leads adding up to `leads`."""
    duplicates = round(leads * DUPLICATE_SHARE)
    merged = round(leads * MERGED_SHARE)
    if leads >= 20:
        duplicates, merged = max(duplicates, 1), max(merged, 1)
    return leads - duplicates - merged, duplicates, merged


def _context(org: Org, seed: int) -> SeedContext:
    rng = Random(seed)
    pools = build_pools(seed)
    now = org.now().replace(microsecond=0)
    return SeedContext(
        org=org, rng=rng, now=now, pools=pools,
        companies=CompanyMaker(rng, pools), people=PersonMaker(rng, pools),
    )  # fmt: skip


def _people_and_leads(
    ctx: SeedContext, routing: Routing, leads: int
) -> tuple[list[DuplicateTruth], list[str]]:
    base, duplicate_count, merged_count = lead_counts(leads)
    companies = ctx.companies.many(max(MIN_COMPANIES, leads // LEADS_PER_COMPANY))
    seeded = add_leads(ctx, base, companies, routing)
    book = AccountBook(ctx, routing)
    for lead in seeded:
        if _eligible(ctx, lead) and _converts(ctx, lead):
            book.convert(lead)
    book.fill(companies, max(MIN_ACCOUNTS, leads // LEADS_PER_ACCOUNT))
    _delete_some(ctx, routing, seeded)
    planter = Planter(ctx, routing, seeded, contact_originals(ctx, book))
    duplicates = planter.duplicates(duplicate_count)
    planter.merged(merged_count)
    lead_rows = ctx.rows.get("Lead", [])
    add_members(ctx, add_campaigns(ctx, routing, leads), lead_rows)
    add_tasks(ctx, routing, lead_rows)
    return duplicates, [s.row["Id"] for s in seeded if s.kind == "junk"]


def _eligible(ctx: SeedContext, lead: SeededLead) -> bool:
    """Only real prospects old enough to have been worked can have been converted."""
    age = (ctx.now - lead.row["CreatedDate"]).total_seconds() / DAY
    return lead.kind == "prospect" and age > MIN_AGE_DAYS


def _converts(ctx: SeedContext, lead: SeededLead) -> bool:
    return was_converted(ctx.rng, lead.row)


def _delete_some(ctx: SeedContext, routing: Routing, seeded: list[SeededLead]) -> None:
    """Send some unconverted leads to the recycle bin, junk far more often."""
    for lead in seeded:
        share = JUNK_DELETED_SHARE if lead.kind == "junk" else DELETED_SHARE
        if not lead.row.get("IsConverted") and ctx.rng.random() < share:
            mark_deleted(ctx, lead.row, routing)
