"""Recording a cycle of the real worker against the emulator: readable, complete, secret-free."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import responses
import yaml
from typer.testing import CliRunner

from sfsync.connectors.recording import load_recording
from sfsync.emulator.seed import build_org
from sfsync.emulator.server import Emulator
from sfsync.errors import AuthError
from sfsync.jobs.replay import replay_cycle
from tests.fixtures.make_fixtures import (
    AUTH_MODES,
    MAPPINGS,
    Script,
    record_from_emulator,
)
from tests.replay.conftest import app, flat

runner = CliRunner()


def test_a_recorded_cycle_is_a_readable_file_that_replays(tmp_path: Path) -> None:
    made = record_from_emulator(tmp_path / "run.yaml", leads=20)
    text = made.path.read_text()
    recording = load_recording(made.path)
    writes = [e for e in recording.exchanges if e.is_collections_write]

    assert text.startswith("# sfsync recording") and "docs/REPLAY.md" in text
    assert recording.meta["auth_mode"] == "client_credentials" and not recording.meta["dry_run"]
    assert len(recording.exchanges) == made.requests == made.report.api_calls
    assert writes and writes[0].request_body["records"][0]["attributes"] == {"type": "Lead"}
    assert writes[0].request_headers["Sforce-Auto-Assign"] == "FALSE"
    entries = [item["response"] for item in yaml.safe_load(text)["responses"]]
    pulls = [e for e in entries if "/queryAll/" in e["url"]]
    assert pulls and pulls[0]["query"]["q"].startswith("SELECT Id, SystemModstamp")
    assert recording.outcome is not None and recording.outcome["written"] == made.report.written
    assert replay_cycle(made.path, MAPPINGS).same


def test_responses_itself_can_load_a_recording(tmp_path: Path) -> None:
    made = record_from_emulator(tmp_path / "run.yaml", leads=10)
    mock = responses.RequestsMock(assert_all_requests_are_fired=False)

    mock._add_from_file(made.path)

    assert len(mock.registered()) == made.requests


def test_a_failing_run_still_leaves_a_readable_file(tmp_path: Path) -> None:
    path = tmp_path / "refused.yaml"

    with pytest.raises(AuthError):
        record_from_emulator(path, leads=10, sf_client_secret="not-the-secret")
    recording = load_recording(path)

    assert [e.status for e in recording.exchanges] == [400]
    assert recording.outcome is not None and recording.outcome["status"] == "failed"
    assert "not-the-secret" not in path.read_text()
    replayed = replay_cycle(path, MAPPINGS)
    assert replayed.status == "failed" and replayed.same and "refused" in str(replayed.error)


@pytest.mark.parametrize("auth", AUTH_MODES)
def test_no_secret_reaches_the_file_whatever_the_auth_mode(auth: str, tmp_path: Path) -> None:
    expire = (Script("expire_session", "/queryAll", "GET"),)
    scripts = () if auth == "access_token" else expire  # a static token cannot be renewed
    made = record_from_emulator(tmp_path / f"{auth}.yaml", leads=10, auth=auth, scripts=scripts)
    data = made.path.read_bytes()

    assert len(made.secrets) >= 6
    for secret in made.secrets:
        assert secret.encode() not in data, f"{auth}: a secret of {len(secret)} chars leaked"
    assert b"Authorization: Bearer REDACTED" in data
    if scripts:
        assert made.injected.get("expire_session") == 1


def test_the_record_command_redacts_configured_fields(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = build_org(leads=10, seed=3)
    path = tmp_path / "cli.yaml"
    with Emulator(seeded.org) as emu:
        for name in [n for n in os.environ if n.startswith(("SF_", "SFSYNC_"))]:
            monkeypatch.delenv(name)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(emu.ca_file))
        monkeypatch.setenv("SF_LOGIN_URL", emu.login_url)
        monkeypatch.setenv("SF_CLIENT_ID", emu.credentials.client_id)
        monkeypatch.setenv("SF_CLIENT_SECRET", emu.credentials.client_secret)
        monkeypatch.setenv("SFSYNC_REDACT_FIELDS", "Phone")
        args = ["record", "--out", str(path), "--mappings", str(MAPPINGS), "--dry-run"]
        outcome = runner.invoke(app, args)
        secret = emu.credentials.client_secret
        phones = [r.get("Phone") for r in seeded.org.tables["Lead"].values() if r.get("Phone")]

    assert outcome.exit_code == 0, outcome.output
    assert re.search(
        r"recorded \d+ request\(s\) to .*cli.yaml \(secrets redacted\): ok", flat(outcome.output)
    )
    assert phones and not any(phone in path.read_text() for phone in phones)
    assert '"Phone": "REDACTED"' in path.read_text()
    assert secret not in path.read_text()
