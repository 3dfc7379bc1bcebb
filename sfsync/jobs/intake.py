"""Turn queued web-form submissions into leads: claim, capture, settle.

`process_submissions` is one pass over the intake queue; the sync cycle, the
`sfsync intake process` command and the endpoint's `--immediately` thread
call it. Capture (jobs/capture.py) matches, creates, scores and routes; its
ledger is keyed by the submission id, so a submission processed twice (its
worker died after the create, its lease ran out) still makes one lead.

What happens to a claimed submission:

| capture says / raises                      | submission                              |
|--------------------------------------------|-----------------------------------------|
| created, updated, duplicate, already done  | done, with the action and record ids    |
| rejected (validation, required, picklist)  | dead-lettered with capture's reasons    |
| rejected, but its ledger row still planned | retried later (a transient refusal:     |
|   or sending ("not created this time")     |   capture resumes it from the ledger)   |
| no outcome for it                          | retried later (attempt counted)         |
| org unreachable (OrgUnavailable, 5xx)      | retried later (attempt counted); raised |
| auth failed, bad config, API limit spent   | released untouched; raised              |
| state store unreachable                    | left to its lease; raised               |
| anything else (a bug, odd data)            | batch split: each one tried alone       |

After `max_attempts` failed attempts a submission is dead-lettered with the
last reason; `sfsync intake retry` queues dead ones again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from sfsync.connectors.salesforce import SalesforceClient
from sfsync.errors import (
    ApiLimitReached,
    AuthError,
    ConfigError,
    OrgUnavailable,
    StoreUnavailable,
    TransientError,
)
from sfsync.intake.config import Processing
from sfsync.jobs.capture import Action, Candidate, CaptureOutcome, CaptureSetup, capture
from sfsync.rules.ruleset import RuleSet
from sfsync.store import Store
from sfsync.store.capture import CaptureLedger
from sfsync.store.intake import IntakeQueue, Settled, Submission, SubmissionState
from sfsync.store.tables import utcnow

log = structlog.get_logger("sfsync.jobs.intake")

DEFAULT_LIMIT = 500
RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=1)
SETTLED = frozenset({Action.CREATED, Action.UPDATED, Action.DUPLICATE, Action.ALREADY_DONE})
# Failures that say nothing about the submissions: give them back as they were.
_NOT_THEIRS = (AuthError, ConfigError, ApiLimitReached)
_OUTAGE = (OrgUnavailable, TransientError)

CaptureFn = Callable[..., list[CaptureOutcome]]
# Gives the capture setup (Lead describe, routing facts, matcher) when a batch needs it.
SetupFn = Callable[[], CaptureSetup | None]
# How long `CachedSetup` keeps the org's describe and routing facts.
SETUP_TTL = timedelta(minutes=10)
DEFAULT_PROCESSING = Processing()


@dataclass
class IntakeResult:
    """What a pass did: claimed, done, queued again, dead-lettered, claims lost; actions."""

    claimed: int = 0
    done: int = 0
    retried: int = 0
    dead: int = 0
    lost: int = 0
    actions: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for `--json` and logs."""
        return {
            "claimed": self.claimed,
            "done": self.done,
            "retried": self.retried,
            "dead": self.dead,
            "lost": self.lost,
            "actions": dict(self.actions),
        }


def process_submissions(
    client: SalesforceClient,
    store: Store,
    rules: RuleSet,
    limit: int = DEFAULT_LIMIT,
    *,
    processing: Processing = DEFAULT_PROCESSING,
    setup: SetupFn | None = None,
    capture_fn: CaptureFn = capture,
) -> IntakeResult:
    """Claim up to `limit` due submissions in batches, capture them, record each outcome.

    An empty queue costs one query and no API call: the capture setup (about
    five calls) is read only once a batch is claimed, through `setup` when
    given (`CachedSetup` keeps it between passes).
    """
    queue = IntakeQueue(store.session)
    result = IntakeResult()
    lease = timedelta(seconds=processing.lease_seconds)
    step = _Pass(queue, CaptureLedger(store.engine), result, processing.max_attempts, capture_fn)
    ready = setup or _once(lambda: CaptureSetup.load(client, rules))
    while result.claimed < limit:
        batch = queue.claim(min(processing.batch, limit - result.claimed), lease)
        if not batch:
            break
        result.claimed += len(batch)
        step.run(client, store, rules, batch, ready)
    if result.claimed:
        log.info("sfsync.intake.processed", **result.as_dict())
    return result


