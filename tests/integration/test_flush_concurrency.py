"""Several Collections requests in flight (SFSYNC_WRITE_CONCURRENCY) against the emulator.

Every lead is still written once, every outbox row settles under faults, the
API usage is counted call for call, and a session that expires under several
writer threads is renewed once.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from typer.testing import CliRunner

from sfsync.cli import app
from sfsync.emulator.calllog import CallEntry
from sfsync.emulator.faults import FaultPlan, Gate
from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from sfsync.errors import OrgUnavailable
from sfsync.jobs.sync import CycleReport
from sfsync.store import OutboxState
from tests.integration.conftest import Worker, worker_settings
from tests.integration.helpers import (
    assert_scored,
    client_credentials,
    is_collection_write,
    open_leads,
)

CONCURRENCY = 4
TOKEN_PATH = "/services/oauth2/token"
# Seconds a test waits for requests it expects in flight: the pull comes first, and a
# busy machine may take long over it. Never reached when all is well.
FIRST_WRITE = 90.0
HELD = 20.0
SETTLED = {OutboxState.DONE, OutboxState.DEAD, OutboxState.SUPERSEDED}
COLLECTIONS = "composite/sobjects"


def lead_updates(seeded: SeededOrg) -> Counter[str]:
    """How many accepted updates the worker made to each lead."""
    return Counter(
        e.record_id
        for e in seeded.org.writes_by(seeded.integration_user_id)
        if e.operation == "update"
    )


def answered(emu: Emulator) -> int:
    """Requests the emulator answered (a dropped connection gives the client nothing to count)."""
    return sum(1 for c in emu.calls.entries() if c.status is not None)


def tokens_issued(emu: Emulator) -> int:
    return sum(1 for c in emu.calls.entries() if c.path == TOKEN_PATH and c.status == 200)


def writes(emu: Emulator) -> list[CallEntry]:
    return [c for c in emu.calls.entries() if is_collection_write(c)]


class Background:
    """One cycle run on another thread, so the test can watch its requests in flight."""

    def __init__(self, worker: Worker) -> None:
        self.report: CycleReport | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(worker,), daemon=True)
        self._thread.start()

    def _run(self, worker: Worker) -> None:
        try:
            self.report = worker.job.run_once()
        except BaseException as exc:
            self.error = exc

    def join(self) -> CycleReport:
        self._thread.join(timeout=90)
        assert not self._thread.is_alive(), "the cycle did not finish"
        if self.error is not None:
            raise self.error
        assert self.report is not None
        return self.report


@pytest.fixture
def held_writes(emulator: Emulator) -> Iterator[list[Gate]]:
    """CONCURRENCY + 1 gates, one per Collections write, each holding its request."""
    gates = [emulator.faults.hold(COLLECTIONS, method="PATCH") for _ in range(CONCURRENCY + 1)]
    yield gates
    for gate in gates:
        gate.release()


@pytest.mark.parametrize("seeded", [2000], indirect=True)
def test_writes_go_out_four_at_a_time_each_lead_once_and_a_session_renewed_once(
    seeded: SeededOrg,
    emulator: Emulator,
    make_worker: Callable[..., Worker],
    held_writes: list[Gate],
) -> None:
    worker = make_worker(sfsync_write_concurrency=CONCURRENCY)
    cycle = Background(worker)
    first, last = held_writes[:CONCURRENCY], held_writes[CONCURRENCY]
    assert first[0].reached.wait(FIRST_WRITE), "no write was sent"
    for gate in first[1:]:
        assert gate.reached.wait(HELD), "fewer writes in flight than SFSYNC_WRITE_CONCURRENCY"
    assert not last.reached.wait(0.5), "more writes in flight than SFSYNC_WRITE_CONCURRENCY"
    tokens_before, unauthorized_before = tokens_issued(emulator), _unauthorized(emulator)
    emulator.sessions.expire_all()  # the writers' next requests all carry a dead session
    for gate in held_writes:
        gate.release()
    report = cycle.join()

    assert tokens_issued(emulator) - tokens_before == 1
    assert _unauthorized(emulator) > unauthorized_before
    assert_scored(seeded.org)
    updates = lead_updates(seeded)
    assert set(updates.values()) == {1}, "a lead was written more than once"
    assert set(updates) <= set(open_leads(seeded.org)) | _converted(seeded)
    assert report.written >= len(updates) > 1000
    assert worker.client.meter.calls == answered(emulator)
    assert len(writes(emulator)) - _unauthorized_writes(emulator) == _requests_for(worker)


def _unauthorized(emu: Emulator) -> int:
    return sum(1 for c in emu.calls.entries() if c.status == 401)


def _unauthorized_writes(emu: Emulator) -> int:
    return sum(1 for c in writes(emu) if c.status == 401)


def _converted(seeded: SeededOrg) -> set[str]:
    return {
        e.record_id
        for e in seeded.org.writes_by(seeded.integration_user_id)
        if e.operation == "convert"
    }


def _requests_for(worker: Worker) -> int:
    """Collections requests the sent rows needed: 200 records each, per object (one batch)."""
    sent = worker.store.outbox(OutboxState.DONE) + worker.store.outbox(OutboxState.DEAD)
    by_object = Counter(r.sobject for r in sent if r.kind == "update")
    return sum(-(-count // 200) for count in by_object.values())


@pytest.mark.slow
@pytest.mark.parametrize("seeded", [1500], indirect=True)
def test_faults_mid_flight_still_settle_every_row_and_count_every_call(
    seeded: SeededOrg, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = FaultPlan(error_rate=0.08, lock_row_rate=0.05, drop_rate=0.02)
    with Emulator(seeded.org, faults=plan, seed=5) as emu:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(emu.ca_file))
        for kind in ("drop", "drop_after", "503", "500_html", "request_limit", "expire_session"):
            emu.faults.script(kind, path_contains=COLLECTIONS, method="PATCH")
        emu.faults.script("lock_row", path_contains=COLLECTIONS, method="PATCH", times=40)
        settings = worker_settings(
            emu, store_url, sfsync_write_concurrency=CONCURRENCY, sfsync_retry_attempts=8
        )
        worker = Worker(settings)
        try:
            reports = _cycles_until_settled(worker)
            calls = worker.client.meter.calls
        finally:
            worker.close()
        injected, count, tokens = emu.faults.injected, answered(emu), tokens_issued(emu)

    assert emu.faults.pending() == 0, "a scripted fault never met a write"
    assert injected["expire_session"] == 1 and injected["lock_row"] >= 40
    assert tokens == 2, "the expired session was renewed more than once"
    assert calls == count == sum(r.api_calls for r in reports)
    assert_scored(seeded.org)
    for lead_id, patches in _patches_per_lead(seeded).items():
        assert all(p == patches[0] for p in patches), f"{lead_id} written with different values"


def _cycles_until_settled(worker: Worker, cycles: int = 5) -> list[CycleReport]:
    reports = []
    for _ in range(cycles):
        reports.append(worker.job.run_once())
        states = set(worker.store.outbox_counts())
        if states <= SETTLED:
            return reports
    raise AssertionError(f"outbox rows still unsettled: {worker.store.outbox_counts()}")


def _patches_per_lead(seeded: SeededOrg) -> dict[str, list[dict[str, object]]]:
    patches: dict[str, list[dict[str, object]]] = {}
    for event in seeded.org.writes_by(seeded.integration_user_id):
        if event.operation == "update":
            patches.setdefault(event.record_id, []).append(dict(event.changes))
    return patches


@pytest.mark.slow
@pytest.mark.parametrize("seeded", [4500], indirect=True)
def test_a_write_that_fails_for_good_keeps_its_rows_in_flight_until_the_next_cycle(
    seeded: SeededOrg, emulator: Emulator, make_worker: Callable[..., Worker]
) -> None:
    # One attempt per call: the one 503 makes its request fail for good. Two batches of
    # updates: the second is already in flight when the first one's failure is seen.
    worker = make_worker(sfsync_write_concurrency=CONCURRENCY, sfsync_retry_attempts=1)
    emulator.faults.script("503", path_contains=COLLECTIONS, method="PATCH")

    with pytest.raises(OrgUnavailable):
        worker.job.run_once()

    counts = worker.store.outbox_counts()
    assert counts.get(OutboxState.SENDING, 0) >= 200 and counts.get(OutboxState.DONE, 0) >= 200
    written = lead_updates(seeded)
    assert counts[OutboxState.DONE] == len(written)
    assert set(written.values()) == {1}

    worker.job.run_once()  # settles the rows left in flight against the org, then sends them

    assert set(worker.store.outbox_counts()) <= SETTLED
    assert_scored(seeded.org)
    assert set(lead_updates(seeded).values()) == {1}, "a lead was written more than once"


@pytest.mark.parametrize("value", ["0", "11", "four"])
def test_a_bad_write_concurrency_stops_the_worker_with_exit_2_before_any_call(
    value: str, emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_credentials(emulator, monkeypatch)
    monkeypatch.setenv("SFSYNC_WRITE_CONCURRENCY", value)

    result = CliRunner().invoke(app, ["--log-json", "run", "--once"])

    assert result.exit_code == 2
    assert "SFSYNC_WRITE_CONCURRENCY" in result.output.replace("\n", " ")
    assert emulator.calls.entries() == []
