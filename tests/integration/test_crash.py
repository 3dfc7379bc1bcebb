"""kill -9 in the middle of a flush, then a normal run: nothing lost, nothing doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from sfsync.emulator.faults import FaultPlan
from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from tests.integration.conftest import MAPPINGS
from tests.integration.helpers import assert_scored, is_collection_write, open_leads

KILL_DEADLINE_S = 60


def _worker_env(emu: Emulator, store_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "SFSYNC_"))}
    env.update(
        REQUESTS_CA_BUNDLE=str(emu.ca_file),
        SF_LOGIN_URL=emu.login_url,
        SF_CLIENT_ID=emu.credentials.client_id,
        SF_CLIENT_SECRET=emu.credentials.client_secret,
        SFSYNC_DATABASE_URL=store_url,
        SFSYNC_MAPPINGS=str(MAPPINGS),
        SFSYNC_RETRY_WAIT_SCALE="0",
        SFSYNC_STATUS_PORT="0",
    )
    return env


def _run(env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "sfsync", "--log-json", "run", "--once"],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _writes(emu: Emulator) -> list[int]:
    return [c.records or 0 for c in emu.calls.entries() if is_collection_write(c) and c.status]


@pytest.mark.slow
@pytest.mark.parametrize("seeded", [1200], indirect=True)
def test_sigkill_mid_flush_loses_and_doubles_nothing(
    seeded: SeededOrg, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Emulator(seeded.org, faults=FaultPlan(latency_ms=250)) as emu:
        env = _worker_env(emu, store_url)
        first = _run(env, tmp_path)
        deadline = time.monotonic() + KILL_DEADLINE_S
        while not _writes(emu) and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.02)
        assert first.poll() is None, "the worker finished before it could be killed"
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
        assert first.returncode == -signal.SIGKILL
        written_before = sum(_writes(emu))

        second = _run(env, tmp_path)
        _out, err = second.communicate(timeout=120)
        assert second.returncode == 0, err.decode()

        scored = assert_scored(seeded.org)
        assert written_before < scored
        # Every open lead was written exactly once across both runs: no record went twice.
        mine = seeded.org.writes_by(seeded.integration_user_id)
        updates = Counter(e.record_id for e in mine if e.operation == "update")
        assert set(updates.values()) == {1}
        assert set(open_leads(seeded.org)) <= set(updates)
        converts = Counter(e.record_id for e in mine if e.operation == "convert")
        assert set(converts.values()) <= {1}
