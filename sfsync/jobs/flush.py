"""Draining the outbox: the only code that writes to Salesforce.

Rows are marked `sending` in the store before they go out, so a crash leaves
a trace. On the next start those rows are checked against the org first:
already written → done; changed by someone else since → superseded (the pull
re-decides them); otherwise → pending again. A write therefore lands at most
once per decision even across `kill -9`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from sfsync.connectors.salesforce import SalesforceClient, parse_datetime
from sfsync.connectors.soql import by_ids_query, id_chunks
from sfsync.models import WriteOutcome
from sfsync.rules.pipeline import same_value
from sfsync.store import OutboxRow, OutboxState, Store

log = structlog.get_logger("sfsync.flush")

FLUSH_BATCH = 2000
MAX_ATTEMPTS = 8


@dataclass
class FlushCounts:
    """What one flush did."""

    written: int = 0
    rejected: int = 0
    retry_later: int = 0


def flush(client: SalesforceClient, store: Store, sobject: str = "Lead") -> FlushCounts:
    """Send every pending outbox row, 200 a request, and record each record's outcome."""
    counts = FlushCounts()
    while rows := store.claim(FLUSH_BATCH):
        results = client.update(sobject, [(row.lead_id, row.patch) for row in rows])
        store.record_results(rows, results, MAX_ATTEMPTS)
        for result in results:
            _count(counts, result.outcome)
        log.info("sfsync.flush.batch_written", rows=len(rows), written=counts.written)
        if counts.retry_later:
            break  # what is left waits for the next cycle instead of spinning here
    return counts


def _count(counts: FlushCounts, outcome: WriteOutcome) -> None:
    if outcome is WriteOutcome.WRITTEN:
        counts.written += 1
    elif outcome is WriteOutcome.REJECTED:
        counts.rejected += 1
    else:
        counts.retry_later += 1


def recover_in_flight(client: SalesforceClient, store: Store, me: str) -> int:
    """Settle rows a dead worker left `sending` by reading the org. Returns rows settled."""
    rows = store.orphaned_in_flight()
    for chunk in id_chunks([r.lead_id for r in rows]):
        wanted = set(chunk)
        fields = {name for r in rows if r.lead_id in wanted for name in r.patch}
        records = client.query(by_ids_query("Lead", sorted(fields), chunk), include_deleted=True)
        current = {str(r["Id"]): r for r in records}
        for row in (r for r in rows if r.lead_id in wanted):
            state = settle(row, current.get(row.lead_id), me)
            store.resolve_in_flight(row, state)
            log.info("sfsync.flush.in_flight_settled", lead_id=row.lead_id, state=state.value)
    return len(rows)


def settle(row: OutboxRow, record: Mapping[str, Any] | None, me: str) -> OutboxState:
    """What became of a row whose send outcome is unknown, judged from the lead as it is now."""
    if record is None or record.get("IsDeleted") or record.get("IsConverted"):
        return OutboxState.SUPERSEDED
    if all(same_value(record.get(k), v) for k, v in row.patch.items()):
        return OutboxState.DONE
    if _changed_by_others(record, row.base_stamp, me):
        return OutboxState.SUPERSEDED
    return OutboxState.PENDING


def _changed_by_others(record: Mapping[str, Any], base: datetime, me: str) -> bool:
    stamp = parse_datetime(record.get("SystemModstamp"))
    return stamp > base and record.get("LastModifiedById") != me
