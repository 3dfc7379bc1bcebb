"""The emulator as a running HTTPS server: `with Emulator(org) as emu: ...`.

It serves Salesforce's public paths (OAuth token endpoint, REST under
`/services/data`, the SOAP hook) on loopback with a certificate from a
throw-away CA, so clients use their real TLS path with verification on:
point `REQUESTS_CA_BUNDLE` at `emu.ca_file`. Beside the org, `emu.hooks`
receives chat webhooks at `emu.hook_url(name)` (see `hooks`).
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from cryptography.hazmat.primitives.asymmetric import rsa

from sfsync.emulator.bulk_ingest_jobs import IngestJobs
from sfsync.emulator.bulk_jobs import BulkJobs
from sfsync.emulator.calllog import CallLog
from sfsync.emulator.connected_app import ConnectedApp, Credentials
from sfsync.emulator.context import Services
from sfsync.emulator.cursors import CursorStore
from sfsync.emulator.faults import FaultPlan, Faults
from sfsync.emulator.hooks import HOOKS_PREFIX, HookReceiver
from sfsync.emulator.httpd import TlsHttpServer
from sfsync.emulator.limits import ApiUsage
from sfsync.emulator.org import Org
from sfsync.emulator.pipeline import Pipeline
from sfsync.emulator.sessions import SessionStore
from sfsync.emulator.tls import TlsMaterial
from sfsync.emulator.wire import Outcome, Request

_WILDCARD_HOSTS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}


class EmulatorNotRunning(RuntimeError):
    """A property that needs the running server was read before `start()`."""


def integration_user_id(org: Org) -> str:
    """The user the connected app runs as: an active user named like an integration user.

    Falls back to the first active user, so any org with an active user works.
    """
    with org.lock:
        users = sorted(org.tables.get("User", {}).values(), key=lambda u: str(u["Id"]))
    active = [u for u in users if u.get("IsActive")]
    if not active:
        raise ValueError("the org has no active user to run the connected app as")
    named = [u for u in active if "integration" in str(u.get("Username") or "").lower()]
    return str((named or active)[0]["Id"])


class Emulator:
    """A Salesforce org served over HTTPS from a background thread."""

    def __init__(
        self,
        org: Org,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: FaultPlan | None = None,
        session_ttl_seconds: float = 7200,
        cursor_ttl_seconds: float = 172800,
        seed: int = 0,
        run_as_user_id: str | None = None,
        app_key: rsa.RSAPrivateKey | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`run_as_user_id` defaults to `integration_user_id(org)`; `app_key` (the JWT
        signing key) to a fresh one; `monotonic` times session and cursor expiry."""
        self.org = org
        self.host = host
        self.port = port
        self.faults = Faults(faults, seed)
        self.sessions = SessionStore(org.org_id, session_ttl_seconds, monotonic)
        self.cursors = CursorStore(cursor_ttl_seconds, monotonic)
        self.calls = CallLog()
        self.bulk_jobs = BulkJobs()  # Bulk API 2.0 query jobs; tests read and steer them
        self.ingest_jobs = IngestJobs()  # Bulk API 2.0 ingest jobs (bulk_ingest)
        self.usage = ApiUsage(lambda: org.settings.daily_api_limit)
        self.hooks = HookReceiver()
        self.run_as_user_id = run_as_user_id or integration_user_id(org)
        self._app_key = app_key
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._server: TlsHttpServer | None = None
        self._thread: threading.Thread | None = None
        self._pipeline: Pipeline | None = None
        self._credentials: Credentials | None = None
        self._ca_file: Path | None = None

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> Emulator:
        """Generate TLS and app keys, bind, and serve from a daemon thread."""
        if self._server is not None:
            return self
        try:
            self._bind()
        except BaseException:
            self.stop()
            raise
        assert self._server is not None
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="sfsync-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def _bind(self) -> None:
        self._workdir = tempfile.TemporaryDirectory(prefix="sfsync-emulator-")
        workdir = Path(self._workdir.name)
        tls = TlsMaterial(workdir)
        app = ConnectedApp(workdir, self._run_as_username(), self._app_key)
        self._server = TlsHttpServer((self.host, self.port), tls.context, self._handle)
        self.port = int(self._server.server_address[1])
        self._pipeline = Pipeline(self._build_services(app))
        self._credentials = self._build_credentials(app)
        self._ca_file = tls.ca_file

    def stop(self) -> None:
        """Stop serving, close every socket and delete the key files; idempotent."""
        server, self._server = self._server, None
        self.hooks.close()
        if self._thread is not None:
            assert server is not None
            server.shutdown()
            self._thread.join()
            self._thread = None
        if server is not None:
            server.close()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what clients need ---------------------------------------------------------

    @property
    def instance_url(self) -> str:
        """`https://127.0.0.1:PORT`: the org's instance URL."""
        self._running()
        host = _WILDCARD_HOSTS.get(self.host, self.host)
        return f"https://[{host}]:{self.port}" if ":" in host else f"https://{host}:{self.port}"

    @property
    def login_url(self) -> str:
        """Where token requests go (the same server as the instance)."""
        return self.instance_url

    @property
    def ca_file(self) -> Path:
        """PEM of the throw-away CA that signed the server certificate."""
        self._running()
        assert self._ca_file is not None
        return self._ca_file

    def hook_url(self, name: str) -> str:
        """Where the chat webhook `name` receives (`emu.hooks` shows what it got)."""
        return f"{self.instance_url}{HOOKS_PREFIX}{name}"

    @property
    def credentials(self) -> Credentials:
        """Consumer key/secret, the run-as user's login, the JWT key file and a live token."""
        self._running()
        assert self._credentials is not None
        return self._credentials

    # -- internals -------------------------------------------------------------------

    def _running(self) -> None:
        if self._server is None:
            raise EmulatorNotRunning("call Emulator.start() (or use it as a context manager)")

    def _handle(self, request: Request) -> Outcome:
        # Webhooks are not the org's: not counted, not in the call log, no org faults.
        if request.path.startswith(HOOKS_PREFIX):
            return self.hooks.handle(request)
        # The pipeline exists before the serving thread starts (it needs the bound port).
        assert self._pipeline is not None
        return self._pipeline.handle(request)

    def _run_as_username(self) -> str:
        user = self.org.get("User", self.run_as_user_id)
        if user is None or not user.get("Username"):
            raise ValueError(f"run-as user {self.run_as_user_id} is not a User with a Username")
        return str(user["Username"])

    def _build_services(self, app: ConnectedApp) -> Services:
        return Services(
            org=self.org,
            sessions=self.sessions,
            cursors=self.cursors,
            faults=self.faults,
            usage=self.usage,
            app=app,
            calls=self.calls,
            instance_url=self.instance_url,
            login_url=self.login_url,
            bulk_jobs=self.bulk_jobs,
            ingest_jobs=self.ingest_jobs,
        )

    def _build_credentials(self, app: ConnectedApp) -> Credentials:
        session = self.sessions.issue(self.run_as_user_id, app.client_id)
        return Credentials(
            client_id=app.client_id,
            client_secret=app.client_secret,
            username=app.run_as_username,
            password=app.password,
            security_token=app.security_token,
            private_key_file=app.private_key_file,
            access_token=session.token,
        )
