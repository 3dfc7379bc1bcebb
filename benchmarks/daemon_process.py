"""`sfsync run` (the daemon) in a child process against an emulator served by this one.

Used by the daemon benchmarks (bench_daemon_rss, bench_owner_latency): the
worker runs exactly as deployed (its own interpreter, SQLite store, status
page on a free port, JSON logs to a file), while the org, its clock and the
people editing it stay in the benchmark's process where they can be read.
Memory is read from /proc (VmRSS now, VmHWM the peak), so Linux only.
The daemon starts afresh after a cycle that left it large (`sfsync.memory`: exec),
which resets VmHWM; `children_peak_mb()` (the kernel's maximum over the whole
process, across exec) gives the true peak once the daemon has been reaped.
The memory settings the image sets (`MALLOC_*`, SFSYNC_MAX_MEMORY_MB in the
Dockerfile's ENV) are given to the daemon too, read from the Dockerfile itself.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from sfsync.emulator.server import Emulator

REPO = Path(__file__).resolve().parents[1]
MAPPINGS = REPO / "mappings"
DOCKERFILE = REPO / "Dockerfile"
# What the image sets for memory: the allocator's settings and the daemon's restart limit.
IMAGE_ENV_PREFIXES = ("MALLOC_", "PYTHONMALLOC", "SFSYNC_MAX_MEMORY_MB")
STOP_TIMEOUT_S = 120
CYCLE_FINISHED = "sfsync.sync.cycle_finished"


def worker_env(emu: Emulator, db_url: str, mappings: Path, interval_s: int) -> dict[str, str]:
    """The daemon's environment: this machine's, minus any SF_/SFSYNC_ setting, plus the org's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "SFSYNC_"))}
    env.update(image_env())
    env.update(
        REQUESTS_CA_BUNDLE=str(emu.ca_file),
        SF_LOGIN_URL=emu.login_url,
        SF_CLIENT_ID=emu.credentials.client_id,
        SF_CLIENT_SECRET=emu.credentials.client_secret,
        SFSYNC_DATABASE_URL=db_url,
        SFSYNC_MAPPINGS=str(mappings),
        SFSYNC_INTERVAL_SECONDS=str(interval_s),
        SFSYNC_STATUS_PORT="0",
    )
    return env


def image_env(dockerfile: Path = DOCKERFILE) -> dict[str, str]:
    """The image's memory settings (IMAGE_ENV_PREFIXES) from the Dockerfile's ENV lines."""
    text = dockerfile.read_text().replace("\\\n", " ")
    found = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            for key, value in re.findall(r"(\w+)=(\S+)", line):
                if key.startswith(IMAGE_ENV_PREFIXES):
                    found[key] = value
    return found


def children_peak_mb() -> float:
    """The highest resident memory of any reaped child of this process, across its execs."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def proc_status_kb(pid: int, key: str) -> int:
    """A `/proc/PID/status` figure in kB (VmRSS, VmHWM); 0 once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return 0


class Daemon:
    """`sfsync --log-json run` until `stop()`; its log lines are read from `log`."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sfsync", "--log-json", "run"],
                env=env,
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_mb(self) -> float:
        """Resident memory now."""
        return proc_status_kb(self.pid, "VmRSS") / 1024

    def peak_mb(self) -> float:
        """The highest resident memory so far (the kernel's high-water mark)."""
        return proc_status_kb(self.pid, "VmHWM") / 1024

    def events(self) -> list[dict[str, object]]:
        """The JSON log lines written so far."""
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
        return found

    def cycles(self) -> int:
        """Cycles finished so far."""
        return self.count(CYCLE_FINISHED)

    def count(self, event: str) -> int:
        """How many times `event` was logged so far."""
        return sum(1 for e in self.events() if e.get("event") == event)

    def wait_for_cycles(self, count: int, timeout_s: float) -> None:
        """Block until `count` cycles have finished; RuntimeError on timeout or exit."""
        deadline = time.monotonic() + timeout_s
        while self.cycles() < count:
            if self.process.poll() is not None:
                raise RuntimeError(f"the daemon exited ({self.process.returncode}): {self._tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no {count} cycles in {timeout_s:.0f} s: {self._tail()}")
            time.sleep(0.2)

    def stop(self) -> int:
        """SIGTERM (the cycle in hand finishes), then wait; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def _tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:]

    def __enter__(self) -> Daemon:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
