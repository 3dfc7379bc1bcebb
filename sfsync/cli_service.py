"""`sfsync health`, `sfsync report` and `sfsync serve-status`: the service-side commands.

They read only the state store, so they need no Salesforce credentials, and
they never migrate it (`upgrade=False`): a health check must not change a schema.
`register(app)` adds them to the main app; `app` here holds them too, for tests.

`sfsync health` exits 0 (healthy) or 1 (unhealthy) and nothing else: container
runtimes reserve other codes, so even a bad setting or an unreachable store is 1.
"""

from __future__ import annotations

import json
import signal
import threading
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Annotated, NoReturn

import sqlalchemy as sa
import typer
from rich.console import Console

from sfsync import logs
from sfsync.errors import SfsyncError
from sfsync.service import Metrics, StatusApp, StatusServer
from sfsync.service.health import EXIT_UNHEALTHY, HealthState, HealthVerdict, health
from sfsync.service.page import lead_report, report_page
from sfsync.service.settings import ServiceSettings, load_service_settings
from sfsync.store import Store
from sfsync.store.tables import utcnow

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


def health_command(
    max_age: Annotated[
        int | None,
        typer.Option(
            "--max-age",
            min=1,
            help="Seconds the last successful cycle may be old "
            "(default SFSYNC_HEALTH_MAX_AGE, else 3x SFSYNC_INTERVAL_SECONDS, at least 600)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Exit 0 when a cycle succeeded recently, 1 otherwise (for container health checks)."""
    verdict = _verdict(max_age)
    if as_json:
        out.print_json(json.dumps(verdict.as_dict()))
    else:
        out.print(f"{verdict.state.value}: {verdict.message}")
    raise typer.Exit(verdict.exit_code)


def _verdict(max_age: int | None) -> HealthVerdict:
    try:
        settings = load_service_settings()
        store = Store(settings.sfsync_database_url.get_secret_value(), upgrade=False)
    except SfsyncError as exc:
        return HealthVerdict(HealthState.UNREACHABLE, exc.user_message)
    except sa.exc.SQLAlchemyError:
        return HealthVerdict(HealthState.UNREACHABLE, "the state store did not answer")
    try:
        limit = settings.max_age() if max_age is None else timedelta(seconds=max_age)
        return health(store, limit)
    finally:
        store.close()


def report_command(
    out_path: Annotated[Path, typer.Option("--out", help="HTML file to write")] = Path(
        "report.html"
    ),
) -> None:
    """Write the lead-analytics report (stages, conversion, speed-to-lead, SLA, load per rep)."""
    store = _open_store()
    now = utcnow()
    try:
        analytics, speed = lead_report(store, now)
    except sa.exc.SQLAlchemyError:
        _store_failed()
    finally:
        store.close()
    out_path.write_text(report_page(analytics, speed, now), encoding="utf-8")
    out.print(f"wrote {out_path} ({analytics.leads:,} leads)")


def serve_status_command(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default SFSYNC_STATUS_HOST, 127.0.0.1)")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=0, max=65_535, help="Port (default SFSYNC_STATUS_PORT; 0 picks one)"),
    ] = None,
) -> None:
    """Serve the status page, /metrics, /healthz and /readyz from the store until SIGTERM."""
    settings = _settings()
    store = _open_store(settings)
    app = StatusApp(store, Metrics(store, worker=False), settings.max_age())
    try:
        with StatusServer(
            app,
            host or settings.sfsync_status_host,
            _port(port, settings),
            settings.allowed_hosts(),
        ) as server:
            out.print(f"serving on {server.url}")
            _wait_for_signal()
    except SfsyncError as exc:
        err.print(f"error: {exc.user_message}")
        raise typer.Exit(exc.exit_code) from None
    finally:
        store.close()


def _port(port: int | None, settings: ServiceSettings) -> int:
    return settings.sfsync_status_port if port is None else port


def _wait_for_signal() -> None:
    stop = threading.Event()

    def handle(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    stop.wait()


def _settings() -> ServiceSettings:
    try:
        return load_service_settings()
    except SfsyncError as exc:
        err.print(f"error: {exc.user_message}")
        raise typer.Exit(exc.exit_code) from None


def _open_store(settings: ServiceSettings | None = None) -> Store:
    url = (settings or _settings()).sfsync_database_url.get_secret_value()
    try:
        return Store(url, upgrade=False)
    except SfsyncError as exc:
        err.print(f"error: {exc.user_message}")
        raise typer.Exit(exc.exit_code) from None
    except sa.exc.SQLAlchemyError:
        _store_failed()


def _store_failed() -> NoReturn:
    err.print("error: the state store did not answer (is SFSYNC_DATABASE_URL right?)")
    raise typer.Exit(EXIT_UNHEALTHY)


def register(app: typer.Typer) -> None:
    """Add `health`, `report` and `serve-status` to a Typer app (the main `sfsync` app)."""
    app.command("health")(health_command)
    app.command("report")(report_command)
    app.command("serve-status")(serve_status_command)


app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
register(app)


@app.callback()
def _standalone() -> None:
    """The service commands alone (the main `sfsync` app configures logging the same way)."""
    logs.configure()
