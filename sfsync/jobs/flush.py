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
from sfsync.connectors.soap_merge import MergeOutcome, MergeRequest
from sfsync.connectors.soap_xml import ConvertResult, LeadConvert
from sfsync.connectors.soql import by_ids_query, id_chunks
from sfsync.jobs.notify import Notifier
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
OWNER = "OwnerId"
USER_PREFIX = "005"


@dataclass
class FlushCounts:
    """What one flush did."""

    written: int = 0
    rejected: int = 0
    retry_later: int = 0


def flush(
    client: SalesforceClient,
    store: Store,
    concurrency: int | None = None,
    notifier: Notifier | None = None,
    known_owners: Mapping[str, bool] | None = None,
) -> FlushCounts:
    """Send what is pending: updates, conversions, the updates conversions queue, follow-ups.

    Follow-ups are the routing's SLA Tasks and, with a `notifier`, its
    hot-lead messages (whose failures never fail the flush). `known_owners`
    (user id -> active) spares the owner check a query when the caller read
    the org's users moments ago.

    `concurrency` (default: SFSYNC_WRITE_CONCURRENCY) bounds the Collections
    requests in flight at once; 1 sends them one after the other, as before.
    """
    counts = FlushCounts()
    tried: set[int] = set()  # a row that needs another try waits for the next cycle
    # Owners checked this flush (user id, 15 characters -> active), or just read by the caller.
    active: dict[str, bool] = {k[:15]: v for k, v in (known_owners or {}).items()}
    width = concurrency or client.settings.sfsync_write_concurrency
    with writers_for(client, width) as writers:
        for kind in (OutboxKind.UPDATE, OutboxKind.CONVERT, OutboxKind.UPDATE):
            if writers is not None and kind is OutboxKind.UPDATE:
                _drain_overlapped(client, writers, store, tried, counts, active)
            else:
                _drain(client, store, kind, tried, counts, active)
    # Follow-ups of routings whose owner write just landed (queued by those writes).
    _drain_created(client, store, tried, counts)
    _drain_merges(client, store, tried, counts)
    if notifier is not None:
        notifier.drain(store, MAX_ATTEMPTS)
    return counts


def _drain_merges(
    client: SalesforceClient, store: Store, tried: set[int], counts: FlushCounts
) -> None:
    """Merges of duplicate leads, after their updates; an outcome still unknown stays `sending`.

    Sending a merge again is safe (a repeat is refused as already merged and
    settled by re-reading), so the next cycle puts such rows back in the queue.
    """
    while rows := _claim(store, OutboxKind.MERGE, tried):
        requests = [
            MergeRequest(str(r.patch["master_id"]), tuple(r.patch["merge_ids"]), r.sobject)
            for r in rows
        ]
        outcomes = client.merge(requests)
        pairs = [
            (row, _merge_result(row, outcome))
            for row, outcome in zip(rows, outcomes, strict=True)
            if not outcome.needs_check
        ]
        store.record_each(pairs, MAX_ATTEMPTS)
        if _tally(counts, OutboxKind.MERGE, rows, [result for _, result in pairs]):
            break


def _merge_result(row: OutboxRow, outcome: MergeOutcome) -> WriteResult:
    return WriteResult(
        row.lead_id,
        outcome.outcome,
        outcome.error_code,
        outcome.message,
        outcome.fields,
        {"master_id": outcome.master_id} if outcome.outcome is WriteOutcome.WRITTEN else {},
    )


def _drain_created(
    client: SalesforceClient, store: Store, tried: set[int], counts: FlushCounts
) -> None:
    """Inserts (SLA Tasks): rows whose answer was lost stay `sending` for the next cycle's check."""
    while rows := _claim(store, OutboxKind.CREATE, tried):
        pairs: list[tuple[OutboxRow, WriteResult]] = []
        for sobject in sorted({row.sobject for row in rows}):
            batch = [row for row in rows if row.sobject == sobject]
            answers = client.create(sobject, [(row.lead_id, row.patch) for row in batch])
            pairs += [(row, a) for row, a in zip(batch, answers, strict=True) if a is not None]
        store.record_each(pairs, MAX_ATTEMPTS)
        if _tally(counts, OutboxKind.CREATE, rows, [result for _, result in pairs]):
            break


def _drain(
    client: SalesforceClient,
    store: Store,
    kind: OutboxKind,
    tried: set[int],
    counts: FlushCounts,
    active: dict[str, bool],
) -> None:
    """One batch at a time, in this thread: conversions, and updates at concurrency 1."""
    while rows := _claim_owned(client, store, kind, tried, counts, active):
        results = _send(client, rows)
        store.record_results(rows, results, MAX_ATTEMPTS)
        if _tally(counts, kind, rows, results):
            break  # what is left waits for the next cycle instead of spinning here


