"""The `sfsync` command line against the emulator: auth modes, exit codes, output, secrets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sfsync.cli import app
from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from sfsync.emulator.settings import ValidationRule
from tests.integration.conftest import MAPPINGS
from tests.integration.helpers import assert_scored, client_credentials, open_leads

runner = CliRunner()


def _invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--log-json", *args])
    return result.exit_code, result.output


AUTH_MODES = ["client_credentials", "jwt_bearer", "password", "access_token"]


@pytest.mark.parametrize("mode", AUTH_MODES)
def test_every_auth_mode_runs_a_cycle(
    mode: str, seeded: SeededOrg, emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    creds = emulator.credentials
    settings = {
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
            "SF_INSTANCE_URL": emulator.instance_url,
        },
    }[mode]
    for name, value in settings.items():
        monkeypatch.setenv(name, value)

    code, output = _invoke("run", "--once")

    assert code == 0, output
    assert "written" in output
    assert_scored(seeded.org)
    for secret in (creds.client_secret, creds.password, creds.security_token, creds.access_token):
        assert secret not in output
    db = Path(env.removeprefix("sqlite:///"))
    if db.exists():
        content = db.read_bytes()
        assert creds.client_secret.encode() not in content
        assert creds.access_token.encode() not in content


def test_wrong_secret_exits_3_without_echoing_it(
    emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SF_CLIENT_ID", emulator.credentials.client_id)
    monkeypatch.setenv("SF_CLIENT_SECRET", "not-the-secret-123")

    code, output = _invoke("run", "--once")

    assert code == 3
    assert "invalid_client" in output and "not-the-secret-123" not in output


def test_expired_static_token_exits_3(
    emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SF_ACCESS_TOKEN", emulator.credentials.access_token)
    monkeypatch.setenv("SF_INSTANCE_URL", emulator.instance_url)
    emulator.sessions.expire_all()

    code, output = _invoke("run", "--once")

    assert code == 3
    assert "cannot be renewed" in output


def test_unreachable_org_exits_4(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SF_LOGIN_URL", "https://127.0.0.1:9")
    monkeypatch.setenv("SF_CLIENT_ID", "x")
    monkeypatch.setenv("SF_CLIENT_SECRET", "y")

    code, output = _invoke("run", "--once")

    assert code == 4
    assert "unreachable" in output


def test_untrusted_certificate_fails_closed(
    emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_credentials(emulator, monkeypatch)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")

    code, output = _invoke("run", "--once")

    assert code == 4
    assert "SSLError" in output


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("SF_API_VERSION", "sixty", "SF_API_VERSION"),
        ("SFSYNC_API_BUDGET_SHARE", "1.5", "SFSYNC_API_BUDGET_SHARE"),
        ("SF_LOGIN_URL", "http://login.example.com", "https://"),
        ("SF_ACCESS_TOKEN", "tok-S3CRET-value", "contradictory credentials"),
    ],
)
def test_bad_settings_exit_2(
    variable: str,
    value: str,
    expected: str,
    emulator: Emulator,
    env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client_credentials(emulator, monkeypatch)
    monkeypatch.setenv(variable, value)

    code, output = _invoke("run", "--once")

    assert code == 2
    assert expected in output.replace("\n", " ")
    assert "tok-S3CRET-value" not in output


def test_malformed_mappings_exit_2_with_file_and_line(
    emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client_credentials(emulator, monkeypatch)
    broken = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, broken)
    scoring = broken / "scoring.yaml"
    scoring.write_text(scoring.read_text().replace("operator: in,", "operator: among,", 1))
    monkeypatch.setenv("SFSYNC_MAPPINGS", str(broken))
    line = next(i for i, text in enumerate(scoring.read_text().splitlines(), 1) if "among" in text)

    code, output = _invoke("run", "--once")

    assert code == 2
    assert f"scoring.yaml:{line}: rules[0].criteria[0].operator" in output.replace("\n", "")


def test_budget_share_stops_the_run_with_exit_4(
    seeded: SeededOrg, emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_credentials(emulator, monkeypatch)
    limit = seeded.org.settings.daily_api_limit
    emulator.usage.set_used(int(limit * 0.6))

    code, output = _invoke("run", "--once")

    assert code == 4
    assert "API budget reached" in output
    assert all(r["Lead_Score__c"] is None for r in open_leads(seeded.org).values())
    code, status = _invoke("status", "--json")
    assert code == 0 and json.loads(status)["runs"][0]["status"] == "budget"


def test_dry_run_prints_the_plan_and_writes_nothing(
    seeded: SeededOrg, emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_credentials(emulator, monkeypatch)

    code, output = _invoke("run", "--once", "--dry-run")

    assert code == 0, output
    assert "nothing was written" in output and "Lead_Score__c" in output
    assert "call(s) on writes" in output
    assert all(r["Lead_Score__c"] is None for r in open_leads(seeded.org).values())


def test_status_and_dead_letters_show_what_the_org_refused(
    seeded: SeededOrg, emulator: Emulator, env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client_credentials(emulator, monkeypatch)
    blocked = sorted(open_leads(seeded.org))[0]
    rule = ValidationRule(
        name="Locked",
        message="This lead is locked for review",
        predicate=lambda r: r["Id"] == blocked,
    )
    seeded.org.settings.validation_rules = [rule]
    assert _invoke("run", "--once")[0] == 0

    code, status = _invoke("status", "--json")
    data = json.loads(status)
    assert code == 0
    assert data["dead_letters"][0]["lead_id"] == blocked
    assert data["dead_letters"][0]["error_code"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert data["runs"][0]["status"] == "ok" and data["runs"][0]["rejected"] == 1

    code, listing = _invoke("dead-letters", "list", "--json")
    assert code == 0 and json.loads(listing)[0]["message"] == "This lead is locked for review"
    seeded.org.settings.validation_rules = []
    dead_id = str(data["dead_letters"][0]["id"])
    assert _invoke("dead-letters", "retry", dead_id)[0] == 0
    assert _invoke("run", "--once")[0] == 0
    record = seeded.org.get("Lead", blocked)
    assert record is not None and record["Lead_Score__c"] is not None
