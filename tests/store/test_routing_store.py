"""Routing state in the store: exact splits across restarts and concurrent workers, atomic deltas.

The reference is one process routing every lead in memory. The stored state
must give the very same owners, in the same order, when the state is
reloaded from a fresh Store before every batch, and when three workers route
batches at once (PostgreSQL row locks; SQLite's write lock).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from sfsync.routing_state import RoutingDelta, RoutingSnapshot
from sfsync.rules.routing import route_batch
from sfsync.rules.routing_config import RoutingConfig
from sfsync.rules.routing_facts import LeadFacts, OrgUser, RoutingOrg
from sfsync.store import Store
from sfsync.store.routing import RoutingStore, apply_delta, lock_snapshot, read_snapshot
from sfsync.store.tables import DecisionRow

NOW = datetime(2025, 3, 12, 14, 0, tzinfo=UTC)
USERS = [f"005{n:012d}AAA" for n in range(1, 5)]
INTAKE = "00G000000000001AAA"
ORG = RoutingOrg(
    users=tuple(OrgUser(u, f"u{i}@example.com") for i, u in enumerate(USERS)),
    queues={"Lead Intake": INTAKE},
)
CONFIG = RoutingConfig.model_validate(
    {
        "intake": ["Lead Intake"],
        "default": {"queue": "Lead Intake"},
        "rules": [
            {"name": "Big", "assign": {"team": "big"},
             "criteria": [{"field": "NumberOfEmployees", "operator": "greater_than",
                           "value": 500}]},
            {"name": "Rest", "assign": {"team": "small"}},
        ],
        "teams": {
            "big": {"strategy": "weighted_round_robin",
                    "members": [{"user": USERS[0], "weight": 3}, {"user": USERS[1], "weight": 2},
                                {"user": USERS[2], "weight": 1}]},
            "small": {"strategy": "least_loaded", "cap": 10_000,
                      "members": [USERS[1], USERS[2], USERS[3]]},
        },
    }
)  # fmt: skip
TEAMS = CONFIG.team_names()
NEW = LeadFacts(is_new=True)


def _leads(count: int, start: int = 0) -> list[tuple[dict[str, object], LeadFacts]]:
    """Leads whose size alternates in an uneven pattern, so both teams and rules are used."""
    return [
        ({"OwnerId": INTAKE, "NumberOfEmployees": 1000 if (start + i) % 3 else 10}, NEW)
        for i in range(count)
    ]


def _reference(count: int) -> list[str]:
    outcomes, _ = route_batch(_leads(count), ORG, CONFIG, RoutingSnapshot(), NOW)
    return [str(o.owner_id) for o in outcomes]


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store(store_url)
    yield opened
    opened.close()


def test_migration_and_tables_agree(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert not [d for d in diff if "routing" in repr(d)]


def test_snapshot_round_trip(store: Store) -> None:
    routing = RoutingStore(store.engine)
    delta = RoutingDelta(
        credits={("big", USERS[0]): -3, ("big", USERS[1]): 3},
        assigned={("big", USERS[0]): 1},
        loads={USERS[0]: 1},
        picks={"big": 1},
    )

    routing.apply(delta)
    routing.apply(delta.merge(RoutingDelta(loads={USERS[3]: 2})))

    snapshot = routing.snapshot(TEAMS)
    assert snapshot == RoutingSnapshot(
        credits={("big", USERS[0]): -6, ("big", USERS[1]): 6},
        assigned={("big", USERS[0]): 2},
        loads={USERS[0]: 2, USERS[3]: 2},
        picks={"big": 2},
    )
    assert routing.snapshot(["small"]).credits == {}
    routing.set_loads({USERS[0]: 0, USERS[2]: 5})
    assert routing.snapshot(TEAMS).loads == {USERS[2]: 5, USERS[3]: 2}
    assert routing.members("big") == {USERS[0]: 2, USERS[1]: 0}


def test_the_split_survives_a_restart_before_every_batch(store_url: str) -> None:
    count, batch = 600, 37
    owners: list[str] = []
    for start in range(0, count, batch):
        store = Store(store_url)  # a fresh process's view: nothing cached
        try:
            with RoutingStore(store.engine).transaction(TEAMS) as (conn, state):
                leads = _leads(min(batch, count - start), start)
                outcomes, delta = route_batch(leads, ORG, CONFIG, state, NOW)
                apply_delta(conn, delta)
        finally:
            store.close()
        owners += [str(o.owner_id) for o in outcomes]

    assert owners == _reference(count)
    reopened = Store(store_url)
    try:
        final = RoutingStore(reopened.engine).snapshot(TEAMS)
    finally:
        reopened.close()
    assert final.picks == {"big": 400, "small": 200}
    assert final.loads == dict(Counter(owners))


def test_the_delta_commits_with_the_decisions_or_not_at_all(store: Store) -> None:
    def decide(fail: bool) -> None:
        with store.session() as session:
            conn = session.connection()
            state = lock_snapshot(conn, TEAMS)  # first, before anything else
            _, delta = route_batch(_leads(5), ORG, CONFIG, state, NOW)
            apply_delta(conn, delta)
            session.add(_decision())
            if fail:
                raise RuntimeError("the page failed")

    with pytest.raises(RuntimeError):
        decide(fail=True)
    routing = RoutingStore(store.engine)
    assert routing.snapshot(TEAMS).picks == {}
    decide(fail=False)
    assert routing.snapshot(TEAMS).picks == {"big": 3, "small": 2}


def _decision() -> DecisionRow:
    return DecisionRow(
        run_id="r1", lead_id="00Q000000000001AAA", base_stamp=NOW, input_hash="h", rules_version="v"
    )


def _workers(url: str, threads: int, batches: int, batch: int) -> list[tuple[int, list[str]]]:
    """Each worker routes batches, noting where in the global order each batch began."""
    results: list[tuple[int, list[str]]] = []
    errors: list[BaseException] = []
    gate = threading.Barrier(threads)

    def work() -> None:
        # Migrated before the race: Alembic's migration context is process-global, and
        # real workers are processes; these threads only share the database.
        store = Store(url, upgrade=False)
        try:
            gate.wait(timeout=30)
            routing = RoutingStore(store.engine)
            for _ in range(batches):
                with routing.transaction(TEAMS) as (conn, state):
                    begun = sum(state.picks.values())
                    outcomes, delta = route_batch(_leads(batch, begun), ORG, CONFIG, state, NOW)
                    apply_delta(conn, delta)
                results.append((begun, [str(o.owner_id) for o in outcomes]))
        except BaseException as exc:  # reported to the test thread below
            errors.append(exc)
            gate.abort()
        finally:
            store.close()

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=90)
    assert not errors, errors
    return sorted(results)


@pytest.mark.postgres
def test_three_workers_on_postgres_give_the_one_worker_split(postgres_url: str) -> None:
    Store(postgres_url).close()  # migrate once, before the race
    threads, batches, batch = 3, 15, 20

    results = _workers(postgres_url, threads, batches, batch)

    total = threads * batches * batch
    starts = [begun for begun, _ in results]
    assert starts == list(range(0, total, batch))  # no batch saw another's half-done state
    owners = [owner for _, batch_owners in results for owner in batch_owners]
    assert owners == _reference(total)
    store = Store(postgres_url)
    try:
        final = RoutingStore(store.engine).snapshot(TEAMS)
        with store.engine.connect() as conn:
            assert read_snapshot(conn, TEAMS) == final
    finally:
        store.close()
    assert sum(final.picks.values()) == total  # no lost update
    assert final.loads == dict(Counter(owners))
    assert sum(final.assigned.values()) == total


def test_three_workers_on_sqlite_give_the_one_worker_split(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/state.db"
    Store(url).close()

    results = _workers(url, 3, 8, 15)

    owners = [owner for _, batch_owners in results for owner in batch_owners]
    assert owners == _reference(3 * 8 * 15)


def test_read_snapshot_of_unknown_teams_is_empty(store: Store) -> None:
    with store.engine.connect() as conn:
        assert read_snapshot(conn, ["nobody"]) == RoutingSnapshot()
        assert conn.execute(sa.text("SELECT count(*) FROM sfsync_routing_team")).scalar() == 0
