"""process_submissions over a real queue (SQLite and PostgreSQL), capture replaced at its seam.

Capture itself is tested with the emulator (tests/integration/test_intake.py);
here a scripted capture says what happened, and the queue must record it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col

from sfsync.errors import AuthError, OrgUnavailable
from sfsync.intake.config import Processing
from sfsync.intake.immediate import ImmediateProcessor
from sfsync.jobs.capture import Action, Candidate, CaptureOutcome
from sfsync.jobs.intake import backoff, process_submissions
from sfsync.store import Store
from sfsync.store.intake import IntakeQueue, NewSubmission, SubmissionState
from sfsync.store.tables import CaptureLedgerRow, IntakeSubmissionRow, utcnow

LEAD = "00Q000000000001AAA"
OTHER = "00Q000000000002AAA"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store(store_url)
    yield opened
    opened.close()


@pytest.fixture
def queue(store: Store) -> IntakeQueue:
    return IntakeQueue(store.session)


def enqueue(queue: IntakeQueue, n: int = 1) -> list[str]:
    return [
        queue.enqueue(NewSubmission("contact", "Web", {"LastName": f"Doe {i}", "Company": "Acme"}))
        for i in range(n)
    ]


class Capture:
    """A scripted capture: an answer per call (a callable of the candidates), calls recorded."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[list[Candidate]] = []

    def __call__(
        self, client: Any, store: Any, rules: Any, candidates: Sequence[Candidate], **kw: Any
    ) -> list[CaptureOutcome]:
        self.calls.append(list(candidates))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        result: list[CaptureOutcome] = answer(candidates)
        return result


def each(action: Action, **extra: Any) -> Any:
    return lambda cs: [CaptureOutcome(c.key, action, **extra) for c in cs]


def run(store: Store, capture: Capture, limit: int = 100, **processing: Any) -> Any:
    return process_submissions(
        None,  # type: ignore[arg-type]
        store,
        None,  # type: ignore[arg-type]
        limit,
        processing=Processing(**processing),
        setup=lambda: None,
        capture_fn=capture,
    )


