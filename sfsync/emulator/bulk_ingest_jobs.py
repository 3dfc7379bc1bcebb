"""Bulk API 2.0 ingest jobs: what one job is, how it moves through its states, where jobs live.

A job is created `Open`; its CSV arrives in one upload; `UploadComplete`
closes it. Each status read (`GET jobs/ingest/{id}`) then moves it one
state on, as query jobs do (`bulk_jobs`): `InProgress`, then `JobComplete`
after `polls_to_complete` reads (default 2), so a client always polls at
least once. The rows are saved on the read that completes the job, one
record at a time through the org's own save (`Org.update` and friends), so
validation, audit stamps and the journal are the REST API's; what differs
is Bulk's: no assignment rule runs unless the job names one
(`assignmentRuleId`), an empty value leaves the field as it is and `#N/A`
empties it. A header naming a field the object lacks fails the whole job
at processing, as Salesforce reports it in `errorMessage`.

Facts marked [INF] are inferred, not read in Salesforce's documentation.
"""

from __future__ import annotations

import csv
import io
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sfsync.emulator.bulk_csv import DELIMITERS
from sfsync.emulator.org import Org, OrgError, SaveResult
from sfsync.emulator.soql_render import format_datetime
from sfsync.ids import to18

OPEN = "Open"
UPLOAD_COMPLETE = "UploadComplete"
IN_PROGRESS = "InProgress"
JOB_COMPLETE = "JobComplete"
FAILED = "Failed"
ABORTED = "Aborted"
RUNNING = frozenset({UPLOAD_COMPLETE, IN_PROGRESS})
ABORTABLE = frozenset({OPEN, UPLOAD_COMPLETE, IN_PROGRESS})
FINISHED = frozenset({JOB_COMPLETE, FAILED, ABORTED})
# Salesforce deletes jobs in these states [DOC: Delete a Job].
DELETABLE = frozenset({UPLOAD_COMPLETE, JOB_COMPLETE, FAILED, ABORTED})
DEFAULT_POLLS_TO_COMPLETE = 2
OPERATIONS = ("insert", "update", "delete")
NULL_VALUE = "#N/A"
INVALID_STATE = "INVALIDJOBSTATE"
# The CSV limit: 150 MB once base64-encoded, so about 100 MB as uploaded [DOC].
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
# [INF wording, seen in client bug reports]
SECOND_UPLOAD = (
    "Found multiple contents for job: {job}, please 'Close' / 'Abort' / 'Delete' the current "
    "Job then create a new Job and make sure you only do 'PUT' once on a given Job."
)

NO_ID = OrgError("MISSING_ARGUMENT", "Id not specified in an update call")  # as Collections say
Save = Callable[[dict[str, Any]], SaveResult]


