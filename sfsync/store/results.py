"""Settling sent outbox rows: the org's answers applied a batch at a time, in a few statements.

Per row this is what it always was: a row no longer `sending` is left alone;
an answer counts an attempt and sets the row done, dead or pending again; a
done update remembers the values it wrote on the lead's state and queues the
follow-ups of an owner write; a done conversion queues the copies onto the
records it made. A row settled after a restart (`resolve`) takes the state
the org's record shows instead of an answer.

What changed is the cost: through ORM objects each row took about 0.45 ms
(a flush and a decision SELECT per owner write). Here the rows, the leads'
written values and the decisions' routings are read with one query per chunk,
and written back with one executemany per table, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from sfsync.models import WriteOutcome, WriteResult
from sfsync.store.followups import after_owner_writes
from sfsync.store.tables import (
    LeadState,
    OutboxKind,
    OutboxRow,
    OutboxState,
    new_outbox_values,
    utcnow,
)

OUTBOX: sa.Table = OutboxRow.__table__  # type: ignore[attr-defined]
LEAD_STATE: sa.Table = LeadState.__table__  # type: ignore[attr-defined]
IN_CHUNK = 500
_CREATED = {"Account": "account_id", "Contact": "contact_id", "Opportunity": "opportunity_id"}


@dataclass
class Sent:
    """An outbox row as the store holds it now: what settling reads and changes."""

    id: int
    decision_id: int
    run_id: str
    lead_id: str
    sobject: str
    kind: str
    patch: dict[str, Any]
    patch_hash: str
    rules_version: str
    base_stamp: datetime
    state: str
    attempts: int
    result: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    error_fields: list[str]


_SENT_COLUMNS = [OUTBOX.c[name] for name in Sent.__dataclass_fields__]
_CHANGED = ("state", "attempts", "result", "error_code", "error_message", "error_fields")


def apply_answers(
    s: Session, pairs: Sequence[tuple[OutboxRow, WriteResult]], max_attempts: int
) -> None:
    """Apply answers matched to their rows (rows not `sending` any more are left alone)."""
    sent = load_sent(s, [row.id for row, _ in pairs if row.id is not None])
    batch = Settlement()
    for row, result in pairs:
        fresh = sent.get(row.id) if row.id is not None else None
        if fresh is None or fresh.state != OutboxState.SENDING:
            continue
        fresh.attempts += 1
        fresh.error_code, fresh.error_message = result.error_code, result.message
        fresh.error_fields = list(result.fields)
        if result.outcome is WriteOutcome.WRITTEN:
            fresh.state, fresh.result = OutboxState.DONE, dict(result.created) or None
            batch.written(fresh)
        elif result.outcome is WriteOutcome.REJECTED or fresh.attempts >= max_attempts:
            fresh.state = OutboxState.DEAD
        else:
            fresh.state = OutboxState.PENDING
        batch.changed(fresh)
    batch.save(s)


def resolve(
    s: Session,
    row_id: int,
    state: OutboxState,
    created: Mapping[str, str] | None,
    landed: Mapping[str, Any] | None,
) -> None:
    """Settle one row whose send outcome was unknown (see `Store.resolve_in_flight`)."""
    fresh = load_sent(s, [row_id]).get(row_id)
    if fresh is None:
        return
    batch = Settlement()
    fresh.state = state
    if created:
        fresh.result = dict(created)
    if state is OutboxState.DONE:
        batch.written(fresh)
    elif landed:
        batch.remember(fresh.lead_id, landed)
    batch.changed(fresh)
    batch.save(s)


def load_sent(s: Session, ids: Sequence[int]) -> dict[int, Sent]:
    """The rows by id, as stored now (one query per chunk of ids)."""
    found: dict[int, Sent] = {}
    for chunk in _chunks(sorted(set(ids))):
        query = sa.select(*_SENT_COLUMNS).where(OUTBOX.c.id.in_(chunk))
        for row in s.execute(query):
            sent = Sent(**row._mapping)
            sent.error_fields = list(sent.error_fields or [])
            found[sent.id] = sent
    return found


@dataclass
class Settlement:
    """What settling a batch changes, gathered row by row and saved at once."""

    rows: list[Sent] = field(default_factory=list)
    # Lead id -> the values written to it, merged in the order the rows were settled.
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    owner_writes: list[Sent] = field(default_factory=list)
    copies: list[dict[str, Any]] = field(default_factory=list)

    def changed(self, row: Sent) -> None:
        """The row's state, attempts, result or error changed."""
        self.rows.append(row)

    def written(self, row: Sent) -> None:
        """The org holds what the row sent: remember it, and queue what follows it."""
        if row.kind == OutboxKind.CONVERT:
            self.copies += _copies(row)
        elif row.kind == OutboxKind.UPDATE:
            self.remember(row.lead_id, row.patch)
            if row.sobject == "Lead":
                self.owner_writes.append(row)
        # A Task created or a message sent: nothing of the lead's to remember.

    def remember(self, lead_id: str, values: Mapping[str, Any]) -> None:
        """Values sfsync wrote to the lead (its own, not a person's, when read back)."""
        self.values[lead_id] = {**self.values.get(lead_id, {}), **values}

    def save(self, s: Session) -> None:
        """Write it all in the caller's transaction."""
        conn = s.connection()
        if self.rows:
            now = utcnow()
            changes = [
                {"b_id": r.id, "updated_at": now, **{c: getattr(r, c) for c in _CHANGED}}
                for r in self.rows
            ]
            conn.execute(sa.update(OUTBOX).where(OUTBOX.c.id == sa.bindparam("b_id")), changes)
        _remember_values(conn, self.values)
        after_owner_writes(s, self.owner_writes)
        if self.copies:
            conn.execute(sa.insert(OUTBOX), self.copies)


def _remember_values(conn: sa.Connection, values: Mapping[str, Mapping[str, Any]]) -> None:
    """Merge the written values into the leads' `last_written` (leads sfsync knows only)."""
    merged: list[dict[str, Any]] = []
    for chunk in _chunks(sorted(values)):
        query = sa.select(LEAD_STATE.c.lead_id, LEAD_STATE.c.last_written).where(
            LEAD_STATE.c.lead_id.in_(chunk)
        )
        merged += [
            {"b_lead": lead_id, "last_written": {**(before or {}), **values[lead_id]}}
            for lead_id, before in conn.execute(query)
        ]
    if merged:
        statement = sa.update(LEAD_STATE).where(LEAD_STATE.c.lead_id == sa.bindparam("b_lead"))
        conn.execute(statement, merged)


def _copies(row: Sent) -> list[dict[str, Any]]:
    """The copies of lead values onto the records a conversion made (no re-check needed)."""
    now = utcnow()
    found = []
    for sobject, fields in (row.patch.get("copy_to") or {}).items():
        record_id = (row.result or {}).get(_CREATED.get(sobject, ""))
        if not record_id or not fields:
            continue
        found.append(
            new_outbox_values(
                now,
                decision_id=row.decision_id,
                run_id=row.run_id,
                lead_id=record_id,
                sobject=sobject,
                patch=dict(fields),
                patch_hash=row.patch_hash,
                rules_version=row.rules_version,
                base_stamp=row.base_stamp,
            )
        )
    return found


def _chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
