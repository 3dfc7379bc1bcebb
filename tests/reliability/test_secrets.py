"""Secrets and exposure: no token, password or key ever leaves the process in anything we keep.

Promise 8 of the design: "Tokens, passwords and keys never appear in logs,
recorded fixtures, `status` output or exceptions." For each auth mode, every
command runs against the emulator (JSON logs at DEBUG on stderr, sessions
expired mid-run so tokens get renewed, a dead letter and a failed run in the
store), and then everything the run left behind is scanned: each command's
stdout and stderr, the recording, the report HTML, the SQLite database's
bytes, and the status server's /metrics, /, /readyz and /healthz. The
secrets: the client secret, the password, the security token (and the two
joined, as the password grant sends them), the private key's PEM lines, the
JWT assertions sfsync signed, and every access and refresh token the
emulator issued (its session store is spied on), each in raw, URL-encoded
and JSON-escaped form. `sfsync emulator serve --json` prints its own
credentials by design and is left out.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import structlog
from typer.testing import CliRunner

from sfsync.cli import app
from sfsync.config import load_settings
from sfsync.connectors import auth
from sfsync.connectors.salesforce import SalesforceClient
from sfsync.emulator.seed import SeededOrg, build_org
from sfsync.emulator.server import Emulator
from sfsync.emulator.settings import ValidationRule
from sfsync.jobs.sync import SyncJob
from sfsync.mappings import load_rules
from sfsync.service import Metrics, StatusApp, StatusServer, run_observed
from sfsync.service.settings import DEFAULT_STATUS_HOST
from sfsync.store import Store
from tests.integration import conftest as integration
from tests.integration.conftest import MAPPINGS
from tests.integration.helpers import open_leads

AUTH_MODES = ("client_credentials", "jwt_bearer", "password", "access_token")
MAX_AGE = timedelta(hours=1)
runner = CliRunner()
# The integration fixtures: the emulator and a clean environment for CLI runs.
emulator = integration.emulator
env = integration.env


@pytest.fixture
def seeded() -> SeededOrg:
    """A small seeded org: enough for decisions, writes, conversions and a dead letter."""
    return build_org(leads=25, seed=3)


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """SQLite only: its bytes are part of what is scanned."""
    return f"sqlite:///{tmp_path}/state.db"


@pytest.fixture(autouse=True)
def structlog_as_it_was() -> Iterator[None]:
    """The CLI configures structlog (JSON, DEBUG) for the process: put it back afterwards."""
    before = structlog.get_config()
    yield
    structlog.configure(**before)


@dataclass
class Secrets:
    """Every secret value of a run, learnt as it is issued, with what kind of secret it is."""

    values: dict[str, str] = field(default_factory=dict)

    def add(self, value: str | None, kind: str) -> None:
        if value:
            self.values.setdefault(value, kind)

    def forms(self) -> dict[str, str]:
        """Each secret as it could appear: raw, URL-encoded, JSON-escaped (form → its kind).

        Failures name the kind and length only: a test log must not leak a secret either.
        """
        found: dict[str, str] = {}
        for secret, kind in self.values.items():
            for form in (secret, quote_plus(secret), quote(secret, ""), json.dumps(secret)[1:-1]):
                found[form] = f"{kind} ({len(secret)} chars)"
        return found


def spy_on_issued_tokens(emu: Emulator, secrets: Secrets) -> None:
    """Learn every access and refresh token the emulator's session store issues."""
    sessions = emu.sessions
    issue, issue_refresh = sessions.issue, sessions.issue_refresh_token

    def spy_issue(user_id: str, client_id: str) -> Any:
        session = issue(user_id, client_id)
        secrets.add(session.token, "access token")
        return session

    def spy_refresh(user_id: str, client_id: str) -> str:
        token = issue_refresh(user_id, client_id)
        secrets.add(token, "refresh token")
        return token

    sessions.issue = spy_issue  # type: ignore[method-assign]
    sessions.issue_refresh_token = spy_refresh  # type: ignore[method-assign]