class IngestRefusal(Exception):
    """A request the job's state or data refuses: HTTP status, error code, message."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message


@dataclass(frozen=True)
class IngestRequest:
    """What a create request asked for, already checked for shape."""

    sobject: str
    operation: str
    column_delimiter: str
    line_ending: str
    api_version: str
    user_id: str
    assignment_rule_id: str | None = None


@dataclass(frozen=True)
class RowResult:
    """One CSV row's outcome: the record's id, whether it was created, or the error."""

    row: tuple[str, ...]
    record_id: str | None
    created: bool = False
    error: str | None = None


@dataclass
class IngestJob:
    """One ingest job; mutated only under its store's lock."""

    id: str
    request: IngestRequest
    created: datetime
    state: str = OPEN
    data: bytes | None = None
    polls: int = 0
    modified: datetime | None = None
    error: str | None = None
    header: tuple[str, ...] = ()
    rows: list[tuple[str, ...]] = field(default_factory=list)
    results: list[RowResult] = field(default_factory=list)

    @property
    def failed(self) -> list[RowResult]:
        """Rows the org refused."""
        return [r for r in self.results if r.error is not None]

    @property
    def unprocessed(self) -> list[tuple[str, ...]]:
        """Rows never tried: all of them when the job was aborted or failed before processing."""
        return self.rows[len(self.results) :]

    def info(self, base: str, *, full: bool) -> dict[str, Any]:
        """The job's JSON: the create/close/abort answer, or (`full`) the status read's."""
        request = self.request
        body: dict[str, Any] = {
            "id": self.id,
            "operation": request.operation,
            "object": request.sobject,
            "createdById": request.user_id,
            "createdDate": format_datetime(self.created),
            "systemModstamp": format_datetime(self.modified or self.created),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(request.api_version),
            "contentUrl": f"{base.lstrip('/')}/jobs/ingest/{self.id}/batches",
            "lineEnding": request.line_ending,
            "columnDelimiter": request.column_delimiter,
        }
        if request.assignment_rule_id:
            body["assignmentRuleId"] = request.assignment_rule_id
        if full:
            body.update(self._progress())
        return body

    def _progress(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "jobType": "V2Ingest",
            "numberRecordsProcessed": len(self.results),
            "numberRecordsFailed": len(self.failed),
            "retries": 0,
            "totalProcessingTime": 0,
            "apiActiveProcessingTime": 0,
            "apexProcessingTime": 0,
        }
        if self.state == FAILED:
            body["errorMessage"] = self.error
        return body


@dataclass
class IngestJobs:
    """The org's ingest jobs by id; thread-safe."""

    polls_to_complete: int = DEFAULT_POLLS_TO_COMPLETE
    _jobs: dict[str, IngestJob] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _counter: Callable[[], int] = field(default_factory=lambda: itertools.count(1).__next__)

    def create(self, org: Org, request: IngestRequest) -> IngestJob:
        """A new `Open` job waiting for its CSV."""
        with self._lock:
            job = IngestJob(to18(f"750EI{self._counter():010d}"), request, org.now())
            self._jobs[job.id] = job
            return job

    def get(self, job_id: str) -> IngestJob | None:
        """The job, or None when unknown or deleted."""
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[IngestJob]:
        """Every job, oldest first."""
        with self._lock:
            return list(self._jobs.values())

    def upload(self, job_id: str, data: bytes) -> IngestJob | None:
        """Store the job's CSV; raises `IngestRefusal` for a closed job or a second upload."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            if job.state != OPEN:
                raise IngestRefusal(409, INVALID_STATE, f"Job {job.id} is {job.state}")  # [INF]
            if job.data is not None:
                raise IngestRefusal(400, INVALID_STATE, SECOND_UPLOAD.format(job=job.id))
            if len(data) > MAX_UPLOAD_BYTES:
                message = f"The upload is larger than {MAX_UPLOAD_BYTES} bytes"  # [INF] wording
                raise IngestRefusal(400, "CLIENT_INPUT_ERROR", message)
            job.data = data
            return job

    def change_state(self, job_id: str, state: str, now: datetime) -> IngestJob | None:
        """`UploadComplete` (from Open) or `Aborted` (before it finishes); IngestRefusal else."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            allowed = {OPEN} if state == UPLOAD_COMPLETE else ABORTABLE
            if job.state not in allowed:
                message = f"Job {job.id} is {job.state} and cannot be set to {state}"
                raise IngestRefusal(400, INVALID_STATE, message)
            job.state, job.modified = state, now
            if state == UPLOAD_COMPLETE:
                _read_rows(job)
            return job

    def poll(self, org: Org, job_id: str, now: datetime) -> IngestJob | None:
        """Read the job's status, which moves a running job one step on (and may process it)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.state not in RUNNING:
                return job
            job.polls += 1
            job.modified = now
            if job.error is not None:
                job.state = FAILED
            elif job.polls < self.polls_to_complete:
                job.state = IN_PROGRESS
            else:
                _process(org, job)
            return job

    def delete(self, job_id: str) -> IngestJob | None:
        """Forget a job in a deletable state (returned); any other stays (returned too)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and job.state in DELETABLE:
                del self._jobs[job_id]
            return job


