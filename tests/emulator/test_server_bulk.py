"""Bulk API 2.0 query jobs over HTTPS: states, locator paging, failures, CSV quoting."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import requests

from sfsync.emulator.bulk import encode_locator
from sfsync.emulator.faults import FaultPlan
from sfsync.emulator.org import Org
from sfsync.emulator.server import Emulator
from tests.emulator.server_kit import LEADS, Api, OrgIds, StartEmulator

SOQL = "SELECT Id, LastName, Company, Email FROM Lead"


def create(api: Api, soql: str = SOQL, operation: str = "query", **extra: Any) -> dict[str, Any]:
    response = api.post("jobs/query", json={"operation": operation, "query": soql, **extra})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def poll(api: Api, job_id: str) -> dict[str, Any]:
    response = api.get(f"jobs/query/{job_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def complete(api: Api, soql: str = SOQL, operation: str = "query", **extra: Any) -> str:
    """A job polled until it is JobComplete; its id."""
    job_id = str(create(api, soql, operation, **extra)["id"])
    for _ in range(5):
        if poll(api, job_id)["state"] == "JobComplete":
            return job_id
    raise AssertionError("the job never completed")


def results(
    api: Api, job_id: str, headers: dict[str, str] | None = None, **params: Any
) -> requests.Response:
    return api.get(f"jobs/query/{job_id}/results", params=params, headers=headers)


def rows_of(response: requests.Response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.text, newline="")))


def all_pages(api: Api, job_id: str, max_records: int) -> list[requests.Response]:
    pages = [results(api, job_id, maxRecords=max_records)]
    while pages[-1].headers["Sforce-Locator"] != "null":
        locator = pages[-1].headers["Sforce-Locator"]
        pages.append(results(api, job_id, maxRecords=max_records, locator=locator))
    return pages


def test_a_job_is_created_upload_complete_then_needs_polls_to_complete(api: Api) -> None:
    job = create(api)
    assert job["state"] == "UploadComplete" and job["id"].startswith("750")
    assert (job["operation"], job["object"], job["contentType"]) == ("query", "Lead", "CSV")
    assert (job["columnDelimiter"], job["lineEnding"], job["apiVersion"]) == ("COMMA", "LF", 62.0)
    assert results(api, job["id"]).status_code == 412
    first, second = poll(api, job["id"]), poll(api, job["id"])
    assert (first["state"], first["numberRecordsProcessed"]) == ("InProgress", 0)
    assert (second["state"], second["numberRecordsProcessed"]) == ("JobComplete", LEADS)
    assert second["jobType"] == "V2Query" and "errorMessage" not in second
    assert poll(api, job["id"])["state"] == "JobComplete"


def test_polls_to_complete_is_configurable(api: Api) -> None:
    api.emu.bulk_jobs.polls_to_complete = 4
    job_id = create(api)["id"]
    assert [poll(api, job_id)["state"] for _ in range(5)] == ["InProgress"] * 3 + [
        "JobComplete"
    ] * 2


def test_results_page_by_locator_until_the_string_null(api: Api) -> None:
    job_id = complete(api)
    pages = all_pages(api, job_id, 200)
    assert [p.headers["Sforce-NumberOfRecords"] for p in pages] == ["200", "200", "50"]
    assert [p.headers["Sforce-Locator"] for p in pages] == [
        encode_locator(200),
        encode_locator(400),
        "null",
    ]
    assert all(p.headers["Content-Type"].startswith("text/csv") for p in pages)
    names = [row["LastName"] for p in pages for row in rows_of(p)]
    assert sorted(names) == [f"Lead{i:03d}" for i in range(LEADS)]
    # A locator stays valid and can be read again.
    again = results(api, job_id, maxRecords=200, locator=encode_locator(200))
    assert again.text == pages[1].text


def test_queryall_includes_deleted_records_and_query_does_not(api: Api, ids: OrgIds) -> None:
    assert api.delete(f"sobjects/Lead/{ids.leads[0]}").status_code == 204
    soql = "SELECT Id, IsDeleted FROM Lead"
    plain = rows_of(results(api, complete(api, soql, "query")))
    every = rows_of(results(api, complete(api, soql, "queryAll")))
    assert len(plain) == LEADS - 1 and len(every) == LEADS
    deleted = [r for r in every if r["Id"] == ids.leads[0]]
    assert deleted == [{"Id": ids.leads[0], "IsDeleted": "true"}]


@pytest.mark.parametrize(
    ("soql", "message"),
    [
        ("SELECT Id, Nope FROM Lead", "INVALID_FIELD: \nSELECT Id, Nope FROM Lead"),
        ("SELECT Id FROM Nothing", "INVALID_TYPE"),
        ("SELECT Id FROM Lead WHERE", "MALFORMED_QUERY"),
        ("SELECT COUNT() FROM Lead", "FUNCTIONALITY_NOT_ENABLED: Aggregate queries"),
        ("SELECT Id FROM Lead OFFSET 10", "FUNCTIONALITY_NOT_ENABLED: OFFSET"),
        (
            "SELECT Id, (SELECT Id FROM Tasks) FROM Lead",
            "FUNCTIONALITY_NOT_ENABLED: Aggregate Relationships not supported in Bulk Query",
        ),
    ],
)
def test_a_query_bulk_refuses_ends_failed_with_its_error_message(
    api: Api, soql: str, message: str
) -> None:
    job = create(api, soql)
    assert job["state"] == "UploadComplete"
    info = poll(api, job["id"])
    assert info["state"] == "Failed" and info["errorMessage"].startswith(message)
    assert results(api, job["id"]).status_code == 412
    assert api.delete(f"jobs/query/{job['id']}").status_code == 204


def test_a_subquery_in_where_is_not_mistaken_for_a_child_relationship(api: Api) -> None:
    # The emulator's SOQL has no semi-joins: a syntax error, not the Bulk refusal.
    job = create(api, "SELECT Id FROM Lead WHERE Id IN (SELECT LeadId FROM CampaignMember)")
    assert poll(api, job["id"])["errorMessage"].startswith("MALFORMED_QUERY")


def test_the_next_job_can_be_made_to_fail_as_an_org_side_failure(api: Api) -> None:
    message = "UNKNOWN_EXCEPTION: retried more than 15 times"
    api.emu.bulk_jobs.fail_next(message)
    failed, fine = create(api), create(api)
    assert poll(api, failed["id"])["errorMessage"] == message
    assert poll(api, fine["id"])["state"] == "InProgress"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"operation": "insert", "query": SOQL}, 400, "INVALIDJOB"),
        ({"operation": "query"}, 400, "INVALIDJOB"),
        ({"operation": "query", "query": SOQL, "contentType": "JSON"}, 400, "INVALIDJOB"),
        ({"operation": "query", "query": SOQL, "columnDelimiter": "SPACE"}, 400, "INVALIDJOB"),
        ({"operation": "query", "query": SOQL, "lineEnding": "CR"}, 400, "INVALIDJOB"),
        (["query"], 400, "INVALIDJOB"),
    ],
)
def test_a_malformed_create_request_is_refused(api: Api, body: Any, status: int, code: str) -> None:
    response = api.post("jobs/query", json=body)
    assert response.status_code == status and response.json()[0]["errorCode"] == code
    assert len(api.emu.bulk_jobs) == 0


def test_a_body_that_is_not_json_is_a_parser_error(api: Api) -> None:
    response = api.post(
        "jobs/query", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_values_are_quoted_csv_nulls_empty_booleans_and_datetimes_iso(
    api: Api, org: Org, ids: OrgIds
) -> None:
    tricky = 'Smith, "Jr."\nSecond line — Zoë 日本'
    org.tables["Lead"][ids.leads[0]] = {
        **org.tables["Lead"][ids.leads[0]],
        "Company": tricky,
        "Email": None,
        "NumberOfEmployees": 12,
    }
    soql = (
        "SELECT Id, Company, Email, IsConverted, NumberOfEmployees, CreatedDate FROM Lead "
        f"WHERE Id = '{ids.leads[0]}'"
    )
    response = results(api, complete(api, soql))
    header, line = response.text.split("\n", 1)
    assert header == '"Id","Company","Email","IsConverted","NumberOfEmployees","CreatedDate"'
    assert '"Smith, ""Jr.""\nSecond line — Zoë 日本",""' in line
    (row,) = rows_of(response)
    assert row["Company"] == tricky and row["Email"] == ""
    assert row["IsConverted"] == "false" and row["NumberOfEmployees"] == "12"
    created = org.tables["Lead"][ids.leads[0]]["CreatedDate"]
    assert row["CreatedDate"] == created.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_parent_fields_come_as_dotted_columns(api: Api, ids: OrgIds) -> None:
    soql = f"SELECT Id, Owner.Name, Owner.Username FROM Lead WHERE Id = '{ids.leads[0]}'"
    (row,) = rows_of(results(api, complete(api, soql)))
    assert row == {"Id": ids.leads[0], "Owner.Name": "Rep", "Owner.Username": "rep@sfsync.example"}


def test_tab_delimiter_and_crlf_line_endings(api: Api) -> None:
    job_id = complete(api, "SELECT Id, LastName FROM Lead", columnDelimiter="TAB",
                      lineEnding="CRLF")  # fmt: skip
    text = results(api, job_id, maxRecords=2).text
    assert text.startswith('"Id"\t"LastName"\r\n"00Q') and text.endswith('"\r\n')


def test_results_are_gzipped_when_the_client_accepts_it(api: Api) -> None:
    job_id = complete(api)
    zipped = results(api, job_id, maxRecords=10)
    plain = results(api, job_id, maxRecords=10, headers={"Accept-Encoding": "identity"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in plain.headers and plain.text == zipped.text


@pytest.mark.parametrize(
    "params",
    [{"locator": "bm9wZQ"}, {"locator": encode_locator(9999)}, {"locator": "!!"},
     {"maxRecords": "0"}, {"maxRecords": "ten"}],
)  # fmt: skip
def test_a_bad_locator_or_page_size_is_refused(api: Api, params: dict[str, str]) -> None:
    assert results(api, complete(api), **params).status_code == 400


def test_results_need_the_api_version_that_created_the_job(api: Api) -> None:
    job_id = complete(api)
    other = api.get(f"/services/data/v61.0/jobs/query/{job_id}/results")
    assert other.status_code == 409


def test_versions_before_47_have_no_query_jobs(api: Api) -> None:
    old = api.post("/services/data/v46.0/jobs/query", json={"operation": "query", "query": SOQL})
    assert old.status_code == 404 and len(api.emu.bulk_jobs) == 0


def test_abort_and_delete(api: Api) -> None:
    running = create(api)["id"]
    poll(api, running)
    assert api.delete(f"jobs/query/{running}").status_code == 400  # InProgress
    aborted = api.patch(f"jobs/query/{running}", json={"state": "Aborted"})
    assert aborted.status_code == 200 and aborted.json()["state"] == "Aborted"
    assert poll(api, running)["state"] == "Aborted"
    assert api.patch(f"jobs/query/{running}", json={"state": "Aborted"}).status_code == 400
    assert api.patch(f"jobs/query/{running}", json={"state": "JobComplete"}).status_code == 400
    done = complete(api)
    assert api.delete(f"jobs/query/{done}").status_code == 204
    assert api.get(f"jobs/query/{done}").status_code == 404
    assert results(api, done).status_code == 404
    assert api.emu.bulk_jobs.deleted == [done]
    assert [j["id"] for j in api.get("jobs/query").json()["records"]] == [running]


def test_bulk_calls_are_counted_logged_and_take_injected_faults(api: Api) -> None:
    emu: Emulator = api.emu
    job_id = complete(api)
    used = emu.usage.used
    emu.faults.script("503", path_contains="/results")
    assert results(api, job_id).status_code == 503
    assert results(api, job_id).status_code == 200
    assert emu.usage.used == used + 2
    logged = [c for c in emu.calls.entries() if c.path.endswith("/results")]
    assert [(c.status, c.fault, c.records) for c in logged] == [
        (503, "503", None),
        (200, None, LEADS),
    ]


def test_short_pages_still_cover_every_row_once(start_emulator: StartEmulator) -> None:
    api = start_emulator(faults=FaultPlan(short_page_rate=0.7), seed=3)
    pages = all_pages(api, complete(api), 100)
    sizes = [int(p.headers["Sforce-NumberOfRecords"]) for p in pages]
    assert sum(sizes) == LEADS and any(size < 100 for size in sizes[:-1])
    ids = [row["Id"] for p in pages for row in rows_of(p)]
    assert len(set(ids)) == LEADS
