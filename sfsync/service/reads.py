"""Read-only queries the service side makes of the state store.

They live here, not in `sfsync.store`, because only health, metrics and the
status page need them; none of them writes. Every one is bounded: by a time
window, by a limit, or by one row per lead.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from sfsync.jobs.engagement import SOURCES
from sfsync.store import OutboxState, RunRow, Store
from sfsync.store.tables import (
    DecisionRow,
    EngagementEventRow,
    LeadState,
    OutboxKind,
    OutboxRow,
    RoutingLoadRow,
    RoutingMemberRow,
)

# Runs that prove the worker is alive: a cycle that completed, or one that stopped
# on purpose because the API budget is spent (restarting would not help it).
ALIVE_STATUSES = ("ok", "budget")
UNKNOWN_CODE = "UNKNOWN"
# Set once completed Tasks are mirrored (only when a behaviour rule scores Tasks).
TASK_MIRROR_CURSOR = SOURCES["Task"][0]
OWNER_FIELD = "OwnerId"
IN_CHUNK = 500


@dataclass(frozen=True)
class LeadFacts:
    """What the store knows of one lead for analytics; None where it records nothing."""

    lead_id: str
    score: float | None
    rating: str | None
    converted: bool
    deleted: bool
    owner: str | None = None
    status: str | None = None
    source: str | None = None


def last_finished_run(store: Store, statuses: Collection[str] | None = None) -> RunRow | None:
    """The newest finished (not dry) run, optionally only among `statuses`."""
    query = select(RunRow).where(
        col(RunRow.finished_at).is_not(None), col(RunRow.dry_run).is_(False)
    )
    if statuses is not None:
        query = query.where(col(RunRow.status).in_(list(statuses)))
    with store.session() as s:
        return s.exec(query.order_by(col(RunRow.finished_at).desc()).limit(1)).first()


def runs_with_usage(store: Store, limit: int) -> list[RunRow]:
    """The latest runs that reported the org's API usage, oldest first (for a chart)."""
    query = select(RunRow).where(col(RunRow.api_limit).is_not(None))
    with store.session() as s:
        rows = s.exec(query.order_by(col(RunRow.started_at).desc()).limit(limit))
        return list(reversed(list(rows)))


def dead_letter_codes(store: Store) -> dict[str, int]:
    """Every dead letter, counted by Salesforce error code."""
    query = (
        sa.select(col(OutboxRow.error_code), sa.func.count())
        .where(col(OutboxRow.state) == OutboxState.DEAD)
        .group_by(col(OutboxRow.error_code))
    )
    with store.session() as s:
        return {code or UNKNOWN_CODE: int(n) for code, n in s.execute(query).all()}


def failure_codes_since(store: Store, since: datetime) -> dict[str, int]:
    """Writes refused or deferred since `since` (dead or back in the queue), by error code."""
    query = (
        sa.select(col(OutboxRow.error_code), sa.func.count())
        .where(
            col(OutboxRow.updated_at) >= since,
            col(OutboxRow.error_code).is_not(None),
            col(OutboxRow.state).in_([OutboxState.DEAD, OutboxState.PENDING]),
        )
        .group_by(col(OutboxRow.error_code))
    )
    with store.session() as s:
        return {str(code): int(n) for code, n in s.execute(query).all()}


def write_lags_since(store: Store, since: datetime) -> list[float]:
    """Seconds from each lead version's SystemModstamp to its write, for writes since `since`."""
    query = select(OutboxRow.base_stamp, OutboxRow.updated_at).where(
        col(OutboxRow.state) == OutboxState.DONE, col(OutboxRow.updated_at) >= since
    )
    with store.session() as s:
        return [max(0.0, (done - base).total_seconds()) for base, done in s.exec(query)]


def lead_facts(store: Store) -> list[LeadFacts]:
    """One row per lead: its latest scored decision joined with its snapshot."""
    summary = col(DecisionRow.summary)
    latest = (
        sa.select(col(DecisionRow.lead_id), sa.func.max(col(DecisionRow.id)).label("id"))
        .where(summary["score"].as_float().is_not(None))
        .group_by(col(DecisionRow.lead_id))
        .subquery()
    )
    query = (
        sa.select(col(LeadState.lead_id), summary, col(LeadState.is_converted))
        .add_columns(col(LeadState.is_deleted))
        .select_from(LeadState)
        .outerjoin(latest, latest.c.lead_id == col(LeadState.lead_id))
        .outerjoin(DecisionRow, col(DecisionRow.id) == latest.c.id)
    )
    with store.session() as s:
        return [_facts(*row) for row in s.execute(query).all()]


