"""Timeouts, truncated answers and gates: faults added for the reliability schedules."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests

from sfsync.emulator.faults import FaultPlan, Faults
from sfsync.emulator.org import Org
from tests.emulator.server_kit import Api, OrgIds, StartEmulator

WAIT_S = 10


class InThread:
    """A client call run on a thread, so the test can act while it is in flight."""

    def __init__(self, call: Callable[[], requests.Response]) -> None:
        self.response: requests.Response | None = None
        self.error: Exception | None = None
        self._thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], requests.Response]) -> None:
        try:
            self.response = call()
        except requests.RequestException as exc:
            self.error = exc

    def join(self) -> InThread:
        self._thread.join(WAIT_S)
        assert not self._thread.is_alive(), "the call never ended"
        return self

    def answer(self) -> requests.Response:
        """The response, once the call ended with one."""
        self.join()
        assert self.response is not None, self.error
        return self.response


def eventually(condition: Callable[[], bool]) -> bool:
    """Whether `condition` holds within WAIT_S seconds (polled)."""
    stop = threading.Event()
    for _ in range(WAIT_S * 20):
        if condition():
            return True
        stop.wait(0.05)
    return condition()


def title(org: Org, lead_id: str) -> Any:
    return org.tables["Lead"][lead_id]["Title"]


# -- timeout -----------------------------------------------------------------------


def test_scripted_timeout_runs_the_request_after_the_client_gave_up(
    start_emulator: StartEmulator, org: Org, ids: OrgIds
) -> None:
    api = start_emulator(faults=FaultPlan(timeout_ms=1500))
    api.emu.faults.script("timeout", method="PATCH")
    with pytest.raises(requests.ReadTimeout):
        api.patch(f"sobjects/Lead/{ids.leads[0]}", json={"Title": "late"}, timeout=0.3)
    assert title(org, ids.leads[0]) is None  # still held: nothing written yet
    assert api.emu.faults.late() == 1
    # The held request runs in the end: the org does what it was asked, answer or not.
    assert eventually(lambda: api.emu.faults.late() == 0)
    assert title(org, ids.leads[0]) == "late"
    assert api.emu.faults.injected["timeout"] == 1
    assert eventually(lambda: api.emu.calls.entries()[-1].fault == "timeout")


def test_random_timeouts_hit_counted_calls_only(start_emulator: StartEmulator) -> None:
    api = start_emulator(faults=FaultPlan(timeout_rate=1.0, timeout_ms=0))
    assert api.get("/services/data/").status_code == 200
    assert api.emu.faults.injected["timeout"] == 0
    assert api.get("limits").status_code == 200
    assert api.emu.faults.injected["timeout"] == 1


# -- truncated ---------------------------------------------------------------------


def test_scripted_truncated_query_is_a_200_with_broken_json(api: Api) -> None:
    api.emu.faults.script("truncated", path_contains="/query")
    response = api.query("SELECT Id FROM Lead LIMIT 5")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert api.query("SELECT Id FROM Lead LIMIT 5").json()["totalSize"] == 5
    assert api.emu.faults.injected["truncated"] == 1
    assert api.emu.calls.entries()[-2].fault == "truncated"


def test_truncated_collections_answer_after_the_write(api: Api, org: Org, ids: OrgIds) -> None:
    api.emu.faults.script("truncated", path_contains="composite/sobjects")
    body = {
        "allOrNone": False,
        "records": [{"attributes": {"type": "Lead"}, "id": ids.leads[0], "Title": "kept"}],
    }
    response = api.patch("composite/sobjects", json=body)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    assert title(org, ids.leads[0]) == "kept"


def test_random_truncation_spares_empty_answers(start_emulator: StartEmulator, ids: OrgIds) -> None:
    api = start_emulator(faults=FaultPlan(truncated_rate=1.0))
    assert api.patch(f"sobjects/Lead/{ids.leads[0]}", json={"Title": "x"}).status_code == 204
    assert api.emu.faults.injected["truncated"] == 0
    with pytest.raises(ValueError):
        api.get("limits").json()
    assert api.emu.faults.injected["truncated"] == 1


# -- gates -------------------------------------------------------------------------


def test_gate_before_holds_the_request_until_released(api: Api, org: Org, ids: OrgIds) -> None:
    gate = api.emu.faults.hold("/sobjects/Lead/", method="PATCH")
    call = InThread(lambda: api.patch(f"sobjects/Lead/{ids.leads[0]}", json={"Title": "go"}))
    assert gate.reached.wait(WAIT_S)
    assert title(org, ids.leads[0]) is None and not gate.done.is_set()
    gate.release()
    assert gate.done.wait(WAIT_S)
    assert call.answer().status_code == 204
    assert title(org, ids.leads[0]) == "go"
    assert api.emu.faults.injected["hold"] == 1


def test_gate_released_without_proceeding_drops_the_request_unhandled(
    api: Api, org: Org, ids: OrgIds
) -> None:
    gate = api.emu.faults.hold("/sobjects/Lead/", method="PATCH")
    call = InThread(lambda: api.patch(f"sobjects/Lead/{ids.leads[0]}", json={"Title": "no"}))
    assert gate.reached.wait(WAIT_S)
    gate.release(proceed=False)
    assert isinstance(call.join().error, requests.ConnectionError)
    assert gate.done.is_set()
    assert title(org, ids.leads[0]) is None
    assert api.emu.calls.entries()[-1].fault == "hold"


def test_gate_after_holds_the_answer_of_a_write_already_made(
    api: Api, org: Org, ids: OrgIds
) -> None:
    gate = api.emu.faults.hold("/sobjects/Lead/", method="PATCH", when="after")
    call = InThread(lambda: api.patch(f"sobjects/Lead/{ids.leads[0]}", json={"Title": "done"}))
    assert gate.reached.wait(WAIT_S)
    assert title(org, ids.leads[0]) == "done" and call.response is None
    gate.release()
    assert call.answer().status_code == 204


def test_gate_skips_and_matches_on_the_soql(api: Api) -> None:
    gate = api.emu.faults.hold("/query", soql_contains="FROM Lead", skip=1)
    assert api.query("SELECT Id FROM User").status_code == 200
    assert api.query("SELECT Id FROM Lead LIMIT 1").status_code == 200  # skipped
    assert not gate.reached.is_set()
    call = InThread(lambda: api.query("SELECT Id FROM Lead LIMIT 2"))
    assert gate.reached.wait(WAIT_S)
    gate.release()
    assert call.answer().json()["totalSize"] == 2


def test_clear_opens_every_gate(api: Api, ids: OrgIds) -> None:
    gate = api.emu.faults.hold("/sobjects/Lead/")
    call = InThread(lambda: api.patch(f"sobjects/Lead/{ids.leads[0]}", json={"Title": "x"}))
    assert gate.reached.wait(WAIT_S)
    api.emu.faults.clear()
    assert call.answer().status_code == 204


def test_cancel_disarms_a_gate_that_took_nothing(api: Api, ids: OrgIds) -> None:
    gate = api.emu.faults.hold("/sobjects/Lead/")
    assert api.emu.faults.cancel(gate)
    assert api.patch(f"sobjects/Lead/{ids.leads[0]}", json={"Title": "x"}).status_code == 204
    assert not gate.reached.is_set() and not api.emu.faults.cancel(gate)


# -- validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    "plan",
    [{"timeout_rate": 1.5}, {"truncated_rate": -0.1}, {"timeout_ms": -1}],
)
def test_new_rates_are_validated(plan: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        FaultPlan(**plan)


def test_new_kinds_can_be_scripted_and_gates_refuse_negative_skips() -> None:
    faults = Faults()
    faults.script("timeout")
    faults.script("truncated", times=2)
    assert faults.pending() == 3
    with pytest.raises(ValueError, match="skip"):
        faults.hold(skip=-1)
