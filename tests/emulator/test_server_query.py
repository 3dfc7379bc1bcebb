"""query and queryAll over HTTPS: batch sizes, cursors, short pages, expired locators."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sfsync.emulator.faults import FaultPlan
from tests.emulator.server_kit import API, LEADS, Api, OrgIds, StartEmulator

SOQL = "SELECT Id, LastName FROM Lead ORDER BY LastName"
NEXT_RE = re.compile(rf"^{re.escape(API)}/query/(0r8[A-Za-z0-9]{{15}})-(\d+)$")
BATCH_200 = {"Sforce-Query-Options": "batchSize=200"}


def cursor_of(next_url: str) -> tuple[str, int]:
    """The locator and offset of a nextRecordsUrl."""
    found = NEXT_RE.match(next_url)
    assert found is not None, next_url
    return found.group(1), int(found.group(2))


def pages(api: Api, soql: str = SOQL, endpoint: str = "query", **headers: str) -> list[Any]:
    """Every page of `soql`, following nextRecordsUrl."""
    body = api.get(endpoint, params={"q": soql}, headers=headers).json()
    result = [body]
    while not body["done"]:
        body = api.get(body["nextRecordsUrl"], headers=headers).json()
        result.append(body)
    return result


@pytest.mark.parametrize(
    ("batch", "sizes"),
    [
        (None, [LEADS]),
        ("batchSize=200", [200, 200, 50]),
        ("batchSize=300", [300, 150]),
        ("batchSize=50", [200, 200, 50]),
        ("batchSize=9000", [LEADS]),
    ],
)
def test_page_sizes_follow_the_batch_size_header(
    api: Api, batch: str | None, sizes: list[int]
) -> None:
    headers = {"Sforce-Query-Options": batch} if batch else {}
    result = pages(api, **headers)
    assert [len(page["records"]) for page in result] == sizes
    assert all(page["totalSize"] == LEADS for page in result)
    assert [page["done"] for page in result] == [False] * (len(sizes) - 1) + [True]


def test_pages_cover_every_row_once_in_order(api: Api) -> None:
    rows = [r for page in pages(api, **BATCH_200) for r in page["records"]]
    assert [r["LastName"] for r in rows] == [f"Lead{i:03d}" for i in range(LEADS)]
    assert rows[0]["attributes"] == {"type": "Lead", "url": f"{API}/sobjects/Lead/{rows[0]['Id']}"}


def test_next_records_url_shape(api: Api) -> None:
    first, second, last = pages(api, **BATCH_200)
    locator, offset = cursor_of(first["nextRecordsUrl"])
    assert offset == 200
    assert second["nextRecordsUrl"] == f"{API}/query/{locator}-400"
    assert "nextRecordsUrl" not in last
    assert list(first) == ["totalSize", "done", "nextRecordsUrl", "records"]


def test_query_all_sees_deleted_rows_and_pages_through_query_urls(api: Api, ids: OrgIds) -> None:
    assert api.delete(f"sobjects/Lead/{ids.leads[0]}").status_code == 204
    assert api.query("SELECT Id FROM Lead").json()["totalSize"] == LEADS - 1
    everything = pages(api, "SELECT Id, IsDeleted FROM Lead", "queryAll", **BATCH_200)
    assert cursor_of(everything[0]["nextRecordsUrl"])[1] == 200
    rows = [r for page in everything for r in page["records"]]
    assert len(rows) == LEADS
    assert {r["Id"] for r in rows if r["IsDeleted"]} == {ids.leads[0]}


def test_a_cursor_is_a_snapshot(api: Api, ids: OrgIds) -> None:
    first = api.query(SOQL, headers=BATCH_200).json()
    api.delete(f"sobjects/Lead/{ids.leads[399]}")
    second = api.get(first["nextRecordsUrl"]).json()
    assert second["records"][-1]["Id"] == ids.leads[399]
    assert second["totalSize"] == LEADS


def test_count_query(api: Api) -> None:
    body = api.query("SELECT COUNT() FROM Lead").json()
    assert body == {"totalSize": LEADS, "done": True, "records": []}


def test_soql_errors_are_400_with_their_code(api: Api) -> None:
    response = api.query("SELECT Nope FROM Lead")
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_FIELD"
    assert api.query("SELEKT Id FROM Lead").json()[0]["errorCode"] == "MALFORMED_QUERY"
    assert api.get("query").json()[0]["errorCode"] == "MALFORMED_QUERY"


def invalid_locator(response: Any) -> bool:
    return response.status_code == 400 and response.json() == [
        {"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}
    ]


def test_expired_and_unknown_locators(api: Api) -> None:
    first = api.query(SOQL, headers=BATCH_200).json()
    locator, _ = cursor_of(first["nextRecordsUrl"])
    assert invalid_locator(api.get(f"query/{locator}-{LEADS + 1}"))
    assert invalid_locator(api.get("query/0r8EM0000009999AAA-200"))
    assert api.get(first["nextRecordsUrl"]).status_code == 200
    api.emu.cursors.expire_all()
    assert invalid_locator(api.get(first["nextRecordsUrl"]))


def test_cursors_expire_after_their_ttl(start_emulator: StartEmulator) -> None:
    now = [0.0]
    api = start_emulator(cursor_ttl_seconds=100, monotonic=lambda: now[0])
    first = api.query(SOQL, headers=BATCH_200).json()
    now[0] = 99
    assert api.get(first["nextRecordsUrl"]).status_code == 200
    now[0] = 100
    assert invalid_locator(api.get(first["nextRecordsUrl"]))


def test_short_pages(start_emulator: StartEmulator) -> None:
    api = start_emulator(faults=FaultPlan(short_page_rate=1.0), seed=7)
    result = pages(api, **BATCH_200)
    sizes = [len(page["records"]) for page in result]
    assert sum(sizes) == LEADS
    assert all(0 < size < 200 for size in sizes[:-1])
    assert api.emu.faults.injected["short_page"] >= len(sizes) - 1
    ids = [r["Id"] for page in result for r in page["records"]]
    assert len(set(ids)) == LEADS