class CachedSetup:
    """The capture setup, read again once it is `ttl` old (for a long-running endpoint)."""

    def __init__(
        self, client: SalesforceClient, rules: RuleSet, ttl: timedelta = SETUP_TTL
    ) -> None:
        self._client, self._rules, self._ttl = client, rules, ttl
        self._value: tuple[CaptureSetup, datetime] | None = None

    def __call__(self) -> CaptureSetup:
        now = utcnow()
        if self._value is None or now - self._value[1] >= self._ttl:
            self._value = (CaptureSetup.load(self._client, self._rules), now)
        return self._value[0]


def _once(load: Callable[[], CaptureSetup]) -> SetupFn:
    found: list[CaptureSetup] = []

    def get() -> CaptureSetup:
        if not found:
            found.append(load())
        return found[0]

    return get


@dataclass
class _Pass:
    """Captures batches and settles their submissions in the queue."""

    queue: IntakeQueue
    ledger: CaptureLedger
    result: IntakeResult
    max_attempts: int
    capture_fn: CaptureFn

    def run(
        self,
        client: SalesforceClient,
        store: Store,
        rules: RuleSet,
        batch: Sequence[Submission],
        setup: SetupFn,
    ) -> None:
        candidates = [Candidate(key=s.key, values=dict(s.values), source=s.source) for s in batch]
        try:
            outcomes = self.capture_fn(client, store, rules, candidates, setup=setup())
        except _NOT_THEIRS:
            self.queue.release(batch)
            raise
        except StoreUnavailable:
            raise  # nothing can be recorded now; the leases bring them back
        except _OUTAGE as exc:
            self._retry_all(batch, exc.user_message)
            raise
        except Exception as exc:
            if len(batch) == 1:
                log.warning("sfsync.intake.capture_failed", error=type(exc).__name__, exc_info=True)
                self._retry_all(batch, f"capture failed ({type(exc).__name__})")
                return
            for one in batch:  # find the one that fails; the others go through
                self.run(client, store, rules, [one], setup)
            return
        self._settle(batch, {o.key: o for o in outcomes})

    def _settle(self, batch: Sequence[Submission], outcomes: dict[str, CaptureOutcome]) -> None:
        unfinished = self._unfinished([o for o in outcomes.values() if o.action is Action.REJECTED])
        for submission in batch:
            outcome = outcomes.get(submission.key)
            if outcome is None:
                self._retry(submission, "capture gave no outcome for it")
            elif outcome.key in unfinished:
                self._retry(submission, "; ".join(outcome.reasons) or "not created this time")
            elif outcome.action in SETTLED:
                self._count(self.queue.settle(submission, _settled(outcome)), "done")
                self.result.actions[str(outcome.action)] += 1
            else:
                reason = "; ".join(outcome.reasons) or "rejected"
                dead = self.queue.dead_letter(submission, reason, str(outcome.action))
                self._count(dead, "dead")
                self.result.actions[str(outcome.action)] += 1

    def _unfinished(self, rejected: Sequence[CaptureOutcome]) -> set[str]:
        """Rejections capture keeps in its ledger (planned, sending): to resume, not to bury."""
        if not rejected:
            return set()
        return set(self.ledger.rows([o.key for o in rejected]))

    def _retry_all(self, batch: Sequence[Submission], reason: str) -> None:
        for submission in batch:
            self._retry(submission, reason)

    def _retry(self, submission: Submission, reason: str) -> None:
        retry_at = utcnow() + backoff(submission.attempts + 1)
        state = self.queue.fail(
            submission, reason, retry_at=retry_at, max_attempts=self.max_attempts
        )
        self._count(state is not None, "dead" if state is SubmissionState.DEAD else "retried")

    def _count(self, recorded: bool, outcome: str) -> None:
        if not recorded:
            self.result.lost += 1  # its lease ran out and another worker holds it now
            return
        setattr(self.result, outcome, getattr(self.result, outcome) + 1)


def backoff(attempts: int) -> timedelta:
    """How long a submission waits after its n-th failed attempt: doubling, capped."""
    wait: timedelta = RETRY_BASE * 2 ** max(attempts - 1, 0)
    return min(wait, RETRY_CAP)


def _settled(outcome: CaptureOutcome) -> Settled:
    reason = "; ".join(outcome.reasons) or None
    return Settled(str(outcome.action), outcome.record_id, outcome.matched_id, reason)
