"""Sending the outbox's hot-lead messages: at most once per lead, never holding up a cycle.

The message rows are queued with their routing (`store.followups`); this
drains them through the webhook connector, one POST a row, and maps its
outcome onto the outbox: sent → done; "try later" → pending again (up to the
flush's attempt limit, then a dead letter); refused → dead letter at once;
"may have arrived" → done with that noted, because sending it again could
post it twice. Nothing here raises: a broken webhook costs messages, never
leads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import requests
import structlog

from sfsync.connectors.webhook import NoticeOutcome, NoticeResult, send_notice, webhook_url
from sfsync.models import WriteOutcome, WriteResult
from sfsync.rules.routing_config import RoutingConfig
from sfsync.store import OutboxKind, OutboxRow, Store

log = structlog.get_logger("sfsync.notify")

NOTICE_BATCH = 200
_OUTCOMES = {
    NoticeOutcome.SENT: WriteOutcome.WRITTEN,
    NoticeOutcome.UNCERTAIN: WriteOutcome.WRITTEN,
    NoticeOutcome.RETRY: WriteOutcome.RETRY,
    NoticeOutcome.REJECTED: WriteOutcome.REJECTED,
}


@dataclass
class Notifier:
    """The webhook the routing's messages go to (its URL read from the environment once)."""

    url: str
    session: requests.Session = field(default_factory=requests.Session)
    send: Callable[[requests.Session, str, dict[str, object]], NoticeResult] = field(
        default=lambda session, url, payload: send_notice(session, url, payload)
    )

    @classmethod
    def for_routing(cls, config: RoutingConfig | None) -> Notifier | None:
        """The notifier routing.yaml asks for; ConfigError when its variable is unset or bad."""
        if config is None or config.webhook is None:
            return None
        return cls(webhook_url(config.webhook.url_env))

    def close(self) -> None:
        self.session.close()

    def drain(self, store: Store, max_attempts: int) -> int:
        """Send what is pending; returns messages sent. Stops at the first "try later"."""
        sent, tried = 0, set[int]()
        while rows := store.claim(NOTICE_BATCH, OutboxKind.NOTIFY, skip=tried):
            tried.update(r.id for r in rows if r.id is not None)
            for index, row in enumerate(rows):
                result = self._one(row)
                store.record_each([(row, result)], max_attempts)
                sent += result.outcome is WriteOutcome.WRITTEN
                if result.outcome is WriteOutcome.RETRY:
                    store.release_claimed(rows[index + 1 :])
                    return sent
        return sent

    def _one(self, row: OutboxRow) -> WriteResult:
        answer = self.send(self.session, self.url, dict(row.patch))
        outcome = _OUTCOMES[answer.outcome]
        message = answer.error or None
        if answer.outcome is NoticeOutcome.UNCERTAIN:
            message = f"may have arrived ({answer.error}); not sent again"
        log.info("sfsync.notify.sent", lead_id=row.lead_id, outcome=answer.outcome.value)
        code = None if answer.outcome is NoticeOutcome.SENT else f"WEBHOOK_{answer.outcome.upper()}"
        return WriteResult(row.lead_id, outcome, code, message)
