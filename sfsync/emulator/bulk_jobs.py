"""Bulk API 2.0 query jobs: what one job is, how it moves through its states, where jobs live.

A job is created `UploadComplete` and moves one state per status read
(`GET jobs/query/{id}`): `InProgress`, then `JobComplete` once
`polls_to_complete` reads have happened (default 2), so a client always has
to poll at least once. A query Bulk 2.0 refuses, or one the SOQL engine
refuses, is accepted at creation and ends `Failed` with an `errorMessage`
at the first read [INF: a real org may also refuse some queries at
creation with a 400; sfsync handles both]. `fail_next` makes the next jobs
fail as an org's internal trouble does ("retried more than 15 times").

The query runs at creation, over the org's tables under its lock, and the
result is a snapshot (see `soql.QueryResult`): results read later are the
records as they were when the job was created.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sfsync.emulator import soql as soql_engine
from sfsync.emulator.org import Org
from sfsync.emulator.soql import QueryResult, SoqlError
from sfsync.emulator.soql_render import format_datetime
from sfsync.ids import to18

UPLOAD_COMPLETE = "UploadComplete"
IN_PROGRESS = "InProgress"
JOB_COMPLETE = "JobComplete"
FAILED = "Failed"
ABORTED = "Aborted"
RUNNING = frozenset({UPLOAD_COMPLETE, IN_PROGRESS})
# States a query job may be deleted in [INF: Salesforce documents these for query jobs].
DELETABLE = frozenset({UPLOAD_COMPLETE, JOB_COMPLETE, FAILED, ABORTED})
DEFAULT_POLLS_TO_COMPLETE = 2
# Bulk API 2.0 chunks large queries on the primary key for these standard objects.
PK_CHUNKED = frozenset({"Account", "Contact", "Lead", "Opportunity", "Task", "Campaign", "User"})

# What Bulk API 2.0 refuses although SOQL allows it (Salesforce's "SOQL considerations"):
# GROUP BY, OFFSET, TYPEOF, aggregate functions such as COUNT(), parent-to-child subqueries
# and compound fields. The emulator's SOQL has no GROUP BY, TYPEOF or compound fields.
_SUBQUERY = re.compile(r"\(\s*select\b", re.IGNORECASE)
_FROM = re.compile(r"\bfrom\b\s*([A-Za-z][A-Za-z0-9_]*)?", re.IGNORECASE)
NOT_ENABLED = "FUNCTIONALITY_NOT_ENABLED"
SUBQUERY_MESSAGE = "Aggregate Relationships not supported in Bulk Query"
COUNT_MESSAGE = "Aggregate queries are not supported in Bulk API 2.0 query jobs [INF wording]"
OFFSET_MESSAGE = "OFFSET is not supported in Bulk API 2.0 query jobs [INF wording]"


class Unsupported(Exception):
    """A query Bulk 2.0 refuses: `error_code` and message, as the job's errorMessage shows."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message


@dataclass
class QueryJob:
    """One query job; mutated only under its store's lock."""

    id: str
    operation: str
    soql: str
    sobject: str
    created_by: str
    created: datetime
    api_version: str
    column_delimiter: str
    line_ending: str
    result: QueryResult | None = None
    # Field types of the result's columns, for CSV formatting (soql_ast.FieldPath.type).
    types: tuple[str, ...] = ()
    # Why the job will fail (or failed); None when it runs fine.
    error: str | None = None
    state: str = UPLOAD_COMPLETE
    polls: int = 0
    modified: datetime | None = None

    @property
    def records(self) -> int:
        """Rows the job produced (0 until it completes)."""
        return self.result.total_size if self.result and self.state == JOB_COMPLETE else 0

    def info(self, *, full: bool) -> dict[str, Any]:
        """The job's JSON: the create/abort answer, or (`full`) the status read's."""
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.sobject,
            "createdById": self.created_by,
            "createdDate": format_datetime(self.created),
            "systemModstamp": format_datetime(self.modified or self.created),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.api_version),
            "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
        }
        if full:
            body.update(
                jobType="V2Query",
                numberRecordsProcessed=self.records,
                retries=0,
                totalProcessingTime=0,
                isPkChunkingSupported=self.sobject in PK_CHUNKED,
            )
            if self.state == FAILED:
                body["errorMessage"] = self.error
        return body