def _facts(
    lead_id: str, summary: dict[str, Any] | None, converted: bool, deleted: bool
) -> LeadFacts:
    data = summary or {}
    score = data.get("score")
    return LeadFacts(
        lead_id=lead_id,
        score=float(score) if isinstance(score, int | float) else None,
        rating=_text(data.get("rating")),
        converted=bool(converted),
        deleted=bool(deleted),
        owner=_text(data.get("owner")),
        status=_text(data.get("status")),
        source=_text(data.get("source")),
    )


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


# -- routing: speed-to-lead, SLA and load ---------------------------------------------------


@dataclass(frozen=True)
class RoutedDecision:
    """A decision whose routing named an owner (`summary["routing"]["owner"]`)."""

    decision_id: int
    lead_id: str
    owner: str
    team: str | None
    need: str | None
    # The lead's CreatedDate; None when the decision did not record it.
    created: datetime | None
    # When routing chose the owner (a decision that keeps a pending routing carries its time).
    decided_at: datetime
    sla_due: datetime | None
    # False when the lead already had the chosen owner: there is no owner write to wait for.
    changes_owner: bool = True


@dataclass(frozen=True)
class OwnerWrite:
    """An owner change that reached the org: a done Lead update whose patch sets the owner."""

    decision_id: int
    lead_id: str
    landed_at: datetime


@dataclass(frozen=True)
class TaskTouch:
    """A completed Task on a lead, as mirrored; the mirror keeps no Task owner, so not who did it.

    `at` is the Task's SystemModstamp (closing a Task changes it, so it is at or
    after the completion); the event's `occurred_at` is the Task's ActivityDate,
    a date, which cannot tell an hour's SLA.
    """

    lead_id: str
    at: datetime


@dataclass(frozen=True)
class RoutingFacts:
    """Everything speed-to-lead, SLA compliance and load per rep are computed from."""

    since: datetime
    decisions: Sequence[RoutedDecision]
    writes: Sequence[OwnerWrite]
    touches: Sequence[TaskTouch]
    tasks_mirrored: bool
    # Open leads per owner as routing counts them (`sfsync_routing_load`).
    loads: dict[str, int]
    # (team, member, leads the team gave the member) from `sfsync_routing_member`.
    members: Sequence[tuple[str, str, int]]


def routing_facts(store: Store, since: datetime) -> RoutingFacts:
    """The routings decided since `since`, their owner writes, the leads' Tasks, and the loads."""
    decisions = routed_decisions(store, since)
    ids = {d.decision_id for d in decisions}
    writes = [w for w in owner_writes(store, since) if w.decision_id in ids]
    touches = task_touches(store, sorted({d.lead_id for d in decisions}), since)
    mirrored = bool(touches) or store.watermark(TASK_MIRROR_CURSOR) is not None
    loads, members = routing_loads(store)
    return RoutingFacts(since, decisions, writes, touches, mirrored, loads, members)


def first_id_since(
    store: Store, table: type[DecisionRow] | type[OutboxRow], since: datetime
) -> int | None:
    """The first id of `table` created at or after `since`, found by bisecting the primary key.

    `created_at` has no index, so filtering on it alone reads the whole table;
    ids grow with the insert clock, so bisecting finds the window's start in
    about log2(rows) primary-key look-ups. Callers still filter on
    `created_at`: a row stamped by a worker with a skewed clock, at the very
    edge of the window, can only be left out, never counted wrongly.
    """
    ident, made = col(table.id), col(table.created_at)
    with store.session() as s:
        low, high = s.execute(sa.select(sa.func.min(ident), sa.func.max(ident))).one()
        if high is None:
            return None
        while low < high:
            middle = (low + high) // 2
            found, at = s.execute(_first_from(ident, made, middle)).one()
            if at >= since:
                high = middle
            else:
                low = min(int(found) + 1, high)
        found, at = s.execute(_first_from(ident, made, low)).one()
    return int(found) if at >= since else None


