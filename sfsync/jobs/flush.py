"""Draining the outbox: the only code that writes to Salesforce.

Rows are marked `sending` in the store before they go out, so a crash leaves
a trace. On the next start those rows are checked against the org first:
already written → done; changed by someone else since → superseded (the pull
re-decides them); otherwise → pending again. A write therefore lands at most
once per decision even across `kill -9`.

Updates go out a few Collections requests at a time (SFSYNC_WRITE_CONCURRENCY;
`writers.py` and `write_plan.py`), and the next batch is already in flight while
the previous one's results are recorded. Each batch's results are recorded
together, as with one request at a time. A request that fails for good leaves
its rows `sending`: the results that came back are recorded, the error is
raised, and the next cycle settles those rows against the org. Conversions
stay one call at a time: they are not idempotent, and their re-check of an
unknown outcome assumes no other conversion is in flight.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from sfsync.connectors.salesforce import SalesforceClient, parse_datetime
from sfsync.connectors.soap_xml import ConvertResult, LeadConvert
from sfsync.connectors.soql import by_ids_query, id_chunks
from sfsync.jobs.writers import InFlight, Writers, send_updates, writers_for
from sfsync.models import WriteOutcome, WriteResult
from sfsync.rules.pipeline import same_value
from sfsync.store import OutboxKind, OutboxRow, OutboxState, Store

log = structlog.get_logger("sfsync.flush")

FLUSH_BATCH = 2000
CONVERTED_FIELDS = (
    "IsConverted",
    "ConvertedAccountId",
    "ConvertedContactId",
    "ConvertedOpportunityId",
)
MAX_ATTEMPTS = 8


@dataclass
class FlushCounts:
    """What one flush did."""

    written: int = 0
    rejected: int = 0
    retry_later: int = 0


def flush(client: SalesforceClient, store: Store, concurrency: int | None = None) -> FlushCounts:
    """Send what is pending: updates, then conversions, then the updates conversions queue.

    `concurrency` (default: SFSYNC_WRITE_CONCURRENCY) bounds the Collections
    requests in flight at once; 1 sends them one after the other, as before.
    """
    counts = FlushCounts()
    tried: set[int] = set()  # a row that needs another try waits for the next cycle
    width = concurrency or client.settings.sfsync_write_concurrency
    with writers_for(client, width) as writers:
        for kind in (OutboxKind.UPDATE, OutboxKind.CONVERT, OutboxKind.UPDATE):
            if writers is not None and kind is OutboxKind.UPDATE:
                _drain_overlapped(writers, store, tried, counts)
            else:
                _drain(client, store, kind, tried, counts)
    return counts


def _drain(
    client: SalesforceClient, store: Store, kind: OutboxKind, tried: set[int], counts: FlushCounts
) -> None:
    """One batch at a time, in this thread: conversions, and updates at concurrency 1."""
    while rows := _claim(store, kind, tried):
        results = _send(client, rows)
        store.record_results(rows, results, MAX_ATTEMPTS)
        if _tally(counts, kind, rows, results):
            break  # what is left waits for the next cycle instead of spinning here


def _drain_overlapped(writers: Writers, store: Store, tried: set[int], counts: FlushCounts) -> None:
    """Updates: batch k+1 is in flight while batch k's results are recorded.

    A batch with rows to try again stops the claiming, as one at a time does;
    the batch already in flight behind it is still recorded.
    """
    previous: InFlight | None = None
    stopping = False
    while True:
        rows = [] if stopping else _claim(store, OutboxKind.UPDATE, tried)
        current = writers.submit(rows) if rows else None
        if previous is not None:
            stopping |= _record(writers, store, previous, counts, behind=current)
        if current is None:
            return
        previous = current


def _record(
    writers: Writers, store: Store, batch: InFlight, counts: FlushCounts, behind: InFlight | None
) -> bool:
    """Wait for a batch and record its results; True when a row needs another try."""
    results, error = writers.collect(batch)
    store.record_results(batch.rows, results, MAX_ATTEMPTS)
    if error is not None:
        if behind is not None:  # the next batch is in flight: keep what it gets done
            done, _ = writers.collect(behind, abandon=True)
            store.record_results(behind.rows, done, MAX_ATTEMPTS)
        raise error
    return _tally(counts, OutboxKind.UPDATE, batch.rows, results)


def _claim(store: Store, kind: OutboxKind, tried: set[int]) -> list[OutboxRow]:
    rows = store.claim(FLUSH_BATCH, kind, skip=tried)
    tried.update(r.id for r in rows if r.id is not None)
    return rows


def _send(client: SalesforceClient, rows: list[OutboxRow]) -> list[WriteResult]:
    if rows[0].kind == OutboxKind.CONVERT:
        answers = client.convert_leads([_lead_convert(row) for row in rows])
        return [_as_write_result(a) for a in answers]
    return send_updates(client, rows)


def _tally(
    counts: FlushCounts, kind: OutboxKind, rows: list[OutboxRow], results: list[WriteResult]
) -> bool:
    """Count a recorded batch; True when a row needs another try (stop for this cycle)."""
    for result in results:
        _count(counts, result.outcome)
    log.info("sfsync.flush.batch_sent", kind=kind.value, rows=len(rows))
    return any(r.outcome is WriteOutcome.RETRY for r in results)


def _lead_convert(row: OutboxRow) -> LeadConvert:
    p = row.patch
    return LeadConvert(
        lead_id=row.lead_id,
        converted_status=str(p["converted_status"]),
        account_id=p.get("account_id"),
        contact_id=p.get("contact_id"),
        owner_id=p.get("owner_id"),
        do_not_create_opportunity=bool(p.get("do_not_create_opportunity")),
        opportunity_name=p.get("opportunity_name"),
        overwrite_lead_source=bool(p.get("overwrite_lead_source")),
    )


def _as_write_result(answer: ConvertResult) -> WriteResult:
    ids = {
        "account_id": answer.account_id,
        "contact_id": answer.contact_id,
        "opportunity_id": answer.opportunity_id,
    }
    return WriteResult(
        lead_id=answer.lead_id,
        outcome=answer.outcome,
        error_code=answer.error_code,
        message=answer.message,
        fields=answer.fields,
        created={k: v for k, v in ids.items() if v},
    )


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
    for sobject in sorted({row.sobject for row in rows}):
        _recover(client, store, [r for r in rows if r.sobject == sobject], me)
    return len(rows)


def _recover(client: SalesforceClient, store: Store, rows: list[OutboxRow], me: str) -> None:
    sobject = rows[0].sobject
    for chunk in id_chunks(sorted({r.lead_id for r in rows})):
        wanted = set(chunk)
        fields = {
            name for r in rows if r.lead_id in wanted and r.kind == "update" for name in r.patch
        }
        if sobject == "Lead":
            fields |= set(CONVERTED_FIELDS)
        records = client.query(by_ids_query(sobject, sorted(fields), chunk), include_deleted=True)
        current = {str(r["Id"]): r for r in records}
        for row in (r for r in rows if r.lead_id in wanted):
            record = current.get(row.lead_id)
            state = settle(row, record, me)
            store.resolve_in_flight(row, state, _created(row, record), _landed(row, record))
            log.info("sfsync.flush.in_flight_settled", lead_id=row.lead_id, state=state.value)


def settle(row: OutboxRow, record: Mapping[str, Any] | None, me: str) -> OutboxState:
    """What became of a row whose send outcome is unknown, judged from the record as it is now."""
    if row.kind == OutboxKind.CONVERT:
        if record is not None and record.get("IsConverted"):
            return OutboxState.DONE
        return (
            OutboxState.SUPERSEDED
            if record is None or record.get("IsDeleted")
            else OutboxState.PENDING
        )
    if record is None or record.get("IsDeleted") or record.get("IsConverted"):
        return OutboxState.SUPERSEDED
    if all(same_value(record.get(k), v) for k, v in row.patch.items()):
        return OutboxState.DONE
    if _changed_by_others(record, row.base_stamp, me):
        return OutboxState.SUPERSEDED
    return OutboxState.PENDING


def _landed(row: OutboxRow, record: Mapping[str, Any] | None) -> dict[str, Any]:
    """The fields of an update the org holds as sent: sfsync's own values, even when superseded.

    Forgetting them would make sfsync take its own earlier values for a person's.
    """
    if row.kind != OutboxKind.UPDATE or record is None:
        return {}
    return {k: v for k, v in row.patch.items() if same_value(record.get(k), v)}


def _created(row: OutboxRow, record: Mapping[str, Any] | None) -> dict[str, str]:
    if row.kind != OutboxKind.CONVERT or record is None:
        return {}
    ids = {
        "account_id": "ConvertedAccountId",
        "contact_id": "ConvertedContactId",
        "opportunity_id": "ConvertedOpportunityId",
    }
    return {key: str(record[f]) for key, f in ids.items() if record.get(f)}


def _changed_by_others(record: Mapping[str, Any], base: datetime, me: str) -> bool:
    stamp = parse_datetime(record.get("SystemModstamp"))
    return stamp > base and record.get("LastModifiedById") != me
