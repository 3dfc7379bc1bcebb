"""The state store on SQLite and PostgreSQL: migrations, watermark, atomic pages, outbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa

from sfsync.models import Decision, Lead, WriteOutcome, WriteResult
from sfsync.store import OutboxRow, OutboxState, Store
from sfsync.store.engine import VERSION_TABLE

T0 = datetime(2024, 5, 1, 12, 0, 0, 123_456, tzinfo=UTC)
LEAD_A, LEAD_B, LEAD_C = "00Q000000000001AAA", "00Q000000000002AAA", "00Q000000000003AAA"
CURSOR = "lead"
TABLES = {"sfsync_cursor", "sfsync_lead_state", "sfsync_decision", "sfsync_outbox", "sfsync_run"}


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store(store_url)
    yield opened
    opened.close()


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def lead(lead_id: str = LEAD_A, stamp: datetime = T0, **flags: Any) -> Lead:
    return Lead(lead_id, stamp, {"Title": "CTO"}, **flags)


def decision(
    lead_id: str = LEAD_A,
    changes: dict[str, Any] | None = None,
    stamp: datetime = T0,
    rules: str = "v1",
) -> Decision:
    patch = {"Lead_Score__c": 40.0, "Rating": "Warm"} if changes is None else changes
    return Decision(lead_id, stamp, f"hash-{lead_id}", rules, patch, summary={"score": 40})


def page(
    store: Store, *decisions: Decision, cursor: datetime | None = None, run: str = "run-1"
) -> int:
    leads = [lead(d.lead_id, d.base_stamp) for d in decisions]
    queued = store.record_page(run, leads, decisions, (CURSOR, cursor) if cursor else None)
    store.release_staged()  # as the job does once its re-check found nothing newer
    return queued


def send(store: Store, outcome: WriteOutcome, max_attempts: int = 8, **extra: Any) -> OutboxRow:
    (row,) = store.claim(10)
    assert [r.id for r in store.outbox(OutboxState.SENDING)] == [row.id]
    store.record_results([row], [WriteResult(row.lead_id, outcome, **extra)], max_attempts)
    return row


# -- migrations --------------------------------------------------------------------------------


def test_migrations_run_on_an_empty_database_and_are_idempotent(store_url: str) -> None:
    first = Store(store_url)
    try:
        assert TABLES | {VERSION_TABLE} <= set(sa.inspect(first.engine).get_table_names())
        first.set_watermark(CURSOR, T0)
    finally:
        first.close()
    second = Store(store_url)
    try:
        assert second.watermark(CURSOR) == T0
        with second.engine.connect() as conn:
            versions = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
        assert len(versions) == 1
    finally:
        second.close()


# -- watermark ---------------------------------------------------------------------------------


def test_record_page_never_moves_the_watermark_back(store: Store) -> None:
    assert store.watermark(CURSOR) is None
    page(store, decision(LEAD_A), cursor=at(10))
    assert store.watermark(CURSOR) == at(10)
    page(store, decision(LEAD_B), cursor=at(5))
    assert store.watermark(CURSOR) == at(10)
    page(store, decision(LEAD_C), cursor=at(10))
    assert store.watermark(CURSOR) == at(10)
    page(store, decision(LEAD_C, stamp=at(20)), cursor=at(20))
    assert store.watermark(CURSOR) == at(20)
    page(store, decision(LEAD_A, stamp=at(30)))
    assert store.watermark(CURSOR) == at(20)


def test_set_watermark_forces_and_cursors_are_separate(store: Store) -> None:
    page(store, decision(), cursor=at(10))
    store.set_watermark(CURSOR, at(-60))
    assert store.watermark(CURSOR) == at(-60)
    store.set_watermark("lead_sweep", at(2))
    assert (store.watermark(CURSOR), store.watermark("lead_sweep")) == (at(-60), at(2))
    store.set_watermark(CURSOR, None)
    assert (store.watermark(CURSOR), store.watermark("lead_sweep")) == (None, at(2))


# -- record_page: one transaction --------------------------------------------------------------


def test_record_page_stores_snapshots_decisions_and_outbox(store: Store) -> None:
    queued = page(store, decision(LEAD_C), decision(LEAD_A), decision(LEAD_B, changes={}))
    assert queued == 2
    store.record_page("run-1", [lead(LEAD_B, at(1), is_deleted=True)], [], None)
    states = store.lead_states([LEAD_A, LEAD_B, LEAD_C, "00Q000000000009AAA"])
    assert set(states) == {LEAD_A, LEAD_B, LEAD_C}
    assert (states[LEAD_A].input_hash, states[LEAD_A].system_modstamp) == (f"hash-{LEAD_A}", T0)
    assert (states[LEAD_A].is_deleted, states[LEAD_A].is_converted) == (False, False)
    assert (states[LEAD_B].input_hash, states[LEAD_B].system_modstamp) == (f"hash-{LEAD_B}", at(1))
    assert states[LEAD_B].is_deleted
    assert [d.changes for d in store.decisions_for(LEAD_A)] == [
        {"Lead_Score__c": 40.0, "Rating": "Warm"}
    ]
    assert [d.changes for d in store.decisions_for(LEAD_B)] == [{}]
    rows = store.outbox(OutboxState.PENDING)
    assert [r.lead_id for r in rows] == [LEAD_C, LEAD_A]
    assert [r.lead_id for r in store.outbox(OutboxState.PENDING, limit=1)] == [LEAD_C]
    assert (rows[1].patch, rows[1].rules_version, rows[1].patch_hash) == (
        {"Lead_Score__c": 40.0, "Rating": "Warm"},
        "v1",
        decision(LEAD_A).patch_hash,
    )


def test_failure_mid_page_stores_nothing(store: Store) -> None:
    page(store, decision(LEAD_C), cursor=at(1))
    good = decision(LEAD_A)
    bad = decision(LEAD_B, changes={"Lead_Score__c": object()})
    with pytest.raises((TypeError, sa.exc.StatementError)):
        store.record_page("run-2", [lead(LEAD_A), lead(LEAD_B)], [good, bad], (CURSOR, at(9)))
    naive = decision(LEAD_A, stamp=datetime(2024, 5, 1, 12, 0))
    with pytest.raises((ValueError, sa.exc.StatementError)):
        store.record_page("run-3", [lead(LEAD_A)], [naive], (CURSOR, at(9)))
    assert store.watermark(CURSOR) == at(1)
    assert set(store.lead_states([LEAD_A, LEAD_B, LEAD_C])) == {LEAD_C}
    assert store.decisions_for(LEAD_A) == [] and store.decisions_for(LEAD_B) == []
    assert [r.lead_id for r in store.outbox(OutboxState.PENDING)] == [LEAD_C]


# -- outbox ------------------------------------------------------------------------------------


def test_enqueue_is_idempotent(store: Store) -> None:
    assert page(store, decision()) == 1
    assert page(store, decision(), run="run-2") == 0
    assert store.outbox_counts() == {"pending": 1}
    assert len(store.decisions_for(LEAD_A)) == 2


def test_a_newer_decision_supersedes_the_live_row(store: Store) -> None:
    page(store, decision())
    newer = [
        decision(changes={"Lead_Score__c": 55.0}),  # another patch
        decision(changes={"Lead_Score__c": 55.0}, rules="v2"),  # another rules version
        decision(changes={"Lead_Score__c": 55.0}, rules="v2", stamp=at(1)),  # another base
    ]
    for count, other in enumerate(newer, start=1):
        assert page(store, other) == 1
        assert store.outbox_counts() == {"pending": 1, "superseded": count}
        (row,) = store.outbox(OutboxState.PENDING)
        assert (row.patch, row.rules_version, row.base_stamp) == (
            dict(other.changes),
            other.rules_version,
            other.base_stamp,
        )
    assert [r.id for r in store.claim(10)] == [row.id]
    assert page(store, decision(changes={"Rating": "Hot"}, stamp=at(2))) == 1
    assert store.outbox_counts() == {"pending": 1, "superseded": 4}
    assert page(store, decision(changes={}, stamp=at(3))) == 0
    assert store.outbox_counts() == {"superseded": 5}


def test_a_lead_seen_converted_keeps_its_pending_conversion(store: Store) -> None:
    """It may be our own conversion that timed out and ran: sending it again settles it."""
    convert = {"converted_status": "Closed - Converted"}
    both = Decision(LEAD_A, T0, "h1", "v1", {"Rating": "Hot"}, convert=convert)
    other = Decision(LEAD_B, T0, "h2", "v1", {"Rating": "Hot"}, convert=convert)
    assert page(store, both, other) == 4
    seen_converted = Decision(LEAD_A, at(1), "h3", "v1", {}, summary={"skipped": "converted"})
    seen_changed = Decision(LEAD_B, at(1), "h4", "v1", {}, summary={"score": 10})
    store.record_page("run-2", [lead(LEAD_A, at(1), is_converted=True), lead(LEAD_B, at(1))],
                      [seen_converted, seen_changed], None)  # fmt: skip
    kept = {(r.lead_id, str(r.kind)) for r in store.outbox(OutboxState.PENDING)}
    assert kept == {(LEAD_A, "convert")}
    assert store.outbox_counts() == {"pending": 1, "superseded": 3}


def test_written_row_is_done_and_merges_last_written(store: Store) -> None:
    page(store, decision())
    send(store, WriteOutcome.WRITTEN)
    assert store.outbox_counts() == {"done": 1}
    assert store.lead_states([LEAD_A])[LEAD_A].last_written == {
        "Lead_Score__c": 40.0,
        "Rating": "Warm",
    }
    page(store, decision(changes={"Rating": "Hot"}, stamp=at(1)))
    send(store, WriteOutcome.WRITTEN)
    assert store.lead_states([LEAD_A])[LEAD_A].last_written == {
        "Lead_Score__c": 40.0,
        "Rating": "Hot",
    }
    assert store.outbox_counts() == {"done": 2}


def test_rejected_row_is_a_dead_letter_with_the_reason(store: Store) -> None:
    page(store, decision())
    send(
        store,
        WriteOutcome.REJECTED,
        error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION",
        message="Score must be set with a rating",
        fields=("Lead_Score__c", "Rating"),
    )
    (row,) = store.outbox(OutboxState.DEAD)
    assert (row.error_code, row.error_message, row.error_fields, row.attempts) == (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "Score must be set with a rating",
        ["Lead_Score__c", "Rating"],
        1,
    )
    assert store.lead_states([LEAD_A])[LEAD_A].last_written == {}


def test_retry_goes_back_to_pending_until_max_attempts(store: Store) -> None:
    page(store, decision())
    for attempt in (1, 2):
        send(store, WriteOutcome.RETRY, max_attempts=3, error_code="UNABLE_TO_LOCK_ROW")
        (row,) = store.outbox(OutboxState.PENDING)
        assert (row.attempts, row.error_code) == (attempt, "UNABLE_TO_LOCK_ROW")
    send(store, WriteOutcome.RETRY, max_attempts=3, error_code="UNABLE_TO_LOCK_ROW")
    (row,) = store.outbox(OutboxState.DEAD)
    assert row.attempts == 3
    assert store.outbox_counts() == {"dead": 1}


def test_results_for_rows_not_in_flight_are_ignored(store: Store) -> None:
    page(store, decision())
    (row,) = store.outbox(OutboxState.PENDING)
    store.record_results([row], [WriteResult(LEAD_A, WriteOutcome.WRITTEN)], 8)
    assert store.outbox_counts() == {"pending": 1}
    assert [r.id for r in store.claim(10)] == [row.id]
    store.record_results([row], [], 8)
    assert store.outbox_counts() == {"sending": 1}


def test_retry_dead_puts_rows_back(store: Store) -> None:
    page(store, decision(LEAD_A), decision(LEAD_B), decision(LEAD_C))
    rows = store.claim(10)
    results = [WriteResult(r.lead_id, WriteOutcome.REJECTED, "STRING_TOO_LONG") for r in rows]
    store.record_results(rows, results, 8)
    assert store.outbox_counts() == {"dead": 3}
    assert store.retry_dead([rows[0].id or 0]) == 1
    assert store.outbox_counts() == {"dead": 2, "pending": 1}
    assert store.retry_dead() == 2
    assert store.retry_dead() == 0
    assert {(r.lead_id, r.attempts) for r in store.outbox(OutboxState.PENDING)} == {
        (LEAD_A, 0),
        (LEAD_B, 0),
        (LEAD_C, 0),
    }


def test_resolve_in_flight(store: Store) -> None:
    page(store, decision(LEAD_A), decision(LEAD_B), decision(LEAD_C))
    rows = store.claim(10)
    states = [OutboxState.DONE, OutboxState.SUPERSEDED, OutboxState.PENDING]
    for row, state in zip(rows, states, strict=True):
        store.resolve_in_flight(row, state)
    assert store.outbox_counts() == {"done": 1, "superseded": 1, "pending": 1}
    written = store.lead_states([LEAD_A, LEAD_B, LEAD_C])
    assert [written[i].last_written for i in (LEAD_A, LEAD_B, LEAD_C)] == [
        {"Lead_Score__c": 40.0, "Rating": "Warm"},
        {},
        {},
    ]


# -- runs --------------------------------------------------------------------------------------


def test_runs_start_finish_and_list_newest_first(store: Store) -> None:
    store.start_run("run-1")
    store.start_run("run-2", dry_run=True)
    store.finish_run("run-1", "ok", pulled=5, decided=4, written=3, api_calls=7, api_used=10)
    store.finish_run("run-missing", "ok")
    newest, oldest = store.recent_runs()
    assert (newest.id, newest.status, newest.dry_run, newest.finished_at) == (
        "run-2",
        "running",
        True,
        None,
    )
    assert (oldest.id, oldest.status, oldest.pulled, oldest.written, oldest.api_used) == (
        "run-1",
        "ok",
        5,
        3,
        10,
    )
    assert oldest.finished_at is not None and oldest.finished_at >= oldest.started_at
    assert [r.id for r in store.recent_runs(limit=1)] == ["run-2"]


# -- values come back as they went in ----------------------------------------------------------


def test_datetimes_come_back_aware_utc(store: Store) -> None:
    paris = T0.astimezone(timezone(timedelta(hours=2)))
    store.set_watermark(CURSOR, paris)
    store.start_run("run-1")
    page(store, decision(stamp=paris))
    values = [
        store.watermark(CURSOR),
        store.lead_states([LEAD_A])[LEAD_A].system_modstamp,
        store.decisions_for(LEAD_A)[0].base_stamp,
        store.outbox(OutboxState.PENDING)[0].base_stamp,
        store.outbox(OutboxState.PENDING)[0].created_at,
        store.recent_runs()[0].started_at,
    ]
    for value in values:
        assert value is not None and value.tzinfo is UTC
    assert values[:4] == [T0] * 4


def test_unicode_values_round_trip(store: Store) -> None:
    text = "Score 40: Café ☕ \u2013 Zürich 🚀 日本語 \"quoted\" 'single' \\ back"
    page(store, decision(changes={"Score_Reason__c": text, "Rating": "Ünïcödé"}))
    (row,) = store.outbox(OutboxState.PENDING)
    assert row.patch == {"Score_Reason__c": text, "Rating": "Ünïcödé"}
    assert store.decisions_for(LEAD_A)[0].changes == row.patch
    send(store, WriteOutcome.WRITTEN)
    assert store.lead_states([LEAD_A])[LEAD_A].last_written == row.patch
