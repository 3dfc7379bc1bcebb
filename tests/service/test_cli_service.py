"""`sfsync serve-status` as a process: serves the store, stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import typer

from sfsync.cli_service import app, register
from sfsync.store import Store


def test_register_adds_the_three_commands():
    target = typer.Typer()
    register(target)
    assert [c.name for c in target.registered_commands] == ["health", "report", "serve-status"]
    assert app.registered_commands


def test_serve_status_serves_until_sigterm(tmp_path: Path, populated: Store):
    env = {**os.environ, "SFSYNC_DATABASE_URL": f"sqlite:///{tmp_path}/s.db"}
    command = [sys.executable, "-c", "from sfsync.cli_service import app; app()"]
    with subprocess.Popen(
        [*command, "serve-status", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.startswith("serving on http://127.0.0.1:"), line
            with urllib.request.urlopen(line.split()[-1] + "/metrics", timeout=10) as response:
                body = response.read().decode()
            assert "sfsync_outbox_depth" in body and "sfsync_cycles_total" not in body
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
