"""The state store: watermark, lead snapshots, decisions, outbox, dead letters and runs.

Promises it keeps for the sync job:
- a page's decisions, their outbox rows and the advanced watermark are
  committed in one transaction (`record_page`), so a crash loses nothing and
  repeats nothing;
- an outbox row is marked `sending` before it goes to the org, so after a
  crash its unknown outcome is checked rather than guessed;
- SQLite (one worker) and PostgreSQL (several) behave the same.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from sfsync.errors import StoreUnavailable
from sfsync.models import Decision, Lead, WriteOutcome, WriteResult
from sfsync.routing_state import LeadRouting, PageRouting
from sfsync.store.engine import make_engine, migrate
from sfsync.store.events import EngagementStore
from sfsync.store.followups import after_owner_write, queue_ready
from sfsync.store.routing import apply_delta, lock_snapshot
from sfsync.store.tables import (
    Cursor,
    DecisionRow,
    LeadState,
    OutboxKind,
    OutboxRow,
    OutboxState,
    RunRow,
    utcnow,
)
from sfsync.store.workers import Liveness

__all__ = ["LeadState", "OutboxKind", "OutboxRow", "OutboxState", "RunRow", "Store"]

IN_CHUNK = 500
# Errors that mean "the database is not there", not "this statement is wrong".
DISCONNECTS = (sa.exc.OperationalError, sa.exc.InterfaceError)


def unavailable(exc: Exception) -> StoreUnavailable:
    """A StoreUnavailable that names the failure but never the URL or its password."""
    kind = type(getattr(exc, "orig", None) or exc).__name__
    return StoreUnavailable(f"the state database did not answer ({kind})")


LIVE_STATES = (OutboxState.STAGED, OutboxState.PENDING, OutboxState.SENDING)
_DECISION_KINDS = (OutboxKind.UPDATE, OutboxKind.CONVERT)


def _chunks(items: Sequence[str], size: int = IN_CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Store:
    """Access to the state database named by SFSYNC_DATABASE_URL."""

    def __init__(self, url: str, *, upgrade: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        try:
            if upgrade:
                migrate(self.engine)
            self.liveness = Liveness(self.engine)
        except DISCONNECTS as exc:
            self.engine.dispose()
            raise unavailable(exc) from None
        # Engagement events: the imported feed and the org's mirrored engagement.
        self.events = EngagementStore(self.session)

    def close(self) -> None:
        """Release the worker's locks and the database connections."""
        self.liveness.close()
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                yield session
        except DISCONNECTS as exc:
            raise unavailable(exc) from None

    def refresh_liveness(self) -> None:
        """Re-take this worker's locks if the database dropped its connection (a restart)."""
        try:
            self.liveness.refresh()
        except DISCONNECTS as exc:
            raise unavailable(exc) from None

    # -- watermark and lead snapshots --------------------------------------------

    def watermark(self, name: str) -> datetime | None:
        """The cursor's watermark, None before the first pull."""
        with self.session() as s:
            cursor = s.get(Cursor, name)
            return cursor.watermark if cursor else None

    def set_watermark(self, name: str, value: datetime | None) -> None:
        """Move a cursor (used to reset it for a full re-pull)."""
        with self.session() as s:
            _advance(s, name, value, force=True)

    def lead_states(self, ids: Collection[str]) -> dict[str, LeadState]:
        """Snapshots of the given leads, by id."""
        found: dict[str, LeadState] = {}
        with self.session() as s:
            for chunk in _chunks(sorted(ids)):
                rows = s.exec(select(LeadState).where(col(LeadState.lead_id).in_(chunk)))
                found.update({row.lead_id: row for row in rows})
        return found

    def reroute_due(self, now: datetime, limit: int = 2000) -> list[str]:
        """Leads whose SLA re-routing time has come (oldest first), live ones only."""
        with self.session() as s:
            query = (
                select(LeadState.lead_id)
                .where(col(LeadState.reroute_at) <= now)
                .where(col(LeadState.is_deleted).is_(False), col(LeadState.is_converted).is_(False))
                .order_by(col(LeadState.reroute_at))
                .limit(limit)
            )
            return list(s.exec(query))

    def record_page(
        self,
        run_id: str,
        leads: Sequence[Lead],
        decisions: Sequence[Decision],
        cursor: tuple[str, datetime] | None,
        *,
        routing: PageRouting | None = None,
    ) -> int:
        """Commit a page at once: snapshots, decisions, outbox rows, watermark; rows queued.

        With `routing`, the teams' rows are locked first, the page is routed on
        their state, and the state change is applied in the same commit.
        """
        with self.session() as s:
            remember: Mapping[str, LeadRouting] = {}
            if routing is not None:
                conn = s.connection()
                routed = routing.route(lock_snapshot(conn, routing.teams))
                apply_delta(conn, routed.delta)
                decisions, remember = routed.decisions, routed.leads
            _save_snapshots(s, leads, {d.lead_id: d for d in decisions}, remember)
            queued, ids = _save_decisions(s, run_id, decisions)
            queued += queue_ready(s, run_id, decisions, ids)
            if cursor is not None:
                _advance(s, cursor[0], cursor[1])
        return queued

    # -- outbox ------------------------------------------------------------------

    def outbox(self, state: OutboxState, limit: int | None = None) -> list[OutboxRow]:
        """Rows in a state, oldest first."""
        with self.session() as s:
            query = select(OutboxRow).where(OutboxRow.state == state).order_by(col(OutboxRow.id))
            return list(s.exec(query.limit(limit) if limit else query))

    def release_staged(self) -> int:
        """Staged rows become sendable: call right after the re-check of changed leads."""
        with self.session() as s:
            result = s.execute(
                sa.update(OutboxRow)
                .where(col(OutboxRow.state) == OutboxState.STAGED)
                .values(state=OutboxState.PENDING, updated_at=utcnow())
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def release_claimed(self, rows: Sequence[OutboxRow]) -> int:
        """Claimed rows not sent after all go back to pending (untouched, no attempt counted)."""
        ids = [r.id for r in rows if r.id is not None]
        if not ids:
            return 0
        with self.session() as s:
            result = s.execute(
                sa.update(OutboxRow)
                .where(col(OutboxRow.id).in_(ids), col(OutboxRow.state) == OutboxState.SENDING)
                .values(state=OutboxState.PENDING, claimed_by=None, updated_at=utcnow())
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def claim(
        self, limit: int, kind: OutboxKind = OutboxKind.UPDATE, skip: Collection[int] = ()
    ) -> list[OutboxRow]:
        """Take up to `limit` pending rows for sending, marked `sending` before they go out.

        On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets several workers claim at
        once without ever claiming the same row.
        """
        with self.session() as s:
            query = (
                select(OutboxRow)
                .where(col(OutboxRow.state) == OutboxState.PENDING, OutboxRow.kind == kind)
                .order_by(col(OutboxRow.id))
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            if kind is OutboxKind.CONVERT:
                # A converted lead refuses updates: its waiting updates go first.
                query = query.where(~_live_update_for_same_lead())
            if skip:
                query = query.where(col(OutboxRow.id).not_in(list(skip)))
            rows = list(s.exec(query))
            for row in rows:
                row.state, row.claimed_by, row.updated_at = (
                    OutboxState.SENDING,
                    self.liveness.key,
                    utcnow(),
                )
                s.add(row)
            return rows

    def orphaned_in_flight(self) -> list[OutboxRow]:
        """Rows left `sending` by a dead worker, or by this one's failed earlier cycle.

        Cycles of one worker never overlap, so at the start of a cycle this
        worker's own `sending` rows are leftovers too.
        """
        rows = self.outbox(OutboxState.SENDING)
        mine = self.liveness.key
        dead = {k for k in {r.claimed_by for r in rows} if k == mine or self.liveness.is_dead(k)}
        return [r for r in rows if r.claimed_by in dead]

    def record_results(
        self, rows: Sequence[OutboxRow], results: Sequence[WriteResult], max_attempts: int
    ) -> None:
        """Apply the org's answers: done rows update the lead's last-written values."""
        by_lead = {r.lead_id: r for r in results}
        pairs = [(row, by_lead[row.lead_id]) for row in rows if row.lead_id in by_lead]
        self.record_each(pairs, max_attempts)

    def record_each(
        self, pairs: Sequence[tuple[OutboxRow, WriteResult]], max_attempts: int
    ) -> None:
        """Apply answers matched to their rows already (rows without one stay `sending`)."""
        with self.session() as s:
            # One query each for the rows and their leads, not one per row; holding them
            # keeps them in the session's (weak) identity map, where `get` finds them.
            loaded = _preload(s, [row for row, _ in pairs])
            for row, result in pairs:
                _apply_result(s, row, result, max_attempts)
            del loaded

    def resolve_in_flight(
        self,
        row: OutboxRow,
        state: OutboxState,
        created: dict[str, str] | None = None,
        landed: Mapping[str, Any] | None = None,
    ) -> None:
        """Settle a row whose send outcome was unknown, after checking the org.

        `landed` names fields the org holds as the row sent them: they are
        sfsync's own values even when the row as a whole is superseded.
        """
        with self.session() as s:
            fresh = s.get(OutboxRow, row.id)
            if fresh is None:
                return
            fresh.state, fresh.updated_at = state, utcnow()
            if created:
                fresh.result = created
            if state is OutboxState.DONE:
                _remember_written(s, fresh)
            elif landed:
                _remember_values(s, fresh.lead_id, landed)
            s.add(fresh)

    def retry_dead(self, ids: Sequence[int] | None = None) -> int:
        """Put dead letters back in the queue (all of them when `ids` is None)."""
        with self.session() as s:
            query = sa.update(OutboxRow).where(col(OutboxRow.state) == OutboxState.DEAD)
            if ids is not None:
                query = query.where(col(OutboxRow.id).in_(ids))
            result = s.execute(query.values(state=OutboxState.PENDING, attempts=0))
            return int(result.rowcount)  # type: ignore[attr-defined]

    def drop_dead(self, ids: Sequence[int]) -> int:
        """Give up on these dead letters: they stay for the audit trail, never sent."""
        with self.session() as s:
            result = s.execute(
                sa.update(OutboxRow)
                .where(col(OutboxRow.state) == OutboxState.DEAD, col(OutboxRow.id).in_(ids))
                .values(state=OutboxState.DROPPED, updated_at=utcnow())
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def outbox_counts(self, kind: OutboxKind | None = None) -> dict[str, int]:
        """Number of outbox rows per state (of one kind, or all)."""
        with self.session() as s:
            query = sa.select(col(OutboxRow.state), sa.func.count()).group_by(col(OutboxRow.state))
            if kind is not None:
                query = query.where(col(OutboxRow.kind) == kind)
            rows = s.execute(query).all()
            return {str(state): int(count) for state, count in rows}

    # -- decisions and runs --------------------------------------------------------

    def done_writes(self, run_id: str) -> list[OutboxRow]:
        """The writes a run made that the org accepted, oldest first."""
        with self.session() as s:
            query = select(OutboxRow).where(
                OutboxRow.run_id == run_id, col(OutboxRow.state) == OutboxState.DONE
            )
            return list(s.exec(query.order_by(col(OutboxRow.id))))

    def outbox_for(self, lead_id: str) -> list[OutboxRow]:
        """Every outbox row of a lead, oldest first."""
        with self.session() as s:
            query = select(OutboxRow).where(OutboxRow.lead_id == lead_id)
            return list(s.exec(query.order_by(col(OutboxRow.id))))

    def decisions_for(self, lead_id: str, limit: int = 20) -> list[DecisionRow]:
        """The lead's latest decisions, newest first."""
        with self.session() as s:
            query = (
                select(DecisionRow)
                .where(DecisionRow.lead_id == lead_id)
                .order_by(col(DecisionRow.id).desc())
                .limit(limit)
            )
            return list(s.exec(query))

    def start_run(self, run_id: str, *, dry_run: bool = False) -> None:
        """Record that a cycle began."""
        with self.session() as s:
            s.add(RunRow(id=run_id, dry_run=dry_run))

    def finish_run(self, run_id: str, status: str, **counts: Any) -> None:
        """Record how a cycle ended, with its counts and API cost."""
        with self.session() as s:
            run = s.get(RunRow, run_id)
            if run is None:
                return
            for key, value in counts.items():
                setattr(run, key, value)
            run.status, run.finished_at = status, utcnow()
            s.add(run)

    def recent_runs(self, limit: int = 10) -> list[RunRow]:
        """The latest runs, newest first."""
        with self.session() as s:
            query = select(RunRow).order_by(col(RunRow.started_at).desc()).limit(limit)
            return list(s.exec(query))


def _live_update_for_same_lead() -> sa.Exists:
    other = sa.orm.aliased(OutboxRow)
    return sa.exists().where(
        col(other.lead_id) == col(OutboxRow.lead_id),
        col(other.kind) == OutboxKind.UPDATE,
        col(other.state).in_(LIVE_STATES),
    )


def _advance(s: Session, name: str, value: datetime | None, *, force: bool = False) -> None:
    cursor = s.get(Cursor, name) or Cursor(name=name)
    if force or cursor.watermark is None or (value is not None and value > cursor.watermark):
        cursor.watermark = value
        cursor.updated_at = utcnow()
    s.add(cursor)


def _save_snapshots(
    s: Session,
    leads: Sequence[Lead],
    decisions: dict[str, Decision],
    routing: Mapping[str, LeadRouting],
) -> None:
    ids = [lead.id for lead in leads]
    existing = {
        row.lead_id: row
        for chunk in _chunks(ids)
        for row in s.exec(select(LeadState).where(col(LeadState.lead_id).in_(chunk)))
    }
    for lead in leads:
        row = existing.get(lead.id) or LeadState(
            lead_id=lead.id, system_modstamp=lead.system_modstamp, input_hash=""
        )
        decision = decisions.get(lead.id)
        row.system_modstamp = lead.system_modstamp
        row.input_hash = decision.input_hash if decision else row.input_hash
        row.is_deleted, row.is_converted = lead.is_deleted, lead.is_converted
        if (routed := routing.get(lead.id)) is not None:
            row.routing = dict(routed.routing) if routed.routing is not None else None
            row.load_owner = routed.load_owner
            due = (routed.routing or {}).get("reroute_at")
            row.reroute_at = datetime.fromisoformat(due) if due else None
        row.updated_at = utcnow()
        s.add(row)


def _save_decisions(
    s: Session, run_id: str, decisions: Sequence[Decision]
) -> tuple[int, dict[str, int]]:
    """Decisions and their outbox rows in a few batched statements (ORM objects cost ~0.5 ms).

    Returns the outbox rows queued and each lead's decision id.
    """
    if not decisions:
        return 0, {}
    now = utcnow()
    statement = sa.insert(DecisionRow).returning(col(DecisionRow.id), sort_by_parameter_order=True)
    inserted = s.execute(statement, [_decision_values(run_id, d, now) for d in decisions])
    ids = [int(i) for i in inserted.scalars()]
    queued = _queued_keys(s, [d.lead_id for d in decisions])
    fresh = [(i, d) for i, d in zip(ids, decisions, strict=True) if _key(d) not in queued]
    _supersede(s, [d for _, d in fresh], now)
    outbox = [values for i, d in fresh for values in _outbox_values(run_id, i, d, now)]
    if outbox:
        s.execute(sa.insert(OutboxRow), outbox)
    return len(outbox), {d.lead_id: i for i, d in zip(ids, decisions, strict=True)}


def _supersede(s: Session, decisions: Sequence[Decision], now: datetime) -> None:
    """The newest decision about a lead replaces whatever older one still waits to be sent.

    Except a conversion of a lead now converted: most likely it is our own
    call that timed out and ran anyway. Sent again, it is refused as already
    converted, re-read, and settled with the new records' ids, which its
    copies onto the contact need.
    """
    converted = {d.lead_id for d in decisions if d.summary.get("skipped") == "converted"}
    for keep_conversions in (False, True):
        ids = [d.lead_id for d in decisions if (d.lead_id in converted) == keep_conversions]
        for chunk in _chunks(ids):
            query = sa.update(OutboxRow).where(
                col(OutboxRow.lead_id).in_(chunk), col(OutboxRow.state).in_(LIVE_STATES)
            )
            # Follow-ups (SLA Task, message) belong to their routing, not to a lead version.
            query = query.where(col(OutboxRow.kind).in_(_DECISION_KINDS))
            if keep_conversions:
                query = query.where(col(OutboxRow.kind) != OutboxKind.CONVERT)
            s.execute(query.values(state=OutboxState.SUPERSEDED, updated_at=now))


def _decision_values(run_id: str, decision: Decision, now: datetime) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "lead_id": decision.lead_id,
        "base_stamp": decision.base_stamp,
        "input_hash": decision.input_hash,
        "rules_version": decision.rules_version,
        "changes": dict(decision.changes),
        "reasons": [asdict(r) for r in decision.reasons],
        "summary": dict(decision.summary),
        "skipped": dict(decision.skipped),
        "created_at": now,
    }


_Key = tuple[str, str, str, datetime]


def _key(decision: Decision) -> _Key:
    return (decision.lead_id, decision.patch_hash, decision.rules_version, decision.base_stamp)


def _queued_keys(s: Session, lead_ids: Sequence[str]) -> set[_Key]:
    keys: set[_Key] = set()
    columns = (
        OutboxRow.lead_id,
        OutboxRow.patch_hash,
        OutboxRow.rules_version,
        OutboxRow.base_stamp,
    )
    for chunk in _chunks(lead_ids):
        query = select(*columns).where(col(OutboxRow.lead_id).in_(chunk))
        keys.update((a, b, c, d) for a, b, c, d in s.exec(query))
    return keys


def _outbox_values(
    run_id: str, decision_id: int, decision: Decision, now: datetime
) -> list[dict[str, Any]]:
    items = []
    if decision.changes:
        before = dict(decision.previous)
        items.append((OutboxKind.UPDATE, dict(decision.changes), before))
    if decision.convert is not None:
        items.append((OutboxKind.CONVERT, dict(decision.convert), {}))
    return [
        {
            "decision_id": decision_id,
            "run_id": run_id,
            "lead_id": decision.lead_id,
            "sobject": "Lead",
            "kind": kind,
            "patch": patch,
            "before": before,
            "result": None,
            "patch_hash": decision.patch_hash,
            "rules_version": decision.rules_version,
            "base_stamp": decision.base_stamp,
            "state": OutboxState.STAGED,
            "claimed_by": None,
            "attempts": 0,
            "error_code": None,
            "error_message": None,
            "error_fields": [],
            "created_at": now,
            "updated_at": now,
        }
        for kind, patch, before in items
    ]


def _preload(s: Session, rows: Sequence[OutboxRow]) -> list[Any]:
    ids = [r.id for r in rows if r.id is not None]
    loaded: list[Any] = []
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start : start + IN_CHUNK]
        loaded += s.exec(select(OutboxRow).where(col(OutboxRow.id).in_(chunk)))
    for leads in _chunks(sorted({r.lead_id for r in rows})):
        loaded += s.exec(select(LeadState).where(col(LeadState.lead_id).in_(leads)))
    return loaded


def _apply_result(s: Session, row: OutboxRow, result: WriteResult, max_attempts: int) -> None:
    fresh = s.get(OutboxRow, row.id)
    if fresh is None or fresh.state != OutboxState.SENDING:
        return
    fresh.attempts += 1
    fresh.updated_at = utcnow()
    fresh.error_code, fresh.error_message = result.error_code, result.message
    fresh.error_fields = list(result.fields)
    if result.outcome is WriteOutcome.WRITTEN:
        fresh.state = OutboxState.DONE
        fresh.result = dict(result.created) or None
        _remember_written(s, fresh)
    elif result.outcome is WriteOutcome.REJECTED or fresh.attempts >= max_attempts:
        fresh.state = OutboxState.DEAD
    else:
        fresh.state = OutboxState.PENDING
    s.add(fresh)


def _remember_written(s: Session, row: OutboxRow) -> None:
    if row.kind == OutboxKind.CONVERT:
        _after_conversion(s, row)
        return
    if row.kind != OutboxKind.UPDATE:
        return  # a Task created or a message sent: nothing of the lead's to remember
    _remember_values(s, row.lead_id, row.patch)
    if row.sobject == "Lead":
        after_owner_write(s, row)


def _remember_values(s: Session, lead_id: str, values: Mapping[str, Any]) -> None:
    state = s.get(LeadState, lead_id)
    if state is not None:
        state.last_written = {**state.last_written, **values}
        s.add(state)


_CREATED = {"Account": "account_id", "Contact": "contact_id", "Opportunity": "opportunity_id"}


def _after_conversion(s: Session, row: OutboxRow) -> None:
    """Queue the copies of lead values onto the records the conversion made (no re-check needed)."""
    for sobject, fields in (row.patch.get("copy_to") or {}).items():
        record_id = (row.result or {}).get(_CREATED.get(sobject, ""))
        if not record_id or not fields:
            continue
        s.add(
            OutboxRow(
                decision_id=row.decision_id,
                run_id=row.run_id,
                lead_id=record_id,
                sobject=sobject,
                kind=OutboxKind.UPDATE,
                patch=dict(fields),
                patch_hash=row.patch_hash,
                rules_version=row.rules_version,
                base_stamp=row.base_stamp,
                state=OutboxState.PENDING,
            )
        )
