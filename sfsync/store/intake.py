"""The web-form submission queue: enqueue before answering, claim, settle, count.

Promises it keeps for the intake endpoint and the worker:
- `enqueue` commits before it returns, so a 202 always means "stored";
- a claim is one statement (`UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP
  LOCKED)` on PostgreSQL; SQLite serialises writers), so two processes never
  hold the same submission at once;
- a claim carries a token and a lease: settling needs the token, and a
  submission whose worker died (lease run out) is claimed again. Capture's
  ledger, keyed by the submission id, makes that second pass harmless;
- a submission that keeps failing is dead-lettered with its reason, never
  dropped; `retry_dead` queues it again.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from sfsync.store.tables import IntakeSubmissionRow, utcnow

SessionFactory = Callable[[], AbstractContextManager[Session]]
TABLE: sa.Table = IntakeSubmissionRow.__table__  # type: ignore[attr-defined]
MAX_REASON = 2000


class SubmissionState(StrEnum):
    """Life of a submission: queued → processing → done | dead."""

    QUEUED = "queued"
    PROCESSING = "processing"  # claimed by a worker until `lease_until`
    DONE = "done"  # capture settled it (created, updated, duplicate or already done)
    DEAD = "dead"  # rejected, or failed too often: kept with the reason, retryable


@dataclass(frozen=True)
class NewSubmission:
    """What the endpoint queues: the form's values already mapped to Lead fields."""

    form: str
    source: str
    values: Mapping[str, Any]
    client_ip: str | None = None


@dataclass(frozen=True)
class Submission:
    """A stored submission as the worker and `sfsync intake status` see it."""

    id: int
    submission_id: str
    form: str
    source: str
    values: Mapping[str, Any]
    state: SubmissionState
    attempts: int
    created_at: datetime
    claim_token: str | None = None
    action: str | None = None
    record_id: str | None = None
    matched_id: str | None = None
    reason: str | None = None

    @property
    def key(self) -> str:
        """Capture's idempotency key: one lead per submission, however often it is processed."""
        return f"form:{self.submission_id}"


@dataclass(frozen=True)
class Settled:
    """How capture settled a claimed submission."""

    action: str
    record_id: str | None = None
    matched_id: str | None = None
    reason: str | None = None


def new_submission_id() -> str:
    """A random, unguessable id (the endpoint answers it; honeypot answers look the same)."""
    return str(uuid.uuid4())


