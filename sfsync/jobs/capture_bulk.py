"""Capture's creates through Bulk API 2.0 insert jobs, for batches at or above the threshold.

Collections costs a call per 200 leads; an insert job costs about eight
calls (create, upload, close, two or three status reads, three result sets,
delete) per 10,000 leads, whatever their number, but waits for the org to
process it. `SFSYNC_IMPORT_BULK_THRESHOLD` (default 2,000, see
docs/CAPTURE.md for the measurement) decides which.

The ledger's discipline is the Collections path's: a job's rows are marked
`sending` before the job exists, the job's id is written on them as soon as
the org gives it, and results are recorded before the job is deleted. A run
that stops anywhere in between leaves `sending` rows; the next run reads
the job they name (`resume`), or, when no id was recorded (the creation's
answer lost, a crash before it), finds the leads by marker exactly as for
a lost Collections answer. Results arrive in no order: each result row is
the row as uploaded, matched back to its ledger key by the marker
(LastName, Company, Email) and, for equal markers, by the whole row (case
and spacing aside, as for the marker).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import structlog

from sfsync.connectors.bulk import BulkJob
from sfsync.connectors.bulk_ingest import ENDED, OPEN, BulkInserts, InsertResults
from sfsync.connectors.bulk_ingest_csv import InsertTable, insert_table, job_slices
from sfsync.connectors.salesforce import SalesforceClient
from sfsync.jobs.capture_send import (
    CreateRound,
    ToCreate,
    find_created,
    marker_key,
    unknown_outcome,
)
from sfsync.models import WriteOutcome, WriteResult

log = structlog.get_logger("sfsync.capture")

SOBJECT = "Lead"
# Created leads recorded per commit: a job's 10,000 in one transaction hold PostgreSQL's
# locks for seconds and move the progress bar once; what is not recorded yet stays `sending`
# and is found again in the job (not deleted before every part is recorded).
RECORD_CHUNK = 1_000
Row = tuple[str, ...]


@dataclass
class Hooks:
    """What the run does around each job: mark rows in flight, note the job, record results."""

    before_send: Callable[[Sequence[str]], None]
    on_job: Callable[[Sequence[str], str], None]
    after_chunk: Callable[[CreateRound], None]


@dataclass
class _Unmatched:
    """Planned rows by marker, handed out as result rows claim them."""

    by_marker: dict[tuple[str, ...], list[tuple[ToCreate, Row]]] = field(default_factory=dict)

    @classmethod
    def of(cls, items: Sequence[ToCreate], table: InsertTable) -> _Unmatched:
        found = cls()
        for item, row in zip(items, table.rows, strict=True):
            key = marker_key(dict(zip(table.header, row, strict=True)))
            found.by_marker.setdefault(key, []).append((item, row))
        return found

    def take(self, header: Sequence[str], row: Row) -> ToCreate | None:
        options = self.by_marker.get(marker_key(dict(zip(header, row, strict=True))))
        if not options:
            return None
        folded = _folded(row)  # an org may echo a value respaced or recased
        chosen = next((o for o in options if _folded(o[1]) == folded), options[0])
        options.remove(chosen)
        return chosen[0]

    def left(self) -> list[ToCreate]:
        return [item for options in self.by_marker.values() for item, _ in options]


def match_results(
    items: Sequence[ToCreate], table: InsertTable, results: InsertResults
) -> tuple[CreateRound, list[ToCreate]]:
    """The job's answers by ledger key, and the items no result row accounts for.

    Unprocessed rows (a job that failed or was aborted) are left unaccounted:
    the caller looks them up before sending them again.
    """
    pending = _Unmatched.of(items, table)
    done = CreateRound()
    for row, lead_id in results.created:
        item = pending.take(table.header, row)
        if item is not None:
            done.created[item.key] = lead_id
    for row, error in results.refused:
        item = pending.take(table.header, row)
        if item is None:
            continue
        answer = WriteResult(item.key, error.outcome, error.code, error.message, error.fields)
        target = done.refused if answer.outcome is WriteOutcome.REJECTED else done.later
        target[item.key] = answer
    return done, pending.left()


def bulk_round(
    client: SalesforceClient, me: str, items: Sequence[ToCreate], hooks: Hooks
) -> CreateRound:
    """Create `items` in as few insert jobs as the limits allow; each job recorded as it ends."""
    inserts = BulkInserts(client)
    table = insert_table([i.values for i in items])
    total = CreateRound()
    for part in job_slices(table):
        chunk = [items[i] for i in part]
        job_table = InsertTable(table.header, [table.rows[i] for i in part])
        hooks.before_send([i.key for i in chunk])
        job = inserts.start(SOBJECT)
        hooks.on_job([i.key for i in chunk], job.id)
        inserts.load(job, job_table)
        results = inserts.finish(job, job_table)
        done = _settle_job(client, me, chunk, job_table, results)
        for answers in _parts(done):
            hooks.after_chunk(answers)  # recorded before the job goes: the org's only other record
        inserts.dispose(job)
        _merge(total, done)
    return total


def _settle_job(
    client: SalesforceClient,
    me: str,
    items: Sequence[ToCreate],
    table: InsertTable,
    results: InsertResults,
) -> CreateRound:
    """Answers by key; rows the results leave out are looked up, and sent again if not found."""
    done, unknown = match_results(items, table, results)
    if unknown:
        log.warning("sfsync.capture.bulk_rows_unaccounted", rows=len(unknown),
                    state=results.state, error=results.error)  # fmt: skip
        found = find_created(client, me, unknown)
        done.created.update(found)
        done.later.update({i.key: unknown_outcome(i.key) for i in unknown if i.key not in found})
    return done


def resume(
    client: SalesforceClient, me: str, by_job: Mapping[str, Sequence[ToCreate]]
) -> tuple[CreateRound, list[ToCreate], list[BulkJob]]:
    """An interrupted run's jobs: their answers, the rows they leave unaccounted, the jobs.

    A job the org no longer has accounts for nothing; one never closed is
    aborted first (its rows were never tried). The caller records the
    answers, then disposes of the jobs.
    """
    done, unknown, jobs = CreateRound(), list[ToCreate](), list[BulkJob]()
    if not by_job:
        return done, unknown, jobs
    inserts = BulkInserts(client)
    for job_id, items in by_job.items():
        job = inserts.reopen(job_id)
        if job is None:
            unknown.extend(items)
            continue
        jobs.append(job)
        if job.state == OPEN:
            inserts.stop(job)
        table = insert_table([i.values for i in items])
        info = inserts.wait(job, ENDED)
        answers, left = match_results(items, table, inserts.results(job, table, info))
        _merge(done, answers)
        unknown.extend(left)
    log.info("sfsync.capture.bulk_resumed", jobs=len(by_job), found=len(jobs),
             created=len(done.created), unaccounted=len(unknown))  # fmt: skip
    return done, unknown, jobs


def dispose(client: SalesforceClient, jobs: Sequence[BulkJob]) -> None:
    """Delete jobs whose results are recorded."""
    inserts = BulkInserts(client)
    for job in jobs:
        inserts.dispose(job)


def _parts(done: CreateRound, size: int = RECORD_CHUNK) -> list[CreateRound]:
    """A job's answers in parts of at most `size` created leads (refusals go with the first)."""
    created = list(done.created.items())
    parts = [CreateRound(dict(created[i : i + size])) for i in range(0, len(created), size)]
    first = parts[0] if parts else CreateRound()
    first.refused.update(done.refused)
    first.later.update(done.later)
    return parts or [first]


def _folded(row: Row) -> Row:
    return tuple(" ".join(value.split()).casefold() for value in row)


def _merge(total: CreateRound, done: CreateRound) -> None:
    total.created.update(done.created)
    total.refused.update(done.refused)
    total.later.update(done.later)
