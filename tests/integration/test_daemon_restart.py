"""`sfsync run` starting afresh in place when a cycle leaves it above SFSYNC_MAX_MEMORY_MB."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from sfsync.emulator.seed import SeededOrg
from sfsync.emulator.server import Emulator
from tests.integration.helpers import assert_scored
from tests.integration.test_crash import _worker_env
from tests.integration.test_daemon import WAIT_S, _daemon, _events, _wait_for

RESTARTING = "sfsync.daemon.restarting"


def _statuses(log: Path) -> list[str]:
    found = []
    for line in log.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "sfsync.sync.cycle_finished":
            found.append(event["status"])
    return found


def test_the_daemon_restarts_in_place_keeps_syncing_and_a_stop_mid_restart_exits_0(
    seeded: SeededOrg, store_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "d.log"
    with Emulator(seeded.org) as emu:
        # 1 MB: every cycle leaves the worker above the limit, so it restarts after each.
        env = {**_worker_env(emu, store_url), "SFSYNC_MAX_MEMORY_MB": "1"}
        daemon = _daemon(env, log, interval=1)
        try:
            _wait_for(lambda: _events(log).count(RESTARTING) >= 2, "two restarts")
            assert daemon.poll() is None, "a restart replaces the process, it does not end it"
            daemon.send_signal(signal.SIGTERM)  # while it closes, execs or starts again
            assert daemon.wait(timeout=WAIT_S) == 0
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()

    assert_scored(seeded.org)
    events = _events(log)
    assert events.count("sfsync.daemon.started") >= 2
    assert "sfsync.daemon.stopping" in events
    assert set(_statuses(log)) == {"ok"}
