"""Engagement events in the store (SQLite and PostgreSQL): imports, the mirror, pending leads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from sfsync.ids import to18
from sfsync.jobs.import_events import import_events
from sfsync.models import EngagementEvent, Lead
from sfsync.store import Store

T0 = datetime(2025, 5, 1, 12, tzinfo=UTC)
LEAD_A, LEAD_B, LEAD_C = "00Q000000000001AAA", "00Q000000000002AAA", "00Q000000000003AAA"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store(store_url)
    yield opened
    opened.close()


def feed(lead_id: str | None = LEAD_A, email: str | None = None, **kw: object) -> EngagementEvent:
    values = {"kind": "page_view", "at": T0, "detail": "/pricing", **kw}
    return EngagementEvent(lead_id=lead_id, email=email, **values)  # type: ignore[arg-type]


def task(record: str, lead_id: str | None, stamp: datetime, **kw: object) -> EngagementEvent:
    values = {"kind": "task", "at": date(2025, 4, 30), "detail": "Call", "deleted": False, **kw}
    return EngagementEvent(lead_id=lead_id, source="Task", source_id=record, stamp=stamp,
                           **values)  # type: ignore[arg-type]  # fmt: skip


def test_imports_are_idempotent_by_content(store: Store) -> None:
    events = [feed(), feed(detail="/docs"), feed(lead_id=None, email="Ana@X.com")]
    assert store.events.add_imported(events) == 3
    assert store.events.add_imported(events) == 0
    assert store.events.add_imported([*events, feed(at=T0 + timedelta(seconds=1))]) == 1
    assert store.events.add_imported([feed(), feed()]) == 0  # twice in one batch: once
    assert store.events.count() == 4


def test_events_are_found_by_lead_and_by_email_within_the_horizon(store: Store) -> None:
    store.events.add_imported([
        feed(), feed(lead_id=None, email="ana@x.com", kind="download"),
        feed(at=T0 - timedelta(days=400), detail="/old"), feed(lead_id=LEAD_B),
    ])  # fmt: skip
    by_lead, by_email = store.events.for_leads([LEAD_A], ["ANA@x.com"], T0 - timedelta(days=365))
    assert [e.detail for e in by_lead[LEAD_A]] == ["/pricing"]
    assert [e.kind for e in by_email["ana@x.com"]] == ["download"]
    assert by_lead[LEAD_A][0].at == T0  # aware UTC back from both databases
    assert LEAD_B not in by_lead


def test_the_mirror_follows_the_org_and_marks_leads_pending(store: Store) -> None:
    s1, s2 = T0, T0 + timedelta(minutes=5)
    assert store.events.mirror([task("00T1", LEAD_A, s1), task("00T2", LEAD_B, s1)]) == 2
    assert store.events.pending().lead_ids == {LEAD_A, LEAD_B}
    store.events.clear_pending(store.events.pending().row_ids)
    assert not store.events.pending()

    assert store.events.mirror([task("00T1", LEAD_A, s1)]) == 0  # the overlap: nothing new
    assert store.events.mirror([task("00T1", LEAD_C, s2)]) == 1  # moved to another lead
    assert store.events.mirror([task("00T2", LEAD_B, s2, deleted=True)]) == 1  # reopened
    assert store.events.mirror([task("00T9", LEAD_B, s2, deleted=True)]) == 0  # never counted
    pending = store.events.pending()
    assert pending.lead_ids == {LEAD_A, LEAD_B, LEAD_C}  # the old lead too
    by_lead, _ = store.events.for_leads([LEAD_A, LEAD_B, LEAD_C], [], T0 - timedelta(days=30))
    assert set(by_lead) == {LEAD_C}  # deleted rows are not engagement

    store.events.clear_pending(pending.row_ids)
    assert not store.events.pending() and store.events.count() == 1  # tombstones dropped


def test_a_first_load_need_not_mark_anything_pending(store: Store) -> None:
    assert store.events.mirror([task("00T1", LEAD_A, T0)], pending=False) == 1
    assert not store.events.pending()
    assert store.events.mirror([task("00T1", LEAD_A, T0 + timedelta(seconds=1))]) == 1
    assert store.events.pending().lead_ids == {LEAD_A}


def test_pending_imports_by_email_name_their_address(store: Store) -> None:
    store.events.add_imported([feed(lead_id=None, email="Bo@Y.com"), feed()])
    pending = store.events.pending()
    assert pending.emails == {"bo@y.com"} and pending.lead_ids == {LEAD_A}
    assert len(pending.row_ids) == 2


def test_engaged_leads_and_pruning(store: Store) -> None:
    old = T0 - timedelta(days=500)
    store.events.add_imported([feed(), feed(lead_id=None, email="bo@y.com"), feed(LEAD_B, at=old)])
    assert store.events.engaged(T0 - timedelta(days=30)) == ({LEAD_A}, {"bo@y.com"})
    assert store.events.prune(T0 - timedelta(days=400)) == 0  # still pending: kept
    store.events.clear_pending(store.events.pending().row_ids)
    assert store.events.prune(T0 - timedelta(days=400)) == 1
    assert store.events.count() == 2


def test_importing_a_file_twice_adds_nothing_and_reports_bad_lines(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "feed.jsonl"
    rows = [
        {"lead_id": to18("00Q000000000001"), "kind": "page_view", "occurred_at": "2025-04-30"},
        {"email": "ana@x.com", "kind": "Form Submission", "occurred_at": "2025-04-29"},
        {"email": "ana@x.com", "kind": "telepathy", "occurred_at": "2025-04-29"},
        {"kind": "download", "occurred_at": "2025-04-29"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n", encoding="utf-8")

    first = import_events(store, path, T0)
    again = import_events(store, path, T0)

    assert (first.rows, first.added, first.duplicates) == (5, 2, 0)
    assert [line for line, _ in first.problems] == [3, 4, 5]
    assert (again.added, again.duplicates) == (0, 2)
    assert store.events.count() == 2


def test_unrelated_leads_see_no_events(store: Store) -> None:
    store.events.add_imported([feed()])
    lead = Lead(LEAD_B, T0, {"Email": "nobody@z.com"})
    by_lead, by_email = store.events.for_leads([lead.id], ["nobody@z.com"], T0 - timedelta(days=1))
    assert by_lead == {} and by_email == {}
