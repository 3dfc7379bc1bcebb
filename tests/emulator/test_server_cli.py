"""`sfsync emulator serve`: a real subprocess, its JSON line, SIGTERM, and bad options."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

from sfsync.cli import app

SFSYNC = str(Path(sys.executable).with_name("sfsync"))


def test_serve_json_then_sigterm(monkeypatch: pytest.MonkeyPatch) -> None:
    command = [SFSYNC, "emulator", "serve", "--leads", "30", "--seed", "5", "--json"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            details = json.loads(proc.stdout.readline())
            monkeypatch.setenv("REQUESTS_CA_BUNDLE", details["ca_file"])
            with requests.Session() as session:
                response = session.get(
                    details["instance_url"] + "/services/data/v62.0/queryAll",
                    params={"q": "SELECT COUNT() FROM Lead"},
                    headers={"Authorization": f"Bearer {details['access_token']}"},
                    timeout=10,
                )
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=30)
    assert response.status_code == 200
    assert response.json()["totalSize"] == 30
    assert {"login_url", "client_id", "client_secret", "username"} <= set(details)
    assert proc.returncode == 0, stderr
    assert not Path(details["ca_file"]).exists()


@pytest.mark.parametrize(
    "options", [["--port", "70000"], ["--leads", "-1"], ["--seed", "x"], ["--bogus"]]
)
def test_invalid_options_exit_2(options: list[str]) -> None:
    result = CliRunner().invoke(app, ["emulator", "serve", *options])
    assert result.exit_code == 2
    assert "Usage" in result.output or "Invalid" in result.output


def test_port_in_use_exits_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["emulator", "serve", "--leads", "0", "--port", str(port)])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output


def test_unknown_host_exits_2() -> None:
    result = CliRunner().invoke(app, ["emulator", "serve", "--host", "no-such-host.invalid"])
    assert result.exit_code == 2
    assert "cannot listen on no-such-host.invalid:0" in result.output
