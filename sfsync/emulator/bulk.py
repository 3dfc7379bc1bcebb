"""Bulk API 2.0 query jobs under `/services/data/vXX.X/jobs/query`, as Salesforce serves them.

    POST   jobs/query                  create: {"operation": "query"|"queryAll", "query": ...}
    GET    jobs/query                  every job
    GET    jobs/query/{id}             status; each read moves a running job on (bulk_jobs)
    PATCH  jobs/query/{id}             {"state": "Aborted"}
    DELETE jobs/query/{id}             204
    GET    jobs/query/{id}/results     CSV, `?maxRecords=N&locator=L`

Results carry `Sforce-NumberOfRecords` and `Sforce-Locator` (the next
page's locator, the string "null" after the last page). A locator is the
page's start offset in base64, valid and reusable as long as the job
exists. A page may hold fewer rows than `maxRecords` (the fault plan's
short pages). Results are gzipped when the client accepts it, as
Salesforce always compresses them. These calls go through the same
pipeline as every REST call: counted, faults injected, logged.

Error codes the documentation does not spell out are marked [INF].
"""

from __future__ import annotations

import base64
import binascii
import gzip
import re
from collections.abc import Callable
from typing import Any

from sfsync.emulator import bulk_csv
from sfsync.emulator.bulk_jobs import (
    ABORTED,
    DELETABLE,
    JOB_COMPLETE,
    RUNNING,
    BulkJobs,
    JobRequest,
    QueryJob,
)
from sfsync.emulator.context import Call
from sfsync.emulator.wire import (
    BodyError,
    Response,
    body_error,
    error_response,
    json_response,
    no_content,
    parse_json,
)

# Bulk API 2.0 query jobs exist from API version 47.0.
MIN_VERSION = 47
# maxRecords when the client sends none [INF: Salesforce picks a size from the result's size].
DEFAULT_MAX_RECORDS = 50_000
OPERATIONS = ("query", "queryAll")
CSV_TYPE = "text/csv;charset=UTF-8"
LOCATOR_HEADER = "Sforce-Locator"
COUNT_HEADER = "Sforce-NumberOfRecords"
LAST_LOCATOR = "null"
INVALID_JOB = "INVALIDJOB"  # [INF]
INVALID_STATE = "INVALIDJOBSTATE"  # [INF]
_LOCATOR_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")

Handler = Callable[[Call, dict[str, str]], Response]


def jobs_of(call: Call) -> BulkJobs:
    """The org's query jobs."""
    return call.services.bulk_jobs


def create_job(call: Call, _: dict[str, str]) -> Response:
    """`POST jobs/query`: 200 with the job in state UploadComplete."""
    try:
        request = _job_request(call, parse_json(call.request))
    except BodyError as exc:
        return body_error(exc)
    except ValueError as exc:
        return error_response(400, INVALID_JOB, str(exc))
    job = jobs_of(call).create(call.org, request)
    return json_response(200, job.info(full=False))


def _job_request(call: Call, body: Any) -> JobRequest:
    """The create body, checked; ValueError says what is wrong with it."""
    if not isinstance(body, dict):
        raise ValueError("The request body must be a JSON object describing the job")
    operation = body.get("operation")
    if operation not in OPERATIONS:
        raise ValueError(f"InvalidJob : operation must be one of {', '.join(OPERATIONS)}")
    soql = body.get("query")
    if not isinstance(soql, str) or not soql.strip():
        raise ValueError("InvalidJob : a query job needs a query")
    if body.get("contentType", "CSV") != "CSV":
        raise ValueError("InvalidJob : contentType must be CSV")
    delimiter = body.get("columnDelimiter", "COMMA")
    if delimiter not in bulk_csv.DELIMITERS:
        raise ValueError(f"InvalidJob : unknown columnDelimiter {delimiter!r}")
    line_ending = body.get("lineEnding", "LF")
    if line_ending not in bulk_csv.LINE_ENDINGS:
        raise ValueError(f"InvalidJob : unknown lineEnding {line_ending!r}")
    return JobRequest(operation, soql, delimiter, line_ending, call.version, call.user_id)


def list_jobs(call: Call, _: dict[str, str]) -> Response:
    """`GET jobs/query`: every job, in one page."""
    records = [job.info(full=False) for job in jobs_of(call).all()]
    return json_response(200, {"done": True, "records": records, "nextRecordsUrl": None})


def job_info(call: Call, groups: dict[str, str]) -> Response:
    """`GET jobs/query/{id}`: the status (this read moves a running job on)."""
    job = jobs_of(call).poll(groups["job"], call.org.now())
    if job is None:
        return _not_found()
    return json_response(200, job.info(full=True))


