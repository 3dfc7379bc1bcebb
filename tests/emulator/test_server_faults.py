"""Injected faults: scripted one-shots, seeded random plans, and what clients see."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from sfsync.emulator.faults import FaultPlan, Faults
from sfsync.emulator.org import Org
from tests.emulator.server_kit import Api, OrgIds, StartEmulator, client_credentials_form

LOCK_MESSAGE = "unable to obtain exclusive access to this record or 1 records: {}"


def update(api: Api, *records: tuple[str, dict[str, Any]]) -> Any:
    body = {
        "allOrNone": False,
        "records": [{"attributes": {"type": "Lead"}, "id": i, **v} for i, v in records],
    }
    return api.patch("composite/sobjects", json=body)


def test_scripted_503_is_json(api: Api) -> None:
    api.emu.faults.script("503")
    response = api.get("limits")
    assert response.status_code == 503
    assert response.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert api.get("limits").status_code == 200
    assert api.emu.faults.injected["503"] == 1


def test_scripted_500_is_html(api: Api) -> None:
    api.emu.faults.script("500_html", path_contains="/query", times=2)
    assert api.get("limits").status_code == 200
    for _ in range(2):
        response = api.query("SELECT Id FROM Lead LIMIT 1")
        assert response.status_code == 500
        assert response.headers["Content-Type"].startswith("text/html")
        assert "<html>" in response.text
    assert api.query("SELECT Id FROM Lead LIMIT 1").status_code == 200


def test_scripted_drop_closes_without_answering(api: Api, org: Org, ids: OrgIds) -> None:
    api.emu.faults.script("drop", method="PATCH")
    with pytest.raises(requests.ConnectionError):
        api.patch(f"sobjects/Lead/{ids.leads[0]}", json={"Title": "lost"})
    assert org.tables["Lead"][ids.leads[0]]["Title"] is None
    assert api.patch(f"sobjects/Lead/{ids.leads[0]}", json={"Title": "ok"}).status_code == 204
    dropped = api.emu.calls.entries()[-2]
    assert dropped.status is None and dropped.fault == "drop"


def test_drop_after_loses_the_answer_but_not_the_write(api: Api, org: Org, ids: OrgIds) -> None:
    api.emu.faults.script("drop_after", path_contains="/sobjects/Lead/")
    with pytest.raises(requests.ConnectionError):
        api.patch(f"sobjects/Lead/{ids.leads[0]}", json={"Title": "written"})
    assert org.tables["Lead"][ids.leads[0]]["Title"] == "written"
    assert api.emu.faults.injected["drop_after"] == 1
    assert api.emu.calls.entries()[-1].fault == "drop_after"


def test_scripted_request_limit_is_the_concurrency_kind(api: Api) -> None:
    api.emu.faults.script("request_limit")
    response = api.get("limits")
    assert response.status_code == 403
    assert response.json() == [
        {
            "message": "ConcurrentPerOrgLongTxn Limit exceeded.",
            "errorCode": "REQUEST_LIMIT_EXCEEDED",
        }
    ]


def test_scripted_expire_session(api: Api) -> None:
    api.emu.faults.script("expire_session")
    assert api.get("limits").status_code == 401
    assert api.get("limits").status_code == 401
    assert api.emu.faults.injected["expire_session"] == 1


def test_session_expires_after_n_calls(start_emulator: StartEmulator) -> None:
    api = start_emulator(faults=FaultPlan(expire_session_after_calls=3))
    assert [api.get("limits").status_code for _ in range(4)] == [200, 200, 200, 401]
    fresh = api.emu.sessions.issue(api.emu.run_as_user_id, "test")
    assert api.get("limits", headers={"Authorization": f"Bearer {fresh.token}"}).status_code == 200


def test_scripted_invalid_locator(api: Api) -> None:
    api.emu.faults.script("invalid_locator")
    first = api.query("SELECT Id FROM Lead", headers={"Sforce-Query-Options": "batchSize=200"})
    response = api.get(first.json()["nextRecordsUrl"])
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
    assert api.get(first.json()["nextRecordsUrl"]).status_code == 200


def test_scripted_lock_row_fails_one_record(api: Api, org: Org, ids: OrgIds) -> None:
    api.emu.faults.script("lock_row")
    results = update(api, (ids.leads[0], {"Title": "A"}), (ids.leads[1], {"Title": "B"})).json()
    assert results[0] == {
        "id": ids.leads[0],
        "success": False,
        "errors": [
            {
                "statusCode": "UNABLE_TO_LOCK_ROW",
                "fields": [],
                "message": LOCK_MESSAGE.format(ids.leads[0]),
            }
        ],
    }
    assert results[1]["success"] is True
    assert org.tables["Lead"][ids.leads[0]]["Title"] is None
    assert org.tables["Lead"][ids.leads[1]]["Title"] == "B"


def test_scripted_lock_row_on_a_single_row(api: Api, ids: OrgIds) -> None:
    api.emu.faults.script("lock_row", method="PATCH")
    response = api.patch(f"sobjects/Lead/{ids.leads[0]}", json={"Title": "x"})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"


def test_random_lock_rows(start_emulator: StartEmulator, org: Org, ids: OrgIds) -> None:
    api = start_emulator(faults=FaultPlan(lock_row_rate=1.0))
    results = update(api, *[(i, {"Title": "x"}) for i in ids.leads[:3]]).json()
    assert [r["errors"][0]["statusCode"] for r in results] == ["UNABLE_TO_LOCK_ROW"] * 3
    assert api.emu.faults.injected["lock_row"] == 3


def test_scripted_faults_can_target_the_token_endpoint(api: Api) -> None:
    api.emu.faults.script("503")  # no path: only counted REST calls
    api.emu.faults.script("500_html", path_contains="/oauth2/token")
    form = client_credentials_form(api.emu)
    assert api.post("/services/oauth2/token", data=form).status_code == 500
    assert api.post("/services/oauth2/token", data=form).status_code == 200
    assert api.get("limits").status_code == 503


def test_random_faults_spare_the_token_endpoint_and_versions(start_emulator: StartEmulator) -> None:
    api = start_emulator(faults=FaultPlan(error_rate=1.0, drop_rate=0.0))
    form = client_credentials_form(api.emu)
    assert api.post("/services/oauth2/token", data=form).status_code == 200
    assert api.get("/services/data/").status_code == 200
    assert api.get("limits").status_code in (500, 502, 503)


def status_sequence(start_emulator: StartEmulator, seed: int) -> list[int]:
    api = start_emulator(faults=FaultPlan(error_rate=0.5), seed=seed)
    statuses = [api.get("limits").status_code for _ in range(20)]
    injected = api.emu.faults.injected
    # HTML pages (500 or 502) count as "500_html", JSON ones as "503".
    assert injected["500_html"] == sum(s in (500, 502) for s in statuses)
    assert injected["503"] == statuses.count(503)
    return statuses


def test_random_faults_follow_the_seed(start_emulator: StartEmulator) -> None:
    first = status_sequence(start_emulator, seed=3)
    assert first == status_sequence(start_emulator, seed=3)
    assert {500, 502, 503} & set(first) and 200 in first
    assert first != status_sequence(start_emulator, seed=4)


def test_random_drops(start_emulator: StartEmulator) -> None:
    api = start_emulator(faults=FaultPlan(drop_rate=1.0))
    with pytest.raises(requests.ConnectionError):
        api.get("limits")
    assert api.emu.faults.injected["drop"] == 1


def test_latency(start_emulator: StartEmulator) -> None:
    api = start_emulator(faults=FaultPlan(latency_ms=150))
    started = time.monotonic()
    assert api.get("limits").status_code == 200
    assert time.monotonic() - started >= 0.15
    assert api.emu.faults.injected["latency"] == 1


@pytest.mark.parametrize(
    "plan",
    [
        {"error_rate": 1.5},
        {"drop_rate": -0.1},
        {"latency_ms": -1},
        {"expire_session_after_calls": 0},
    ],
)
def test_fault_plan_is_validated(plan: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        FaultPlan(**plan)


def test_unknown_script_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Faults().script("teapot")
