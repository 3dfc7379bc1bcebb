"""Bulk API 2.0 ingest jobs under `/services/data/vXX.X/jobs/ingest`, as Salesforce serves them.

    POST   jobs/ingest                         create: {"object", "operation", ...}, state Open
    GET    jobs/ingest                         every job
    PUT    jobs/ingest/{id}/batches            the CSV (once), 201
    PATCH  jobs/ingest/{id}                    {"state": "UploadComplete"} or {"state": "Aborted"}
    GET    jobs/ingest/{id}                    status; each read moves a closed job on
    DELETE jobs/ingest/{id}                    204
    GET    jobs/ingest/{id}/successfulResults  CSV: sf__Id, sf__Created, then the row as sent
    GET    jobs/ingest/{id}/failedResults      CSV: sf__Id, sf__Error, then the row as sent
    GET    jobs/ingest/{id}/unprocessedrecords CSV: the rows never tried

Operations served: insert, update, delete (upsert and hardDelete are refused
with a message saying so). Every call goes through the same pipeline as
REST: counted, faults injected, logged. How a job moves and how rows are
saved is `bulk_ingest_jobs`. Error codes the documentation does not spell
out are marked [INF].
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Any

from sfsync.emulator.bulk_csv import DELIMITERS, LINE_ENDINGS
from sfsync.emulator.bulk_ingest_jobs import (
    ABORTED,
    DELETABLE,
    FINISHED,
    OPERATIONS,
    UPLOAD_COMPLETE,
    IngestJob,
    IngestJobs,
    IngestRefusal,
    IngestRequest,
)
from sfsync.emulator.context import Call
from sfsync.emulator.wire import (
    BodyError,
    Response,
    body_error,
    error_response,
    json_response,
    no_content,
    not_found,
    parse_json,
)

# Bulk API 2.0 ingest exists from API version 41.0 [DOC].
MIN_VERSION = 41
CSV_TYPE = "text/csv;charset=UTF-8"
INVALID_JOB = "INVALIDJOB"  # [INF]
INVALID_STATE = "INVALIDJOBSTATE"  # [INF]
NOT_SERVED = ("upsert", "hardDelete")
SUCCESS_COLUMNS = ("sf__Id", "sf__Created")
FAILURE_COLUMNS = ("sf__Id", "sf__Error")

Handler = Callable[[Call, dict[str, str]], Response]


def jobs_of(call: Call) -> IngestJobs:
    """The org's ingest jobs."""
    return call.services.ingest_jobs


def create_job(call: Call, _: dict[str, str]) -> Response:
    """`POST jobs/ingest`: 200 with the job in state Open."""
    try:
        request = _job_request(call, parse_json(call.request))
    except BodyError as exc:
        return body_error(exc)
    except ValueError as exc:
        return error_response(400, INVALID_JOB, str(exc))
    job = jobs_of(call).create(call.org, request)
    return json_response(200, job.info(call.base, full=False))


def _job_request(call: Call, body: Any) -> IngestRequest:
    """The create body, checked; ValueError says what is wrong with it."""
    if not isinstance(body, dict):
        raise ValueError("The request body must be a JSON object describing the job")
    operation = body.get("operation")
    if operation in NOT_SERVED:
        raise ValueError(f"InvalidJob : the emulator does not serve {operation} jobs")
    if operation not in OPERATIONS:
        raise ValueError(f"InvalidJob : operation must be one of {', '.join(OPERATIONS)}")
    obj = call.org.schema.get(str(body.get("object") or ""))
    if obj is None:
        raise ValueError(f"InvalidJob : Unable to find object: {body.get('object')}")  # [INF]
    if body.get("contentType", "CSV") != "CSV":
        raise ValueError("InvalidJob : contentType must be CSV")
    delimiter = body.get("columnDelimiter", "COMMA")
    if delimiter not in DELIMITERS:
        raise ValueError(f"InvalidJob : unknown columnDelimiter {delimiter!r}")
    line_ending = body.get("lineEnding", "LF")
    if line_ending not in LINE_ENDINGS:
        raise ValueError(f"InvalidJob : unknown lineEnding {line_ending!r}")
    rule = body.get("assignmentRuleId") or None
    return IngestRequest(
        obj.name, operation, delimiter, line_ending, call.version, call.user_id, rule
    )


def list_jobs(call: Call, _: dict[str, str]) -> Response:
    """`GET jobs/ingest`: every job, in one page."""
    records = [job.info(call.base, full=False) for job in jobs_of(call).all()]
    return json_response(200, {"done": True, "records": records, "nextRecordsUrl": None})