def abort_job(call: Call, groups: dict[str, str]) -> Response:
    """`PATCH jobs/query/{id}` with `{"state": "Aborted"}`."""
    try:
        body = parse_json(call.request)
    except BodyError as exc:
        return body_error(exc)
    if not isinstance(body, dict) or body.get("state") != ABORTED:
        return error_response(400, INVALID_STATE, "A query job can only be set to Aborted")
    jobs = jobs_of(call)
    before = jobs.get(groups["job"])
    if before is None:
        return _not_found()
    if before.state not in RUNNING:
        return _wrong_state(before, "aborted")
    job = jobs.abort(groups["job"], call.org.now())
    assert job is not None
    return json_response(200, job.info(full=False))


def delete_job(call: Call, groups: dict[str, str]) -> Response:
    """`DELETE jobs/query/{id}`: 204; its results and locators are gone."""
    job = jobs_of(call).delete(groups["job"])
    if job is None:
        return _not_found()
    if job.state not in DELETABLE:
        return _wrong_state(job, "deleted")
    return no_content()


def results(call: Call, groups: dict[str, str]) -> Response:
    """`GET jobs/query/{id}/results`: one CSV page and the locator of the next."""
    job = jobs_of(call).get(groups["job"])
    if job is None:
        return _not_found()
    refusal = _results_refusal(call, job)
    if refusal is not None:
        return refusal
    assert job.result is not None
    try:
        start = _offset(call.request.param("locator"), job.result.total_size)
        asked = _max_records(call.request.param("maxRecords"))
    except ValueError as exc:
        return error_response(400, "INVALIDREQUEST", str(exc))  # [INF]
    return _page(call, job, start, asked)


def _results_refusal(call: Call, job: QueryJob) -> Response | None:
    if call.version != job.api_version:
        message = f"Use API version {job.api_version} to get the results of job {job.id}"
        return error_response(409, "API_VERSION_MISMATCH", message)  # [INF] code
    if job.state != JOB_COMPLETE or job.result is None:
        return error_response(412, "JOB_NOT_COMPLETE", f"Job {job.id} is {job.state}")
    return None


def _page(call: Call, job: QueryJob, start: int, asked: int) -> Response:
    assert job.result is not None
    total = job.result.total_size
    size = call.services.faults.page_size(asked, total - start)
    rows = job.result.flat(start, size)
    end = start + len(rows)
    body = bulk_csv.render(
        job.result.columns, job.types, rows, job.column_delimiter, job.line_ending
    )
    headers = {
        LOCATOR_HEADER: encode_locator(end) if end < total else LAST_LOCATOR,
        COUNT_HEADER: str(len(rows)),
    }
    if "gzip" in call.request.header("Accept-Encoding").lower():
        body = gzip.compress(body, compresslevel=1)
        headers["Content-Encoding"] = "gzip"
    return Response(200, body, CSV_TYPE, headers, records=len(rows))


def encode_locator(offset: int) -> str:
    """An opaque locator for the page starting at `offset` (base64 of it, unpadded)."""
    return base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")


def _offset(locator: str | None, total: int) -> int:
    """The start offset a locator names; ValueError for one no page of this job has."""
    if locator is None or locator == "":
        return 0
    problem = ValueError(f"Invalid locator: {locator}")
    if not _LOCATOR_RE.match(locator):
        raise problem
    try:
        text = base64.urlsafe_b64decode(locator + "=" * (-len(locator) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise problem from None
    if not text.isdigit() or not 0 < int(text) <= total or encode_locator(int(text)) != locator:
        raise problem
    return int(text)


def _max_records(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_MAX_RECORDS
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"maxRecords must be a positive integer, not {text!r}")
    return int(text)


def _wrong_state(job: QueryJob, verb: str) -> Response:
    return error_response(400, INVALID_STATE, f"Job {job.id} is {job.state} and cannot be {verb}")


def _not_found() -> Response:
    return error_response(404, "NOT_FOUND", "The requested resource does not exist")


def _since_v47(handler: Handler) -> Handler:
    """The handler, for API versions that have Bulk 2.0 query jobs; 404 before them."""

    def versioned(call: Call, groups: dict[str, str]) -> Response:
        if int(call.version.split(".")[0]) < MIN_VERSION:
            return _not_found()
        return handler(call, groups)

    return versioned


# The routes `rest` adds to its table (patterns under /services/data/vXX.X/).
_JOB = r"jobs/query/(?P<job>[A-Za-z0-9]{18})"
ROUTES: tuple[tuple[str, dict[str, Handler]], ...] = tuple(
    (pattern, {method: _since_v47(h) for method, h in handlers.items()})
    for pattern, handlers in (
        ("jobs/query", {"GET": list_jobs, "POST": create_job}),
        (_JOB, {"GET": job_info, "PATCH": abort_job, "DELETE": delete_job}),
        (f"{_JOB}/results", {"GET": results}),
    )
)
