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
from sfsync.models import Contribution, Decision, Lead, WriteResult
from sfsync.routing_state import LeadRouting, PageRouting
from sfsync.store.engine import insert_for, make_engine, migrate
from sfsync.store.events import EngagementStore
from sfsync.store.followups import queue_ready
from sfsync.store.results import apply_answers, resolve
from sfsync.store.routing import apply_delta, lock_snapshot
from sfsync.store.tables import (
    Cursor,
    DecisionRow,
    LeadState,
    OutboxKind,
    OutboxRow,
    OutboxState,
    RunRow,
    new_outbox_values,
    utcnow,
)
from sfsync.store.workers import Liveness

__all__ = ["LeadState", "OutboxKind", "OutboxRow", "OutboxState", "RunRow", "Store"]

IN_CHUNK = 500
LEAD_STATE: sa.Table = LeadState.__table__  # type: ignore[attr-defined]
DECISION: sa.Table = DecisionRow.__table__  # type: ignore[attr-defined]
OUTBOX: sa.Table = OutboxRow.__table__  # type: ignore[attr-defined]
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
        chosen = (
            sa.select(col(OutboxRow.id))
            .where(col(OutboxRow.state) == OutboxState.PENDING, col(OutboxRow.kind) == kind)
            .order_by(col(OutboxRow.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if kind is OutboxKind.CONVERT:
            # A converted lead refuses updates: its waiting updates go first.
            chosen = chosen.where(~_live_update_for_same_lead())
        if skip:
            chosen = chosen.where(col(OutboxRow.id).not_in(list(skip)))
        # One statement marks them and returns them (SQLite 3.35+ and PostgreSQL know RETURNING).
        claim = (
            sa.update(OutboxRow)
            .where(col(OutboxRow.id).in_(chosen.scalar_subquery()))
            .values(state=OutboxState.SENDING, claimed_by=self.liveness.key, updated_at=utcnow())
            .returning(OutboxRow)
        )
        with self.session() as s:
            rows = s.scalars(claim, execution_options={"synchronize_session": False})
            return sorted(rows, key=lambda row: row.id or 0)

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
            apply_answers(s, pairs, max_attempts)

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
        if row.id is None:
            return
        with self.session() as s:
            resolve(s, row.id, state, created, landed)

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
    """Upsert the leads' snapshots: one executemany per kind of row, no ORM objects.

    An existing snapshot keeps its input hash unless the lead was decided, its
    routing memory unless routing changed it, and always its written values.
    """
    now = utcnow()
    groups: dict[tuple[bool, bool], dict[str, dict[str, Any]]] = {}
    for lead in leads:
        decision, routed = decisions.get(lead.id), routing.get(lead.id)
        values = {
            "lead_id": lead.id, "system_modstamp": lead.system_modstamp,
            "input_hash": decision.input_hash if decision else "", "last_written": {},
            "is_deleted": lead.is_deleted, "is_converted": lead.is_converted,
            **_routing_values(routed), "updated_at": now,
        }  # fmt: skip
        groups.setdefault((decision is not None, routed is not None), {})[lead.id] = values
    conn = s.connection()
    for (decided, routed_), rows in groups.items():
        replaced = _SNAPSHOT_COLUMNS + (("input_hash",) if decided else ())
        replaced += _ROUTING_COLUMNS if routed_ else ()
        statement = insert_for(conn, LEAD_STATE)
        upsert = statement.on_conflict_do_update(
            index_elements=["lead_id"], set_={c: statement.excluded[c] for c in replaced}
        )
        conn.execute(upsert, list(rows.values()))


_SNAPSHOT_COLUMNS: tuple[str, ...] = ("system_modstamp", "is_deleted", "is_converted", "updated_at")
_ROUTING_COLUMNS = ("routing", "load_owner", "reroute_at")


def _routing_values(routed: LeadRouting | None) -> dict[str, Any]:
    if routed is None:
        return dict.fromkeys(_ROUTING_COLUMNS)
    due = (routed.routing or {}).get("reroute_at")
    return {
        "routing": dict(routed.routing) if routed.routing is not None else None,
        "load_owner": routed.load_owner,
        "reroute_at": datetime.fromisoformat(due) if due else None,
    }


def _save_decisions(
    s: Session, run_id: str, decisions: Sequence[Decision]
) -> tuple[int, dict[str, int]]:
    """Decisions and their outbox rows in a few batched statements (ORM objects cost ~0.5 ms).

    Returns the outbox rows queued and each lead's decision id.
    """
    if not decisions:
        return 0, {}
    now = utcnow()
    # Core inserts on the tables: the ORM's bulk insert adds ~20 µs a row for nothing.
    conn = s.connection()
    statement = sa.insert(DECISION).returning(DECISION.c.id, sort_by_parameter_order=True)
    inserted = conn.execute(statement, [_decision_values(run_id, d, now) for d in decisions])
    ids = [int(i) for i in inserted.scalars()]
    queued = _queued_keys(s, [d.lead_id for d in decisions])
    fresh = [(i, d) for i, d in zip(ids, decisions, strict=True) if _key(d) not in queued]
    _supersede(s, [d for _, d in fresh], now)
    outbox = [values for i, d in fresh for values in _outbox_values(run_id, i, d, now)]
    if outbox:
        conn.execute(sa.insert(OUTBOX), outbox)
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
        "reasons": [_reason(r) for r in decision.reasons],
        "summary": dict(decision.summary),
        "skipped": dict(decision.skipped),
        "created_at": now,
    }


def _reason(reason: Contribution) -> dict[str, Any]:
    """`asdict(reason)` without its deep copy, which cost ~0.3 ms a decision (same dict)."""
    if type(reason) is Contribution:
        return {
            "rule": reason.rule,
            "points": reason.points,
            "detail": reason.detail,
            "part": reason.part,
        }
    return asdict(reason)


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
        new_outbox_values(
            now,
            decision_id=decision_id,
            run_id=run_id,
            lead_id=decision.lead_id,
            kind=kind,
            patch=patch,
            before=before,
            patch_hash=decision.patch_hash,
            rules_version=decision.rules_version,
            base_stamp=decision.base_stamp,
            state=OutboxState.STAGED,
        )
        for kind, patch, before in items
    ]