def make_due(store: Store, submission_id: str) -> None:
    with store.session() as s:
        s.execute(
            sa.update(IntakeSubmissionRow)
            .where(col(IntakeSubmissionRow.submission_id) == submission_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


def state(queue: IntakeQueue, submission_id: str) -> SubmissionState:
    found = queue.get(submission_id)
    assert found is not None
    return found.state


@pytest.mark.parametrize(
    "action", [Action.CREATED, Action.UPDATED, Action.DUPLICATE, Action.ALREADY_DONE]
)
def test_settled_outcomes_are_done(store: Store, queue: IntakeQueue, action: Action) -> None:
    (submission_id,) = enqueue(queue)
    capture = Capture(each(action, record_id=LEAD, matched_id=OTHER, reasons=("r1", "r2")))
    result = run(store, capture)
    assert (result.claimed, result.done, dict(result.actions)) == (1, 1, {action.value: 1})
    done = queue.get(submission_id)
    assert done is not None
    assert (done.state, done.action, done.record_id, done.matched_id, done.reason) == (
        SubmissionState.DONE, action.value, LEAD, OTHER, "r1; r2",
    )  # fmt: skip
    (candidate,) = capture.calls[0]
    assert candidate == Candidate(f"form:{submission_id}", done.values, "Web")


def test_rejected_is_dead_lettered_with_the_reasons(store: Store, queue: IntakeQueue) -> None:
    (submission_id,) = enqueue(queue)
    reasons = ("Email: not an e-mail address", "Company: required")
    result = run(store, Capture(each(Action.REJECTED, reasons=reasons)))
    assert (result.dead, result.done) == (1, 0)
    dead = queue.get(submission_id)
    assert dead is not None and dead.state is SubmissionState.DEAD
    assert dead.reason == "Email: not an e-mail address; Company: required"
    assert queue.retry_dead([submission_id]) == 1
    assert state(queue, submission_id) is SubmissionState.QUEUED


def test_a_rejection_capture_keeps_in_its_ledger_is_retried(
    store: Store, queue: IntakeQueue
) -> None:
    """ "Not created this time; run again": capture resumes it from its ledger row."""
    (submission_id,) = enqueue(queue)

    def transient(cs: Sequence[Candidate]) -> list[CaptureOutcome]:
        with store.session() as s:
            s.add(CaptureLedgerRow(key=cs[0].key, source="Web", state="planned"))
        reason = "not created this time (UNABLE_TO_LOCK_ROW: busy); run again"
        return [CaptureOutcome(cs[0].key, Action.REJECTED, reasons=(reason,))]

    result = run(store, Capture(transient))
    assert (result.retried, result.dead) == (1, 0)
    found = queue.get(submission_id)
    assert found is not None and found.state is SubmissionState.QUEUED
    assert found.attempts == 1 and found.reason is not None and "UNABLE_TO_LOCK_ROW" in found.reason


def test_no_outcome_means_retry_later(store: Store, queue: IntakeQueue) -> None:
    (submission_id,) = enqueue(queue)
    result = run(store, Capture(lambda cs: []))
    assert result.retried == 1
    assert state(queue, submission_id) is SubmissionState.QUEUED
    assert queue.claim(1, timedelta(minutes=1)) == []  # backed off: not due yet


def test_an_org_outage_counts_an_attempt_and_is_raised(store: Store, queue: IntakeQueue) -> None:
    ids = enqueue(queue, 3)
    with pytest.raises(OrgUnavailable):
        run(store, Capture(OrgUnavailable("the org did not answer")))
    for submission_id in ids:
        found = queue.get(submission_id)
        assert found is not None and (found.state, found.attempts) == (SubmissionState.QUEUED, 1)
        assert found.reason == "the org did not answer"


def test_failures_not_theirs_release_without_counting(store: Store, queue: IntakeQueue) -> None:
    (submission_id,) = enqueue(queue)
    with pytest.raises(AuthError):
        run(store, Capture(AuthError("invalid_grant")))
    found = queue.get(submission_id)
    assert found is not None and (found.state, found.attempts) == (SubmissionState.QUEUED, 0)
    assert run(store, Capture(each(Action.CREATED, record_id=LEAD))).done == 1


def test_a_poison_submission_is_isolated_then_dead_lettered(
    store: Store, queue: IntakeQueue
) -> None:
    ids = enqueue(queue, 3)
    poison = f"form:{ids[1]}"

    def fussy(cs: Sequence[Candidate]) -> list[CaptureOutcome]:
        if any(c.key == poison for c in cs):
            raise KeyError("Company")
        return [CaptureOutcome(c.key, Action.CREATED, record_id=LEAD) for c in cs]

    first = run(store, Capture(fussy), max_attempts=2)
    assert (first.done, first.retried) == (2, 1)
    assert [state(queue, i) for i in ids] == [
        SubmissionState.DONE, SubmissionState.QUEUED, SubmissionState.DONE,
    ]  # fmt: skip
    make_due(store, ids[1])  # bring the retry forward instead of waiting a minute
    second = run(store, Capture(fussy), max_attempts=2)
    assert second.dead == 1
    dead = queue.get(ids[1])
    assert dead is not None and dead.reason == "gave up after 2 attempts: capture failed (KeyError)"


def test_limit_and_batch(store: Store, queue: IntakeQueue) -> None:
    enqueue(queue, 7)
    capture = Capture(each(Action.CREATED, record_id=LEAD))
    result = run(store, capture, limit=5, batch=3)
    assert [len(c) for c in capture.calls] == [3, 2]
    assert result.claimed == 5
    assert queue.counts() == {"done": 5, "queued": 2}


def test_an_empty_queue_costs_no_setup_and_no_capture(store: Store) -> None:
    def no_setup() -> None:
        raise AssertionError("setup read for nothing")

    capture = Capture(each(Action.CREATED))
    result = process_submissions(
        None,  # type: ignore[arg-type]
        store,
        None,  # type: ignore[arg-type]
        setup=no_setup,
        capture_fn=capture,
    )
    assert result.claimed == 0 and capture.calls == []


class Crash(BaseException):
    """The process dying mid-capture (nothing after it runs)."""


def test_a_crash_mid_capture_is_picked_up_after_the_lease(store: Store, queue: IntakeQueue) -> None:
    ids = enqueue(queue, 2)
    with pytest.raises(Crash):
        run(store, Capture(Crash()), lease_seconds=1)
    assert queue.counts() == {"processing": 2}
    assert run(store, Capture(each(Action.CREATED))).claimed == 0  # lease still running
    time.sleep(1.1)
    capture = Capture(each(Action.ALREADY_DONE, record_id=LEAD))
    assert run(store, capture).done == 2
    assert [c.key for c in capture.calls[0]] == [f"form:{i}" for i in ids]


@pytest.mark.parametrize(
    ("attempts", "wait"),
    [(1, timedelta(minutes=1)), (2, timedelta(minutes=2)), (4, timedelta(minutes=8)),
     (7, timedelta(hours=1)), (30, timedelta(hours=1))],
)  # fmt: skip
def test_backoff(attempts: int, wait: timedelta) -> None:
    assert backoff(attempts) == wait


def test_the_immediate_processor_drains_on_notify_and_stops_cleanly() -> None:
    passes: list[int] = []
    work = [3, 1, 0]  # claimed per pass: drains until a pass finds nothing
    woke = threading.Event()

    def one_pass() -> int:
        passes.append(1)
        woke.set()
        return work.pop(0) if work else 0

    processor = ImmediateProcessor(one_pass, poll_seconds=60).start()
    assert woke.wait(5)  # the first pass runs at start (what waited while down)
    deadline = time.monotonic() + 5
    while len(passes) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(passes) == 3
    woke.clear()
    processor.notify()
    assert woke.wait(5)
    processor.close()
    count = len(passes)
    time.sleep(0.05)
    assert len(passes) == count


def test_the_immediate_processor_survives_a_failed_pass() -> None:
    calls: list[int] = []
    done = threading.Event()

    def one_pass() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise OrgUnavailable("down")
        done.set()
        return 0

    processor = ImmediateProcessor(one_pass, poll_seconds=60).start()
    time.sleep(0.05)
    processor.notify()
    assert done.wait(5)
    processor.close()
