"""`sfsync run` serves its status page and metrics while it runs; `sfsync health` agrees.

Against the emulator over HTTPS, on SQLite and PostgreSQL. Skipped until the
daemon takes a `run_cycle` hook and `sfsync.cli` registers the service commands.
"""

from __future__ import annotations

import inspect
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from sfsync.cli import app
from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from sfsync.jobs.daemon import run_daemon
from tests.integration.conftest import seeded
from tests.integration.test_crash import _worker_env
from tests.integration.test_daemon import WAIT_S, _daemon

__all__ = ["seeded"]  # the fixture, shared with the integration tests

pytestmark = pytest.mark.skipif(
    "run_cycle" not in inspect.signature(run_daemon).parameters
    or "health" not in {c.name for c in app.registered_commands},
    reason="the daemon is not wired to sfsync.service yet",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode())
    except OSError:
        return ""


def _value(text: str, name: str) -> float:
    match = re.search(rf"^{name} ([0-9.e+]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def test_the_daemon_serves_metrics_that_move(
    seeded: SeededOrg, store_url: str, tmp_path: Path
) -> None:
    port = _free_port()
    with Emulator(seeded.org) as emu:
        env = {**_worker_env(emu, store_url), "SFSYNC_STATUS_PORT": str(port)}
        daemon = _daemon(env, tmp_path / "d.log", interval=3600)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + WAIT_S
            while 'sfsync_cycles_total{status="ok"} 1.0' not in (text := _get(url + "/metrics")):
                assert time.monotonic() < deadline, (tmp_path / "d.log").read_text()[-2000:]
                time.sleep(0.2)
            assert _value(text, "sfsync_leads_pulled_total") >= 300
            assert _value(text, "sfsync_leads_written_total") > 0
            assert _value(text, "sfsync_write_lag_seconds_count") > 0
            assert "Lead analytics" in _get(url + "/")
            health = subprocess.run(
                [sys.executable, "-m", "sfsync", "health"],
                env=env,
                capture_output=True,
                timeout=60,
                check=False,
            )
            assert health.returncode == 0, health.stdout
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=WAIT_S) == 0
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