@pytest.fixture
def secrets(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Secrets:
    """The emulator's credentials, the tokens it issues, the assertions sfsync signs."""
    found = Secrets()
    creds = emulator.credentials
    found.add(creds.client_secret, "client secret")
    found.add(creds.password, "password")
    found.add(creds.security_token, "security token")
    found.add(creds.password + creds.security_token, "password + security token")
    found.add(creds.access_token, "access token")
    pem = creds.private_key_file.read_text()
    for line in pem.splitlines():
        if line and not line.startswith("-----"):
            found.add(line, "private key line")
    spy_on_issued_tokens(emulator, found)
    sign = auth.jwt_assertion

    def spy_sign(settings: Any, now: float | None = None) -> str:
        assertion = sign(settings, now)
        found.add(assertion, "JWT assertion")
        return assertion

    monkeypatch.setattr(auth, "jwt_assertion", spy_sign)
    return found


def use_auth_mode(mode: str, emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    creds = emu.credentials
    variables = {
        "client_credentials": {
            "SF_CLIENT_ID": creds.client_id,
            "SF_CLIENT_SECRET": creds.client_secret,
        },
        "jwt_bearer": {
            "SF_CLIENT_ID": creds.client_id,
            "SF_USERNAME": creds.username,
            "SF_PRIVATE_KEY_FILE": str(creds.private_key_file),
        },
        "password": {
            "SF_CLIENT_ID": creds.client_id,
            "SF_CLIENT_SECRET": creds.client_secret,
            "SF_USERNAME": creds.username,
            "SF_PASSWORD": creds.password,
            "SF_SECURITY_TOKEN": creds.security_token,
        },
        "access_token": {
            "SF_ACCESS_TOKEN": creds.access_token,
            "SF_INSTANCE_URL": emu.instance_url,
        },
    }[mode]
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


def fresh_static_token(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """An admin hands the worker a new session id after the old one expired (spied on too)."""
    session = emu.sessions.issue(emu.run_as_user_id, emu.credentials.client_id)
    monkeypatch.setenv("SF_ACCESS_TOKEN", session.token)


@dataclass
class Scanned:
    """What a run left behind, by where it was found."""

    places: dict[str, bytes] = field(default_factory=dict)

    def add(self, place: str, content: str | bytes) -> None:
        data = content.encode() if isinstance(content, str) else content
        self.places[place] = self.places.get(place, b"") + data

    def leaks(self, secrets: Secrets) -> list[str]:
        return [
            f"{label} in {place}"
            for form, label in secrets.forms().items()
            for place, data in self.places.items()
            if form.encode() in data
        ]


def invoke(scanned: Scanned, *args: str, expect: int = 0) -> str:
    """One `sfsync` command with JSON logs at DEBUG; its stdout and stderr are kept for the scan."""
    result = runner.invoke(app, ["--log-json", "--log-level", "DEBUG", *args])
    name = " ".join(args[:2])
    scanned.add(f"`{name}` stdout", result.stdout)
    scanned.add(f"`{name}` stderr", result.stderr)
    assert result.exit_code == expect, f"{name}: {result.output}"
    assert "Traceback" not in result.output
    return result.stdout


def lock_one_lead(seeded: SeededOrg) -> None:
    """A validation rule that refuses writes to one lead: a dead letter with the org's message."""
    locked = sorted(open_leads(seeded.org))[0]
    rule = ValidationRule("Locked", "Locked for review", lambda r: r["Id"] == locked)
    seeded.org.settings.validation_rules = [rule]


def http_get(url: str, path: str, method: str = "GET") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
    try:
        conn.request(method, path)
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def scrape(store_url: str, scanned: Scanned) -> None:
    """One more cycle (the auth mode of the environment) counted in metrics; every route served.

    The settings and the token are shown too, as a log line or an exception would show them.
    """
    settings = load_settings()
    store, client = Store(store_url), SalesforceClient(settings)
    try:
        token = auth.token_provider(settings, client.session).token()
        scanned.add("repr and str of settings and token", f"{settings!r} {settings} {token!r}")
        metrics = Metrics(store)
        run_observed(SyncJob(client, store, load_rules(MAPPINGS), settings), metrics)
        with StatusServer(StatusApp(store, metrics, MAX_AGE), port=0) as server:
            for path in ("/metrics", "/", "/readyz", "/healthz"):
                status, body = http_get(server.url, path)
                assert status == 200, path
                scanned.add(f"GET {path}", body)
    finally:
        client.close()
        store.close()


@pytest.mark.parametrize("mode", AUTH_MODES)
def test_no_secret_in_anything_a_run_of_every_command_leaves(
    mode: str,
    seeded: SeededOrg,
    emulator: Emulator,
    env: str,
    secrets: Secrets,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_auth_mode(mode, emulator, monkeypatch)
    lock_one_lead(seeded)
    renewable = mode != "access_token"
    scanned = Scanned()

    # A session that expires mid-run: renewed (refresh token for the password grant), or,
    # for a static SF_ACCESS_TOKEN, an exit 3 whose message is scanned too.
    emulator.faults.script("expire_session", "/composite/sobjects", "PATCH")
    invoke(scanned, "run", "--once", expect=0 if renewable else 3)
    if not renewable:
        fresh_static_token(emulator, monkeypatch)
    invoke(scanned, "run", "--once")
    invoke(scanned, "run", "--once", "--dry-run")
    invoke(scanned, "check")
    status = json.loads(invoke(scanned, "status", "--json"))
    invoke(scanned, "status")
    run_id = next(r["id"] for r in status["runs"] if r["status"] == "ok" and not r["dry_run"])
    lead_id = sorted(open_leads(seeded.org))[-1]
    invoke(scanned, "explain", lead_id)
    invoke(scanned, "explain", lead_id, "--json")
    dead = json.loads(invoke(scanned, "dead-letters", "list", "--json"))
    invoke(scanned, "dead-letters", "list")
    invoke(scanned, "undo", run_id, "--dry-run")
    recording = tmp_path / "recorded.yaml"
    emulator.faults.script("expire_session", "/queryAll", "GET")
    invoke(scanned, "record", "--out", str(recording), expect=0 if renewable else 3)
    if not renewable:
        fresh_static_token(emulator, monkeypatch)
        invoke(scanned, "record", "--out", str(recording))
    invoke(scanned, "replay", str(recording), "--mappings", str(MAPPINGS))
    invoke(scanned, "health")
    invoke(scanned, "health", "--json")
    report = tmp_path / "report.html"
    invoke(scanned, "report", "--out", str(report))
    scanned.add("recording", recording.read_bytes())
    scanned.add("report HTML", report.read_bytes())
    scrape(env, scanned)
    database = Path(env.removeprefix("sqlite:///"))
    for path in database.parent.glob(database.name + "*"):  # the file, its -wal and -journal
        scanned.add(f"database {path.name}", path.read_bytes())

    assert scanned.leaks(secrets) == []
    # The scan saw what it should: tokens were issued and renewed, the run left its traces.
    kinds = list(secrets.values.values())
    # The emulator's own token, then: one per command (renewed once), or two handed in by hand.
    assert kinds.count("access token") >= (6 if renewable else 3)
    if mode == "password":
        assert "refresh token" in kinds
    if mode == "jwt_bearer":
        assert "JWT assertion" in kinds
    assert dead and dead[0]["message"] == "Locked for review"
    assert lead_id.encode() in scanned.places[f"`explain {lead_id}` stdout"]
    assert emulator.instance_url.encode() in scanned.places["recording"]
    assert b"sfsync_cycles_total" in scanned.places["GET /metrics"]
    assert b"Locked for review" in scanned.places[f"database {database.name}"]


# -- failures: what the messages of refused logins carry ------------------------------------------


@pytest.mark.parametrize(
    ("variable", "wrong"),
    [
        ("SF_CLIENT_SECRET", "Wr0ng-Client-Secret-Value"),
        ("SF_PASSWORD", "Wr0ng-Password-Value"),
        ("SF_SECURITY_TOKEN", "Wr0ngSecurityToken"),
    ],
)
def test_a_refused_login_never_echoes_what_was_sent(
    emulator: Emulator,
    env: str,
    secrets: Secrets,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    variable: str,
    wrong: str,
) -> None:
    use_auth_mode("password", emulator, monkeypatch)
    monkeypatch.setenv(variable, wrong)
    secrets.add(wrong, f"wrong {variable}")
    scanned = Scanned()

    invoke(scanned, "run", "--once", expect=3)
    invoke(scanned, "record", "--out", str(tmp_path / "refused.yaml"), expect=3)
    invoke(scanned, "status", "--json")
    scanned.add("recording", (tmp_path / "refused.yaml").read_bytes())
    database = Path(env.removeprefix("sqlite:///"))
    scanned.add("database", database.read_bytes())

    assert scanned.leaks(secrets) == []
    assert b"token request refused" in scanned.places["`run --once` stderr"]


def test_a_database_password_never_shows(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("SF_", "SFSYNC_")):
            monkeypatch.delenv(name)
    password = "Db-Pa55word-Never-Shown"
    monkeypatch.setenv(
        "SFSYNC_DATABASE_URL", f"postgresql+psycopg://sfsync:{password}@127.0.0.1:1/x"
    )
    monkeypatch.setenv("SF_ACCESS_TOKEN", "00D000000000001!static-value")
    monkeypatch.setenv("SF_INSTANCE_URL", "https://127.0.0.1:1")
    monkeypatch.setenv("SFSYNC_MAPPINGS", str(MAPPINGS))
    secrets = Secrets({password: "database password", "00D000000000001!static-value": "token"})
    scanned = Scanned()

    for command in (["status"], ["dead-letters", "list"], ["explain", "00Q000000000001AAA"]):
        result = runner.invoke(app, ["--log-json", *command])
        scanned.add(" ".join(command), result.output)
        assert result.exit_code != 0 and "did not answer" in result.output
    for command in (["health"], ["report", "--out", str(tmp_path / "r.html")], ["run", "--once"]):
        result = runner.invoke(app, ["--log-json", *command])
        scanned.add(" ".join(command), result.output)
        assert result.exit_code != 0

    assert scanned.leaks(secrets) == []


# -- the status server ----------------------------------------------------------------------------


def test_serve_status_binds_loopback_refuses_post_and_shows_no_secret(
    seeded: SeededOrg,
    emulator: Emulator,
    env: str,
    secrets: Secrets,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_auth_mode("password", emulator, monkeypatch)
    lock_one_lead(seeded)
    scanned = Scanned()
    invoke(scanned, "run", "--once")
    command = [sys.executable, "-m", "sfsync", "--log-json", "serve-status", "--port", "0"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ)
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        assert line.startswith(f"serving on http://{DEFAULT_STATUS_HOST}:"), line
        url = line.split()[-1]
        for path in ("/metrics", "/", "/readyz", "/healthz"):
            status, body = http_get(url, path)
            scanned.add(f"GET {path}", body)
            assert status == 200, path
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            assert http_get(url, "/", method)[0] == 405
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    scanned.add("serve-status output", out + err)

    assert process.returncode == 0, err.decode()
    assert scanned.leaks(secrets) == []
    assert b"Locked for review" in scanned.places["GET /"]


def test_the_status_server_binds_loopback_by_default(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path}/s.db")
    try:
        with StatusServer(StatusApp(store, Metrics(store), MAX_AGE), port=0) as server:
            assert server.httpd.server_address[0] == "127.0.0.1"
            assert http_get(server.url, "/metrics", "POST")[0] == 405
            assert http_get(server.url, "/metrics")[0] == 200
    finally:
        store.close()
