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
from sfsync.connectors.soap_xml import ConvertResult, LeadConvert
from sfsync.connectors.soql import by_ids_query, id_chunks
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


def flush(client: SalesforceClient, store: Store) -> FlushCounts:
    """Send what is pending: updates, then conversions, then the updates conversions queue."""
    counts = FlushCounts()
    tried: set[int] = set()  # a row that needs another try waits for the next cycle
    for kind in (OutboxKind.UPDATE, OutboxKind.CONVERT, OutboxKind.UPDATE):
        while rows := store.claim(FLUSH_BATCH, kind, skip=tried):
            tried.update(r.id for r in rows if r.id is not None)
            results = _send(client, rows)
            store.record_results(rows, results, MAX_ATTEMPTS)
            for result in results:
                _count(counts, result.outcome)
            log.info("sfsync.flush.batch_sent", kind=kind.value, rows=len(rows))
            if any(r.outcome is WriteOutcome.RETRY for r in results):
                break  # what is left waits for the next cycle instead of spinning here
    return counts


def _send(client: SalesforceClient, rows: list[OutboxRow]) -> list[WriteResult]:
    if rows[0].kind == OutboxKind.CONVERT:
        answers = client.convert_leads([_lead_convert(row) for row in rows])
        return [_as_write_result(a) for a in answers]
    results: list[WriteResult] = []
    for sobject in sorted({row.sobject for row in rows}):
        batch = [(row.lead_id, row.patch) for row in rows if row.sobject == sobject]
        results.extend(client.update(sobject, batch))
    return results


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
            state = settle(row, current.get(row.lead_id), me)
            store.resolve_in_flight(row, state, _created(row, current.get(row.lead_id)))
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
