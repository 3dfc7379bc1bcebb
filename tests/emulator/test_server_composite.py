"""sObject Collections: order, per-record errors, the 200 cap, allOrNone, auto-assign."""

from __future__ import annotations

from typing import Any

import pytest

from sfsync.emulator.org import Org
from tests.emulator.server_kit import Api, OrgIds

ROLLED_BACK = "ALL_OR_NONE_OPERATION_ROLLED_BACK"


def lead(record_id: str | None = None, **values: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"attributes": {"type": "Lead"}, **values}
    if record_id is not None:
        record["id"] = record_id
    return record


def collections(api: Api, method: str, records: list[Any], **options: Any) -> Any:
    response = api.request(
        method, "composite/sobjects", json={"allOrNone": False, "records": records, **options}
    )
    assert response.status_code == 200, response.text
    return response.json()


def codes(result: dict[str, Any]) -> list[str]:
    return [error["statusCode"] for error in result["errors"]]


def test_update_results_in_input_order_with_per_record_errors(
    api: Api, org: Org, ids: OrgIds
) -> None:
    records = [
        lead(ids.leads[0], Title="VP"),
        lead(ids.leads[1], Rating="Lukewarm"),
        lead(ids.leads[2], Title="CFO"),
    ]
    results = collections(api, "PATCH", records)
    assert [r["success"] for r in results] == [True, False, True]
    assert results[0] == {"id": ids.leads[0], "success": True, "errors": []}
    assert codes(results[1]) == ["INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"]
    assert results[1]["errors"][0]["fields"] == ["Rating"]
    assert org.tables["Lead"][ids.leads[2]]["Title"] == "CFO"
    assert org.tables["Lead"][ids.leads[1]]["Rating"] is None


def test_records_without_type_or_id_fail_alone(api: Api, ids: OrgIds) -> None:
    records = [
        {"id": ids.leads[0], "Title": "x"},
        lead(None, Title="no id"),
        lead("00Q0A0000000ZZZ", Title="missing"),
        lead("003000000000001", Title="wrong object"),
        lead(ids.leads[4], Title="ok"),
    ]
    results = collections(api, "PATCH", records)
    assert [codes(r) for r in results] == [
        ["INVALID_TYPE"],
        ["MISSING_ARGUMENT"],
        ["INVALID_CROSS_REFERENCE_KEY"],
        ["MALFORMED_ID"],
        [],
    ]


def test_more_than_200_records_is_a_400(api: Api, org: Org, ids: OrgIds) -> None:
    records = [lead(i, Title="too many") for i in ids.leads[:201]]
    response = api.patch("composite/sobjects", json={"allOrNone": False, "records": records})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert org.tables["Lead"][ids.leads[0]]["Title"] is None
    assert len(collections(api, "PATCH", records[:200])) == 200


def test_all_or_none_rolls_everything_back(api: Api, org: Org, ids: OrgIds) -> None:
    before = {i: org.tables["Lead"][i] for i in ids.leads[:3]}
    history = list(org.history)
    records = [
        lead(ids.leads[0], Title="A"),
        lead(ids.leads[1], Rating="Bad"),
        lead(ids.leads[2], Title="C"),
    ]
    results = collections(api, "PATCH", records, allOrNone=True)
    assert [codes(r) for r in results] == [
        [ROLLED_BACK],
        ["INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"],
        [ROLLED_BACK],
    ]
    assert all(not r["success"] for r in results)
    assert {i: org.tables["Lead"][i] for i in ids.leads[:3]} == before
    assert org.history == history


def test_all_or_none_rolls_back_creates(api: Api, org: Org) -> None:
    count = len(org.tables["Lead"])
    records = [lead(None, LastName="New", Company="Co"), lead(None, Company="No name")]
    results = collections(api, "POST", records, allOrNone=True)
    assert [codes(r) for r in results] == [[ROLLED_BACK], ["REQUIRED_FIELD_MISSING"]]
    assert len(org.tables["Lead"]) == count


def test_all_or_none_that_succeeds_writes(api: Api, org: Org, ids: OrgIds) -> None:
    results = collections(api, "PATCH", [lead(ids.leads[0], Title="Yes")], allOrNone=True)
    assert results[0]["success"] is True
    assert org.tables["Lead"][ids.leads[0]]["Title"] == "Yes"


def test_create_collection(api: Api, org: Org) -> None:
    records = [lead(None, LastName="One", Company="Co"), lead(None, LastName="Two", Company="Co")]
    results = collections(api, "POST", records)
    assert all(r["success"] for r in results)
    assert [org.tables["Lead"][r["id"]]["LastName"] for r in results] == ["One", "Two"]


def test_delete_collection(api: Api, org: Org, ids: OrgIds) -> None:
    response = api.delete(
        "composite/sobjects", params={"ids": f"{ids.leads[0]},bogus", "allOrNone": "false"}
    )
    assert response.status_code == 200
    ok, bad = response.json()
    assert ok == {"id": ids.leads[0], "success": True, "errors": []}
    assert codes(bad) == ["MALFORMED_ID"]
    assert org.tables["Lead"][ids.leads[0]]["IsDeleted"] is True


def test_delete_collection_all_or_none(api: Api, org: Org, ids: OrgIds) -> None:
    params = {"ids": f"{ids.leads[0]},00Q0A0000000ZZZ", "allOrNone": "true"}
    ok, bad = api.delete("composite/sobjects", params=params).json()
    assert codes(ok) == [ROLLED_BACK] and not bad["success"]
    assert org.tables["Lead"][ids.leads[0]]["IsDeleted"] is False


@pytest.mark.parametrize(
    "body", [b"{oops", b'{"records": "nope"}', b'{"allOrNone": "yes", "records": []}', b"[]"]
)
def test_malformed_bodies_are_400(api: Api, body: bytes) -> None:
    response = api.patch(
        "composite/sobjects", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


@pytest.mark.parametrize(("header", "assigned"), [(None, True), ("FALSE", False)])
def test_auto_assign_header_on_collections(
    api: Api, org: Org, ids: OrgIds, header: str | None, assigned: bool
) -> None:
    headers = {} if header is None else {"Sforce-Auto-Assign": header}
    update = [lead(ids.leads[5], OwnerId=ids.rep)]
    create = [lead(None, LastName="N", Company="C", OwnerId=ids.rep)]
    api.patch("composite/sobjects", json={"records": update}, headers=headers)
    [created] = api.post("composite/sobjects", json={"records": create}, headers=headers).json()
    expected = ids.queue if assigned else ids.rep
    assert org.tables["Lead"][ids.leads[5]]["OwnerId"] == expected
    assert org.tables["Lead"][created["id"]]["OwnerId"] == expected
