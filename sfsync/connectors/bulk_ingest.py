"""Bulk API 2.0 insert jobs: many records created for a handful of calls, whatever their number.

    inserts = BulkInserts(client)
    table = insert_table(records)          # CSV columns and rows (bulk_ingest_csv)
    job = inserts.start("Lead")            # the caller records job.id before going on
    inserts.load(job, table)               # upload, close (UploadComplete)
    results = inserts.finish(job, table)   # poll, then successful/failed/unprocessed rows
    inserts.dispose(job)

A job is created without `assignmentRuleId`, so the org's assignment rules
do not run: the same as Collections' `Sforce-Auto-Assign: FALSE`.
Salesforce returns results in no particular order; each result row carries
the row as uploaded, which is how the caller knows which record it is.

Lost answers. Creating a job writes nothing, so its request is retried like
any other (a lost first answer leaves an empty Open job behind, harmless).
An upload or close whose answer was lost is retried too; the retry is then
refused (a second upload, a job already closed), so a refusal is settled by
reading the job's state instead of being raised. A job that got no data
ends Failed with every row unaccounted for: the caller looks those up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from sfsync.connectors.bulk import BulkJob, BulkJobs
from sfsync.connectors.bulk_ingest_csv import InsertTable, RowError, csv_bytes, result_rows
from sfsync.errors import ApiLimitReached, OrgUnavailable

log = structlog.get_logger("sfsync.bulk")

OPEN = "Open"
# What a finished ingest job can be: each has result sets to read.
ENDED = frozenset({"JobComplete", "Failed", "Aborted"})
CSV_BODY = {"Content-Type": "text/csv", "Accept": "application/json"}
CSV_ACCEPT = {"Accept": "text/csv"}


@dataclass
class InsertResults:
    """A finished insert job's rows, each as uploaded: created, refused, or never tried."""

    state: str
    created: list[tuple[tuple[str, ...], str]] = field(default_factory=list)  # row, new id
    refused: list[tuple[tuple[str, ...], RowError]] = field(default_factory=list)
    unprocessed: list[tuple[str, ...]] = field(default_factory=list)
    error: str | None = None  # the job's errorMessage when it Failed


class BulkInserts(BulkJobs):
    """Bulk API 2.0 `insert` jobs through a SalesforceClient's session, token and retry layer."""

    def start(self, sobject: str) -> BulkJob:
        """A new Open job; nothing is written until `load` closes it."""
        body = {"object": sobject, "operation": "insert", "contentType": "CSV",
                "columnDelimiter": "COMMA", "lineEnding": "LF"}  # fmt: skip
        info = self._json("bulk.ingest_create", "POST", "jobs/ingest", json=body)
        if not isinstance(info, dict) or not isinstance(info.get("id"), str):
            raise OrgUnavailable("the org answered a Bulk API 2.0 job creation without a job id")
        job = BulkJob(info["id"], sobject, str(info.get("state") or OPEN), kind="ingest")
        log.info("sfsync.bulk.job_created", job_id=job.id, sobject=sobject, operation="insert")
        return job

    def load(self, job: BulkJob, table: InsertTable) -> None:
        """Upload the CSV and close the job, which sets the org to work on it."""
        data = csv_bytes(table)
        upload = f"{job.path}/batches"
        self._settled("bulk.ingest_upload", job, "PUT", upload, data=data, headers=CSV_BODY)
        self._settled("bulk.ingest_close", job, "PATCH", job.path, json={"state": "UploadComplete"})
        log.info("sfsync.bulk.job_loaded", job_id=job.id, rows=len(table.rows), bytes=len(data))

    def _settled(self, name: str, job: BulkJob, method: str, path: str, **kwargs: Any) -> None:
        """A request whose retry the org may refuse because the first one arrived after all."""
        try:
            self.client.caller.call(name, lambda: self._send(method, path, **kwargs))
        except ApiLimitReached:
            raise
        except OrgUnavailable as exc:
            self.status(job)  # unreachable: raises; else the job says how far it got
            if job.state != OPEN or method == "PUT":
                log.warning("sfsync.bulk.refused_retry", call=name, job_id=job.id,
                            state=job.state, error=str(exc))  # fmt: skip
                return
            raise

    def finish(self, job: BulkJob, table: InsertTable) -> InsertResults:
        """Wait for the job to end, then read its rows (a Failed or Aborted job has some too)."""
        info = self.wait(job, ENDED)
        return self.results(job, table, info)

    def results(self, job: BulkJob, table: InsertTable, info: dict[str, Any]) -> InsertResults:
        """The rows of an ended job, as uploaded (columns in `table.header`'s order)."""
        found = InsertResults(job.state, error=str(info.get("errorMessage") or "") or None)
        for row, values in self._rows(job, "successfulResults", table):
            found.created.append((row, values["sf__Id"]))
        for row, values in self._rows(job, "failedResults", table):
            found.refused.append((row, RowError.parse(values.get("sf__Error", ""))))
        found.unprocessed = [row for row, _ in self._rows(job, "unprocessedrecords", table)]
        log.info("sfsync.bulk.ingest_results", job_id=job.id, state=job.state,
                 created=len(found.created), refused=len(found.refused),
                 unprocessed=len(found.unprocessed))  # fmt: skip
        return found

    def _rows(
        self, job: BulkJob, name: str, table: InsertTable
    ) -> Sequence[tuple[tuple[str, ...], dict[str, str]]]:
        def fetch() -> Sequence[tuple[tuple[str, ...], dict[str, str]]]:
            response = self._send("GET", f"{job.path}/{name}", headers=CSV_ACCEPT)
            return result_rows(response.content.decode("utf-8-sig"), table.header)

        return self.client.caller.call(f"bulk.ingest_{name}", fetch)

    def reopen(self, job_id: str) -> BulkJob | None:
        """A job an earlier run created, with its present state; None when the org has none."""
        job = BulkJob(job_id, "", OPEN, kind="ingest")
        try:
            self.status(job)
        except OrgUnavailable as exc:
            if str(exc).startswith("HTTP 404"):  # deleted, or older than its 7 days
                return None
            raise
        return job

    def stop(self, job: BulkJob) -> None:
        """Abort a job that was never closed: its rows will never be tried."""
        if job.state == OPEN:
            path = job.path
            self.client.caller.call(
                "bulk.abort", lambda: self._send("PATCH", path, json={"state": "Aborted"})
            )
            job.state = "Aborted"
