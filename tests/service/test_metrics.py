"""Metrics: a registry of sfsync's own, cycle counters that move, gauges read from the store."""

from __future__ import annotations

from typing import Any

import prometheus_client
import pytest

from sfsync.errors import ApiLimitReached, OrgUnavailable
from sfsync.jobs.sync import CycleReport
from sfsync.models import WriteOutcome
from sfsync.service.metrics import Metrics, run_observed
from sfsync.store import Store
from tests.service.conftest import decide, record, send_all


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_cycle_counters_move_after_observe_calls():
    metrics = Metrics()
    report = CycleReport(
        "r1", False, "ok", pulled=50, decided=40, queued=30, written=25, api_calls=4
    )
    metrics.observe_cycle(report, 2.5)
    metrics.observe_cycle(report, 7.0)
    metrics.observe_failure("failed", 1.0)
    metrics.observe_write_failures({"UNABLE_TO_LOCK_ROW": 2, "INVALID_FIELD": 1})
    metrics.observe_write_lags([3.0, 45.0, 900.0])
    assert value(metrics, "sfsync_leads_pulled_total") == 100
    assert value(metrics, "sfsync_leads_decided_total") == 80
    assert value(metrics, "sfsync_leads_written_total") == 50
    assert value(metrics, "sfsync_api_calls_total") == 8
    assert value(metrics, "sfsync_cycles_total", status="ok") == 2
    assert value(metrics, "sfsync_cycles_total", status="failed") == 1
    assert value(metrics, "sfsync_cycle_duration_seconds_count") == 3
    assert value(metrics, "sfsync_cycle_duration_seconds_sum") == 10.5
    assert value(metrics, "sfsync_write_failures_total", code="UNABLE_TO_LOCK_ROW") == 2
    assert value(metrics, "sfsync_write_lag_seconds_bucket", le="60.0") == 2
    assert value(metrics, "sfsync_last_cycle_end_timestamp_seconds") > 0


def test_the_global_registry_is_left_alone():
    Metrics().observe_cycle(CycleReport("r", False, "ok", pulled=1), 1.0)
    assert prometheus_client.REGISTRY.get_sample_value("sfsync_leads_pulled_total") is None
    # Two registries in one process (worker + tests) never clash.
    Metrics()


def test_store_gauges(populated: Store):
    metrics = Metrics(populated)
    assert value(metrics, "sfsync_store_up") == 1
    assert value(metrics, "sfsync_outbox_depth") == 0
    assert value(metrics, "sfsync_outbox_rows", state="done") == 30
    assert value(metrics, "sfsync_dead_letters", code="FIELD_CUSTOM_VALIDATION_EXCEPTION") == 2
    assert value(metrics, "sfsync_api_daily_limit") == 15000
    assert value(metrics, "sfsync_api_daily_remaining") == 15000 - 1400
    assert value(metrics, "sfsync_last_success_timestamp_seconds") > 0
    record(populated, decide(50, 10.0))
    assert value(metrics, "sfsync_outbox_depth") == 1  # staged counts as waiting


def test_store_down_is_a_gauge_not_an_error(tmp_path: Any):
    empty = Store(f"sqlite:///{tmp_path}/empty.db", upgrade=False)  # no tables at all
    try:
        metrics = Metrics(empty)
        assert value(metrics, "sfsync_store_up") == 0
        assert value(metrics, "sfsync_leads_pulled_total") == 0
    finally:
        empty.close()


def test_a_status_sidecar_exports_no_cycle_counters(populated: Store):
    text = Metrics(populated, worker=False).exposition().decode()
    assert "sfsync_outbox_depth" in text and "sfsync_cycles_total" not in text


def test_nothing_secret_in_the_exposition(tmp_path: Any, populated: Store):
    text = Metrics(populated).exposition().decode()
    assert str(tmp_path) not in text and "sqlite" not in text


class FakeJob:
    """The two things run_observed uses of a SyncJob: run_once and its store."""

    def __init__(self, store: Store, outcome: CycleReport | Exception) -> None:
        self.store, self.outcome = store, outcome

    def run_once(self) -> CycleReport:
        if isinstance(self.outcome, Exception):
            raise self.outcome
        record(self.store, decide(60, 70.0), decide(61, 20.0))
        send_all(self.store, WriteOutcome.REJECTED, error_code="INVALID_EMAIL_ADDRESS")
        record(self.store, decide(62, 80.0))
        send_all(self.store, WriteOutcome.WRITTEN)
        return self.outcome


def test_run_observed_counts_codes_and_lags(store: Store):
    metrics = Metrics(store)
    report = CycleReport("r", False, "ok", pulled=3, decided=3, written=1, rejected=2)
    assert run_observed(FakeJob(store, report), metrics) is report  # type: ignore[arg-type]
    assert value(metrics, "sfsync_write_failures_total", code="INVALID_EMAIL_ADDRESS") == 2
    assert value(metrics, "sfsync_write_lag_seconds_count") == 1
    assert value(metrics, "sfsync_cycles_total", status="ok") == 1


@pytest.mark.parametrize(
    ("error", "status"),
    [(ApiLimitReached("spent"), "budget"), (OrgUnavailable("down"), "failed")],
)
def test_run_observed_counts_a_failing_cycle_then_reraises(
    store: Store, error: Exception, status: str
):
    metrics = Metrics(store)
    with pytest.raises(type(error)):
        run_observed(FakeJob(store, error), metrics)  # type: ignore[arg-type]
    assert value(metrics, "sfsync_cycles_total", status=status) == 1
