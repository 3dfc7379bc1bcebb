"""Is the worker healthy? Is it ready? Answered from the runs table, so any process can ask.

The heartbeat is the runs table itself: every cycle records when it finished
and how. `health` looks only at the age of the last successful cycle, because
that is what a container restart can fix; a single failed cycle (the org
briefly unreachable) is reported as degraded, not unhealthy. `readiness` is
stricter: the store must answer and the last cycle must not have failed.
Dry runs are an operator's experiment, not a heartbeat, and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa

from sfsync.errors import StoreUnavailable
from sfsync.service.reads import ALIVE_STATUSES, last_finished_run
from sfsync.store import RunRow, Store
from sfsync.store.tables import utcnow

EXIT_HEALTHY = 0
# Docker and most probes know only 0 (healthy) and 1 (unhealthy); 2 is reserved there.
EXIT_UNHEALTHY = 1


class HealthState(StrEnum):
    """The verdicts, from best to worst."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"  # the last cycle failed, but a recent one succeeded
    STALE = "stale"
    NEVER_RAN = "never_ran"
    UNREACHABLE = "store_unreachable"


@dataclass(frozen=True)
class HealthVerdict:
    """A verdict with the facts behind it; `exit_code` is what `sfsync health` exits with."""

    state: HealthState
    message: str
    last_success: datetime | None = None
    age_seconds: float | None = None
    last_status: str | None = None

    @property
    def healthy(self) -> bool:
        """Healthy enough to keep running: fresh success, even if the last cycle failed."""
        return self.state in (HealthState.HEALTHY, HealthState.DEGRADED)

    @property
    def exit_code(self) -> int:
        """0 healthy, 1 unhealthy (never 2: container runtimes reserve it)."""
        return EXIT_HEALTHY if self.healthy else EXIT_UNHEALTHY

    def as_dict(self) -> dict[str, object]:
        """Plain data for `--json` and /readyz."""
        return {
            "state": self.state.value,
            "healthy": self.healthy,
            "message": self.message,
            "last_success": self.last_success.isoformat() if self.last_success else None,
            "age_seconds": self.age_seconds,
            "last_status": self.last_status,
        }


def health(store: Store, max_age: timedelta, now: datetime | None = None) -> HealthVerdict:
    """The worker's health from its last successful and its last finished cycle."""
    try:
        success = last_finished_run(store, ALIVE_STATUSES)
        last = last_finished_run(store)
    except (sa.exc.SQLAlchemyError, StoreUnavailable):
        return HealthVerdict(HealthState.UNREACHABLE, "the state store did not answer")
    return judge(success, last, max_age, now or utcnow())


def judge(
    success: RunRow | None, last: RunRow | None, max_age: timedelta, now: datetime
) -> HealthVerdict:
    """The verdict from two runs (pure: the table of cases in the tests drives it)."""
    last_status = last.status if last else None
    if success is None or success.finished_at is None:
        return HealthVerdict(
            HealthState.NEVER_RAN, "no cycle has succeeded yet", None, None, last_status
        )
    age = (now - success.finished_at).total_seconds()
    limit = max_age.total_seconds()
    facts = (success.finished_at, round(age, 1), last_status)
    if age > limit:
        why = f"last successful cycle {age:.0f}s ago, more than {limit:.0f}s"
        return HealthVerdict(HealthState.STALE, why + _last_error(last), *facts)
    if last is not None and last.status not in ALIVE_STATUSES:
        why = f"last cycle {last.status}{_last_error(last)}; last success {age:.0f}s ago"
        return HealthVerdict(HealthState.DEGRADED, why, *facts)
    return HealthVerdict(HealthState.HEALTHY, f"last successful cycle {age:.0f}s ago", *facts)


def _last_error(run: RunRow | None) -> str:
    if run is None or run.status in ALIVE_STATUSES or not run.error:
        return ""
    return f" ({run.error})"


@dataclass(frozen=True)
class Readiness:
    """Whether to route work or traffic to this worker, and why not."""

    ready: bool
    reason: str


def readiness(store: Store) -> Readiness:
    """Ready when the store answers and the last finished cycle did not fail."""
    try:
        last = last_finished_run(store)
    except (sa.exc.SQLAlchemyError, StoreUnavailable):
        return Readiness(False, "the state store did not answer")
    if last is not None and last.status == "failed":
        return Readiness(False, "the last cycle failed" + _last_error(last))
    return Readiness(True, "ready")
