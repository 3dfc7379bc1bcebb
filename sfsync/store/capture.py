"""The capture ledger: each captured candidate (spreadsheet row, form submission) by its key.

A row's life: `planned` → `sending` → `done`.

- planned: decided and routed; written in the transaction that takes the
  routing turn (`insert_planned` on the routing transaction's connection), so
  a crash never loses a turn without its lead's plan, nor the other way round.
  A planned row left by a crash is sent as planned on the next run.
- sending: its create request is about to go out; the outcome is unknown
  until recorded. A sending row left by a crash is looked up in the org
  before anything is sent again (jobs.capture_send). When the create went
  in a Bulk API 2.0 insert job, the row's `record_id` holds the job's id
  (`note_job`) until the lead's id replaces it: the next run reads that
  job's results first (jobs.capture_bulk).
- done: the action (created, updated, duplicate) and record ids are known;
  the same key is never captured again.

Rows the org or validation rejected are deleted (`forget`): a rejection is
not an outcome to remember, the next run reports it again. Recording a
created lead also records what the sync cycle needs to leave it alone: its
`LeadState` (routing memory, the values sfsync set), the decision for
`sfsync explain`, the routing's follow-ups and its mirror row, in one commit.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from sfsync.routing_state import RoutingDelta
from sfsync.store.followups import followup_rows
from sfsync.store.mirror import upsert as upsert_mirror
from sfsync.store.routing import apply_delta
from sfsync.store.tables import (
    CaptureLedgerRow,
    DecisionRow,
    LeadState,
    OutboxRow,
    utcnow,
)

LEDGER: sa.Table = CaptureLedgerRow.__table__  # type: ignore[attr-defined]
LEAD_STATE: sa.Table = LeadState.__table__  # type: ignore[attr-defined]
DECISION: sa.Table = DecisionRow.__table__  # type: ignore[attr-defined]
OUTBOX: sa.Table = OutboxRow.__table__  # type: ignore[attr-defined]
IN_CHUNK = 500
# The version a captured lead's LeadState starts from: older than any real SystemModstamp,
# so the first pull of the lead is a new version, recognised as sfsync's own echo.
CAPTURED_STAMP = datetime(2000, 1, 1, tzinfo=UTC)


class LedgerState(StrEnum):
    """Where a candidate's capture stands."""

    PLANNED = "planned"
    SENDING = "sending"
    DONE = "done"


@dataclass(frozen=True)
class Planned:
    """A candidate about to be created: the exact request values and what goes with them."""

    key: str
    source: str
    lookup: Mapping[str, Any]
    plan: Mapping[str, Any]


@dataclass(frozen=True)
class Created:
    """A lead the org created for a candidate, with what the store keeps about it."""

    key: str
    lead_id: str
    # Fields whose values sfsync chose (score, grade, owner...): LeadState.last_written.
    written: Mapping[str, Any]
    routing: Mapping[str, Any] | None
    load_owner: str | None
    # DecisionRow columns: input_hash, rules_version, changes, reasons, summary, skipped.
    decision: Mapping[str, Any]
    mirror: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Finished:
    """A candidate done without a lead created by this row: updated or skipped as a duplicate."""

    key: str
    source: str
    action: str
    record_id: str | None = None
    matched_id: str | None = None
    reasons: tuple[str, ...] = field(default_factory=tuple)


