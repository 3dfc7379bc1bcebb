"""OAuth sessions: access tokens that expire, and refresh tokens that do not.

A session knows its user, so the org stamps `LastModifiedById` with the
integration user on writes made with that user's token.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

Monotonic = Callable[[], float]


@dataclass
class Session:
    """One access token and whose it is."""

    token: str
    user_id: str
    client_id: str
    expires_at: float
    # Counted REST calls made with this token (fault plans expire it after N).
    calls: int = 0


@dataclass(frozen=True)
class RefreshGrant:
    """What a refresh token stands for."""

    user_id: str
    client_id: str


class SessionStore:
    """Issued sessions and refresh tokens, safe to use from many server threads."""

    def __init__(self, org_id: str, ttl_seconds: float, clock: Monotonic = time.monotonic) -> None:
        self._prefix = org_id[:15]
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._refresh: dict[str, RefreshGrant] = {}

    def issue(self, user_id: str, client_id: str) -> Session:
        """A new session; tokens look like Salesforce's (`<org id>!<opaque>`)."""
        token = f"{self._prefix}!{secrets.token_urlsafe(72)}"
        session = Session(token, user_id, client_id, self._clock() + self._ttl)
        with self._lock:
            self._sessions[token] = session
        return session

    def lookup(self, token: str) -> Session | None:
        """The live session for `token`; an expired one is forgotten and gives None."""
        with self._lock:
            session = self._sessions.get(token)
            if session is not None and session.expires_at <= self._clock():
                del self._sessions[token]
                return None
            return session

    def count_call(self, session: Session) -> int:
        """Count one call on `session` and return the new total."""
        with self._lock:
            session.calls += 1
            return session.calls

    def expire(self, token: str) -> None:
        """End one session now, as a timeout or an admin's revoke would."""
        with self._lock:
            self._sessions.pop(token, None)

    def expire_all(self) -> None:
        """End every session (refresh tokens stay valid), so tests can force a 401."""
        with self._lock:
            self._sessions.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def issue_refresh_token(self, user_id: str, client_id: str) -> str:
        """A refresh token for the password and refresh grants."""
        token = f"5Aep861{secrets.token_urlsafe(64)}"
        with self._lock:
            self._refresh[token] = RefreshGrant(user_id, client_id)
        return token

    def refresh_grant(self, token: str) -> RefreshGrant | None:
        """What `token` was issued for, or None when it is unknown or revoked."""
        with self._lock:
            return self._refresh.get(token)

    def revoke_refresh_tokens(self) -> None:
        """Forget every refresh token, as revoking the app's access would."""
        with self._lock:
            self._refresh.clear()
