"""The state store's tables. Alembic migrations in `sfsync/migrations` create them.

Timestamps are stored as naive UTC (SQLite has no time zones) and come back
aware; JSON columns hold field values as the org sent them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the store only keeps timezone-aware datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


def utcnow() -> datetime:
    """Now, aware UTC (the store's own bookkeeping; rules never read the clock)."""
    return datetime.now(UTC)


def _dt(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


def _json(**kw: Any) -> Any:
    return Field(sa_type=sa.JSON, **kw)


class OutboxKind(StrEnum):
    """What an outbox row asks of the org."""

    UPDATE = "update"  # a Collections update of `sobject`
    CONVERT = "convert"  # a convertLead of the lead
    CREATE = "create"  # a Collections insert of `sobject` (the routing's SLA Task); lead_id = lead
    NOTIFY = "notify"  # a hot-lead message to the chat webhook; lead_id = lead
    MERGE = "merge"  # a SOAP merge() of duplicate leads; lead_id = the lead merged away


class OutboxState(StrEnum):
    """Life of an outbox row: staged → pending → sending → done | dead (| superseded)."""

    # Decided, waiting for the re-check that makes sure nobody changed the lead since.
    STAGED = "staged"
    PENDING = "pending"
    SENDING = "sending"  # handed to the org; outcome unknown until recorded
    DONE = "done"
    DEAD = "dead"  # the org refused it: a dead letter, retryable by hand
    SUPERSEDED = "superseded"  # a newer decision for the lead replaced it
    DROPPED = "dropped"  # a dead letter an operator chose to give up on


class Cursor(SQLModel, table=True):
    """A pull watermark: the highest SystemModstamp fully recorded."""

    __tablename__ = "sfsync_cursor"

    name: str = Field(primary_key=True, max_length=64)
    watermark: datetime | None = _dt(default=None)
    updated_at: datetime = _dt(default_factory=utcnow)


class LeadState(SQLModel, table=True):
    """What sfsync knows of one lead: the version last decided and the values it wrote."""

    __tablename__ = "sfsync_lead_state"

    lead_id: str = Field(primary_key=True, max_length=18)
    system_modstamp: datetime = _dt()
    input_hash: str = Field(max_length=64)
    last_written: dict[str, Any] = _json(default_factory=dict)
    is_deleted: bool = False
    is_converted: bool = False
    # How sfsync last routed the lead (owner, rule, team, follow-ups; see jobs.route_page):
    # kept so that a re-decision while the owner write is pending does not route it twice.
    routing: dict[str, Any] | None = _json(default=None)
    # The user whose open-lead load this lead counts in (released when it closes or moves).
    load_owner: str | None = Field(default=None, max_length=18)
    # When the routed owner's SLA runs out: an untouched lead is routed again then.
    reroute_at: datetime | None = _dt(default=None, index=True)
    updated_at: datetime = _dt(default_factory=utcnow)


class DecisionRow(SQLModel, table=True):
    """A decision and its reasons: the audit trail `sfsync explain` reads."""

    __tablename__ = "sfsync_decision"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True, max_length=36)
    lead_id: str = Field(index=True, max_length=18)
    base_stamp: datetime = _dt()
    input_hash: str = Field(max_length=64)
    rules_version: str = Field(max_length=32)
    changes: dict[str, Any] = _json(default_factory=dict)
    reasons: list[dict[str, Any]] = _json(default_factory=list)
    summary: dict[str, Any] = _json(default_factory=dict)
    skipped: dict[str, Any] = _json(default_factory=dict)
    created_at: datetime = _dt(default_factory=utcnow)


class OutboxRow(SQLModel, table=True):
    """One write to make, durable before it is sent; unique per lead version and patch."""

    __tablename__ = "sfsync_outbox"
    __table_args__ = (
        sa.UniqueConstraint(
            "lead_id",
            "kind",
            "patch_hash",
            "rules_version",
            "base_stamp",
            name="uq_outbox_idempotency",
        ),
        sa.Index("ix_outbox_state_id", "state", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = Field(foreign_key="sfsync_decision.id")
    run_id: str = Field(max_length=36)
    lead_id: str = Field(index=True, max_length=18)
    sobject: str = Field(default="Lead", max_length=40)
    kind: str = Field(default="update", max_length=16)
    patch: dict[str, Any] = _json(default_factory=dict)
    # The values the patch replaces, as read when deciding (undo restores them).
    before: dict[str, Any] = _json(default_factory=dict)
    # What the org answered beyond success (e.g. ids of records a conversion created).
    result: dict[str, Any] | None = _json(default=None)
    patch_hash: str = Field(max_length=64)
    rules_version: str = Field(max_length=32)
    base_stamp: datetime = _dt()
    state: str = Field(default=OutboxState.STAGED, max_length=16)
    # The worker (its liveness key) that is sending the row.
    claimed_by: int | None = Field(default=None, sa_type=sa.BigInteger)
    attempts: int = 0
    error_code: str | None = Field(default=None, max_length=80)
    error_message: str | None = Field(default=None)
    error_fields: list[str] = _json(default_factory=list)
    created_at: datetime = _dt(default_factory=utcnow)
    updated_at: datetime = _dt(default_factory=utcnow)


def new_outbox_values(now: datetime, **values: Any) -> dict[str, Any]:
    """A new outbox row's columns for a Core insert, with the defaults the ORM would fill in.

    `values` must name decision_id, run_id, lead_id, patch, patch_hash,
    rules_version and base_stamp; the rest default to a pending Lead update.
    """
    return {
        "sobject": "Lead", "kind": OutboxKind.UPDATE, "before": {}, "result": None,
        "state": OutboxState.PENDING, "claimed_by": None, "attempts": 0, "error_code": None,
        "error_message": None, "error_fields": [], "created_at": now, "updated_at": now,
        **values,
    }  # fmt: skip


class Lease(SQLModel, table=True):
    """Who may pull right now: one holder at a time, taken over when it stops renewing."""

    __tablename__ = "sfsync_lease"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=64)
    expires_at: datetime = _dt()
    heartbeat_at: datetime = _dt(default_factory=utcnow)


class RunRow(SQLModel, table=True):
    """One sync cycle: when, how it ended, what it did and what it cost."""

    __tablename__ = "sfsync_run"

    id: str = Field(primary_key=True, max_length=36)
    started_at: datetime = _dt(default_factory=utcnow)
    finished_at: datetime | None = _dt(default=None)
    status: str = Field(default="running", max_length=16)
    dry_run: bool = False
    pulled: int = 0
    decided: int = 0
    written: int = 0
    rejected: int = 0
    retry_later: int = 0
    api_calls: int = 0
    api_used: int | None = None
    api_limit: int | None = None
    error: str | None = None


class RoutingTeamRow(SQLModel, table=True):
    """A routing team's lock row and the number of leads it has given out."""

    __tablename__ = "sfsync_routing_team"

    team: str = Field(primary_key=True, max_length=64)
    picks: int = Field(default=0, sa_type=sa.BigInteger)
    updated_at: datetime = _dt(default_factory=utcnow)


class RoutingMemberRow(SQLModel, table=True):
    """One team member's round-robin credit and the leads the team gave them."""

    __tablename__ = "sfsync_routing_member"

    team: str = Field(primary_key=True, max_length=64)
    member: str = Field(primary_key=True, max_length=80)
    credit: int = Field(default=0, sa_type=sa.BigInteger)
    assigned: int = Field(default=0, sa_type=sa.BigInteger)
    updated_at: datetime = _dt(default_factory=utcnow)


class RoutingLoadRow(SQLModel, table=True):
    """Open leads an owner holds, whichever team gave them (caps and least-loaded)."""

    __tablename__ = "sfsync_routing_load"

    owner_id: str = Field(primary_key=True, max_length=80)
    open_leads: int = Field(default=0, sa_type=sa.BigInteger)
    updated_at: datetime = _dt(default_factory=utcnow)


class EngagementEventRow(SQLModel, table=True):
    """One thing a lead did: an imported feed event, or a mirrored campaign response or Task.

    Mirrored rows (source CampaignMember or Task) are kept in step with the org
    by their own watermark, so a cycle reads engagement here instead of asking
    the org for every page of leads. `pending` marks rows whose lead must be
    decided again; a `deleted` row is kept until that is done.
    """

    __tablename__ = "sfsync_engagement_event"

    id: int | None = Field(default=None, primary_key=True)
    # Idempotency: a hash of an imported event's content, or "<source>:<record id>".
    key: str = Field(max_length=64, unique=True)
    source: str = Field(max_length=16)
    source_id: str | None = Field(default=None, max_length=18)
    lead_id: str | None = Field(default=None, max_length=18, index=True)
    email: str | None = Field(default=None, max_length=254, index=True)
    kind: str = Field(max_length=32)
    occurred_at: datetime = _dt()
    detail: str | None = Field(default=None, max_length=255)
    # The org's SystemModstamp of a mirrored row: an unchanged stamp is nothing new.
    stamp: datetime | None = _dt(default=None)
    deleted: bool = False
    pending: bool = Field(default=True, index=True)
    # The lead a mirrored row belonged to before it moved to another one (it needs a decision too).
    former_lead_id: str | None = Field(default=None, max_length=18)
    created_at: datetime = _dt(default_factory=utcnow)
    updated_at: datetime = _dt(default_factory=utcnow)


class MirrorRow(SQLModel, table=True):
    """One Lead, Contact or Account as matching needs it, with its blocking keys indexed.

    `fields` holds the compared values in Lead field names (a Contact's
    mailing address, its account's name as Company). The key columns are
    the only way candidates are found: each has an index, so retrieval is a
    lookup, never a scan (tests/store/test_mirror.py reads the query plans).
    """

    __tablename__ = "sfsync_mirror"
    __table_args__ = (
        sa.Index("ix_mirror_email_key", "email_key"),
        sa.Index("ix_mirror_phone_key", "phone_key"),
        sa.Index("ix_mirror_name_company", "name_key", "company_key"),
        sa.Index("ix_mirror_domain", "sobject", "email_domain"),
        sa.Index("ix_mirror_company", "company_key", "sobject"),
        sa.Index("ix_mirror_master", "master_record_id"),
    )

    id: str = Field(primary_key=True, max_length=18)
    sobject: str = Field(max_length=16)
    is_deleted: bool = False
    # Converted leads are not candidates: the contact made from them is.
    is_converted: bool = False
    master_record_id: str | None = Field(default=None, max_length=18)
    owner_id: str | None = Field(default=None, max_length=18)
    account_id: str | None = Field(default=None, max_length=18)
    created_date: datetime | None = _dt(default=None)
    system_modstamp: datetime | None = _dt(default=None)
    fields: dict[str, Any] = _json(default_factory=dict)
    email_key: str | None = Field(default=None, max_length=160)
    email_domain: str | None = Field(default=None, max_length=255)
    phone_key: str | None = Field(default=None, max_length=24)
    name_key: str | None = Field(default=None, max_length=64)
    company_key: str | None = Field(default=None, max_length=64)
    # When a backfill last saw the record: a full backfill retires what it did not see.
    synced_at: datetime = _dt(default_factory=utcnow)


class CaptureLedgerRow(SQLModel, table=True):
    """One captured candidate (a spreadsheet row or a form submission), by its idempotency key.

    `state` is "planned" once decided and routed, "sending" from just before the
    create request until its outcome is known, then "done". A "sending" row left
    by a crash is resolved by looking the lead up with `lookup` (LastName,
    Company, Email) before anything is sent again (sfsync/store/capture.py,
    docs/CAPTURE.md).
    """

    __tablename__ = "sfsync_capture_ledger"

    key: str = Field(primary_key=True, max_length=255)
    source: str = Field(max_length=80)
    state: str = Field(max_length=16, index=True)
    action: str | None = Field(default=None, max_length=16)
    record_id: str | None = Field(default=None, max_length=18)
    matched_id: str | None = Field(default=None, max_length=18)
    reasons: list[str] | None = _json(default=None)
    lookup: dict[str, Any] | None = _json(default=None)
    # While "sending": the exact create values, owner and routing, so a resend sends the same.
    plan: dict[str, Any] | None = _json(default=None)
    # The worker (Liveness key) working on a planned or sending row: others leave it alone.
    claimed_by: int | None = Field(default=None, sa_type=sa.BigInteger)
    created_at: datetime = _dt(default_factory=utcnow)
    updated_at: datetime = _dt(default_factory=utcnow)


class IntakeSubmissionRow(SQLModel, table=True):
    """One web-form submission, queued (committed) before the endpoint answers.

    queued → processing (claimed, with a lease) → done | dead. A claim whose
    lease ran out (its worker died) is claimed again; capture's ledger, keyed
    by "form:<submission_id>", makes the second pass harmless.
    See sfsync/store/intake.py and docs/CAPTURE.md.
    """

    __tablename__ = "sfsync_intake_submission"
    __table_args__ = (sa.Index("ix_intake_state_due", "state", "next_attempt_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    submission_id: str = Field(max_length=36, unique=True)
    form: str = Field(max_length=64)
    source: str = Field(max_length=80)
    # Lead field values (API names) as mapped from the form; never rendered, only sent.
    values: dict[str, Any] = _json(default_factory=dict)
    client_ip: str | None = Field(default=None, max_length=64)
    state: str = Field(default="queued", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = _dt(default_factory=utcnow)
    claim_token: str | None = Field(default=None, max_length=32)
    lease_until: datetime | None = _dt(default=None)
    action: str | None = Field(default=None, max_length=16)
    record_id: str | None = Field(default=None, max_length=18)
    matched_id: str | None = Field(default=None, max_length=18)
    reason: str | None = Field(default=None)
    created_at: datetime = _dt(default_factory=utcnow)
    updated_at: datetime = _dt(default_factory=utcnow)
