"""Read-only queries the service side makes of the state store.

They live here, not in `sfsync.store`, because only health, metrics and the
status page need them; none of them writes. Every one is bounded: by a time
window, by a limit, or by one row per lead.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from sfsync.store import OutboxState, RunRow, Store
from sfsync.store.tables import DecisionRow, LeadState, OutboxRow

# Runs that prove the worker is alive: a cycle that completed, or one that stopped
# on purpose because the API budget is spent (restarting would not help it).
ALIVE_STATUSES = ("ok", "budget")
UNKNOWN_CODE = "UNKNOWN"


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
