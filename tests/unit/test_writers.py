"""Writers: at most `width` requests in flight, never two holding the same lock target."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from sfsync.errors import OrgUnavailable
from sfsync.jobs.write_plan import REQUEST_SIZE, lock_targets
from sfsync.jobs.writers import Writers
from sfsync.models import WriteOutcome, WriteResult
from sfsync.store import OutboxRow, OutboxState

BASE = datetime(2024, 5, 1, tzinfo=UTC)
OWNER_A, OWNER_B = "005000000000001AAA", "005000000000002AAA"
WAIT = 10.0  # seconds a test waits for an event that is due at once (never reached when ok)


def rows(count: int, owner: str | None = None, start: int = 0) -> list[OutboxRow]:
    patch = {"Lead_Score__c": 1.0, **({"OwnerId": owner} if owner else {})}
    return [
        OutboxRow(
            id=n,
            decision_id=n,
            run_id="run",
            lead_id=f"00Q{n:012d}AAA",
            patch=patch,
            patch_hash="h",
            rules_version="v",
            base_stamp=BASE,
            state=OutboxState.SENDING,
        )
        for n in range(start, start + count)
    ]


class FakeOrg:
    """Holds requests until the test lets them go; notes what was in flight at once.

    `open` lets every request go; `release[n]` only the n-th (from 1) to arrive.
    """

    def __init__(self, fail_on: int | None = None) -> None:
        self.changed = threading.Condition()
        self.in_flight: list[frozenset[str]] = []
        self.most = 0
        self.clashes = 0
        self.sent = 0
        self.open = threading.Event()
        self.release = {n: threading.Event() for n in range(1, 20)}
        self._fail_on = fail_on

    def send(self, batch: list[OutboxRow]) -> list[WriteResult]:
        targets = frozenset(t for row in batch for t in lock_targets(row))
        with self.changed:
            self.clashes += any(targets & other for other in self.in_flight)
            self.in_flight.append(targets)
            self.most = max(self.most, len(self.in_flight))
            self.sent += 1
            number = self.sent
            self.changed.notify_all()
        while not (self.open.is_set() or self.release[number].is_set()):
            self.open.wait(0.01)
        with self.changed:
            self.in_flight.remove(targets)
            self.changed.notify_all()
        if number == self._fail_on:
            raise OrgUnavailable("collections.update: gave up after retries")
        return [WriteResult(row.lead_id, WriteOutcome.WRITTEN) for row in batch]

    def wait_for(self, in_flight: int) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.in_flight) >= in_flight, WAIT)


def test_at_most_width_requests_fly_and_every_result_comes_back() -> None:
    org, writers = FakeOrg(), None
    try:
        writers = Writers(org.send, width=3)
        batch = writers.submit(rows(10 * REQUEST_SIZE))
        assert org.wait_for(3)
        org.open.set()
        results, error = writers.collect(batch)
    finally:
        org.open.set()
        if writers is not None:
            writers.close()

    assert error is None
    assert len(results) == 10 * REQUEST_SIZE and org.sent == 10
    assert org.most == 3


@pytest.mark.parametrize("width", [2, 4])
def test_requests_sharing_an_owner_go_one_after_the_other(width: int) -> None:
    org = FakeOrg()
    org.open.set()
    writers = Writers(org.send, width=width)
    try:
        # Owner A spans three requests, owner B two, the last nine leads change no owner.
        batch = writers.submit(rows(500, OWNER_A) + rows(300, OWNER_B, start=500))
        results, error = writers.collect(batch)
    finally:
        writers.close()

    assert error is None and len(results) == 800
    assert org.clashes == 0
    assert org.most <= width


def test_a_failed_request_drops_the_queued_ones_and_keeps_what_came_back() -> None:
    org = FakeOrg(fail_on=1)
    writers = Writers(org.send, width=2)
    try:
        batch = writers.submit(rows(6 * REQUEST_SIZE))
        assert org.wait_for(2)
        org.release[1].set()  # the first request fails; the second is still in flight
        queued = batch.requests[2:]
        assert _soon(lambda: all(f.cancelled() for f in queued))
        org.release[2].set()
        results, error = writers.collect(batch)
    finally:
        org.open.set()
        writers.close()

    assert isinstance(error, OrgUnavailable)
    assert org.sent == 2, "requests queued behind the failure were still sent"
    assert len(results) == REQUEST_SIZE  # the second request's, which came back


def _soon(condition: Callable[[], bool]) -> bool:
    """Whether `condition` holds within WAIT seconds (polled)."""
    done = threading.Event()
    for _ in range(int(WAIT / 0.01)):
        if condition():
            return True
        done.wait(0.01)
    return condition()


def test_close_waits_for_requests_in_flight_and_drops_the_queue() -> None:
    org = FakeOrg()
    writers = Writers(org.send, width=1)
    batch = writers.submit(rows(3 * REQUEST_SIZE))
    assert org.wait_for(1)
    closing = threading.Thread(target=writers.close)
    closing.start()
    org.open.set()
    closing.join(WAIT)

    assert not closing.is_alive()
    assert org.sent == 1
    states = Counter(
        "done" if f.done() and not f.cancelled() else "cancelled" for f in batch.requests
    )
    assert states == {"done": 1, "cancelled": 2}
