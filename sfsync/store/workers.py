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

import secrets

import sqlalchemy as sa

# A fixed key for the pull lease (any 63-bit number no worker key will draw twice).
PULL_LEASE_KEY = 0x5F5F_5359_4E43_0001


class Liveness:
    """This worker's identity and the locks that prove other workers alive."""

    def __init__(self, engine: sa.Engine) -> None:
        self.key = secrets.randbits(62) + 1
        self._postgres = engine.dialect.name == "postgresql"
        self._conn: sa.Connection | None = None
        self._holds_pull = False
        if self._postgres:
            self._conn = engine.connect()
            self._conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": self.key})
            self._conn.commit()

    def close(self) -> None:
        """Release every lock this worker holds (its connection closes)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def is_dead(self, key: int | None) -> bool:
        """True when the worker that holds `key` no longer runs."""
        if key == self.key:
            return False
        if self._conn is None:
            return True  # SQLite: this process is the only worker
        if key is None:
            return True
        taken = self._try_lock(key)
        if taken:
            self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            self._conn.commit()
        return taken

    def hold_pull_lease(self) -> bool:
        """Take (or keep) the right to pull; False while another live worker has it."""
        if self._conn is None or self._holds_pull:
            return True
        self._holds_pull = self._try_lock(PULL_LEASE_KEY)
        return self._holds_pull

    def _try_lock(self, key: int) -> bool:
        assert self._conn is not None
        taken = self._conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
        result = bool(taken.scalar())
        self._conn.commit()
        return result
