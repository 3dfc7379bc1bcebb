"""Several workers on one store: claims never overlap, dead workers' rows are found, one pulls."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from sfsync.models import Decision, Lead
from sfsync.store import OutboxState, Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _eventually(condition: Callable[[], bool], seconds: float = 10) -> None:
    # The server drops a closed session's locks a moment after the client lets go.
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.05)


def _queue(store: Store, count: int) -> None:
    ids = [f"00Q{n:012d}AAA" for n in range(count)]
    leads = [Lead(i, T0, {}) for i in ids]
    decisions = [Decision(i, T0, "h", "v1", {"Lead_Score__c": 1.0}) for i in ids]
    store.record_page("run", leads, decisions, None)


def test_staged_rows_wait_for_the_recheck(store_url: str) -> None:
    store = Store(store_url)
    try:
        _queue(store, 3)
        assert store.claim(10) == []
        assert store.release_staged() == 3
        assert len(store.claim(10)) == 3
    finally:
        store.close()


def test_orphans_are_the_rows_of_dead_workers_only(postgres_url: str) -> None:
    first, second = Store(postgres_url), Store(postgres_url)
    try:
        _queue(first, 4)
        first.release_staged()
        assert len(first.claim(2)) == 2
        assert len(second.claim(10)) == 2  # SKIP LOCKED / state: never the same rows
        # The first worker is alive: only the second's own leftovers (a new cycle of the
        # second worker would settle them) count, never the first's rows in flight.
        mine = {o.claimed_by for o in second.orphaned_in_flight()}
        assert mine == {second.liveness.key}
        assert not second.liveness.is_dead(first.liveness.key)
        first.close()  # its connection, and so its lock, is gone: as after kill -9
        _eventually(lambda: second.liveness.is_dead(first.liveness.key))
        orphans = second.orphaned_in_flight()
        assert len(orphans) == 4 and {o.state for o in orphans} == {OutboxState.SENDING}
    finally:
        first.close()
        second.close()


def test_one_worker_holds_the_pull_lease_until_it_dies(postgres_url: str) -> None:
    first, second = Store(postgres_url), Store(postgres_url)
    try:
        assert first.liveness.hold_pull_lease()
        assert first.liveness.hold_pull_lease()  # keeps it
        assert not second.liveness.hold_pull_lease()
        first.close()
        _eventually(second.liveness.hold_pull_lease)
    finally:
        second.close()


def test_sqlite_is_one_worker(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/one.db")
    try:
        assert store.liveness.hold_pull_lease()
        assert store.liveness.is_dead(12345)
        assert not store.liveness.is_dead(store.liveness.key)
    finally:
        store.close()


def test_migrations_match_the_models(store_url: str) -> None:
    store = Store(store_url)
    try:
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": False})
            diff = compare_metadata(context, SQLModel.metadata)
        ours = [d for d in diff if "sfsync_" in str(d) and "sfsync_alembic_version" not in str(d)]
        assert ours == []
    finally:
        store.close()
