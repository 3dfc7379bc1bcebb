"""The intake queue on SQLite and PostgreSQL: enqueue, claim, leases, settle, dead letters."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from sfsync.store import Store
from sfsync.store.intake import IntakeQueue, NewSubmission, Settled, SubmissionState
from sfsync.store.tables import utcnow

LEASE = timedelta(minutes=5)
HOSTILE = "<script>alert('x')</script>\u202e\U0001f600 O'Brien"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store(store_url)
    yield opened
    opened.close()


@pytest.fixture
def queue(store: Store) -> IntakeQueue:
    return IntakeQueue(store.session)


def submission(n: int = 1, **values: object) -> NewSubmission:
    fields = {"LastName": f"Person {n}", "Company": "Acme", "Email": f"p{n}@acme.com", **values}
    return NewSubmission("contact", "Web - contact form", fields, "203.0.113.7")


def test_migration_and_table_agree(store: Store) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(context, SQLModel.metadata)
    assert [d for d in diff if "intake" in repr(d)] == []


def test_enqueued_is_stored_verbatim_and_committed(store: Store, queue: IntakeQueue) -> None:
    submission_id = queue.enqueue(submission(Description=HOSTILE))
    # Another connection sees it at once: the 202 is only sent after this commit.
    other = Store(store.url, upgrade=False)
    try:
        found = IntakeQueue(other.session).get(submission_id)
    finally:
        other.close()
    assert found is not None
    assert found.state is SubmissionState.QUEUED
    assert found.values["Description"] == HOSTILE
    assert found.key == f"form:{submission_id}"
    assert queue.counts() == {"queued": 1}


def test_claim_takes_oldest_first_and_only_once(queue: IntakeQueue) -> None:
    ids = [queue.enqueue(submission(n)) for n in range(5)]
    first = queue.claim(3, LEASE)
    second = queue.claim(3, LEASE)
    assert [s.submission_id for s in first] == ids[:3]
    assert [s.submission_id for s in second] == ids[3:]
    assert queue.claim(3, LEASE) == []
    assert all(s.state is SubmissionState.PROCESSING for s in first + second)
    assert queue.counts() == {"processing": 5}


def test_settle_records_the_outcome(queue: IntakeQueue) -> None:
    submission_id = queue.enqueue(submission())
    (claimed,) = queue.claim(1, LEASE)
    assert queue.settle(claimed, Settled("created", record_id="00Q000000000001AAA"))
    done = queue.get(submission_id)
    assert done is not None
    assert (done.state, done.action, done.record_id, done.attempts) == (
        SubmissionState.DONE, "created", "00Q000000000001AAA", 1,
    )  # fmt: skip
    assert queue.claim(1, LEASE) == []


def test_a_lapsed_lease_is_claimed_again_and_the_old_claim_cannot_settle(
    queue: IntakeQueue,
) -> None:
    queue.enqueue(submission())
    (stale,) = queue.claim(1, timedelta(seconds=30))
    assert queue.claim(1, LEASE) == []  # lease still running
    later = utcnow() + timedelta(seconds=31)
    (fresh,) = queue.claim(1, LEASE, now=later)
    assert fresh.submission_id == stale.submission_id
    assert fresh.claim_token != stale.claim_token
    # The worker that lost its claim comes back: its settle changes nothing.
    assert not queue.settle(stale, Settled("created", record_id="00Q000000000001AAA"))
    assert queue.fail(stale, "boom", retry_at=utcnow(), max_attempts=3) is None
    assert queue.settle(fresh, Settled("already_done", record_id="00Q000000000001AAA"))
    assert queue.counts() == {"done": 1}


def test_failed_attempts_back_off_then_dead_letter(queue: IntakeQueue) -> None:
    submission_id = queue.enqueue(submission())
    (claimed,) = queue.claim(1, LEASE)
    retry_at = utcnow() + timedelta(minutes=1)
    assert queue.fail(claimed, "org down", retry_at=retry_at, max_attempts=2) == (
        SubmissionState.QUEUED
    )
    assert queue.claim(1, LEASE) == []  # not due yet
    (again,) = queue.claim(1, LEASE, now=retry_at)
    assert again.attempts == 1
    assert queue.fail(again, "org down", retry_at=retry_at, max_attempts=2) == (
        SubmissionState.DEAD
    )
    dead = queue.get(submission_id)
    assert dead is not None and dead.state is SubmissionState.DEAD
    assert dead.reason == "gave up after 2 attempts: org down"
    assert [d.submission_id for d in queue.in_state(SubmissionState.DEAD)] == [submission_id]


def test_dead_letters_are_retried_by_id_or_all(queue: IntakeQueue) -> None:
    ids = [queue.enqueue(submission(n)) for n in range(3)]
    for claimed in queue.claim(3, LEASE):
        queue.dead_letter(claimed, "REQUIRED_FIELD_MISSING: LastName", "rejected")
    assert queue.retry_dead([ids[1]]) == 1
    assert queue.counts() == {"dead": 2, "queued": 1}
    assert queue.retry_dead() == 2
    assert [s.attempts for s in queue.claim(5, LEASE)] == [0, 0, 0]


def test_release_gives_claims_back_without_counting(queue: IntakeQueue) -> None:
    queue.enqueue(submission())
    claimed = queue.claim(1, LEASE)
    assert queue.release(claimed) == 1
    (again,) = queue.claim(1, LEASE)
    assert again.attempts == 0


def test_long_reasons_are_clipped(queue: IntakeQueue) -> None:
    submission_id = queue.enqueue(submission())
    (claimed,) = queue.claim(1, LEASE)
    queue.dead_letter(claimed, "x" * 10_000)
    dead = queue.get(submission_id)
    assert dead is not None and dead.reason is not None and len(dead.reason) <= 2001


def test_concurrent_claims_never_share_a_submission(store_url: str) -> None:
    """Four processes' worth of stores claiming at once (SKIP LOCKED on PostgreSQL)."""
    stores = [Store(store_url) for _ in range(4)]
    try:
        queue = IntakeQueue(stores[0].session)
        ids = {queue.enqueue(submission(n)) for n in range(200)}
        taken: list[list[str]] = [[] for _ in stores]
        errors: list[BaseException] = []

        def drain(i: int) -> None:
            mine = IntakeQueue(stores[i].session)
            try:
                while batch := mine.claim(7, LEASE):
                    taken[i] += [s.submission_id for s in batch]
            except (sa.exc.OperationalError, sa.exc.DBAPIError) as exc:  # pragma: no cover
                errors.append(exc)

        threads = [threading.Thread(target=drain, args=(i,)) for i in range(len(stores))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        every = [s for part in taken for s in part]
        assert len(every) == len(set(every)) == 200
        assert set(every) == ids
    finally:
        for opened in stores:
            opened.close()
