"""The capture ledger on SQLite and PostgreSQL: keys taken once, settled as the cycle needs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sfsync.routing_state import RoutingDelta
from sfsync.store import Store
from sfsync.store.capture import (
    CAPTURED_STAMP,
    CaptureLedger,
    Created,
    Finished,
    LedgerState,
    Planned,
    insert_planned,
)
from sfsync.store.mirror import record
from sfsync.store.routing import RoutingStore, apply_delta
from sfsync.store.tables import OutboxKind, OutboxState

OWNER = "005000000000001AAA"
LEAD = "00Q000000000001AAA"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store(store_url)
    yield opened
    opened.close()


def planned(key: str) -> Planned:
    return Planned(key, "broker", {"LastName": "Lovelace"}, {"values": {"LastName": "Lovelace"}})


def created(key: str = "k1", lead_id: str = LEAD, **extra: Any) -> Created:
    routing = {"routed": True, "owner": OWNER, "changes_owner": False, "rule": "All",
               "sla_task": {"key": f"sla-{lead_id}", "values": {"WhoId": lead_id,
                                                                 "Subject": "Call"}}}  # fmt: skip
    decision = {"input_hash": "h1", "rules_version": "v1", "changes": {"Lead_Score__c": 40},
                "reasons": [{"rule": "Title", "points": 10, "detail": "", "part": "score"}],
                "summary": {"score": 40, "routing": routing}, "skipped": {}}  # fmt: skip
    values: dict[str, Any] = {
        "key": key, "lead_id": lead_id, "written": {"Lead_Score__c": 40, "OwnerId": OWNER},
        "routing": routing, "load_owner": OWNER, "decision": decision,
    }  # fmt: skip
    values.update(extra)
    return Created(**values)


def test_a_key_is_planned_once_even_when_two_runs_race(store: Store) -> None:
    with store.engine.begin() as conn:
        assert insert_planned(conn, [planned("k1"), planned("k2")]) == {"k1", "k2"}
    with store.engine.begin() as conn:
        assert insert_planned(conn, [planned("k2"), planned("k3")]) == {"k3"}
    ledger = CaptureLedger(store.engine)
    rows = ledger.rows(["k1", "k2", "k3", "k4"])
    assert sorted(rows) == ["k1", "k2", "k3"]
    assert rows["k1"].state == LedgerState.PLANNED and rows["k1"].plan == {
        "values": {"LastName": "Lovelace"}
    }
    ledger.mark_sending(["k1"])
    assert ledger.count(LedgerState.SENDING) == 1 and ledger.count(LedgerState.PLANNED) == 2


def test_a_created_lead_leaves_what_the_sync_cycle_reads(store: Store) -> None:
    with store.engine.begin() as conn:
        insert_planned(conn, [planned("k1")])
    mirror = {"id": LEAD, "sobject": "Lead", "fields": {"LastName": "Lovelace"},
              "email_key": "ada@example.com"}  # fmt: skip
    ledger = CaptureLedger(store.engine)

    queued = ledger.record_created("capture:run", [created(mirror=mirror)])

    row = ledger.rows(["k1"])["k1"]
    assert (row.state, row.action, row.record_id, row.plan) == ("done", "created", LEAD, None)
    state = store.lead_states([LEAD])[LEAD]
    assert state.system_modstamp == CAPTURED_STAMP and state.input_hash == "h1"
    assert state.last_written == {"Lead_Score__c": 40, "OwnerId": OWNER}
    assert state.routing is not None and state.routing["owner"] == OWNER
    assert state.load_owner == OWNER
    (decision,) = store.decisions_for(LEAD)
    assert decision.run_id == "capture:run" and decision.changes == {"Lead_Score__c": 40}
    assert queued == 1
    (task,) = store.outbox_for(LEAD)
    assert (task.kind, task.sobject, task.state) == (OutboxKind.CREATE, "Task", OutboxState.PENDING)
    assert task.patch == {"WhoId": LEAD, "Subject": "Call"}
    found = record(store.engine, LEAD)
    assert found is not None and found.fields == {"LastName": "Lovelace"}
    # Recorded twice (a resumed run finding it again): still one Task.
    assert ledger.record_created("capture:run2", [created()]) == 0
    assert len(store.outbox_for(LEAD)) == 1


def test_finished_rows_are_done_and_refused_rows_give_their_turn_back(store: Store) -> None:
    routing = RoutingStore(store.engine)
    turn = RoutingDelta(credits={("t", OWNER): -1}, assigned={("t", OWNER): 1},
                        loads={OWNER: 1}, picks={"t": 1})  # fmt: skip
    with routing.transaction(["t"]) as (conn, _snapshot):
        insert_planned(conn, [planned("k1"), planned("k2")])
        apply_delta(conn, turn)
    ledger = CaptureLedger(store.engine)
    ledger.record_finished([Finished("k3", "broker", "duplicate", None, LEAD, ("same person",))])

    ledger.forget(["k1"], RoutingDelta(credits={("t", OWNER): 1}, assigned={("t", OWNER): -1},
                                       loads={OWNER: -1}, picks={"t": -1}))  # fmt: skip

    rows = ledger.rows(["k1", "k2", "k3"])
    assert sorted(rows) == ["k2", "k3"]
    assert (rows["k3"].state, rows["k3"].matched_id, rows["k3"].reasons) == (
        "done", LEAD, ["same person"],
    )  # fmt: skip
    assert routing.members("t") == {OWNER: 0}
    assert routing.snapshot(["t"]).load(OWNER) == 0


def test_unfinished_rows_are_taken_over_only_from_a_dead_worker(store_url: str) -> None:
    first, second = Store(store_url), Store(store_url)
    try:
        with first.engine.begin() as conn:
            insert_planned(conn, [planned("k1"), planned("k2")], first.liveness.key)
        ledger = CaptureLedger(second.engine)
        before = list(ledger.rows(["k1", "k2"]).values())
        me, is_dead = second.liveness.key, second.liveness.is_dead

        taken = ledger.claim(before, me, is_dead)

        if second.engine.dialect.name == "postgresql":
            assert taken == set()  # the first worker lives: its rows are its own
            first.close()
            taken = ledger.claim(list(ledger.rows(["k1", "k2"]).values()), me, is_dead)
        # (SQLite has one worker by design: any other holder is a dead one.)
        assert taken == {"k1", "k2"}
        # A third worker that read the rows before the take-over: the holder changed.
        assert ledger.claim(before, 12345, lambda _key: True) == set()
    finally:
        first.close()
        second.close()
