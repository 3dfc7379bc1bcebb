"""The sync cycle against the emulator: coverage, cost, incremental pulls, humans win."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from sfsync.emulator.activity import Activity
from sfsync.emulator.org import AssignmentRuleEntry, Org
from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from tests.integration.conftest import Worker
from tests.integration.helpers import (
    RATING,
    SCORE,
    assert_scored,
    calls_since,
    expected_score,
    is_collection_write,
    open_leads,
    worker_writes,
)


@pytest.mark.slow
@pytest.mark.parametrize("seeded", [5000], indirect=True, ids=["5000-leads"])
def test_first_cycle_scores_every_open_lead_near_the_call_floor(
    seeded: SeededOrg, emulator: Emulator, make_worker: Callable[..., Worker]
) -> None:
    worker = make_worker()
    start = len(emulator.calls.entries())
    report = worker.job.run_once()

    scored = assert_scored(seeded.org)
    calls = calls_since(emulator, start)
    writes = [c.records or 0 for c in calls if is_collection_write(c)]
    converts = sum(1 for c in calls if "/Soap/" in c.path)
    assert max(writes) == 200
    # Leads, then the contacts conversions created: at most one partial request each.
    assert len(writes) <= math.ceil(sum(writes) / 200) + 1
    assert converts >= 1
    # The target, 1.1 x floor + 3. Above the floor: one Composite at start-up
    # (describes, the org's facts, routing's users and queues), engagement's next pages,
    # and per query page with conversions one Composite for their candidate contacts
    # and accounts; the pull's first page rides with engagement's queries.
    floor = math.ceil(report.pulled / 2000) + len(writes) + converts
    assert len(calls) <= 1.1 * floor + 3
    assert sum(1 for c in calls if c.path.endswith("/composite")) <= 2 + math.ceil(
        report.pulled / 2000
    )
    assert report.written > 0.9 * scored

    # The cycle after a write re-reads sfsync's own echoes once (an edit may hide behind them)...
    second = len(emulator.calls.entries())
    again = worker.job.run_once()
    assert again.written == 0
    assert len(calls_since(emulator, second)) <= math.ceil(report.written / 2000) + 2
    # ...and an idle cycle after that asks one question (engagement and the pull, together).
    third = len(emulator.calls.entries())
    idle = worker.job.run_once()
    assert idle.written == 0 and idle.pulled == 0
    assert len(calls_since(emulator, third)) == 1


def test_only_new_and_edited_leads_are_written(
    seeded: SeededOrg, emulator: Emulator, make_worker: Callable[..., Worker]
) -> None:
    worker = make_worker()
    worker.job.run_once()
    events = Activity(seeded, seed=3).step(new_leads=4, edits=6)
    touched = {e.lead_id for e in events}
    writes_before = len(seeded.org.writes_by(seeded.integration_user_id))

    start = len(emulator.calls.entries())
    report = worker.job.run_once()

    written = {
        e.record_id for e in seeded.org.writes_by(seeded.integration_user_id)[writes_before:]
    }
    assert written and written <= touched
    assert report.written >= sum(1 for e in events if e.kind == "new_lead")
    assert_scored(seeded.org)
    assert sum(1 for c in calls_since(emulator, start) if is_collection_write(c)) == 1


def test_a_value_a_person_set_is_never_overwritten(
    seeded: SeededOrg, emulator: Emulator, make_worker: Callable[..., Worker]
) -> None:
    worker = make_worker()
    worker.job.run_once()
    lead_id, record = next(iter(open_leads(seeded.org).items()))
    rep = seeded.human_user_ids[0]
    other = "Cold" if record[RATING] != "Cold" else "Hot"
    result = seeded.org.update(
        "Lead",
        lead_id,
        {RATING: other, SCORE: 99, "Title": "Chief Executive Officer"},
        user_id=rep,
        auto_assign=False,
    )
    assert result.success

    worker.job.run_once()

    now = seeded.org.get("Lead", lead_id)
    assert now is not None
    assert (now[RATING], now[SCORE]) == (other, 99)
    assert "Executive title" in now["Score_Reason__c"]  # sfsync's own field still follows
    decision = worker.store.decisions_for(lead_id, limit=1)[0]
    assert set(decision.skipped) == {RATING, SCORE}


def test_writes_skip_the_orgs_assignment_rule(
    seeded: SeededOrg, emulator: Emulator, make_worker: Callable[..., Worker]
) -> None:
    # An owner neither routing.yaml nor lifecycle.yaml ever picks: only the org's rule would.
    ruled = seeded.human_user_ids[0]
    seeded.org.settings.assignment_rule = [AssignmentRuleEntry(owner_id=ruled)]
    owners = {i: r["OwnerId"] for i, r in open_leads(seeded.org).items()}
    worker = make_worker()
    start = len(emulator.calls.entries())

    report = worker.job.run_once()

    assert report.written > 0
    after = open_leads(seeded.org)  # leads converted meanwhile are no longer open
    # Owners stay as they were, or as sfsync set them (recycled leads go to a marketing queue).
    chosen = worker_writes(seeded.org)
    expected = {i: chosen.get(i, {}).get("OwnerId", owners[i]) for i in after}
    assert {i: r["OwnerId"] for i, r in after.items()} == expected
    assert ruled not in {chosen.get(i, {}).get("OwnerId") for i in after}
    assert any("OwnerId" in chosen.get(i, {}) for i in after), "routing should move some owners"
    writes = [c for c in calls_since(emulator, start) if is_collection_write(c)]
    assert writes
    assert all(
        {k.lower(): v for k, v in c.headers.items()}["sforce-auto-assign"] == "FALSE"
        for c in writes
    )
    assert all(c.client == "sfsync" for c in calls_since(emulator, start))


def test_deleted_and_converted_leads_are_never_written(
    seeded: SeededOrg, emulator: Emulator, make_worker: Callable[..., Worker]
) -> None:
    with seeded.org.lock:
        closed = {
            i: dict(r)
            for i, r in seeded.org.tables["Lead"].items()
            if r["IsDeleted"] or r["IsConverted"]
        }
    assert closed, "the seeded org should hold deleted and converted leads"

    make_worker().job.run_once()

    for lead_id, before in closed.items():
        assert seeded.org.tables["Lead"][lead_id]["SystemModstamp"] == before["SystemModstamp"]


def test_dry_run_plans_and_writes_nothing(
    seeded: SeededOrg, emulator: Emulator, make_worker: Callable[..., Worker]
) -> None:
    worker = make_worker()
    start = len(emulator.calls.entries())

    report = worker.job.run_once(dry_run=True)

    assert report.plan and report.written == 0
    assert not any(is_collection_write(c) for c in emulator.calls.entries()[start:])
    assert all(r[SCORE] is None for r in open_leads(seeded.org).values())
    assert worker.store.watermark("lead") is None
    planned = {c.lead_id for c in report.plan}
    worker.job.run_once()
    written = {e.record_id for e in seeded.org.writes_by(seeded.integration_user_id)}
    assert written == planned


def _after_first_query(org: Org, monkeypatch: pytest.MonkeyPatch, act: Callable[[], None]) -> None:
    """Run `act` (a person at work) right after the org answers the worker's first query."""
    original = org.query
    seen = {"queries": 0}

    def query_then_act(soql: str, **kwargs: Any) -> Any:
        result = original(soql, **kwargs)
        seen["queries"] += 1
        if seen["queries"] == 1:
            act()
        return result

    monkeypatch.setattr(org, "query", query_then_act)


def test_an_edit_between_pull_and_flush_is_not_overwritten(
    seeded: SeededOrg,
    emulator: Emulator,
    make_worker: Callable[..., Worker],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    leads = open_leads(seeded.org)
    lead_id = next(i for i, r in leads.items() if r[RATING] is None and expected_score(r) >= 30)
    deleted_id = next(i for i in leads if i != lead_id)
    rep = seeded.human_user_ids[0]

    def person() -> None:
        assert seeded.org.update("Lead", lead_id, {RATING: "Cold"}, user_id=rep).success
        assert seeded.org.delete("Lead", deleted_id, user_id=rep).success

    _after_first_query(seeded.org, monkeypatch, person)
    report = make_worker().job.run_once()

    assert report.written > 0
    record = seeded.org.get("Lead", lead_id)
    assert record is not None and record[RATING] == "Cold"
    assert record[SCORE] == expected_score(record)
    assert not [
        e for e in seeded.org.writes_by(seeded.integration_user_id) if e.record_id == deleted_id
    ]