def upload(call: Call, groups: dict[str, str]) -> Response:
    """`PUT jobs/ingest/{id}/batches`: the job's CSV; 201 with no body."""
    kind = call.request.header("Content-Type").split(";")[0].strip().lower()
    if kind != "text/csv":
        return error_response(400, "INVALIDCONTENTTYPE", "Upload the job's data as text/csv")
    try:
        job = jobs_of(call).upload(groups["job"], call.request.body)
    except IngestRefusal as exc:
        return error_response(exc.status, exc.error_code, exc.message)
    if job is None:
        return not_found()
    return Response(201, b"", "")


def set_state(call: Call, groups: dict[str, str]) -> Response:
    """`PATCH jobs/ingest/{id}`: close the upload or abort the job."""
    try:
        body = parse_json(call.request)
    except BodyError as exc:
        return body_error(exc)
    state = body.get("state") if isinstance(body, dict) else None
    if state not in (UPLOAD_COMPLETE, ABORTED):
        return error_response(400, INVALID_STATE, "Set an ingest job to UploadComplete or Aborted")
    try:
        job = jobs_of(call).change_state(groups["job"], state, call.org.now())
    except IngestRefusal as exc:
        return error_response(exc.status, exc.error_code, exc.message)
    if job is None:
        return not_found()
    return json_response(200, job.info(call.base, full=False))


def job_info(call: Call, groups: dict[str, str]) -> Response:
    """`GET jobs/ingest/{id}`: the status (this read moves a closed job on)."""
    job = jobs_of(call).poll(call.org, groups["job"], call.org.now())
    if job is None:
        return not_found()
    return json_response(200, job.info(call.base, full=True))


def delete_job(call: Call, groups: dict[str, str]) -> Response:
    """`DELETE jobs/ingest/{id}`: 204 for a closed or finished job."""
    job = jobs_of(call).delete(groups["job"])
    if job is None:
        return not_found()
    if job.state not in DELETABLE:
        message = f"Job {job.id} is {job.state} and cannot be deleted"
        return error_response(400, INVALID_STATE, message)
    return no_content()


def successful(call: Call, groups: dict[str, str]) -> Response:
    """`GET .../successfulResults`: the saved rows with their ids."""
    return _results(call, groups["job"], _successful_table)


def failed(call: Call, groups: dict[str, str]) -> Response:
    """`GET .../failedResults`: the refused rows with the org's errors."""
    return _results(call, groups["job"], _failed_table)


def unprocessed(call: Call, groups: dict[str, str]) -> Response:
    """`GET .../unprocessedrecords`: the rows an aborted or failed job never tried."""
    return _results(call, groups["job"], lambda job: (job.header, job.unprocessed))


Table = tuple[Sequence[str], Sequence[Sequence[str]]]


def _successful_table(job: IngestJob) -> Table:
    saved = [r for r in job.results if r.error is None]
    rows = [(r.record_id or "", "true" if r.created else "false", *r.row) for r in saved]
    return (*SUCCESS_COLUMNS, *job.header), rows


def _failed_table(job: IngestJob) -> Table:
    rows = [(r.record_id or "", r.error or "", *r.row) for r in job.failed]
    return (*FAILURE_COLUMNS, *job.header), rows


def _results(call: Call, job_id: str, table: Callable[[IngestJob], Table]) -> Response:
    job = jobs_of(call).get(job_id)
    if job is None:
        return not_found()
    if job.state not in FINISHED:
        message = f"Job {job.id} is {job.state}: its results are not ready"  # [INF]
        return error_response(409, INVALID_STATE, message)
    header, rows = table(job)
    return Response(200, _csv(job, header, rows), CSV_TYPE, records=len(rows))


def _csv(job: IngestJob, header: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(
        buffer,
        delimiter=DELIMITERS[job.request.column_delimiter],
        lineterminator=LINE_ENDINGS[job.request.line_ending],
        quoting=csv.QUOTE_ALL,
    )
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _since_v41(handler: Handler) -> Handler:
    """The handler, for API versions that have Bulk 2.0 ingest jobs; 404 before them."""

    def versioned(call: Call, groups: dict[str, str]) -> Response:
        if int(call.version.split(".")[0]) < MIN_VERSION:
            return not_found()
        return handler(call, groups)

    return versioned


# The routes `rest` adds to its table (patterns under /services/data/vXX.X/).
_JOB = r"jobs/ingest/(?P<job>[A-Za-z0-9]{18})"
ROUTES: tuple[tuple[str, dict[str, Handler]], ...] = tuple(
    (pattern, {method: _since_v41(h) for method, h in handlers.items()})
    for pattern, handlers in (
        ("jobs/ingest", {"GET": list_jobs, "POST": create_job}),
        (_JOB, {"GET": job_info, "PATCH": set_state, "DELETE": delete_job}),
        (f"{_JOB}/batches", {"PUT": upload}),
        (f"{_JOB}/successfulResults", {"GET": successful}),
        (f"{_JOB}/failedResults", {"GET": failed}),
        (f"{_JOB}/(?i:unprocessedrecords)", {"GET": unprocessed}),
    )
)
