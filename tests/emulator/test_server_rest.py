"""REST resources: versions, limits, describe, sObject rows, and the auto-assign header."""

from __future__ import annotations

import pytest
import requests

from sfsync.emulator.org import Org
from sfsync.emulator.server import Emulator
from tests.emulator.server_kit import API, Api, OrgIds

NOT_FOUND = [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]


def usage(response: requests.Response) -> tuple[int, int]:
    value = response.headers["Sforce-Limit-Info"]
    used, _, limit = value.removeprefix("api-usage=").partition("/")
    return int(used), int(limit)


# -- versions and limits -------------------------------------------------------------


def test_versions_list_needs_no_session_and_is_not_counted(api: Api) -> None:
    response = api.get("/services/data/", headers={"Authorization": ""})
    assert response.status_code == 200
    versions = {v["version"]: v for v in response.json()}
    assert set(versions) == {f"{v}.0" for v in range(31, 69)}
    assert versions["62.0"] == {
        "label": "Winter '25",
        "url": "/services/data/v62.0",
        "version": "62.0",
    }
    assert versions["31.0"]["label"] == "Summer '14"
    assert usage(response) == (0, 1_000_000)


@pytest.mark.parametrize("version", ["30.0", "69.0", "62.5"])
def test_unsupported_versions_are_404(api: Api, version: str) -> None:
    response = api.get(f"/services/data/v{version}/limits")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_every_counted_call_moves_the_usage_header(api: Api) -> None:
    first = api.get("limits")
    second = api.query("SELECT Id FROM Lead LIMIT 1")
    failed = api.get("sobjects/Nope/describe")
    assert [usage(r)[0] for r in (first, second, failed)] == [1, 2, 3]
    assert failed.status_code == 404


def test_limits_body(api: Api) -> None:
    api.emu.usage.set_used(41)
    body = api.get("limits").json()
    assert body["DailyApiRequests"] == {"Max": 1_000_000, "Remaining": 1_000_000 - 42}
    for name in ("DailyBulkV2QueryJobs", "DailyBulkApiBatches", "DataStorageMB"):
        assert body[name]["Max"] >= body[name]["Remaining"] >= 0


def test_request_limit_exceeded_once_the_allowance_is_spent(api: Api, org: Org) -> None:
    org.settings.daily_api_limit = 10
    api.emu.usage.set_used(9)
    assert api.get("limits").status_code == 200
    refused = api.get("limits")
    assert refused.status_code == 403
    assert refused.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert usage(refused) == (10, 10)
    assert api.get("/services/data/").status_code == 200
    assert api.emu.calls.entries()[-2].counted is False


# -- describe --------------------------------------------------------------------------


def test_describe_global(api: Api) -> None:
    body = api.get("sobjects/").json()
    assert body["maxBatchSize"] == 200
    lead = next(o for o in body["sobjects"] if o["name"] == "Lead")
    assert lead["keyPrefix"] == "00Q"
    assert lead["urls"]["describe"] == f"{API}/sobjects/Lead/describe"


def test_describe_lead(api: Api) -> None:
    body = api.get("sobjects/lead/describe").json()
    fields = {f["name"]: f for f in body["fields"]}
    assert fields["LastName"]["length"] == 80
    assert fields["Rating"]["restrictedPicklist"] is True
    assert [v["value"] for v in fields["Rating"]["picklistValues"]] == ["Hot", "Warm", "Cold"]
    assert body["urls"]["rowTemplate"] == f"{API}/sobjects/Lead/{{ID}}"


def test_basic_info_and_unknown_object(api: Api) -> None:
    assert api.get("sobjects/Lead").json()["objectDescribe"]["name"] == "Lead"
    response = api.get("sobjects/Nope__c/describe")
    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"


def test_unknown_resource_and_wrong_method(api: Api) -> None:
    assert api.get("nothing/here").json() == NOT_FOUND
    response = api.request("PUT", "sobjects/Lead/describe")
    assert response.status_code == 405
    assert response.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"


# -- rows ----------------------------------------------------------------------------


