"""Bulk API 2.0 query jobs: a large query's records, page by page, without REST's 2,000 cap.

    for records in BulkQueries(client).pages("SELECT Id, Email FROM Lead"):
        ...   # one CSV page (up to `page_size` records), typed like REST records

A job is created (`queryAll` by default, so deleted and merged records come
too), polled with jittered exponential backoff until JobComplete, its CSV
results read page by page by `Sforce-Locator` until the locator is "null",
and deleted at the end, also when the caller stops early or the job fails.
Only one page is held at a time.

Why not simple-salesforce's `sf.bulk2`: its `query_all` is one generator
from job creation to the last page, so a failure on page 7 cannot be retried
alone (the generator is finished); it polls with its own `time.sleep`
schedule (no jitter, no cap below 24 h, no switch for tests); it never
deletes the job; and reading one page is only reachable through its private
`_client`. This module keeps simple-salesforce's transport (`call_salesforce`
on sfsync's own session, raising the library's exceptions) and runs every
request through the client's one retry layer: 5xx, dropped connections and
pages that arrive cut short (fewer rows than `Sforce-NumberOfRecords`) are
retried, an expired session is renewed, the API budget is checked.

A Failed job raises ConfigError when Salesforce's message names a query the
org refuses (INVALID_FIELD, MALFORMED_QUERY...), else OrgUnavailable; both
carry Salesforce's `errorMessage`. The session token is never logged.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import requests
import structlog
from simple_salesforce.util import call_salesforce
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_random,
)

from sfsync.connectors.bulk_records import column_types, read_csv, typed_records
from sfsync.connectors.failures import Kind, classify
from sfsync.connectors.salesforce import ObjectInfo, SalesforceClient
from sfsync.errors import ConfigError, OrgUnavailable, SfsyncError

log = structlog.get_logger("sfsync.bulk")

# Records per results page: Salesforce allows far more (simple-salesforce asks 50,000);
# 10,000 keeps one page's records well under 100 MB while costing 5x fewer calls than REST.
DEFAULT_PAGE_SIZE = 10_000
RUNNING = frozenset({"UploadComplete", "InProgress", "Open"})
COMPLETE = frozenset({"JobComplete"})
LAST_LOCATOR = "null"
CSV_ACCEPT = {"Accept": "text/csv"}


@dataclass(frozen=True)
class PollPolicy:
    """How a job is waited for: first wait, longest wait, give-up time."""

    initial: float = 0.25
    max_wait: float = 10.0
    max_seconds: float = 3600.0
    # Also a cap on status reads, for when the waits are switched off.
    max_polls: int = 1000
    # 0 switches the sleeps off (tests: SFSYNC_RETRY_WAIT_SCALE=0); polls still happen.
    wait_scale: float = 1.0


@dataclass
class BulkJob:
    """A Bulk API 2.0 job as sfsync tracks it: `kind` is "query" or "ingest"."""

    id: str
    sobject: str
    state: str = "UploadComplete"
    polls: int = 0
    kind: str = "query"

    @property
    def path(self) -> str:
        """The job's resource under the REST base."""
        return f"jobs/{self.kind}/{self.id}"


@dataclass(frozen=True)
class _Page:
    header: list[str]
    rows: list[list[str]]
    next_locator: str | None


class _StillRunning(Exception):
    """The job is not finished yet: poll again."""