def _drain_overlapped(
    client: SalesforceClient,
    writers: Writers,
    store: Store,
    tried: set[int],
    counts: FlushCounts,
    active: dict[str, bool],
) -> None:
    """Updates: batch k+1 is in flight while batch k's results are recorded.

    A batch with rows to try again stops the claiming, as one at a time does;
    the batch already in flight behind it is still recorded.
    """
    previous: InFlight | None = None
    stopping = False
    while True:
        rows = (
            []
            if stopping
            else _claim_owned(client, store, OutboxKind.UPDATE, tried, counts, active)
        )
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


def _claim_owned(
    client: SalesforceClient,
    store: Store,
    kind: OutboxKind,
    tried: set[int],
    counts: FlushCounts,
    active: dict[str, bool],
) -> list[OutboxRow]:
    """Claimed rows, less the updates that would give a lead an owner no longer active.

    Routing read the org's users at the start of the cycle (or sweep); a
    user deactivated since is caught here, one query per flush for the
    owners it has not checked yet, and the row is dead-lettered with the
    reason instead of sent.
    """
    while rows := _claim(store, kind, tried):
        owners = {str(r.patch[OWNER]) for r in rows if _sets_user_owner(r)}
        if kind is not OutboxKind.UPDATE or not owners:
            return rows
        unchecked = sorted(o for o in owners if o[:15] not in active)
        if unchecked:
            found = _active_users(client, unchecked)
            active.update({owner[:15]: owner[:15] in found for owner in unchecked})
        refused = [r for r in rows if _sets_user_owner(r) and not active[str(r.patch[OWNER])[:15]]]
        if refused:
            store.record_each([(r, _inactive_owner(r)) for r in refused], MAX_ATTEMPTS)
            counts.rejected += len(refused)
        kept = [r for r in rows if r not in refused]
        if kept:
            return kept
    return []


def _sets_user_owner(row: OutboxRow) -> bool:
    return row.sobject == "Lead" and str(row.patch.get(OWNER) or "").startswith(USER_PREFIX)


def _active_users(client: SalesforceClient, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in id_chunks(ids):
        quoted = ", ".join(f"'{i}'" for i in chunk)
        soql = f"SELECT Id FROM User WHERE IsActive = true AND Id IN ({quoted})"
        found |= {str(r["Id"])[:15] for r in client.query(soql)}
    return found


def _inactive_owner(row: OutboxRow) -> WriteResult:
    owner = row.patch[OWNER]
    return WriteResult(
        row.lead_id,
        WriteOutcome.REJECTED,
        "INACTIVE_OWNER_OR_USER",
        f"owner {owner} is not an active user any more (checked before writing); not sent",
        (OWNER,),
    )


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
    writes = [r for r in rows if r.kind in (OutboxKind.UPDATE, OutboxKind.CONVERT)]
    for sobject in sorted({row.sobject for row in writes}):
        _recover(client, store, [r for r in writes if r.sobject == sobject], me)
    created = [r for r in rows if r.kind == OutboxKind.CREATE]
    for sobject in sorted({row.sobject for row in created}):
        _recover_created(client, store, [r for r in created if r.sobject == sobject], me)
    for row in (r for r in rows if r.kind == OutboxKind.MERGE):
        store.resolve_in_flight(row, OutboxState.PENDING)  # resending settles it (see above)
    for row in (r for r in rows if r.kind == OutboxKind.NOTIFY):
        # Sent or not, nobody can tell; sending again could post it twice (at most once wins).
        store.resolve_in_flight(row, OutboxState.DONE, {"outcome": "unknown after a restart"})
    return len(rows)


def _recover_created(
    client: SalesforceClient, store: Store, rows: list[OutboxRow], me: str
) -> None:
    """Inserts whose answer was lost: found in the org (created by us, same values) → done."""
    sobject = rows[0].sobject
    for chunk in id_chunks(sorted({r.lead_id for r in rows})):
        quoted = ", ".join(f"'{i}'" for i in chunk)
        soql = (
            f"SELECT Id, WhoId, OwnerId, Subject, ReminderDateTime FROM {sobject} "
            f"WHERE CreatedById = '{me}' AND WhoId IN ({quoted})"
        )
        existing = client.query(soql)
        for row in (r for r in rows if r.lead_id in chunk):
            found = next((e for e in existing if same_insert(row.patch, e)), None)
            state = OutboxState.DONE if found else OutboxState.PENDING
            store.resolve_in_flight(row, state, {"id": str(found["Id"])} if found else None)
            log.info("sfsync.flush.insert_settled", lead_id=row.lead_id, state=state.value)


def same_insert(sent: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """Whether a record in the org is the one an insert sent (its key fields agree)."""
    for name in ("WhoId", "OwnerId"):
        if str(sent.get(name) or "")[:15] != str(record.get(name) or "")[:15]:
            return False
    if (sent.get("Subject") or "") != (record.get("Subject") or ""):
        return False
    due, found = sent.get("ReminderDateTime"), record.get("ReminderDateTime")
    if not due or not found:
        return not due and not found
    return parse_datetime(due) == parse_datetime(found)


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