def _chunks(items: Sequence[str], size: int = IN_CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert(conn: sa.Connection, table: sa.Table) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def insert_planned(
    conn: sa.Connection, rows: Sequence[Planned], claimed_by: int | None = None
) -> set[str]:
    """Insert planned rows on the caller's transaction; the keys this call inserted.

    A key already in the ledger (another run got there first) is left alone.
    """
    if not rows:
        return set()
    now = utcnow()
    values = [
        {"key": r.key, "source": r.source[:80], "state": LedgerState.PLANNED, "action": None,
         "record_id": None, "matched_id": None, "reasons": None, "lookup": dict(r.lookup),
         "plan": dict(r.plan), "claimed_by": claimed_by, "created_at": now, "updated_at": now}
        for r in rows
    ]  # fmt: skip
    inserted: set[str] = set()
    for start in range(0, len(values), IN_CHUNK):
        statement = _insert(conn, LEDGER).on_conflict_do_nothing(index_elements=["key"])
        result = conn.execute(statement.returning(LEDGER.c.key), values[start : start + IN_CHUNK])
        inserted.update(str(k) for k in result.scalars())
    return inserted


def upsert_finished(conn: sa.Connection, finished: Sequence[Finished]) -> None:
    """Done rows on the caller's transaction; a key already there takes the new outcome."""
    now = utcnow()
    values = [
        {"key": f.key, "source": f.source[:80], "state": LedgerState.DONE, "action": f.action,
         "record_id": f.record_id, "matched_id": f.matched_id, "reasons": list(f.reasons),
         "lookup": None, "plan": None, "claimed_by": None, "created_at": now, "updated_at": now}
        for f in finished
    ]  # fmt: skip
    kept = ("state", "action", "record_id", "matched_id", "reasons", "plan", "updated_at")
    for start in range(0, len(values), IN_CHUNK):
        statement = _insert(conn, LEDGER)
        update = {c: statement.excluded[c] for c in kept}
        conn.execute(
            statement.on_conflict_do_update(index_elements=["key"], set_=update),
            values[start : start + IN_CHUNK],
        )


class CaptureLedger:
    """The ledger on an engine (`CaptureLedger(store.engine)`)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def rows(self, keys: Collection[str]) -> dict[str, CaptureLedgerRow]:
        """The ledger rows of these keys, by key."""
        found: dict[str, CaptureLedgerRow] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(set(keys))):
                for row in conn.execute(sa.select(LEDGER).where(LEDGER.c.key.in_(chunk))):
                    found[row.key] = CaptureLedgerRow.model_validate(row._mapping)
        return found

    def claim(
        self, rows: Sequence[CaptureLedgerRow], me: int, is_dead: Callable[[int | None], bool]
    ) -> set[str]:
        """Take over unfinished rows whose worker is this one or dead; the keys taken.

        Compare-and-set on the holder read: of two workers resuming the same
        rows, only one takes each. A row held by a live worker stays its own.
        """
        taken: set[str] = set()
        by_holder: dict[int | None, list[str]] = {}
        for row in rows:
            if row.claimed_by in (None, me) or is_dead(row.claimed_by):
                by_holder.setdefault(row.claimed_by, []).append(row.key)
        with self.engine.begin() as conn:
            for holder, keys in by_holder.items():
                held = (
                    LEDGER.c.claimed_by.is_(None)
                    if holder is None
                    else (LEDGER.c.claimed_by == holder)
                )
                for chunk in _chunks(keys):
                    statement = (
                        sa.update(LEDGER)
                        .where(LEDGER.c.key.in_(chunk), held, LEDGER.c.state != LedgerState.DONE)
                        .values(claimed_by=me, updated_at=utcnow())
                        .returning(LEDGER.c.key)
                    )
                    taken.update(str(k) for k in conn.execute(statement).scalars())
        return taken

    def mark_sending(self, keys: Sequence[str]) -> None:
        """Just before their create request goes out: from here on, the outcome is unknown."""
        self._set(keys, sa.true(), state=LedgerState.SENDING, record_id=None)

    def note_job(self, keys: Sequence[str], job_id: str) -> None:
        """The Bulk API 2.0 job carrying these sending rows' creates (read first on resume)."""
        self._set(keys, LEDGER.c.state == LedgerState.SENDING, record_id=job_id)

    def _set(self, keys: Sequence[str], condition: Any, **values: Any) -> None:
        with self.engine.begin() as conn:
            for chunk in _chunks(list(keys)):
                conn.execute(
                    sa.update(LEDGER)
                    .where(LEDGER.c.key.in_(chunk), condition)
                    .values(**values, updated_at=utcnow())
                )

    def record_created(self, run_id: str, created: Sequence[Created]) -> int:
        """Settle created leads in one commit; returns the follow-ups queued (SLA Tasks...)."""
        if not created:
            return 0
        with self.engine.begin() as conn:
            _mark_done(conn, created)
            _save_states(conn, created)
            ids = _save_decisions(conn, run_id, created)
            queued = _queue_followups(conn, run_id, created, ids)
            mirrored = [dict(c.mirror) for c in created if c.mirror is not None]
            if mirrored:
                upsert_mirror(conn, mirrored)
        return queued

    def record_finished(self, finished: Sequence[Finished]) -> None:
        """Record updates and duplicate skips as done (their keys are never captured again)."""
        if finished:
            with self.engine.begin() as conn:
                upsert_finished(conn, finished)

    def forget(self, keys: Sequence[str], undo: RoutingDelta | None = None) -> None:
        """Drop rows the org refused, and give back the routing turns they took."""
        if not keys and (undo is None or undo.empty):
            return
        with self.engine.begin() as conn:
            for chunk in _chunks(list(keys)):
                conn.execute(sa.delete(LEDGER).where(LEDGER.c.key.in_(chunk)))
            if undo is not None and not undo.empty:
                apply_delta(conn, undo)

    def count(self, state: LedgerState | None = None) -> int:
        """Ledger rows (in a state)."""
        query = sa.select(sa.func.count()).select_from(LEDGER)
        if state is not None:
            query = query.where(LEDGER.c.state == state)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())


