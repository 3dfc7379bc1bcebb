"""sfsync as a long-running service: health, metrics, the status page and lead analytics.

    settings.py   SFSYNC_STATUS_HOST/PORT, SFSYNC_HEALTH_MAX_AGE (no org credentials needed)
    reads.py      the read-only queries of the state store that the modules below share
    health.py     `health` and `readiness` verdicts from the runs table (the heartbeat)
    metrics.py    Prometheus metrics on sfsync's own registry; `run_observed` wraps a cycle
    analytics.py  lead analytics as plain data
    speed.py      speed-to-lead and SLA compliance per team, load per rep, as plain data
    charts.py     inline SVG charts;  page.py  the HTML of the page and of the report
    http.py       the read-only status server (stdlib), loopback by default

The worker uses `serving(store)`: metrics, and the status server beside the
scheduler. Everything here reads the store; nothing writes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sfsync.service.health import HealthState, HealthVerdict, health, readiness
from sfsync.service.http import StatusApp, StatusServer
from sfsync.service.metrics import Metrics, run_observed
from sfsync.service.settings import ServiceSettings, load_service_settings
from sfsync.store import Store

__all__ = [
    "HealthState",
    "HealthVerdict",
    "Metrics",
    "ServiceSettings",
    "StatusApp",
    "StatusServer",
    "health",
    "readiness",
    "run_observed",
    "serving",
]


@contextmanager
def serving(store: Store, settings: ServiceSettings | None = None) -> Iterator[Metrics]:
    """The worker's metrics, with the status server listening while the block runs.

    SFSYNC_STATUS_PORT=0 switches the server off; the metrics are still kept.
    """
    settings = settings or load_service_settings()
    metrics = Metrics(store)
    if settings.sfsync_status_port == 0:
        yield metrics
        return
    app = StatusApp(store, metrics, settings.max_age())
    host, port = settings.sfsync_status_host, settings.sfsync_status_port
    with StatusServer(app, host, port, settings.allowed_hosts()):
        yield metrics