class IntakeQueue:
    """The submissions table, through the Store's sessions: `IntakeQueue(store.session)`."""

    def __init__(self, session: SessionFactory) -> None:
        self._session = session

    def enqueue(self, submission: NewSubmission, submission_id: str | None = None) -> str:
        """Store a submission, committed when this returns; its public id."""
        public_id = submission_id or new_submission_id()
        now = utcnow()
        row = IntakeSubmissionRow(
            submission_id=public_id,
            form=submission.form,
            source=submission.source,
            values=dict(submission.values),
            client_ip=submission.client_ip,
            state=SubmissionState.QUEUED,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        with self._session() as s:
            s.add(row)
        return public_id

    def claim(self, limit: int, lease: timedelta, now: datetime | None = None) -> list[Submission]:
        """Take up to `limit` due submissions (queued, or processing with a lapsed lease)."""
        now = now or utcnow()
        token = secrets.token_hex(16)
        due = (
            sa.select(TABLE.c.id)
            .where(_claimable(now))
            .order_by(TABLE.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claim = (
            sa.update(TABLE)
            .where(TABLE.c.id.in_(due.scalar_subquery()))
            .values(
                state=SubmissionState.PROCESSING,
                claim_token=token,
                lease_until=now + lease,
                updated_at=now,
            )
        )
        with self._session() as s:
            s.execute(claim)
            rows = s.execute(sa.select(TABLE).where(TABLE.c.claim_token == token))
            return sorted((_submission(r._mapping) for r in rows), key=lambda x: x.id)

    def settle(self, claimed: Submission, settled: Settled) -> bool:
        """Mark a claimed submission done; False when its claim was lost (lease ran out)."""
        return self._finish(
            claimed,
            state=SubmissionState.DONE,
            action=settled.action,
            record_id=settled.record_id,
            matched_id=settled.matched_id,
            reason=_clip(settled.reason),
            attempts=claimed.attempts + 1,
        )

    def dead_letter(self, claimed: Submission, reason: str, action: str | None = None) -> bool:
        """Keep a submission that will not succeed as it is, with the reason."""
        return self._finish(
            claimed,
            state=SubmissionState.DEAD,
            action=action,
            reason=_clip(reason),
            attempts=claimed.attempts + 1,
        )

    def fail(
        self, claimed: Submission, reason: str, *, retry_at: datetime, max_attempts: int
    ) -> SubmissionState | None:
        """Count a failed attempt: queued again for `retry_at`, or dead after `max_attempts`.

        None when the claim was lost (its lease ran out and another worker took it).
        """
        attempts = claimed.attempts + 1
        if attempts >= max_attempts:
            gave_up = f"gave up after {attempts} attempts: {reason}"
            return SubmissionState.DEAD if self.dead_letter(claimed, gave_up) else None
        requeued = self._finish(
            claimed,
            state=SubmissionState.QUEUED,
            reason=_clip(reason),
            attempts=attempts,
            next_attempt_at=retry_at,
        )
        return SubmissionState.QUEUED if requeued else None

    def release(self, claimed: Sequence[Submission]) -> int:
        """Give claims back untouched (no attempt counted): the run stopped before them."""
        released = 0
        for item in claimed:
            released += self._finish(item, state=SubmissionState.QUEUED)
        return released

    def _finish(self, claimed: Submission, **values: Any) -> bool:
        statement = (
            sa.update(TABLE)
            .where(
                TABLE.c.id == claimed.id,
                TABLE.c.claim_token == claimed.claim_token,
                TABLE.c.state == SubmissionState.PROCESSING,
            )
            .values(claim_token=None, lease_until=None, updated_at=utcnow(), **values)
        )
        with self._session() as s:
            return bool(s.execute(statement).rowcount)  # type: ignore[attr-defined]

    def retry_dead(self, submission_ids: Sequence[str] | None = None) -> int:
        """Queue dead submissions again (all of them when `submission_ids` is None)."""
        statement = sa.update(TABLE).where(TABLE.c.state == SubmissionState.DEAD)
        if submission_ids is not None:
            statement = statement.where(TABLE.c.submission_id.in_(list(submission_ids)))
        now = utcnow()
        values = {"state": SubmissionState.QUEUED, "attempts": 0, "next_attempt_at": now}
        with self._session() as s:
            result = s.execute(statement.values(updated_at=now, **values))
            return int(result.rowcount)  # type: ignore[attr-defined]

    def counts(self) -> dict[str, int]:
        """Submissions per state (states with none are left out)."""
        query = sa.select(TABLE.c.state, sa.func.count()).group_by(TABLE.c.state)
        with self._session() as s:
            return {str(state): int(n) for state, n in s.execute(query).all()}

    def get(self, submission_id: str) -> Submission | None:
        """One submission by its public id."""
        with self._session() as s:
            row = s.execute(sa.select(TABLE).where(TABLE.c.submission_id == submission_id))
            found = row.first()
            return _submission(found._mapping) if found is not None else None

    def in_state(self, state: SubmissionState, limit: int = 50) -> list[Submission]:
        """Submissions in one state, newest first (for `sfsync intake status`)."""
        query = (
            sa.select(TABLE).where(TABLE.c.state == state).order_by(TABLE.c.id.desc()).limit(limit)
        )
        with self._session() as s:
            return [_submission(r._mapping) for r in s.execute(query)]


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    queued = sa.and_(TABLE.c.state == SubmissionState.QUEUED, TABLE.c.next_attempt_at <= now)
    lapsed = sa.and_(TABLE.c.state == SubmissionState.PROCESSING, TABLE.c.lease_until <= now)
    return sa.or_(queued, lapsed)


def _submission(row: sa.RowMapping) -> Submission:
    return Submission(
        id=int(row["id"]),
        submission_id=str(row["submission_id"]),
        form=str(row["form"]),
        source=str(row["source"]),
        values=dict(row["values"] or {}),
        state=SubmissionState(row["state"]),
        attempts=int(row["attempts"]),
        created_at=row["created_at"],
        claim_token=row["claim_token"],
        action=row["action"],
        record_id=row["record_id"],
        matched_id=row["matched_id"],
        reason=row["reason"],
    )


def _clip(reason: str | None) -> str | None:
    return reason if reason is None or len(reason) <= MAX_REASON else reason[:MAX_REASON] + "…"
