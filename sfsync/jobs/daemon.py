"""`sfsync run`: cycles on an interval until SIGTERM/SIGINT, never two at once.

APScheduler runs the job with `max_instances=1` and `coalesce=True`, so a slow
cycle delays the next instead of overlapping it. A signal lets the cycle in
hand finish (its batch is flushed and recorded) before the process exits 0.

After each cycle the C heap is trimmed; when the resident memory is still
above `max_memory_mb`, the scheduler stops and `run_daemon` returns True: the
caller closes what it opened and starts the process afresh (`sfsync.memory`).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType

import structlog
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from sfsync.errors import ApiLimitReached, AuthError, ConfigError, SfsyncError, StoreUnavailable
from sfsync.jobs.sync import SyncJob
from sfsync.memory import accept_stop_signals, resident_mb, trim_heap
from sfsync.schedule import crontab_days

log = structlog.get_logger("sfsync.daemon")
MAX_JITTER_SECONDS = 5.0


def schedule_trigger(interval_seconds: int, cron: str | None = None) -> BaseTrigger:
    """When cycles run: a crontab expression (UTC) if given, else every `interval_seconds`.

    The jitter spreads workers that start together; never more than a tenth of the interval.
    """
    jitter = min(MAX_JITTER_SECONDS, interval_seconds / 10)
    if cron:
        return CronTrigger.from_crontab(crontab_days(cron), timezone="UTC")
    return IntervalTrigger(seconds=interval_seconds, jitter=jitter, timezone="UTC")


def run_daemon(
    job: SyncJob,
    interval_seconds: int,
    run_cycle: Callable[[], object] | None = None,
    cron: str | None = None,
    max_memory_mb: int = 0,
) -> bool:
    """Run cycles on the schedule until a stop signal; fatal config/auth errors end it.

    True when, after a cycle, resident memory was above `max_memory_mb` (0: never)
    and the process should start afresh to give back what that cycle needed.
    """
    one_cycle = run_cycle or job.run_once
    scheduler = BlockingScheduler(timezone="UTC")
    fatal: list[SfsyncError] = []
    stopping, restart = threading.Event(), threading.Event()

    def cycle() -> None:
        if stopping.is_set():
            return
        try:
            one_cycle()
        except (ConfigError, AuthError) as exc:
            fatal.append(exc)
            scheduler.shutdown(wait=False)
        except ApiLimitReached as exc:
            log.warning("sfsync.daemon.budget_paused", reason=exc.user_message)
        except StoreUnavailable as exc:
            # Nothing of the failed step was committed; the next cycle picks it up again.
            log.warning("sfsync.daemon.store_unavailable", reason=exc.user_message)
        except SfsyncError as exc:
            log.error("sfsync.daemon.cycle_failed", error=exc.user_message)
        finally:
            trim_heap()
        rss = resident_mb()
        if max_memory_mb and rss and rss > max_memory_mb and not (stopping.is_set() or fatal):
            log.info("sfsync.daemon.restarting", rss_mb=round(rss), max_memory_mb=max_memory_mb)
            restart.set()
            scheduler.shutdown(wait=False)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("sfsync.daemon.stopping", signal=signal.Signals(signum).name)
        stopping.set()
        with contextlib.suppress(SchedulerNotRunningError):  # a fatal error or a restart stopped it
            scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    accept_stop_signals()  # one held back by a restart is handled here
    if stopping.is_set():
        return False
    scheduler.add_job(
        cycle,
        schedule_trigger(interval_seconds, cron),
        max_instances=1,
        coalesce=True,
        next_run_time=_now(),
    )
    log.info("sfsync.daemon.started", interval_seconds=interval_seconds, schedule=cron)
    scheduler.start()
    if fatal:
        raise fatal[0]
    if not restart.is_set() or stopping.is_set():
        return False
    # From here a stop signal means: close what is open and exit 0 instead of restarting.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)
    return True


def _exit_cleanly(signum: int, _frame: FrameType | None) -> None:
    log.info("sfsync.daemon.stopping", signal=signal.Signals(signum).name)
    raise SystemExit(0)


def _now() -> datetime:
    return datetime.now(UTC)
