"""sfsync's exceptions, shaped by what the caller does next.

    SfsyncError                  root; `user_message` is for operators, str() for logs
    ├── ConfigError          settings or mappings are invalid: fix them (exit 2)
    ├── AuthError            the org refused our credentials (exit 3)
    ├── OrgUnavailable       the org could not be reached after retries (exit 4)
    │   └── ApiLimitReached  the daily allowance, or our share of it, is spent (exit 4)
    ├── TransientError       worth another try; only the connector's retry layer sees it
    │   └── SessionExpired   re-authenticate once, then try again
    ├── QueryRestart         the query cursor died (INVALID_QUERY_LOCATOR): pull again
    └── StoreUnavailable     the state database did not answer; the daemon waits (exit 6)

Per-record failures are not exceptions: they come back as data
(`models.WriteResult`) so one bad record never stops its batch.
Exception messages never contain tokens, passwords or keys.
"""

from __future__ import annotations


class SfsyncError(Exception):
    """Root of every error sfsync raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, user_message: str | None = None) -> None:
        super().__init__(message)
        self.user_message = user_message or message


class ConfigError(SfsyncError):
    """Invalid settings or mappings; names the file, line and key where it can."""

    exit_code = 2


class AuthError(SfsyncError):
    """Authentication failed: bad credentials, unapproved app, expired token we cannot renew."""

    exit_code = 3


class OrgUnavailable(SfsyncError):
    """The org did not answer usefully after every retry."""

    exit_code = 4


class ApiLimitReached(OrgUnavailable):
    """The org's daily API allowance, or the share sfsync may spend, is used up."""


class TransientError(SfsyncError):
    """A failure worth retrying (5xx, dropped connection, lock contention)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SessionExpired(TransientError):
    """The access token is no longer valid (401 INVALID_SESSION_ID)."""


class QueryRestart(SfsyncError):
    """The query cursor is gone; the pull restarts from its watermark."""


class StoreUnavailable(SfsyncError):
    """The state database could not be reached; nothing was committed by the failed step."""

    exit_code = 6
