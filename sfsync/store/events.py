"""Engagement events in the state store: imported feed events and the org's mirrored engagement.

- Imported events are keyed by a hash of their content, so importing the same
  file twice adds nothing.
- Campaign responses and completed Tasks are mirrored from the org by their
  own watermarks (`jobs.engagement`); an upsert whose stamp did not move is
  nothing new, so re-reading the overlap costs no decision.
- Every added or changed row is `pending`: its lead is decided again by the
  next cycle, which then clears the flag (and drops the rows it deleted).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from sfsync.models import EngagementEvent
from sfsync.store.tables import EngagementEventRow, utcnow

IN_CHUNK = 500
IMPORT_SOURCE = "import"
MAX_DETAIL = 255

SessionFactory = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class Pending:
    """Rows whose leads need a new decision: by lead id, and by e-mail where no id is known."""

    row_ids: tuple[int, ...]
    lead_ids: frozenset[str]
    emails: frozenset[str]

    def __bool__(self) -> bool:
        return bool(self.row_ids)


def event_key(event: EngagementEvent) -> str:
    """The idempotency key: the mirrored record's id, or a hash of an imported event's content."""
    if event.source != IMPORT_SOURCE and event.source_id:
        return f"{event.source}:{event.source_id}"
    parts = (event.lead_id or "", (event.email or "").lower(), event.kind,
             as_moment(event.at).isoformat(), event.detail or "")  # fmt: skip
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"{IMPORT_SOURCE}:{digest[:48]}"


def as_moment(at: datetime | date) -> datetime:
    """An aware UTC datetime: dates count from midnight UTC."""
    if isinstance(at, datetime):
        return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return datetime.combine(at, time.min, UTC)


class EngagementStore:
    """The engagement events table, reached through the Store's sessions."""

    def __init__(self, session: SessionFactory) -> None:
        self._session = session

    def add_imported(self, events: Sequence[EngagementEvent]) -> int:
        """Insert the events not stored yet (by content key); returns how many were new."""
        fresh = {event_key(e): e for e in events}
        with self._session() as s:
            known = _existing_keys(s, list(fresh))
            rows = [_values(key, e) for key, e in fresh.items() if key not in known]
            if rows:
                s.execute(sa.insert(EngagementEventRow), rows)
        return len(rows)

    def mirror(self, events: Sequence[EngagementEvent], *, pending: bool = True) -> int:
        """Apply mirrored org rows (new, changed, deleted); returns how many changed anything.

        `pending=False` when the leads concerned are about to be decided anyway
        (the first full pull), so nothing needs deciding twice.
        """
        latest = {event_key(e): e for e in events}
        changed = 0
        with self._session() as s:
            stored = {row.key: row for row in _rows_by_key(s, list(latest))}
            # New rows go in with one executemany: ORM objects cost ~0.2 ms each.
            new = [
                {**_values(key, event), "pending": pending}
                for key, event in latest.items()
                if key not in stored and not event.deleted
            ]
            if new:
                s.execute(sa.insert(EngagementEventRow), new)
            for key, row in stored.items():
                changed += _apply(s, row, key, latest[key], pending)
        return changed + len(new)

    def for_leads(
        self, lead_ids: Collection[str], emails: Collection[str], since: datetime
    ) -> tuple[dict[str, list[EngagementEvent]], dict[str, list[EngagementEvent]]]:
        """Live events since `since`: (by lead id, by lower-cased e-mail for events without one)."""
        by_lead: dict[str, list[EngagementEvent]] = {}
        by_email: dict[str, list[EngagementEvent]] = {}
        table = EngagementEventRow
        with self._session() as s:
            for chunk in _chunks(sorted(lead_ids)):
                for row in s.execute(_live(since).where(col(table.lead_id).in_(chunk))):
                    by_lead.setdefault(str(row.lead_id), []).append(_event(row))
            for chunk in _chunks(sorted({e.lower() for e in emails})):
                query = _live(since).where(
                    col(table.email).in_(chunk), col(table.lead_id).is_(None)
                )
                for row in s.execute(query):
                    by_email.setdefault(str(row.email), []).append(_event(row))
        return by_lead, by_email

    def pending(self, limit: int | None = None) -> Pending:
        """The rows whose leads wait for a new decision, oldest first."""
        table = EngagementEventRow
        columns = (col(table.id), col(table.lead_id), col(table.former_lead_id), col(table.email))
        query = sa.select(*columns).where(col(table.pending).is_(True)).order_by(col(table.id))
        with self._session() as s:
            rows = [tuple(r) for r in s.execute(query.limit(limit) if limit else query)]
        lead_ids = {r for _, lead, former, _ in rows for r in (lead, former) if r}
        emails = {email for _, lead, _, email in rows if email and not lead}
        return Pending(tuple(int(i) for i, *_ in rows if i is not None), frozenset(lead_ids),
                       frozenset(emails))  # fmt: skip

    def clear_pending(self, row_ids: Sequence[int]) -> None:
        """Their leads are decided: clear the flag, and drop deleted rows for good."""
        with self._session() as s:
            for chunk in _int_chunks(row_ids):
                table = EngagementEventRow
                s.execute(sa.delete(table).where(col(table.id).in_(chunk), col(table.deleted)))
                s.execute(
                    sa.update(table)
                    .where(col(table.id).in_(chunk))
                    .values(pending=False, former_lead_id=None, updated_at=utcnow())
                )

    def engaged(self, since: datetime) -> tuple[frozenset[str], frozenset[str]]:
        """Leads with live events since `since`: (lead ids, e-mails of events without a lead id)."""
        table = EngagementEventRow
        live = (col(table.occurred_at) >= since, col(table.deleted).is_(False))
        with self._session() as s:
            ids = s.exec(select(table.lead_id).where(*live, col(table.lead_id).is_not(None)))
            leads = frozenset(str(i) for i in ids.unique())
            mails = s.exec(select(table.email).where(*live, col(table.lead_id).is_(None)))
            emails = frozenset(str(e) for e in mails.unique() if e)
        return leads, emails

    def prune(self, before: datetime) -> int:
        """Forget settled events older than `before`: past the rules' horizon, worth nothing."""
        table = EngagementEventRow
        with self._session() as s:
            result = s.execute(
                sa.delete(table).where(
                    col(table.occurred_at) < before, col(table.pending).is_(False)
                )
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def count(self) -> int:
        """How many events are stored (for status and tests)."""
        with self._session() as s:
            return int(s.exec(select(sa.func.count()).select_from(EngagementEventRow)).one())


_EVENT_COLUMNS = (
    "kind",
    "occurred_at",
    "lead_id",
    "email",
    "detail",
    "source",
    "source_id",
    "stamp",
)


def _live(since: datetime) -> Any:
    """Live events since `since`, as plain rows of the columns `_event` reads (no ORM objects)."""
    table = EngagementEventRow.__table__  # type: ignore[attr-defined]
    columns = [table.c[name] for name in _EVENT_COLUMNS]
    return sa.select(*columns).where(table.c.occurred_at >= since, table.c.deleted.is_(False))


def _existing_keys(s: Session, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(keys):
        found.update(
            s.exec(select(EngagementEventRow.key).where(col(EngagementEventRow.key).in_(chunk)))
        )
    return found


def _rows_by_key(s: Session, keys: Sequence[str]) -> Iterator[EngagementEventRow]:
    for chunk in _chunks(keys):
        yield from s.exec(select(EngagementEventRow).where(col(EngagementEventRow.key).in_(chunk)))


def _apply(
    s: Session, row: EngagementEventRow, key: str, event: EngagementEvent, pending: bool
) -> int:
    """Update one stored mirrored row; 1 if it changed anything (its lead then needs a decision)."""
    if row.stamp == event.stamp and row.deleted == event.deleted and row.lead_id == event.lead_id:
        return 0
    if row.lead_id and row.lead_id != event.lead_id:
        row.former_lead_id = row.former_lead_id or row.lead_id
    values = _values(key, event)
    for name in ("lead_id", "email", "kind", "occurred_at", "detail", "stamp", "deleted"):
        setattr(row, name, values[name])
    row.pending, row.updated_at = row.pending or pending, utcnow()
    s.add(row)
    return 1


def _values(key: str, event: EngagementEvent) -> dict[str, Any]:
    now = utcnow()
    return {
        "key": key,
        "source": event.source,
        "source_id": event.source_id,
        "lead_id": event.lead_id,
        "email": event.email.lower() if event.email else None,
        "kind": event.kind,
        "occurred_at": as_moment(event.at),
        "detail": event.detail[:MAX_DETAIL] if event.detail else None,
        "stamp": event.stamp,
        "deleted": event.deleted,
        "pending": True,
        "former_lead_id": None,
        "created_at": now,
        "updated_at": now,
    }


def _event(row: Any) -> EngagementEvent:
    return EngagementEvent(
        kind=row.kind, at=row.occurred_at, lead_id=row.lead_id, email=row.email,
        detail=row.detail, source=row.source, source_id=row.source_id, stamp=row.stamp,
    )  # fmt: skip


def _chunks(items: Sequence[str], size: int = IN_CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _int_chunks(items: Sequence[int], size: int = IN_CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
