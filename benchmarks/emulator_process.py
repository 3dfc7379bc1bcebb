"""The emulator in a process of its own, so the org's work is off the worker's interpreter.

In one process the emulator's query rendering and saves share the GIL with
the worker; a real org does its work elsewhere. `bench_cycle --org-process`
uses this to measure the worker alone (both still share the machine's cores).

Child protocol (stdin/stdout, one JSON line each): after seeding, the child
prints the connection details; each line "calls" read from stdin is answered
with the number of counted API calls so far; end of input stops the server.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from sfsync.emulator.cli import connection_details
from sfsync.emulator.faults import FaultPlan
from sfsync.emulator.seed import build_org
from sfsync.emulator.server import Emulator


@dataclass(frozen=True)
class RemoteCredentials:
    """What bench_cycle reads of an emulator's credentials."""

    client_id: str
    client_secret: str
    access_token: str


class EmulatorProcess:
    """A seeded emulator in a child process; the same attributes bench_cycle reads."""

    def __init__(self, leads: int, seed: int, latency_ms: int) -> None:
        command = [sys.executable, "-m", "benchmarks.emulator_process", str(leads), str(seed)]
        self._child = subprocess.Popen(
            [*command, str(latency_ms)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        details = json.loads(self._read_line())
        self.instance_url: str = details["instance_url"]
        self.login_url: str = details["login_url"]
        self.ca_file = Path(details["ca_file"])
        self.credentials = RemoteCredentials(
            details["client_id"], details["client_secret"], details["access_token"]
        )

    def counted_calls(self) -> int:
        """API calls counted against the allowance so far."""
        stdin = self._pipe(self._child.stdin)
        stdin.write("calls\n")
        stdin.flush()
        return int(self._read_line())

    def _read_line(self) -> str:
        line = self._pipe(self._child.stdout).readline()
        if not line:
            raise RuntimeError("the emulator process ended early")
        return line

    @staticmethod
    def _pipe(stream: IO[str] | None) -> IO[str]:
        assert stream is not None
        return stream

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._pipe(self._child.stdin).close()
        self._child.wait(timeout=60)


def serve(leads: int, seed: int, latency_ms: int) -> None:
    """In the child: seed, serve, answer "calls" until stdin ends."""
    seeded = build_org(leads=leads, seed=seed)
    with Emulator(seeded.org, faults=FaultPlan(latency_ms=latency_ms)) as emu:
        print(json.dumps(connection_details(emu)), flush=True)
        for _line in sys.stdin:
            print(sum(1 for c in emu.calls.entries() if c.counted), flush=True)


def main(argv: list[str]) -> Any:
    leads, seed, latency_ms = (int(a) for a in argv)
    serve(leads, seed, latency_ms)


if __name__ == "__main__":
    main(sys.argv[1:])
