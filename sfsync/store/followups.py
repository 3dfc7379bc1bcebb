"""What follows a routing into the outbox: the SLA Task for the new owner and the hot-lead message.

Both wait until the lead is where routing put it: queued in the transaction
that records the owner write as done (`after_owner_write`), or with the
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
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from sfsync.models import Decision, stable_hash
from sfsync.store.tables import DecisionRow, OutboxKind, OutboxRow, OutboxState, utcnow

FOLLOWUP_VERSION = "routing"
OWNER_PREFIXES = ("005", "00G")  # user and queue Ids: what an owner field holds
FOLLOWUP_STAMP = datetime(2000, 1, 1, tzinfo=UTC)
OUTBOX = OutboxRow.__table__  # type: ignore[attr-defined]


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


def after_owner_write(s: Session, row: OutboxRow) -> int:
    """Follow-ups of the routing whose owner write `row` just landed."""
    if not any(isinstance(v, str) and v.startswith(OWNER_PREFIXES) for v in row.patch.values()):
        return 0  # no owner in the write: spare the decision's lookup (most writes)
    decision = s.get(DecisionRow, row.decision_id)
    routing = (decision.summary if decision else {}).get("routing") or {}
    field, owner = routing.get("owner_field"), routing.get("owner")
    if not routing.get("changes_owner") or not field or row.patch.get(field) != owner:
        return 0
    return _insert_new(s, followup_rows(row.run_id, row.decision_id, row.lead_id, routing))


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
        {
            "decision_id": decision_id,
            "run_id": run_id,
            "lead_id": lead_id,
            "sobject": sobject,
            "kind": kind,
            "patch": patch,
            "before": {},
            "result": None,
            "patch_hash": key,
            "rules_version": FOLLOWUP_VERSION,
            "base_stamp": FOLLOWUP_STAMP,
            "state": OutboxState.PENDING,
            "claimed_by": None,
            "attempts": 0,
            "error_code": None,
            "error_message": None,
            "error_fields": [],
            "created_at": now,
            "updated_at": now,
        }
        for kind, sobject, lead_id, key, patch in found
    ]


def _insert_new(s: Session, rows: list[dict[str, Any]]) -> int:
    """Insert the rows that are not there yet; the unique index drops repeats."""
    if not rows:
        return 0
    conn = s.connection()
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(OUTBOX).values(rows).on_conflict_do_nothing()
    result = s.execute(statement)
    return max(int(result.rowcount or 0), 0)  # type: ignore[attr-defined]
