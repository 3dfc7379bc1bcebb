"""Routing state in the store: round-robin credits, counts and open-lead loads, changed atomically.

The split is exact across restarts and across workers because reading the
state and applying the decisions' delta happen in one transaction that holds
the routing teams' rows locked:

- PostgreSQL: `SELECT ... FOR UPDATE` on the team rows, taken in name order
  (so two workers never deadlock); a second worker waits until the first
  commits, then reads what it wrote.
- SQLite: the first statement is a write (creating missing team rows), which
  takes the database's write lock before anything is read.

The caller either uses `RoutingStore.transaction` or, to record decisions in
the same transaction, calls `lock_snapshot` and `apply_delta` with its own
connection (`session.connection()`): lock first, before any other statement,
route, apply the delta, record the decisions, commit. Pass every team the
routing may use (`RoutingConfig.team_names()`: overflow reaches other teams).
Deltas are increments (`x = x + d`), so even writes outside a lock lose nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from sfsync.routing_state import RoutingDelta, RoutingSnapshot
from sfsync.store.engine import insert_for
from sfsync.store.tables import RoutingLoadRow, RoutingMemberRow, RoutingTeamRow, utcnow

TEAM = RoutingTeamRow.__table__  # type: ignore[attr-defined]
MEMBER = RoutingMemberRow.__table__  # type: ignore[attr-defined]
LOAD = RoutingLoadRow.__table__  # type: ignore[attr-defined]


def lock_snapshot(conn: sa.Connection, teams: Collection[str]) -> RoutingSnapshot:
    """Lock the teams' rows (creating them) and read their state; hold until the commit."""
    names = sorted(set(teams))
    if names:
        _ensure_teams(conn, names)
        query = sa.select(TEAM.c.team).where(TEAM.c.team.in_(names)).order_by(TEAM.c.team)
        conn.execute(query.with_for_update()).all()
    return read_snapshot(conn, names)


def read_snapshot(conn: sa.Connection, teams: Collection[str]) -> RoutingSnapshot:
    """The teams' credits, counts and picks, and every owner's load (no lock)."""
    names = sorted(set(teams))
    members = conn.execute(
        sa.select(MEMBER.c.team, MEMBER.c.member, MEMBER.c.credit, MEMBER.c.assigned).where(
            MEMBER.c.team.in_(names)
        )
    ).all()
    picks = conn.execute(sa.select(TEAM.c.team, TEAM.c.picks).where(TEAM.c.team.in_(names)))
    loads = conn.execute(sa.select(LOAD.c.owner_id, LOAD.c.open_leads))
    return RoutingSnapshot(
        credits={(t, m): int(c) for t, m, c, _ in members if c},
        assigned={(t, m): int(a) for t, m, _, a in members if a},
        loads={o: int(n) for o, n in loads if n},
        picks={t: int(p) for t, p in picks if p},
    )


def apply_delta(conn: sa.Connection, delta: RoutingDelta) -> None:
    """Add the delta to the stored state (rows are created as needed)."""
    now = utcnow()
    members = sorted(set(delta.credits) | set(delta.assigned))
    if members:
        rows = [
            {"team": t, "member": m, "credit": delta.credits.get((t, m), 0),
             "assigned": delta.assigned.get((t, m), 0), "updated_at": now}
            for t, m in members
        ]  # fmt: skip
        _add(conn, MEMBER, rows, ("team", "member"), ("credit", "assigned"))
    if delta.picks:
        rows = [{"team": t, "picks": n, "updated_at": now} for t, n in sorted(delta.picks.items())]
        _add(conn, TEAM, rows, ("team",), ("picks",))
    if delta.loads:
        rows = [
            {"owner_id": o, "open_leads": n, "updated_at": now}
            for o, n in sorted(delta.loads.items())
        ]
        _add(conn, LOAD, rows, ("owner_id",), ("open_leads",))


def set_loads(conn: sa.Connection, loads: Mapping[str, int]) -> None:
    """Replace owners' open-lead counts (a recount from the org); other owners stay as they are."""
    now = utcnow()
    for owner, count in sorted(loads.items()):
        row = {"owner_id": owner, "open_leads": max(0, count), "updated_at": now}
        statement = insert_for(conn, LOAD).values(**row)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["owner_id"],
                set_={"open_leads": row["open_leads"], "updated_at": now},
            )
        )


def _ensure_teams(conn: sa.Connection, names: list[str]) -> None:
    now = utcnow()
    rows = [{"team": n, "picks": 0, "updated_at": now} for n in names]
    conn.execute(
        insert_for(conn, TEAM).values(rows).on_conflict_do_nothing(index_elements=["team"])
    )


def _add(
    conn: sa.Connection,
    table: sa.Table,
    rows: list[dict[str, Any]],
    keys: tuple[str, ...],
    counters: tuple[str, ...],
) -> None:
    """Upsert rows, adding their counters to those already stored."""
    statement = insert_for(conn, table).values(rows)
    update = {c: table.c[c] + statement.excluded[c] for c in counters}
    update["updated_at"] = statement.excluded["updated_at"]
    conn.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=update))


class RoutingStore:
    """Routing state access on an engine (`RoutingStore(store.engine)`)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def snapshot(self, teams: Collection[str]) -> RoutingSnapshot:
        """The state as it is now, without locking (reports, `routing simulate`)."""
        with self.engine.connect() as conn:
            return read_snapshot(conn, teams)

    @contextmanager
    def transaction(
        self, teams: Collection[str]
    ) -> Iterator[tuple[sa.Connection, RoutingSnapshot]]:
        """A transaction holding the teams locked, and their state; commits when the block ends.

        Apply the routing's delta with `apply_delta(conn, delta)` inside the block.
        """
        with self.engine.begin() as conn:
            yield conn, lock_snapshot(conn, teams)

    def apply(self, delta: RoutingDelta) -> None:
        """Apply a delta in a transaction of its own."""
        with self.engine.begin() as conn:
            apply_delta(conn, delta)

    def set_loads(self, loads: Mapping[str, int]) -> None:
        """Replace owners' open-lead counts with a recount."""
        with self.engine.begin() as conn:
            set_loads(conn, loads)

    def members(self, team: str) -> dict[str, int]:
        """Leads the team gave each member so far."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(MEMBER.c.member, MEMBER.c.assigned).where(MEMBER.c.team == team)
            )
            return {str(m): int(a) for m, a in rows}
