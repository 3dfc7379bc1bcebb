"""`sfsync undo RUN_ID`: put back the values a run replaced, unless someone changed them since.

Every update sfsync sends keeps a before-image (the values it replaced, as
read). Undo reads the leads as they are now and restores a field only while it
still holds what the run wrote; fields people changed since, and leads
converted or deleted since, are listed and left alone. Conversions are
reported, never reversed (Salesforce has no un-convert). Restoring twice is
harmless, so undo needs no outbox of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sfsync.connectors.salesforce import SalesforceClient
from sfsync.connectors.soql import by_ids_query, id_chunks
from sfsync.models import WriteOutcome
from sfsync.rules.pipeline import same_value
from sfsync.store import OutboxKind, OutboxRow, Store


@dataclass(frozen=True)
class UndoItem:
    """One field of one lead: what the run wrote, what it replaced, what happens now."""

    lead_id: str
    field: str
    written: Any
    restore_to: Any
    current: Any
    action: str  # "restore" or "skip"
    reason: str = ""


@dataclass
class UndoReport:
    """The plan, and when not a dry run, what the org answered."""

    run_id: str
    items: list[UndoItem] = field(default_factory=list)
    conversions: list[str] = field(default_factory=list)
    restored: int = 0
    failed: dict[str, str] = field(default_factory=dict)


def undo_run(client: SalesforceClient, store: Store, run_id: str, *, dry_run: bool) -> UndoReport:
    """Plan the undo of `run_id` from the org's current values, and carry it out unless dry."""
    rows = store.done_writes(run_id)
    report = UndoReport(run_id)
    report.conversions = [r.lead_id for r in rows if r.kind == OutboxKind.CONVERT]
    updates = [r for r in rows if r.kind == OutboxKind.UPDATE and r.sobject == "Lead"]
    current = _read(client, updates)
    report.items = [item for row in updates for item in plan_row(row, current.get(row.lead_id))]
    if not dry_run:
        _restore(client, report)
    return report


def plan_row(row: OutboxRow, record: Mapping[str, Any] | None) -> list[UndoItem]:
    """What to do with each field of one written row, given the lead as it is now."""
    items = []
    for name, written in row.patch.items():
        before = row.before.get(name)
        now = record.get(name) if record else None
        reason = _skip_reason(record, now, written)
        action = "skip" if reason else "restore"
        items.append(UndoItem(row.lead_id, name, written, before, now, action, reason))
    return items


def _skip_reason(record: Mapping[str, Any] | None, now: Any, written: Any) -> str:
    if record is None or record.get("IsDeleted"):
        return "the lead was deleted since"
    if record.get("IsConverted"):
        return "the lead was converted since"
    if not same_value(now, written):
        return "changed since the run; the newer value stays"
    return ""


def _read(client: SalesforceClient, rows: Sequence[OutboxRow]) -> dict[str, dict[str, Any]]:
    fields = sorted({name for row in rows for name in row.patch})
    found: dict[str, dict[str, Any]] = {}
    for chunk in id_chunks(sorted({row.lead_id for row in rows})):
        soql = by_ids_query("Lead", fields, chunk)
        found.update({str(r["Id"]): r for r in client.query(soql, include_deleted=True)})
    return found


def _restore(client: SalesforceClient, report: UndoReport) -> None:
    patches: dict[str, dict[str, Any]] = {}
    for item in report.items:
        if item.action == "restore":
            patches.setdefault(item.lead_id, {})[item.field] = item.restore_to
    results = client.update("Lead", list(patches.items()))
    for result in results:
        if result.outcome is WriteOutcome.WRITTEN:
            report.restored += 1
        else:
            report.failed[result.lead_id] = f"{result.error_code}: {result.message}"
