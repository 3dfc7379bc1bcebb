"""What follows a routing into the outbox: the SLA Task for the new owner and the hot-lead message.

Both wait until the lead is where routing put it: queued in the transaction
that records the owner write as done (`after_owner_writes`), or with the
decision itself when the owner does not change (`queue_ready`). Their outbox
rows are keyed apart from decisions: (lead, kind, follow-up key) with a fixed
rules version and stamp, so the unique index makes "at most once" hold across
re-decisions, retries and workers:

- the Task's key comes from the routing (lead, owner, rule, the routed
  version's stamp), kept in `LeadState.routing` while the write is pending,
  so a re-decision reuses it: one Task per routing;
- the message's key is the lead alone: one message per lead, ever.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from sfsync.models import Decision, stable_hash
from sfsync.store.tables import DecisionRow, OutboxKind, OutboxRow, new_outbox_values, utcnow

FOLLOWUP_VERSION = "routing"
OWNER_PREFIXES = ("005", "00G")  # user and queue Ids: what an owner field holds
FOLLOWUP_STAMP = datetime(2000, 1, 1, tzinfo=UTC)
OUTBOX = OutboxRow.__table__  # type: ignore[attr-defined]
DECISION = DecisionRow.__table__  # type: ignore[attr-defined]
IN_CHUNK = 500
INSERT_CHUNK = 500


def queue_ready(
    s: Session, run_id: str, decisions: Sequence[Decision], ids: Mapping[str, int]
) -> int:
    """Follow-ups of leads routed to the owner they already have (no write to wait for),
    and the merges matching asks for (once per pair of leads, whoever decides it)."""
    rows = []
    for decision in decisions:
        if decision.lead_id not in ids:
            continue
        routing = decision.summary.get("routing") or {}
        if routing.get("routed") and not routing.get("changes_owner"):
            rows += followup_rows(run_id, ids[decision.lead_id], decision.lead_id, routing)
        if merge := decision.summary.get("merge"):
            rows += _rows(run_id, ids[decision.lead_id], [_merge_row(merge)])
    return _insert_new(s, rows)


def _merge_row(merge: Mapping[str, Any]) -> tuple[OutboxKind, str, str, str, dict[str, Any]]:
    merged = sorted(str(i) for i in merge["merged"])
    key = stable_hash(["merge", str(merge["master"]), merged])
    patch = {"master_id": str(merge["master"]), "merge_ids": merged}
    return OutboxKind.MERGE, "Lead", merged[0], key, patch


class OwnerWrite(Protocol):
    """A done Lead update, as settling knows it."""

    @property
    def run_id(self) -> str: ...
    @property
    def decision_id(self) -> int: ...
    @property
    def lead_id(self) -> str: ...
    @property
    def patch(self) -> Mapping[str, Any]: ...


def after_owner_writes(s: Session, rows: Sequence[OwnerWrite]) -> int:
    """Follow-ups of the routings whose owner writes `rows` just landed."""
    # Most writes hold no owner: they spare the decisions' lookup.
    wanted = [r for r in rows if any(_is_owner(v) for v in r.patch.values())]
    routings = _routings(s, sorted({r.decision_id for r in wanted}))
    found: list[dict[str, Any]] = []
    for row in wanted:
        routing = routings.get(row.decision_id) or {}
        field, owner = routing.get("owner_field"), routing.get("owner")
        if not routing.get("changes_owner") or not field or row.patch.get(field) != owner:
            continue
        found += followup_rows(row.run_id, row.decision_id, row.lead_id, routing)
    return _insert_new(s, found)


def _is_owner(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(OWNER_PREFIXES)


def _routings(s: Session, decision_ids: Sequence[int]) -> dict[int, Mapping[str, Any]]:
    """Each decision's `summary["routing"]`, one query per chunk of ids."""
    found: dict[int, Mapping[str, Any]] = {}
    for start in range(0, len(decision_ids), IN_CHUNK):
        chunk = decision_ids[start : start + IN_CHUNK]
        query = sa.select(DECISION.c.id, DECISION.c.summary).where(DECISION.c.id.in_(chunk))
        for decision_id, summary in s.execute(query):
            found[int(decision_id)] = (summary or {}).get("routing") or {}
    return found


def followup_rows(
    run_id: str, decision_id: int, lead_id: str, routing: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Outbox rows for the routing's SLA Task and webhook message (those it asks for)."""
    found: list[tuple[OutboxKind, str, str, str, dict[str, Any]]] = []
    task = routing.get("sla_task")
    if task:
        found.append((OutboxKind.CREATE, "Task", lead_id, str(task["key"]), dict(task["values"])))
    notice = routing.get("notify")
    if notice:
        key = stable_hash(["notify", lead_id])
        found.append((OutboxKind.NOTIFY, "webhook", lead_id, key, notice))
    return _rows(run_id, decision_id, found)


def _rows(
    run_id: str, decision_id: int, found: list[tuple[OutboxKind, str, str, str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    now = utcnow()
    return [
        new_outbox_values(
            now,
            decision_id=decision_id,
            run_id=run_id,
            lead_id=lead_id,
            sobject=sobject,
            kind=kind,
            patch=patch,
            patch_hash=key,
            rules_version=FOLLOWUP_VERSION,
            base_stamp=FOLLOWUP_STAMP,
        )
        for kind, sobject, lead_id, key, patch in found
    ]


def _insert_new(s: Session, rows: list[dict[str, Any]]) -> int:
    """Insert the rows that are not there yet; the unique index drops repeats."""
    if not rows:
        return 0
    conn = s.connection()
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    inserted = 0
    # A few hundred rows a statement: one row is 19 parameters, and SQLite takes 32,766.
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        result = conn.execute(dialect.insert(OUTBOX).values(chunk).on_conflict_do_nothing())
        inserted += max(int(result.rowcount or 0), 0)
    return inserted
