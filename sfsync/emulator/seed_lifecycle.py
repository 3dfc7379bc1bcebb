"""Where a seeded lead is in its life: when it came in, who owns it, how far it got.

Owners are uneven on purpose (some reps hold far more leads than others),
a share waits in queues, a few belong to the integration user or to people
who have since left the company: all cases a router meets in a real org.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sfsync.emulator.org import Record
from sfsync.emulator.seed_companies import weighted
from sfsync.emulator.seed_context import DAY, SeedContext, Staff, stamp
from sfsync.emulator.seed_conversion import MIN_AGE_DAYS
from sfsync.emulator.seed_regions import Region
from sfsync.emulator.seed_setup import DEFAULT_STATUS

MAX_AGE_DAYS = 365
MIN_AGE_SECONDS = 60

# Status of unconverted leads by age; conversion is decided separately.
RECENT_STATUSES = (
    (DEFAULT_STATUS, 60.0), ("Working - Contacted", 25.0), ("Marketing Qualified", 8.0),
    ("Nurturing", 7.0),
)  # fmt: skip
OLDER_STATUSES = (
    (DEFAULT_STATUS, 30.0), ("Working - Contacted", 25.0), ("Nurturing", 15.0),
    ("Marketing Qualified", 8.0), ("Closed - Not Converted", 22.0),
)  # fmt: skip

# Cumulative shares of owners that are not an ordinary active rep.
INTAKE_SHARE = 0.10
NURTURE_SHARE = 0.13
REGIONAL_QUEUE_SHARE = 0.16
INTEGRATION_SHARE = 0.18
INACTIVE_SHARE = 0.19
_APAC = frozenset({"JP", "CN"})
# Lead sources that arrive through a form or an import rather than a person.
_FORM_SOURCES = frozenset({"Web", "Advertisement"})


@dataclass
class Routing:
    """Who can own leads, and how unevenly the reps are loaded."""

    staff: Staff
    queues: dict[str, str]
    rep_weights: list[float] = field(default_factory=list)

    def rep(self, ctx: SeedContext) -> str:
        """An active rep, busier reps more often."""
        weights = self.rep_weights or [1.0] * len(self.staff.rep_ids)
        return ctx.rng.choices(self.staff.rep_ids, weights=weights)[0]


def lifecycle(
    ctx: SeedContext,
    row: Record,
    routing: Routing,
    region: Region | None,
    created: datetime | None = None,
) -> None:
    """Give a new lead its creation time (random unless given), status, owner and audit fields."""
    rng = ctx.rng
    created = created or ctx.ago(rng.randint(MIN_AGE_SECONDS, MAX_AGE_DAYS * DAY))
    age_days = (ctx.now - created).total_seconds() / DAY
    status = str(weighted(rng, RECENT_STATUSES if age_days < MIN_AGE_DAYS else OLDER_STATUSES))
    owner = owner_for(ctx, routing, region)
    if owner == routing.queues["Marketing Nurture"]:
        status = "Nurturing"
    elif owner in routing.queues.values():
        status = DEFAULT_STATUS
    creator = _creator(ctx, routing, row.get("LeadSource"), owner)
    untouched = status == DEFAULT_STATUS and rng.random() < 0.5
    modified = created if untouched else ctx.past_moment(created)
    editor = creator if modified == created else _editor(ctx, routing, owner)
    row["Status"] = status
    row["OwnerId"] = owner
    row["IsUnreadByOwner"] = status == DEFAULT_STATUS and owner.startswith("005") and untouched
    stamp(row, created, modified, creator, editor)


def owner_for(ctx: SeedContext, routing: Routing, region: Region | None) -> str:
    """The owner of an open lead: mostly reps, some queues, a few odd cases."""
    roll = ctx.rng.random()
    queues, staff = routing.queues, routing.staff
    if roll < INTAKE_SHARE:
        return queues["Lead Intake"]
    if roll < NURTURE_SHARE:
        return queues["Marketing Nurture"]
    if roll < REGIONAL_QUEUE_SHARE and region is not None and region.emea:
        return queues["EMEA Sales"]
    if roll < REGIONAL_QUEUE_SHARE and region is not None and region.key in _APAC:
        return queues["APAC Sales"]
    if REGIONAL_QUEUE_SHARE <= roll < INTEGRATION_SHARE:
        return staff.integration_id
    if INTEGRATION_SHARE <= roll < INACTIVE_SHARE:
        return ctx.rng.choice(staff.inactive_ids)
    if region is not None and region.emea and ctx.rng.random() < 0.6:
        return ctx.rng.choice(staff.emea_rep_ids)
    return routing.rep(ctx)


def person_owner(ctx: SeedContext, routing: Routing, owner: str) -> str:
    """The person who works a lead: its owner if an active human, else some rep."""
    return owner if owner in routing.staff.human_ids else routing.rep(ctx)


def _creator(ctx: SeedContext, routing: Routing, source: object, owner: str) -> str:
    if source in _FORM_SOURCES:
        return routing.staff.integration_id
    if source == "Purchased List":
        return routing.staff.admin_id
    return person_owner(ctx, routing, owner)


def _editor(ctx: SeedContext, routing: Routing, owner: str) -> str:
    if ctx.rng.random() < 0.1:
        return routing.staff.integration_id
    return person_owner(ctx, routing, owner)


def mark_deleted(ctx: SeedContext, row: Record, routing: Routing) -> None:
    """Move a lead to the recycle bin some time after its last edit."""
    when = ctx.past_moment(row["LastModifiedDate"])
    row["IsDeleted"] = True
    stamp(row, row["CreatedDate"], when, row["CreatedById"], routing.rep(ctx))
