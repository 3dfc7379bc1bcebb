"""`POST composite`: several queries in one call, each answered as a direct call would be."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sfsync.emulator.server import Emulator
from tests.emulator.server_kit import API, Api, OrgIds


def sub(soql: str, ref: str = "q", resource: str = "query", **extra: Any) -> dict[str, Any]:
    return {"method": "GET", "url": f"{API}/{resource}/?{urlencode({'q': soql})}",
            "referenceId": ref, **extra}  # fmt: skip


def composite(api: Api, items: list[Any]) -> Any:
    return api.post("composite", json={"allOrNone": False, "compositeRequest": items})


def test_queries_are_answered_in_order_and_count_as_one_call(
    api: Api, emulator: Emulator, ids: OrgIds
) -> None:
    before = len([c for c in emulator.calls.entries() if c.counted])
    response = composite(api, [
        sub("SELECT Id FROM Lead ORDER BY Id", "leads"),
        sub("SELECT Id, Name FROM User WHERE IsActive = true", "users", "queryAll"),
        sub("SELECT Nonsense FROM Lead", "bad"),
    ])  # fmt: skip

    assert response.status_code == 200, response.text
    answers = response.json()["compositeResponse"]
    assert [a["referenceId"] for a in answers] == ["leads", "users", "bad"]
    assert [a["httpStatusCode"] for a in answers] == [200, 200, 400]
    direct = api.query("SELECT Id FROM Lead ORDER BY Id").json()
    assert answers[0]["body"]["records"] == direct["records"]
    assert answers[0]["body"]["totalSize"] == len(ids.leads)
    assert answers[2]["body"][0]["errorCode"] == "INVALID_FIELD"
    counted = [c for c in emulator.calls.entries() if c.counted]
    assert len(counted) == before + 2  # the composite request, then the direct query


def test_a_subrequest_page_size_and_next_page(api: Api, ids: OrgIds) -> None:
    headers = {"Sforce-Query-Options": "batchSize=200"}
    soql = "SELECT Id FROM Lead ORDER BY Id"
    response = composite(api, [sub(soql, httpHeaders=headers)])
    body = response.json()["compositeResponse"][0]["body"]
    assert len(body["records"]) == min(200, len(ids.leads))
    if not body["done"]:
        assert api.get(body["nextRecordsUrl"]).status_code == 200


def test_what_the_emulator_does_not_serve_fails_per_subrequest(api: Api) -> None:
    answers = composite(api, [
        {"method": "PATCH", "url": f"{API}/sobjects/Lead/00Q000000000001", "referenceId": "w"},
        {"method": "GET", "url": "https://elsewhere.example/services/data/v62.0/limits",
         "referenceId": "x"},
        {"method": "GET", "referenceId": "y"},
        sub("SELECT Id FROM Lead LIMIT 1", "ok"),
    ]).json()["compositeResponse"]  # fmt: skip
    assert [a["httpStatusCode"] for a in answers] == [400, 400, 400, 200]
    assert [a["body"][0]["errorCode"] for a in answers[:3]] == [
        "NOT_SUPPORTED", "INVALID_URL", "INVALID_INPUT"]  # fmt: skip


def test_malformed_and_oversized_requests_are_refused_whole(api: Api) -> None:
    assert api.post("composite", data=b"{nope").json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    assert composite(api, []).status_code == 400
    assert api.post("composite", json={"compositeRequest": "x"}).status_code == 400
    many = [sub("SELECT Id FROM Lead", f"q{i}") for i in range(26)]
    assert composite(api, many).json()[0]["errorCode"] == "INVALID_INPUT"
    six = [sub("SELECT Id FROM Lead", f"q{i}") for i in range(6)]
    assert "5 query" in composite(api, six).json()[0]["message"]


def test_describes_are_answered_as_direct_calls_and_are_not_queries(
    api: Api, emulator: Emulator
) -> None:
    before = len([c for c in emulator.calls.entries() if c.counted])
    describe = [{"method": "GET", "url": f"{API}/sobjects/{name}/describe", "referenceId": name}
                for name in ("Lead", "Contact", "Nonesuch")]  # fmt: skip
    queries = [sub("SELECT Id FROM Lead LIMIT 1", f"q{i}") for i in range(5)]
    response = composite(api, [*describe, *queries])

    assert response.status_code == 200, response.text
    answers = response.json()["compositeResponse"]
    assert [a["httpStatusCode"] for a in answers] == [200, 200, 404] + [200] * 5
    assert answers[0]["body"] == api.get("sobjects/Lead/describe").json()
    assert answers[1]["body"]["name"] == "Contact"
    assert answers[2]["body"][0]["errorCode"] == "NOT_FOUND"
    counted = [c for c in emulator.calls.entries() if c.counted]
    assert len(counted) == before + 2  # the composite request, then the direct describe
