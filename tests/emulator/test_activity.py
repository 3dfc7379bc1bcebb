"""Scripted activity: people's changes land in the org through its real write path."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sfsync.emulator.activity import EVENT_KINDS, Activity, ActivityEvent
from sfsync.emulator.org import OrgSettings, Record, ValidationRule
from sfsync.emulator.seed import SeededOrg, build_org
from tests.emulator.org_kit import FrozenClock

T0 = datetime(2025, 3, 1, 8, 0, 0, tzinfo=UTC)
LEADS = 300


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def seeded(clock: FrozenClock) -> SeededOrg:
    return build_org(LEADS, seed=4, clock=clock)


def _lead(seeded: SeededOrg, event: ActivityEvent) -> Record:
    record = seeded.org.get("Lead", event.lead_id)
    assert record is not None
    return record


def _status_order(seeded: SeededOrg) -> dict[str, int]:
    return {s["MasterLabel"]: s["SortOrder"] for s in seeded.org.lead_statuses()}


def test_a_step_creates_and_edits_leads_as_people(seeded: SeededOrg, clock: FrozenClock) -> None:
    clock.advance(3600)
    events = Activity(seeded).step(new_leads=4, edits=30)
    assert [e.kind for e in events[:4]] == ["new_lead"] * 4
    assert {e.kind for e in events} <= set(EVENT_KINDS)
    assert {"edit_owner", "edit_status", "edit_inputs"} <= {e.kind for e in events}
    last_per_lead = {e.lead_id: e for e in events}
    for event in last_per_lead.values():
        record = _lead(seeded, event)
        assert event.user_id in seeded.human_user_ids
        assert record["LastModifiedById"] == event.user_id
        assert record["SystemModstamp"] == record["LastModifiedDate"] == clock.now
        assert record["IsDeleted"] == (event.kind == "delete")


def test_new_leads_are_stored_as_sent_and_unassigned_by_rules(
    seeded: SeededOrg, clock: FrozenClock
) -> None:
    clock.advance(60)
    events = Activity(seeded).step(new_leads=10, edits=0)
    assert len(events) == 10 == len(seeded.org.tables["Lead"]) - LEADS
    for event in events:
        record = _lead(seeded, event)
        assert {k: record[k] for k in event.fields} == event.fields
        assert record["CreatedById"] == event.user_id and record["CreatedDate"] == clock.now
        assert record["Status"] == "Open - Not Contacted"


def test_new_leads_are_nobody_already_in_the_org(seeded: SeededOrg) -> None:
    before = {
        r["Email"].lower() for t in ("Lead", "Contact") for r in seeded.org.tables[t].values()
        if r["Email"]
    }  # fmt: skip
    events = Activity(seeded).step(new_leads=40, edits=0)
    emails = [e.fields["Email"].lower() for e in events if "Email" in e.fields]
    assert emails and not before & set(emails)
    assert len(set(emails)) == len(emails)


def test_edits_move_status_forward_and_owners_between_people(seeded: SeededOrg) -> None:
    before = {i: dict(r) for i, r in seeded.org.tables["Lead"].items()}
    order = _status_order(seeded)
    events = Activity(seeded).step(new_leads=0, edits=60)
    for event in events:
        old = before[event.lead_id]
        assert not old["IsConverted"] and not old["IsDeleted"]
        if event.kind == "edit_status":
            assert order[event.fields["Status"]] > order[old["Status"]]
            assert event.fields["Status"] != "Closed - Converted"
        if event.kind == "edit_owner":
            owner = event.fields["OwnerId"]
            assert owner != old["OwnerId"] and owner in seeded.human_user_ids
        if event.kind == "edit_inputs":
            assert set(event.fields) <= {"Title", "Industry", "NumberOfEmployees"}


def test_duplicate_ground_truth_survives_activity(seeded: SeededOrg) -> None:
    protected = {d.duplicate_id for d in seeded.duplicates} | {
        d.original_id for d in seeded.duplicates
    }
    activity = Activity(seeded)
    for _ in range(10):
        activity.step(new_leads=0, edits=30)
    touched = {e.lead_id for e in activity.events if e.kind in ("edit_inputs", "delete")}
    assert touched and not touched & protected


def test_same_seed_same_events(clock: FrozenClock) -> None:
    runs = []
    for _ in range(2):
        activity = Activity(build_org(LEADS, seed=4, clock=clock), seed=9)
        activity.step(new_leads=3, edits=10)
        runs.append(activity.events)
    assert runs[0] == runs[1]


def test_events_accumulate_across_steps(seeded: SeededOrg) -> None:
    activity = Activity(seeded)
    first = activity.step(new_leads=2, edits=3)
    second = activity.step(new_leads=2, edits=3)
    assert activity.events == first + second


def test_refused_changes_are_kept_apart(clock: FrozenClock) -> None:
    refuse = ValidationRule("NoChanges", "Frozen for audit", predicate=lambda record: True)
    seeded = build_org(LEADS, seed=4, clock=clock, settings=OrgSettings(validation_rules=[refuse]))
    activity = Activity(seeded)
    assert activity.step(new_leads=2, edits=4) == []
    assert activity.events == []
    refused_kinds = {event.kind for event, _ in activity.rejected}
    assert "new_lead" in refused_kinds
    assert all(not result.success for _, result in activity.rejected)


def test_background_runs_the_given_number_of_steps(seeded: SeededOrg) -> None:
    activity = Activity(seeded)
    thread = activity.run_in_background(0.01, 3, new_leads=1, edits=0)
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert [e.kind for e in activity.events] == ["new_lead"] * 3


def test_stop_ends_the_background_thread(seeded: SeededOrg) -> None:
    activity = Activity(seeded)
    thread = activity.run_in_background(60.0, 100, new_leads=1, edits=0)
    activity.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(activity.events) <= 1
