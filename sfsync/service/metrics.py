"""Prometheus metrics on a registry of sfsync's own (never the process-global one).

Two kinds of metric, for two kinds of question:
- *cycle metrics* are counted in the worker process as its cycles finish
  (`observe_cycle`, `observe_failure`, ...): rates, durations, lags;
- *store metrics* are read from the state store at each scrape
  (`StoreCollector`): outbox depth, dead letters, API allowance, last success.
  They are the same whichever process is scraped, so several workers, or a
  `sfsync serve-status` sidecar, report one truth.
Label values are Salesforce error codes and outbox states: a small, fixed set.
Nothing here ever carries a URL, a token or a lead's field values.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime

import sqlalchemy as sa
import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from sfsync.errors import ApiLimitReached, SfsyncError, StoreUnavailable
from sfsync.jobs.sync import CycleReport, SyncJob
from sfsync.service import reads
from sfsync.store import OutboxState, Store
from sfsync.store.tables import utcnow

log = structlog.get_logger("sfsync.service.metrics")

CYCLE_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)
# From seconds (a lead changed just before a cycle) to a day (dead letter retried by hand).
LAG_BUCKETS = (10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)
QUEUED_STATES = (OutboxState.STAGED, OutboxState.PENDING, OutboxState.SENDING)


class Metrics:
    """The worker's metrics; `exposition()` is the body of GET /metrics."""

    def __init__(self, store: Store | None = None, *, worker: bool = True) -> None:
        self.registry = CollectorRegistry()
        # A status sidecar runs no cycles: its cycle counters would read zero and mislead.
        into = self.registry if worker else None
        self.cycles = Counter(
            "sfsync_cycles", "Sync cycles, by how they ended", ["status"], registry=into
        )
        self.pulled = Counter("sfsync_leads_pulled", "Lead records pulled", registry=into)
        self.decided = Counter("sfsync_leads_decided", "Lead versions decided", registry=into)
        self.queued = Counter("sfsync_writes_queued", "Writes put in the outbox", registry=into)
        self.written = Counter(
            "sfsync_leads_written", "Lead writes the org accepted", registry=into
        )
        self.failures = Counter(
            "sfsync_write_failures",
            "Writes the org refused or deferred, by Salesforce error code",
            ["code"],
            registry=into,
        )
        self.api_calls = Counter("sfsync_api_calls", "Salesforce API calls made", registry=into)
        self.duration = Histogram(
            "sfsync_cycle_duration_seconds",
            "Wall time of one cycle",
            buckets=CYCLE_BUCKETS,
            registry=into,
        )
        self.lag = Histogram(
            "sfsync_write_lag_seconds",
            "From a lead version's SystemModstamp to sfsync's accepted write of it",
            buckets=LAG_BUCKETS,
            registry=into,
        )
        self.last_cycle = Gauge(
            "sfsync_last_cycle_end_timestamp_seconds",
            "When this process last finished a cycle (Unix time)",
            registry=into,
        )
        if store is not None:
            self.registry.register(StoreCollector(store))

    def observe_cycle(self, report: CycleReport, duration_seconds: float) -> None:
        """Count a cycle that completed (its record-level failures are in the report)."""
        self.cycles.labels(status=report.status).inc()
        self.pulled.inc(report.pulled)
        self.decided.inc(report.decided)
        self.queued.inc(report.queued)
        self.written.inc(report.written)
        self.api_calls.inc(report.api_calls)
        self._timed(duration_seconds)

    def observe_failure(self, status: str, duration_seconds: float) -> None:
        """Count a cycle that raised (its partial counts are in the runs table)."""
        self.cycles.labels(status=status).inc()
        self._timed(duration_seconds)

    def observe_write_failures(self, codes: Mapping[str, int]) -> None:
        """Count refused or deferred writes by error code."""
        for code, count in codes.items():
            self.failures.labels(code=code).inc(count)

    def observe_write_lags(self, lags: Iterable[float]) -> None:
        """Record how long each written lead version waited for its write."""
        for seconds in lags:
            self.lag.observe(seconds)

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric in this registry."""
        return generate_latest(self.registry)

    def _timed(self, duration_seconds: float) -> None:
        self.duration.observe(duration_seconds)
        self.last_cycle.set(time.time())


def run_observed(job: SyncJob, metrics: Metrics) -> CycleReport:
    """`job.run_once()`, counted in `metrics`; a failing cycle is counted, then re-raised.

    Failure codes and write lags come from the outbox rows the store changed
    during the cycle (with several workers, a cycle also sees its peers' rows).
    """
    started_at, started = utcnow(), time.monotonic()
    try:
        report = job.run_once()
    except SfsyncError as exc:
        status = "budget" if isinstance(exc, ApiLimitReached) else "failed"
        metrics.observe_failure(status, time.monotonic() - started)
        raise
    metrics.observe_cycle(report, time.monotonic() - started)
    _observe_outbox(job.store, metrics, started_at)
    return report


def _observe_outbox(store: Store, metrics: Metrics, since: datetime) -> None:
    try:
        metrics.observe_write_failures(reads.failure_codes_since(store, since))
        metrics.observe_write_lags(reads.write_lags_since(store, since))
    except (sa.exc.SQLAlchemyError, StoreUnavailable) as exc:
        log.warning("sfsync.service.metrics_unavailable", error=type(exc).__name__)


class StoreCollector(Collector):
    """Gauges read from the state store at scrape time; `sfsync_store_up` 0 when it fails."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One scrape: a few small queries, none of them over lead bodies."""
        try:
            families = list(self._families())
        except (sa.exc.SQLAlchemyError, StoreUnavailable) as exc:
            log.warning("sfsync.service.store_unreachable", error=type(exc).__name__)
            families = []
        yield _gauge(
            "sfsync_store_up",
            "1 when the state store answered this scrape",
            [((), 1.0 if families else 0.0)],
        )
        yield from families

    def _families(self) -> Iterator[GaugeMetricFamily]:
        counts = self.store.outbox_counts()
        yield _gauge(
            "sfsync_outbox_rows",
            "Outbox rows by state",
            [((s,), float(n)) for s, n in counts.items()],
            ["state"],
        )
        depth = sum(counts.get(str(s), 0) for s in QUEUED_STATES)
        yield _gauge("sfsync_outbox_depth", "Writes waiting to be sent", [((), float(depth))])
        dead = reads.dead_letter_codes(self.store)
        yield _gauge(
            "sfsync_dead_letters",
            "Dead letters by Salesforce error code",
            [((code,), float(n)) for code, n in dead.items()],
            ["code"],
        )
        yield from _api_families(self.store)
        yield from _success_family(self.store)


def _api_families(store: Store) -> Iterator[GaugeMetricFamily]:
    usage = reads.runs_with_usage(store, 1)
    if not usage or usage[0].api_limit is None:
        return
    used, limit = usage[0].api_used or 0, usage[0].api_limit
    yield _gauge(
        "sfsync_api_daily_used", "The org's API calls used today (last seen)", [((), used)]
    )
    yield _gauge("sfsync_api_daily_limit", "The org's daily API allowance", [((), limit)])
    yield _gauge(
        "sfsync_api_daily_remaining",
        "API calls left in the org's allowance",
        [((), max(0, limit - used))],
    )


def _success_family(store: Store) -> Iterator[GaugeMetricFamily]:
    run = reads.last_finished_run(store, reads.ALIVE_STATUSES)
    if run is not None and run.finished_at is not None:
        yield _gauge(
            "sfsync_last_success_timestamp_seconds",
            "When any worker last completed a cycle (Unix time)",
            [((), run.finished_at.timestamp())],
        )


def _gauge(
    name: str,
    doc: str,
    samples: Iterable[tuple[tuple[str, ...], float]],
    labels: list[str] | None = None,
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels or [])
    for values, value in samples:
        family.add_metric(list(values), value)
    return family