def _mark_done(conn: sa.Connection, created: Sequence[Created]) -> None:
    statement = (
        sa.update(LEDGER)
        .where(LEDGER.c.key == sa.bindparam("k"))
        .values(state=LedgerState.DONE, action="created", record_id=sa.bindparam("rid"),
                plan=None, updated_at=sa.bindparam("now"))
    )  # fmt: skip
    now = utcnow()
    conn.execute(statement, [{"k": c.key, "rid": c.lead_id, "now": now} for c in created])


def _save_states(conn: sa.Connection, created: Sequence[Created]) -> None:
    """The LeadState a routed, scored lead would have after sfsync wrote it itself."""
    now = utcnow()
    values = [
        {"lead_id": c.lead_id, "system_modstamp": CAPTURED_STAMP,
         "input_hash": str(c.decision.get("input_hash", "")), "last_written": dict(c.written),
         "is_deleted": False, "is_converted": False,
         "routing": dict(c.routing) if c.routing is not None else None,
         "load_owner": c.load_owner, "updated_at": now}
        for c in created
    ]  # fmt: skip
    statement = _insert(conn, LEAD_STATE)
    update = {
        name: statement.excluded[name]
        for name in ("input_hash", "last_written", "routing", "load_owner", "updated_at")
    }
    conn.execute(statement.on_conflict_do_update(index_elements=["lead_id"], set_=update), values)


def _save_decisions(conn: sa.Connection, run_id: str, created: Sequence[Created]) -> list[int]:
    """The capture's decisions, for `sfsync explain`; their ids in order."""
    now = utcnow()
    rows = [
        {"run_id": run_id, "lead_id": c.lead_id, "base_stamp": CAPTURED_STAMP,
         "input_hash": str(c.decision.get("input_hash", "")),
         "rules_version": str(c.decision.get("rules_version", "")),
         "changes": dict(c.decision.get("changes") or {}),
         "reasons": list(c.decision.get("reasons") or []),
         "summary": dict(c.decision.get("summary") or {}),
         "skipped": dict(c.decision.get("skipped") or {}), "created_at": now}
        for c in created
    ]  # fmt: skip
    statement = sa.insert(DECISION).returning(DECISION.c.id, sort_by_parameter_order=True)
    return [int(i) for i in conn.execute(statement, rows).scalars()]


def _queue_followups(
    conn: sa.Connection, run_id: str, created: Sequence[Created], ids: Sequence[int]
) -> int:
    """The routing's SLA Task and hot-lead message: the owner is set already, nothing to await."""
    rows = [
        row
        for c, decision_id in zip(created, ids, strict=True)
        if c.routing and c.routing.get("routed")
        for row in followup_rows(run_id, decision_id, c.lead_id, c.routing)
    ]
    if not rows:
        return 0
    # executemany, not one VALUES list: compiling a 200-row statement costs more than sending it.
    # RETURNING counts what was new: an executemany's rowcount is not reliable on psycopg.
    statement = _insert(conn, OUTBOX).on_conflict_do_nothing().returning(OUTBOX.c.id)
    return len(conn.execute(statement, rows).scalars().all())