def _read_rows(job: IngestJob) -> None:
    """Parse the uploaded CSV; a job without data or header ends Failed at its first read."""
    if not job.data:
        job.error = "InvalidBatch : No data was uploaded for this job"  # [INF] wording
        return
    try:
        text = job.data.decode("utf-8-sig")
    except UnicodeDecodeError:
        job.error = "InvalidBatch : The CSV data is not valid UTF-8"  # [INF] wording
        return
    delimiter = DELIMITERS[job.request.column_delimiter]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = [tuple(row) for row in reader if row]
    if not rows:
        job.error = "InvalidBatch : The CSV data has no header row"  # [INF] wording
        return
    job.header, job.rows = rows[0], rows[1:]


def _process(org: Org, job: IngestJob) -> None:
    """Save every row; a header the object cannot take fails the whole job instead."""
    problem = header_problem(org, job.request, job.header)
    if problem is not None:
        job.state, job.error = FAILED, problem
        return
    save = _saver(org, job.request)
    job.results = [_save_row(save, job.header, row) for row in job.rows]
    job.state = JOB_COMPLETE


def header_problem(org: Org, request: IngestRequest, header: tuple[str, ...]) -> str | None:
    """Why the CSV's columns do not fit the operation and object, or None."""
    obj = org.schema.get(request.sobject)
    if obj is None:
        return f"InvalidJob : Unknown object {request.sobject}"  # [INF] wording
    names = {name.lower() for name in header}
    if request.operation in ("update", "delete") and "id" not in names:
        return "InvalidBatch : Field name not found : Id"  # [INF] wording
    for name in header:
        if obj.field(name) is None:
            return f"InvalidBatch : Field name not found : {name}"
    return None


def _saver(org: Org, request: IngestRequest) -> Save:
    """How one row's values are saved for the job's operation."""
    sobject, user = request.sobject, request.user_id
    assign = request.assignment_rule_id is not None

    def insert(values: dict[str, Any]) -> SaveResult:
        return org.create(sobject, values, user_id=user, auto_assign=assign)

    def update(values: dict[str, Any]) -> SaveResult:
        record_id = values.pop("Id", None)
        if not record_id:
            return SaveResult.failed(None, NO_ID)
        return org.update(sobject, str(record_id), values, user_id=user, auto_assign=assign)

    def delete(values: dict[str, Any]) -> SaveResult:
        record_id = values.get("Id")
        if not record_id:
            return SaveResult.failed(None, NO_ID)
        return org.delete(sobject, str(record_id), user_id=user)

    return {"insert": insert, "update": update, "delete": delete}[request.operation]


def _save_row(save: Save, header: tuple[str, ...], row: tuple[str, ...]) -> RowResult:
    if len(row) != len(header):
        message = f"TooManyFields : {len(row)} values for {len(header)} columns"  # [INF]
        return RowResult(row, None, error=message)
    result = save(row_values(header, row))
    if result.success:
        return RowResult(row, result.id, created=result.created)
    return RowResult(row, result.id, error=error_text(result.errors))


def row_values(header: tuple[str, ...], row: tuple[str, ...]) -> dict[str, Any]:
    """The values a row sets: an empty value is left out, `#N/A` becomes null."""
    values: dict[str, Any] = {}
    for name, value in zip(header, row, strict=True):
        key = "Id" if name.lower() == "id" else name
        if value == NULL_VALUE:
            values[key] = None
        elif value != "":
            values[key] = value
    return values


def error_text(errors: tuple[OrgError, ...]) -> str:
    """`sf__Error` for a refused row: `CODE:message:fields --` per error."""
    return " ".join(
        f"{error.status_code}:{error.message}:{','.join(error.fields)} --" for error in errors
    )