class BulkJobs:
    """What every Bulk API 2.0 job needs: requests on the client's session and retry layer,
    a jittered wait for the job to finish, and its deletion.

    Query jobs (`BulkQueries`) and ingest jobs (`connectors.bulk_ingest`) add their own steps.
    """

    def __init__(self, client: SalesforceClient, *, poll: PollPolicy | None = None) -> None:
        self.client = client
        scale = client.settings.sfsync_retry_wait_scale
        self.poll = poll or PollPolicy(wait_scale=scale)

    def wait(self, job: BulkJob, ends: frozenset[str] = COMPLETE) -> dict[str, Any]:
        """Poll until the job is in one of `ends`; another end raises, as does the time cap."""
        # initial, 2x initial, 4x... up to max_wait, plus up to `initial` of jitter.
        base = wait_exponential(multiplier=self.poll.initial, max=self.poll.max_wait) + wait_random(
            0, self.poll.initial
        )
        retrying = Retrying(
            retry=retry_if_exception_type(_StillRunning),
            stop=stop_after_delay(self.poll.max_seconds) | stop_after_attempt(self.poll.max_polls),
            wait=lambda state: float(base(state)) * self.poll.wait_scale,
            reraise=True,
        )
        # A job is never done the moment it is created: wait once before the first read.
        time.sleep(self.poll.initial * self.poll.wait_scale)
        try:
            info: dict[str, Any] = retrying(self._poll_once, job, ends)
        except _StillRunning:
            raise OrgUnavailable(
                f"Bulk API 2.0 {job.kind} job {job.id} on {job.sobject} did not finish after "
                f"{job.polls} status reads (still {job.state}); it was aborted"
            ) from None
        log.info("sfsync.bulk.job_complete", job_id=job.id, polls=job.polls, state=job.state,
                 records=info.get("numberRecordsProcessed"))  # fmt: skip
        return info

    def status(self, job: BulkJob) -> dict[str, Any]:
        """One status read; the job's state is updated from it."""
        info = self._json("bulk.poll", "GET", job.path)
        if not isinstance(info, dict):
            raise OrgUnavailable(f"the org answered a status read of job {job.id} with no job")
        job.state, job.polls = str(info.get("state")), job.polls + 1
        job.sobject = job.sobject or str(info.get("object") or "")
        log.debug("sfsync.bulk.job_polled", job_id=job.id, state=job.state, poll=job.polls)
        return info

    def _poll_once(self, job: BulkJob, ends: frozenset[str]) -> dict[str, Any]:
        info = self.status(job)
        if job.state in ends:
            return info
        if job.state in RUNNING:
            raise _StillRunning(job.state)
        raise job_failure(job, info)

    def dispose(self, job: BulkJob) -> None:
        """Abort a job still running, then delete it; a failure here is logged, not raised."""
        try:
            if job.state in RUNNING:
                self.client.caller.call(
                    "bulk.abort", lambda: self._send("PATCH", job.path, json={"state": "Aborted"})
                )
            self.client.caller.call("bulk.delete", lambda: self._send("DELETE", job.path))
        except SfsyncError as exc:
            log.warning("sfsync.bulk.job_not_deleted", job_id=job.id, error=str(exc))
            return
        log.info("sfsync.bulk.job_deleted", job_id=job.id)

    def _json(self, name: str, method: str, path: str, **kwargs: Any) -> Any:
        """A JSON request with retries; the body is decoded inside them."""
        return self.client.caller.call(name, lambda: self._send(method, path, **kwargs).json())

    def _send(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        """One request on the client's session; an error status raises simple-salesforce's error."""
        base, token = self.client.rest_base()
        sent = {"Content-Type": "application/json", **(headers or {})}
        sent["Authorization"] = f"Bearer {token}"
        return call_salesforce(f"{base}/{path}", method, self.client.session, sent, **kwargs)


class BulkQueries(BulkJobs):
    """Bulk API 2.0 query jobs through a SalesforceClient's session, token and retry layer."""

    def __init__(
        self,
        client: SalesforceClient,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        poll: PollPolicy | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        super().__init__(client, poll=poll)
        self.page_size = page_size
        self._describes: dict[str, ObjectInfo] = {}

    def pages(
        self,
        soql: str,
        *,
        include_deleted: bool = True,
        on_total: Callable[[int], None] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Each results page of `soql` as records; `on_total` hears the job's record count."""
        job = self._create(soql, include_deleted)
        try:
            info = self.wait(job)
            if on_total is not None:
                on_total(_count(info.get("numberRecordsProcessed")))
            yield from self._results(job)
        finally:
            self.dispose(job)

    # -- one job ------------------------------------------------------------------

    def _create(self, soql: str, include_deleted: bool) -> BulkJob:
        body = {
            "operation": "queryAll" if include_deleted else "query",
            "query": soql,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        }
        info = self._json("bulk.create", "POST", "jobs/query", json=body)
        if not isinstance(info, dict) or not isinstance(info.get("id"), str):
            raise OrgUnavailable("the org answered a Bulk API 2.0 job creation without a job id")
        state = str(info.get("state") or "UploadComplete")
        job = BulkJob(info["id"], str(info.get("object") or ""), state)
        log.info("sfsync.bulk.job_created", job_id=job.id, sobject=job.sobject,
                 operation=body["operation"])  # fmt: skip
        return job

    def _results(self, job: BulkJob) -> Iterator[list[dict[str, Any]]]:
        locator: str | None = None
        seen: set[str] = set()
        while True:
            fetch = functools.partial(self._fetch, job, locator)
            page = self.client.caller.call("bulk.results", fetch)
            types = column_types(job.sobject, page.header, self._describe)
            records = typed_records(page.header, page.rows, types)
            log.info("sfsync.bulk.page", job_id=job.id, records=len(records))
            yield records
            if page.next_locator is None:
                return
            if page.next_locator in seen:
                raise OrgUnavailable(f"the org repeated a results locator of job {job.id}")
            seen.add(page.next_locator)
            locator = page.next_locator

    def _fetch(self, job: BulkJob, locator: str | None) -> _Page:
        """One page, checked whole (inside the retry: a page cut short is fetched again)."""
        params: dict[str, Any] = {"maxRecords": self.page_size}
        if locator is not None:
            params["locator"] = locator
        response = self._send("GET", f"{job.path}/results", params=params,
                              headers=CSV_ACCEPT)  # fmt: skip
        expected = _count(response.headers.get("Sforce-NumberOfRecords"))
        header, rows = read_csv(response.content.decode("utf-8"), expected)
        following = response.headers.get("Sforce-Locator") or LAST_LOCATOR
        return _Page(header, rows, None if following == LAST_LOCATOR else following)

    # -- transport ------------------------------------------------------------------

    def _describe(self, sobject: str) -> ObjectInfo:
        if not sobject:  # a job that did not say its object: every column reads as text
            return ObjectInfo("", {})
        if sobject not in self._describes:
            self._describes[sobject] = self.client.describe(sobject)
        return self._describes[sobject]


def job_failure(job: BulkJob, info: dict[str, Any]) -> SfsyncError:
    """The error for a job that ended Failed or Aborted, with Salesforce's message."""
    if job.state == "Aborted":
        return OrgUnavailable(f"Bulk API 2.0 {job.kind} job {job.id} on {job.sobject} was aborted")
    message = str(info.get("errorMessage") or f"state {job.state}, no errorMessage")
    code = message.split(":", 1)[0].strip() if ":" in message else None
    text = f"Bulk API 2.0 {job.kind} job {job.id} on {job.sobject} failed: {message}"
    if classify(400, code, message).kind is Kind.CONFIG:
        return ConfigError(f"the org refused the query: {text}")
    return OrgUnavailable(text)


def _count(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        raise OrgUnavailable("the org sent an unreadable record count") from None