def test_create_get_update_delete_a_lead(api: Api, ids: OrgIds) -> None:
    created = api.post("sobjects/Lead/", json={"LastName": "Ada", "Company": "Analytical"})
    assert created.status_code == 201
    body = created.json()
    assert body["success"] is True and body["errors"] == []
    lead_id = body["id"]
    assert api.patch(f"sobjects/Lead/{lead_id}", json={"Title": "Countess"}).status_code == 204
    row = api.get(f"sobjects/Lead/{lead_id}", params={"fields": "Title,lastname"}).json()
    assert row == {
        "attributes": {"type": "Lead", "url": f"{API}/sobjects/Lead/{lead_id}"},
        "Title": "Countess",
        "LastName": "Ada",
    }
    assert api.delete(f"sobjects/Lead/{lead_id}").status_code == 204
    gone = api.get(f"sobjects/Lead/{lead_id}")
    assert gone.status_code == 404
    assert gone.json()[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_get_row_serialises_datetimes_like_salesforce(api: Api, ids: OrgIds) -> None:
    row = api.get(f"sobjects/Lead/{ids.leads[0]}").json()
    assert row["Id"] == ids.leads[0]
    assert row["SystemModstamp"].endswith(".000+0000")
    assert row["IsDeleted"] is False


def test_get_accepts_a_15_character_id(api: Api, ids: OrgIds) -> None:
    assert api.get(f"sobjects/Lead/{ids.leads[1][:15]}").json()["Id"] == ids.leads[1]


def test_unknown_field_in_fields_param(api: Api, ids: OrgIds) -> None:
    response = api.get(f"sobjects/Lead/{ids.leads[0]}", params={"fields": "Nope"})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_FIELD"


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_missing_row_is_404(api: Api, method: str) -> None:
    response = api.request(method, "sobjects/Lead/00Q0A0000000ZZZ", json={"Title": "x"})
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_update_errors_come_back_as_a_list(api: Api, ids: OrgIds) -> None:
    response = api.patch(f"sobjects/Lead/{ids.leads[0]}", json={"Rating": "Lukewarm"})
    assert response.status_code == 400
    [error] = response.json()
    assert error["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert error["fields"] == ["Rating"]


def test_create_errors_come_back_as_a_list(api: Api) -> None:
    response = api.post("sobjects/Lead", json={"Company": "No Name Ltd"})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"


def test_malformed_json_body(api: Api, ids: OrgIds) -> None:
    response = api.patch(
        f"sobjects/Lead/{ids.leads[0]}",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


# -- Sforce-Auto-Assign ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "assigned"),
    [(None, True), ("TRUE", True), ("true", True), ("FALSE", False), ("False", False)],
)
def test_auto_assign_header_on_update(
    api: Api, org: Org, ids: OrgIds, header: str | None, assigned: bool
) -> None:
    headers = {} if header is None else {"Sforce-Auto-Assign": header}
    lead = ids.leads[3]
    response = api.patch(f"sobjects/Lead/{lead}", json={"OwnerId": ids.rep}, headers=headers)
    assert response.status_code == 204
    assert org.tables["Lead"][lead]["OwnerId"] == (ids.queue if assigned else ids.rep)


def test_auto_assign_header_on_create(api: Api, org: Org, ids: OrgIds) -> None:
    values = {"LastName": "Owned", "Company": "Co", "OwnerId": ids.rep}
    kept = api.post("sobjects/Lead", json=values, headers={"Sforce-Auto-Assign": "FALSE"})
    routed = api.post("sobjects/Lead", json=values)
    assert org.tables["Lead"][kept.json()["id"]]["OwnerId"] == ids.rep
    assert org.tables["Lead"][routed.json()["id"]]["OwnerId"] == ids.queue


# -- SOAP hook ---------------------------------------------------------------------------


def soap_envelope(session_id: str) -> str:
    return (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:urn="urn:partner.soap.sforce.com"><soapenv:Header><urn:SessionHeader>'
        f"<urn:sessionId>{session_id}</urn:sessionId></urn:SessionHeader></soapenv:Header>"
        "<soapenv:Body><urn:convertLead/></soapenv:Body></soapenv:Envelope>"
    )


def test_soap_answers_a_fault_until_operations_are_registered(api: Api) -> None:
    token = api.emu.credentials.access_token
    response = api.post(
        "/services/Soap/u/62.0",
        data=soap_envelope(token),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
    )
    assert response.status_code == 500
    assert "<faultcode>soapenv:Client</faultcode>" in response.text
    assert "convertLead" in response.text
    assert usage(response)[0] == 1


def test_soap_checks_the_session_header(emulator: Emulator, api: Api) -> None:
    response = api.post("/services/Soap/u/62.0", data=soap_envelope("00D!bogus"))
    assert response.status_code == 500
    assert "sf:INVALID_SESSION_ID" in response.text
