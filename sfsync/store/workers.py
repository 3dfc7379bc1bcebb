"""Which worker is alive, and which one may pull: PostgreSQL advisory locks.

Every worker process holds a session-level advisory lock on its own key for as
long as it lives, on a connection kept open for that purpose. When a process
dies (even by `kill -9`) PostgreSQL drops its connection and with it the lock,
so "can I take that key?" answers "is that worker dead?" exactly, with no
timeouts to tune. The pull lease is one more advisory lock, held by whichever
worker got it first and taken over when that worker dies.

SQLite keeps one worker by design: there, the only live worker is this one.
"""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa

PULL_LEASE_NAME = "sfsync.pull"


def lease_key(name: str, schema: str) -> int:
    """A 63-bit advisory-lock key for a lease in one schema.

    Advisory locks are per database, not per schema: two deployments sharing a
    database in different schemas must not share a lease.
    """
    digest = hashlib.sha256(f"{schema}\0{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class Liveness:
    """This worker's identity and the locks that prove other workers alive."""

    def __init__(self, engine: sa.Engine) -> None:
        self.key = secrets.randbits(62) + 1
        self._postgres = engine.dialect.name == "postgresql"
        self._conn: sa.Connection | None = None
        self._holds_pull = False
        self._pull_key = 0
        self._engine = engine
        if self._postgres:
            self._conn = engine.connect()
            self._conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": self.key})
            schema = self._conn.execute(sa.text("SELECT current_schema()")).scalar()
            self._conn.commit()
            self._pull_key = lease_key(PULL_LEASE_NAME, str(schema))

    def refresh(self) -> None:
        """Reconnect and re-lock when the server dropped this worker's connection."""
        if not self._postgres:
            return
        if self._conn is None:
            self._reconnect()
            return
        try:
            self._conn.execute(sa.text("SELECT 1"))
            self._conn.commit()
        except sa.exc.DBAPIError:
            self._conn.invalidate()
            self._conn.close()
            self._conn, self._holds_pull = None, False
            self._reconnect()

    def _reconnect(self) -> None:
        conn = self._engine.connect()
        conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": self.key})
        conn.commit()
        self._conn = conn

    def close(self) -> None:
        """Release every lock this worker holds (its connection closes)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def is_dead(self, key: int | None) -> bool:
        """True when the worker that holds `key` no longer runs."""
        if key == self.key:
            return False
        if not self._postgres:
            return True  # SQLite: this process is the only worker
        if self._conn is None:
            return False  # no connection to ask: assume alive rather than re-send its rows
        if key is None:
            return True
        taken = self._try_lock(key)
        if taken:
            self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            self._conn.commit()
        return taken

    def hold_pull_lease(self) -> bool:
        """Take (or keep) the right to pull; False while another live worker has it."""
        if not self._postgres:
            return True  # SQLite: one worker, always the puller
        if self._conn is None:
            return False
        if self._holds_pull:
            return True
        self._holds_pull = self._try_lock(self._pull_key)
        return self._holds_pull

    def _try_lock(self, key: int) -> bool:
        assert self._conn is not None
        taken = self._conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
        result = bool(taken.scalar())
        self._conn.commit()
        return result