def _first_from(ident: Any, made: Any, start: int) -> sa.Select[Any]:
    return sa.select(ident, made).where(ident >= start).order_by(ident).limit(1)


def routed_decisions(store: Store, since: datetime) -> list[RoutedDecision]:
    """Decisions since `since` whose routing named an owner, oldest first."""
    first = first_id_since(store, DecisionRow, since)
    if first is None:
        return []
    summary = col(DecisionRow.summary)
    query = (
        sa.select(col(DecisionRow.id), col(DecisionRow.lead_id), col(DecisionRow.created_at))
        .add_columns(summary)
        .where(col(DecisionRow.id) >= first, col(DecisionRow.created_at) >= since)
        .where(summary[("routing", "owner")].as_string().is_not(None))
        .order_by(col(DecisionRow.id))
    )
    with store.session() as s:
        return [_routed(*row) for row in s.execute(query).all()]


def _routed(
    decision_id: int, lead_id: str, stored_at: datetime, summary: dict[str, Any]
) -> RoutedDecision:
    routing = summary["routing"]
    # A re-decision that keeps a pending routing carries the original routing's time.
    routed_at = moment(routing.get("routed_at")) or moment(summary.get("decided_at"))
    return RoutedDecision(
        decision_id=int(decision_id),
        lead_id=lead_id,
        owner=str(routing["owner"]),
        team=_text(routing.get("team")),
        need=_text(routing.get("need")),
        created=moment(summary.get("created")),
        decided_at=routed_at or stored_at,
        sla_due=moment(routing.get("sla_due")),
        changes_owner=routing.get("changes_owner") is not False,
    )


def owner_writes(store: Store, since: datetime) -> list[OwnerWrite]:
    """Lead updates queued since `since` that set the owner and reached the org."""
    first = first_id_since(store, OutboxRow, since)
    if first is None:
        return []
    query = (
        sa.select(col(OutboxRow.decision_id), col(OutboxRow.lead_id), col(OutboxRow.updated_at))
        .where(col(OutboxRow.id) >= first, col(OutboxRow.created_at) >= since)
        .where(col(OutboxRow.state) == OutboxState.DONE, col(OutboxRow.kind) == OutboxKind.UPDATE)
        .where(col(OutboxRow.sobject) == "Lead")
        .where(col(OutboxRow.patch)[OWNER_FIELD].as_string().is_not(None))
    )
    with store.session() as s:
        return [OwnerWrite(int(d), lead, at) for d, lead, at in s.execute(query).all()]


def task_touches(store: Store, lead_ids: Sequence[str], since: datetime) -> list[TaskTouch]:
    """The live completed Tasks mirrored for these leads, changed since `since` (by lead id)."""
    table = EngagementEventRow
    stamp, occurred = col(table.stamp), col(table.occurred_at)
    touches: list[TaskTouch] = []
    with store.session() as s:
        for start in range(0, len(lead_ids), IN_CHUNK):
            query = (
                sa.select(col(table.lead_id), stamp, occurred)
                .where(col(table.lead_id).in_(lead_ids[start : start + IN_CHUNK]))
                .where(col(table.source) == "Task", col(table.deleted).is_(False))
                .where(sa.func.coalesce(stamp, occurred) >= since)
            )
            touches += [TaskTouch(str(lead), at or day) for lead, at, day in s.execute(query)]
    return touches


def routing_loads(store: Store) -> tuple[dict[str, int], list[tuple[str, str, int]]]:
    """Routing's open-lead count per owner, and each team member's assigned count (small tables)."""
    members = sa.select(
        col(RoutingMemberRow.team), col(RoutingMemberRow.member), col(RoutingMemberRow.assigned)
    )
    loads = sa.select(col(RoutingLoadRow.owner_id), col(RoutingLoadRow.open_leads))
    with store.session() as s:
        found = {str(owner): int(n) for owner, n in s.execute(loads)}
        listed = [(str(t), str(m), int(n)) for t, m, n in s.execute(members)]
    return found, listed


def moment(value: Any) -> datetime | None:
    """An aware datetime from a stored ISO string (naive ones are UTC); None if not one."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