def check_bulk_soql(text: str) -> None:
    """Raise `Unsupported` for a parent-to-child subquery in the SELECT list.

    Checked on the text: the emulator's SOQL engine has no subqueries, and
    would call one a syntax error. Semi-joins in WHERE are not this case.
    """
    if _SUBQUERY.search(text[: _outer_from(text)]):
        raise Unsupported(NOT_ENABLED, SUBQUERY_MESSAGE)


def _outer_from(text: str) -> int:
    """Where the outer query's FROM starts (outside parentheses and quotes), or the end."""
    depth, quoted = 0, False
    for found in re.finditer(r"\\.|'|\(|\)|\bfrom\b", text, re.IGNORECASE):
        token = found.group(0)
        if token == "'":
            quoted = not quoted
        elif not quoted and token in "()":
            depth += 1 if token == "(" else -1
        elif not quoted and depth == 0 and token.lower() == "from":
            return found.start()
    return len(text)


def check_bulk_query(query: soql_engine.Query) -> None:
    """Raise `Unsupported` for a parsed query Bulk 2.0 refuses (COUNT(), OFFSET)."""
    if query.is_count:
        raise Unsupported(NOT_ENABLED, COUNT_MESSAGE)
    if query.offset:
        raise Unsupported(NOT_ENABLED, OFFSET_MESSAGE)


@dataclass(frozen=True)
class JobRequest:
    """What a create request asked for, already checked for shape."""

    operation: str
    soql: str
    column_delimiter: str
    line_ending: str
    api_version: str
    user_id: str


@dataclass
class BulkJobs:
    """The org's query jobs by id; thread-safe."""

    polls_to_complete: int = DEFAULT_POLLS_TO_COMPLETE
    _jobs: dict[str, QueryJob] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _counter: Callable[[], int] = field(default_factory=lambda: itertools.count(1).__next__)
    _fail_next: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def create(self, org: Org, request: JobRequest) -> QueryJob:
        """A new job for `request`: the query runs now; its failure shows at the first read."""
        job = QueryJob(
            id=to18(f"750EM{self._counter():010d}"),
            operation=request.operation,
            soql=request.soql,
            sobject=_sobject(request.soql),
            created_by=request.user_id,
            created=org.now(),
            api_version=request.api_version,
            column_delimiter=request.column_delimiter,
            line_ending=request.line_ending,
        )
        _run(org, job)
        with self._lock:
            if self._fail_next:
                job.error = self._fail_next.pop(0)
            self._jobs[job.id] = job
        return job

    def fail_next(self, message: str, times: int = 1) -> None:
        """The next `times` jobs created end Failed with `message` (an org-side failure)."""
        with self._lock:
            self._fail_next.extend([message] * times)

    def get(self, job_id: str) -> QueryJob | None:
        """The job, or None when unknown or deleted."""
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[QueryJob]:
        """Every job, oldest first."""
        with self._lock:
            return list(self._jobs.values())

    def poll(self, job_id: str, now: datetime) -> QueryJob | None:
        """Read the job's status, which moves a running job one step on."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and job.state in RUNNING:
                job.polls += 1
                job.state = self._next_state(job)
                job.modified = now
            return job

    def abort(self, job_id: str, now: datetime) -> QueryJob | None:
        """Abort a running job; None when unknown. A finished job keeps its state."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and job.state in RUNNING:
                job.state, job.modified, job.result = ABORTED, now, None
            return job

    def delete(self, job_id: str) -> QueryJob | None:
        """Forget a job in a deletable state (returned); a running one stays (returned too)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and job.state in DELETABLE:
                del self._jobs[job_id]
                self.deleted.append(job_id)
            return job

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)

    def _next_state(self, job: QueryJob) -> str:
        if job.error is not None:
            return FAILED
        return JOB_COMPLETE if job.polls >= self.polls_to_complete else IN_PROGRESS


def _run(org: Org, job: QueryJob) -> None:
    """Check and run the job's query; a refusal becomes the job's error."""
    try:
        check_bulk_soql(job.soql)
        parsed = soql_engine.parse(job.soql, org.schema)
        check_bulk_query(parsed)
        job.result = org.query(
            job.soql, include_deleted=job.operation == "queryAll", api_version=job.api_version
        )
    except (SoqlError, Unsupported) as exc:
        job.error = f"{exc.error_code}: {exc.message}"
        return
    job.sobject = parsed.sobject
    job.types = tuple(path.type for path in parsed.fields)


def _sobject(text: str) -> str:
    """The FROM object as written (a query that fails to parse has no canonical one)."""
    found = _FROM.search(text, _outer_from(text))
    return (found.group(1) or "") if found else ""
