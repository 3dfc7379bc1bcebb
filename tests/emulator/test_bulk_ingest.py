"""Bulk API 2.0 ingest jobs over HTTPS: states, CSV semantics, results, refusals, bulk2 client."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any, cast

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import SFBulk2Handler

from sfsync.emulator.org import Org
from sfsync.emulator.server import Emulator
from sfsync.ids import to18
from tests.emulator.server_kit import Api, OrgIds

CSV = {"Content-Type": "text/csv; charset=UTF-8"}


def create(api: Api, operation: str = "update", **extra: Any) -> dict[str, Any]:
    response = api.post("jobs/ingest", json={"object": "Lead", "operation": operation, **extra})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def put(api: Api, job_id: str, text: str) -> requests.Response:
    return api.request("PUT", f"jobs/ingest/{job_id}/batches", data=text.encode(), headers=CSV)


def close(api: Api, job_id: str) -> requests.Response:
    return api.patch(f"jobs/ingest/{job_id}", json={"state": "UploadComplete"})


def poll(api: Api, job_id: str) -> dict[str, Any]:
    response = api.get(f"jobs/ingest/{job_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def run_job(api: Api, text: str, operation: str = "update", **extra: Any) -> dict[str, Any]:
    """Create, upload, close and poll until the job finishes; its last status."""
    job_id = create(api, operation, **extra)["id"]
    assert put(api, job_id, text).status_code == 201
    assert close(api, job_id).status_code == 200
    for _ in range(5):
        status = poll(api, job_id)
        if status["state"] in ("JobComplete", "Failed"):
            return status
    raise AssertionError("the job never finished")


def rows(api: Api, job_id: str, kind: str) -> list[dict[str, str]]:
    response = api.get(f"jobs/ingest/{job_id}/{kind}")
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text, newline="")))


def lead(org: Org, lead_id: str) -> dict[str, Any]:
    record = org.get("Lead", lead_id)
    assert record is not None
    return record


def test_a_job_goes_open_upload_complete_in_progress_complete(
    api: Api, org: Org, ids: OrgIds
) -> None:
    job = create(api)
    assert job["state"] == "Open" and job["id"].startswith("750")
    assert job["contentUrl"] == f"services/data/v62.0/jobs/ingest/{job['id']}/batches"
    assert put(api, job["id"], f"Id,Title\n{ids.leads[0]},CFO\n").status_code == 201
    assert close(api, job["id"]).json()["state"] == "UploadComplete"
    assert lead(org, ids.leads[0])["Title"] is None, "nothing is saved before processing"
    first, second = poll(api, job["id"]), poll(api, job["id"])
    assert (first["state"], first["numberRecordsProcessed"]) == ("InProgress", 0)
    assert (second["state"], second["numberRecordsProcessed"]) == ("JobComplete", 1)
    assert second["jobType"] == "V2Ingest" and second["numberRecordsFailed"] == 0
    saved = lead(org, ids.leads[0])
    assert (saved["Title"], saved["LastModifiedById"]) == ("CFO", ids.integration)


def test_an_empty_value_changes_nothing_and_na_empties_the_field(
    api: Api, org: Org, ids: OrgIds
) -> None:
    target = ids.leads[1]
    org.update("Lead", target, {"Title": "VP", "City": "Oslo"}, user_id=ids.rep)
    run_job(api, f"Id,Title,City,Rating\n{target},,#N/A,Hot\n")
    saved = lead(org, target)
    assert (saved["Title"], saved["City"], saved["Rating"]) == ("VP", None, "Hot")


def test_no_assignment_rule_runs_unless_the_job_names_one(api: Api, org: Org, ids: OrgIds) -> None:
    # The test org's assignment rule sends every lead it sees to the queue.
    run_job(api, f"Id,Title\n{ids.leads[2]},CTO\n")
    assert lead(org, ids.leads[2])["OwnerId"] == ids.rep
    run_job(api, f"Id,Title\n{ids.leads[3]},CTO\n", assignmentRuleId="01Q000000000001AAA")
    assert lead(org, ids.leads[3])["OwnerId"] == ids.queue


def test_refused_rows_are_failed_results_and_the_rest_are_saved(api: Api, ids: OrgIds) -> None:
    text = (
        "Id,Rating,Title\n"
        f"{ids.leads[4]},Lukewarm,A\n"
        f"{ids.leads[5]},Warm,B\n"
        f"{to18('00Q0A0000099999')},Cold,C\n"
        f"{ids.leads[6]},Cold\n"
    )
    status = run_job(api, text)
    assert (status["numberRecordsProcessed"], status["numberRecordsFailed"]) == (4, 3)
    ok = rows(api, status["id"], "successfulResults")
    assert ok == [{"sf__Id": ids.leads[5], "sf__Created": "false", "Id": ids.leads[5],
                   "Rating": "Warm", "Title": "B"}]  # fmt: skip
    failed = {row["Title"] or "short": row for row in rows(api, status["id"], "failedResults")}
    assert failed["A"]["sf__Error"].startswith("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:")
    assert failed["A"]["sf__Error"].endswith(":Rating --") and failed["A"]["sf__Id"] == ids.leads[4]
    assert failed["C"]["sf__Error"].startswith("INVALID_CROSS_REFERENCE_KEY:")
    assert failed["short"]["sf__Error"].startswith("TooManyFields")


def test_a_column_the_object_lacks_fails_the_job_and_leaves_every_row_unprocessed(
    api: Api, org: Org, ids: OrgIds
) -> None:
    status = run_job(api, f"Id,Title,Shoe_Size__c\n{ids.leads[7]},VP,44\n")
    assert status["state"] == "Failed"
    assert status["errorMessage"] == "InvalidBatch : Field name not found : Shoe_Size__c"
    assert lead(org, ids.leads[7])["Title"] is None
    assert rows(api, status["id"], "unprocessedrecords") == [
        {"Id": ids.leads[7], "Title": "VP", "Shoe_Size__c": "44"}
    ]
    assert rows(api, status["id"], "failedResults") == []


def test_an_update_without_an_id_column_fails_the_job(api: Api) -> None:
    status = run_job(api, "Title\nVP\n")
    assert status["errorMessage"] == "InvalidBatch : Field name not found : Id"


def test_insert_and_delete_jobs(api: Api, org: Org, ids: OrgIds) -> None:
    status = run_job(api, 'LastName,Company\nNew,"Acme, Inc."\n', operation="insert")
    (created,) = rows(api, status["id"], "successfulResults")
    assert created["sf__Created"] == "true"
    assert lead(org, created["sf__Id"])["Company"] == "Acme, Inc."
    run_job(api, f"Id\n{created['sf__Id']}\n", operation="delete")
    assert lead(org, created["sf__Id"])["IsDeleted"] is True


def test_pipe_delimiter_and_crlf_line_endings(api: Api, org: Org, ids: OrgIds) -> None:
    status = run_job(
        api,
        f"Id|Title\r\n{ids.leads[8]}|Head, Sales\r\n",
        columnDelimiter="PIPE",
        lineEnding="CRLF",
    )
    assert lead(org, ids.leads[8])["Title"] == "Head, Sales"
    response = api.get(f"jobs/ingest/{status['id']}/successfulResults")
    assert response.text.splitlines()[0] == '"sf__Id"|"sf__Created"|"Id"|"Title"'
    assert response.text.endswith("\r\n")


def test_state_refusals(api: Api, ids: OrgIds) -> None:
    job_id = create(api)["id"]
    assert close(api, job_id).status_code == 200  # closed without data: fails when read
    assert put(api, job_id, "Id\n").status_code == 409
    assert close(api, job_id).status_code == 400
    assert api.get(f"jobs/ingest/{job_id}/successfulResults").status_code == 409
    assert poll(api, job_id)["state"] == "Failed"
    again = create(api)["id"]
    assert put(api, again, f"Id,Title\n{ids.leads[9]},A\n").status_code == 201
    second = put(api, again, f"Id,Title\n{ids.leads[9]},B\n")
    assert second.status_code == 400 and "only do 'PUT' once" in second.json()[0]["message"]
    wrong_type = api.request("PUT", f"jobs/ingest/{again}/batches", json={"Id": "x"})
    assert wrong_type.status_code == 400


def test_abort_delete_and_unknown_jobs(api: Api, ids: OrgIds) -> None:
    job_id = create(api)["id"]
    assert api.delete(f"jobs/ingest/{job_id}").status_code == 400  # an Open job stays
    put(api, job_id, f"Id,Title\n{ids.leads[10]},A\n")
    aborted = api.patch(f"jobs/ingest/{job_id}", json={"state": "Aborted"})
    assert aborted.json()["state"] == "Aborted"
    assert len(rows(api, job_id, "unprocessedRecords")) == 0  # never closed: no rows read
    assert api.delete(f"jobs/ingest/{job_id}").status_code == 204
    assert api.get(f"jobs/ingest/{job_id}").status_code == 404
    assert api.get("jobs/ingest/750000000000000AAA").status_code == 404


def test_create_refusals(api: Api) -> None:
    cases: list[dict[str, Any]] = [
        {"object": "Lead", "operation": "upsert", "externalIdFieldName": "Email"},
        {"object": "Lead", "operation": "merge"},
        {"object": "Shoe", "operation": "update"},
        {"object": "Lead", "operation": "update", "contentType": "JSON"},
        {"object": "Lead", "operation": "update", "columnDelimiter": "SPACE"},
    ]
    for body in cases:
        response = api.post("jobs/ingest", json=body)
        assert response.status_code == 400, body
        assert response.json()[0]["errorCode"] == "INVALIDJOB"
    assert api.request("GET", "/services/data/v40.0/jobs/ingest").status_code == 404


def test_jobs_are_listed_and_every_call_is_counted(api: Api, emulator: Emulator) -> None:
    before = sum(1 for c in emulator.calls.entries() if c.counted)
    ids = [create(api)["id"] for _ in range(2)]
    listed = api.get("jobs/ingest").json()
    assert [job["id"] for job in listed["records"]] == ids and listed["done"] is True
    assert sum(1 for c in emulator.calls.entries() if c.counted) - before == 3


@pytest.fixture
def sf(emulator: Emulator) -> Iterator[Salesforce]:
    with requests.Session() as session:
        yield Salesforce(
            instance_url=emulator.instance_url,
            session_id=emulator.credentials.access_token,
            session=session,
            version="62.0",
        )


def test_simple_salesforce_bulk2_update_end_to_end(
    sf: Salesforce, org: Org, ids: OrgIds, emulator: Emulator
) -> None:
    records = [{"Id": i, "Title": f"T{n}", "Rating": "Warm"} for n, i in enumerate(ids.leads[:300])]
    records.append({"Id": ids.leads[300], "Title": "bad", "Rating": "Lukewarm"})
    leads = cast(SFBulk2Handler, sf.bulk2).Lead
    (summary,) = leads.update(records=records, wait=0)
    assert (summary["numberRecordsProcessed"], summary["numberRecordsFailed"]) == (301, 1)
    assert lead(org, ids.leads[299])["Title"] == "T299"
    failed = list(csv.DictReader(io.StringIO(leads.get_failed_records(str(summary["job_id"])))))
    assert [row["Id"] for row in failed] == [ids.leads[300]]
    paths = [c.path.rsplit("/", 1)[-1] for c in emulator.calls.entries() if "ingest" in c.path]
    # create, upload, close, status reads until complete, the final status read, failed results
    assert paths[:3] == ["ingest", "batches", summary["job_id"]]
    assert paths[-1] == "failedResults"
