"""A state store populated through its public methods: runs, decisions, outbox, dead letters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sfsync.models import Decision, Lead, WriteOutcome, WriteResult
from sfsync.store import RunRow, Store

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
HOSTILE = "<script>alert('x')</script>&\"quoted\""


def lead_id(n: int) -> str:
    return f"00Q{n:012d}AAA"


def finish(store: Store, run_id: str, status: str = "ok", **counts: Any) -> None:
    """One recorded cycle."""
    store.start_run(run_id, dry_run=counts.pop("dry_run", False))
    store.finish_run(run_id, status, **counts)


def backdate(store: Store, run_id: str, seconds: float) -> None:
    """Move a run's end into the past (the store stamps it with the real clock)."""
    with store.session() as s:
        run = s.get(RunRow, run_id)
        assert run is not None and run.finished_at is not None
        run.finished_at -= timedelta(seconds=seconds)
        run.started_at -= timedelta(seconds=seconds)
        s.add(run)


def decide(n: int, score: float | None, stamp: datetime = T0, **summary: Any) -> Decision:
    body = {"score": score, "rating": "Hot" if (score or 0) >= 60 else "Cold", **summary}
    if score is None:
        body = dict(summary)
    changes = {} if score is None else {"Lead_Score__c": score}
    return Decision(lead_id(n), stamp, f"h{n}{stamp}", "v1", changes, (), body)


def record(store: Store, *decisions: Decision, run: str = "run-x", **flags: Any) -> None:
    leads = [Lead(d.lead_id, d.base_stamp, {}, **flags) for d in decisions]
    store.record_page(run, leads, decisions, None)


def send_all(store: Store, outcome: WriteOutcome, **extra: Any) -> None:
    store.release_staged()
    rows = store.claim(1000)
    results = [WriteResult(r.lead_id, outcome, **extra) for r in rows]
    store.record_results(rows, results, max_attempts=3)


def populate(store: Store, message: str = HOSTILE) -> None:
    """A worker's history: cycles, scored leads, one converted, writes done and refused."""
    for i in range(6):
        finish(
            store,
            f"run-{i}",
            pulled=40 + i,
            decided=30,
            written=20 + i,
            api_calls=3,
            api_used=1000 + 50 * i,
            api_limit=15000,
        )
        backdate(store, f"run-{i}", (7 - i) * 300)
    finish(store, "run-failed", "failed", error="the org could not be reached")
    backdate(store, "run-failed", 300)
    finish(
        store, "run-ok", pulled=5, decided=5, written=4, api_calls=2, api_used=1400, api_limit=15000
    )
    record(store, *(decide(n, float(n * 7 % 101)) for n in range(1, 31)))
    send_all(store, WriteOutcome.WRITTEN)
    record(store, decide(3, None, T0 + timedelta(hours=1), skipped="converted"), is_converted=True)
    record(store, decide(40, 55.0), decide(41, 12.0))
    send_all(
        store,
        WriteOutcome.REJECTED,
        error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION",
        message=message,
        fields=("Rating",),
    )


@pytest.fixture
def store(tmp_path: Any) -> Iterator[Store]:
    opened = Store(f"sqlite:///{tmp_path}/s.db")
    yield opened
    opened.close()


@pytest.fixture
def populated(store: Store) -> Store:
    populate(store)
    return store
