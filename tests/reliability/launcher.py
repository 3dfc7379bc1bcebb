"""Start the real `sfsync` CLI in fresh processes without paying for its imports each time.

`python -m sfsync` spends about a second importing before it does anything;
the schedules start hundreds of workers. So they ask a launcher: a process
that has imported `sfsync.cli` once and forks one child per request. Each
child is a separate OS process that runs `sfsync.cli.app` with the argv,
environment and working directory given — what `python -m sfsync` runs
once its imports are done — and SIGKILL or SIGTERM reach it as they would
reach a plain subprocess. The launcher itself runs no thread, so forking it
is safe.

Protocol, one JSON object per line. To the launcher:
`{"argv": [...], "env": {...}, "cwd": "...", "stdout": "path", "stderr": "path"}`.
From it: `{"ready": true}` once, then `{"pid": N}` per request, in order,
and `{"exited": N, "code": C}` when a child ends (C < 0: killed by signal -C,
as `subprocess` reports it).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from queue import Queue
from typing import Any, NoReturn, Protocol

REPO = Path(__file__).resolve().parents[2]
POLL_S = 0.02
START_TIMEOUT_S = 60.0


class WorkerProcess(Protocol):
    """What the schedules need of a worker process; `subprocess.Popen` has it too."""

    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def send_signal(self, sig: int) -> None: ...


# -- the test side -----------------------------------------------------------------


class Child:
    """A process the launcher forked; `wait` raises `subprocess.TimeoutExpired` like Popen."""

    def __init__(self, launcher: Launcher, pid: int) -> None:
        self.launcher = launcher
        self.pid = pid

    def poll(self) -> int | None:
        return self.launcher.exit_code(self.pid)

    def wait(self, timeout: float | None = None) -> int:
        code = self.launcher.wait_exit(self.pid, timeout)
        if code is None:
            raise subprocess.TimeoutExpired(f"sfsync pid {self.pid}", timeout or 0.0)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)


class Launcher:
    """The forking launcher process, and what it reported (close it when done)."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.launcher"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self._pids: Queue[int] = Queue()
        self._exits: dict[int, int] = {}
        self._changed = threading.Condition()
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, name="sfsync-launcher", daemon=True)
        self._reader.start()
        if not self._ready.wait(START_TIMEOUT_S):
            self.close()
            raise RuntimeError("the sfsync launcher did not start")
        self.started = 0

    def spawn(
        self, argv: Sequence[str], env: Mapping[str, str], cwd: Path, stdout: Path, stderr: Path
    ) -> Child:
        """Run `sfsync *argv` in a new process; returns at once."""
        request = {
            "argv": list(argv),
            "env": dict(env),
            "cwd": str(cwd),
            "stdout": str(stdout),
            "stderr": str(stderr),
        }
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(request).encode() + b"\n")
        self._process.stdin.flush()
        self.started += 1
        return Child(self, self._pids.get(timeout=START_TIMEOUT_S))

    def exit_code(self, pid: int) -> int | None:
        with self._changed:
            return self._exits.get(pid)

    def wait_exit(self, pid: int, timeout: float | None) -> int | None:
        with self._changed:
            self._changed.wait_for(lambda: pid in self._exits, timeout)
            return self._exits.get(pid)

    def close(self) -> None:
        """End the launcher; it kills the children still running."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(5)
        if self._process.stdout is not None:
            self._process.stdout.close()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            message: dict[str, Any] = json.loads(line)
            if message.get("ready"):
                self._ready.set()
            elif "pid" in message:
                self._pids.put(int(message["pid"]))
            elif "exited" in message:
                with self._changed:
                    self._exits[int(message["exited"])] = int(message["code"])
                    self._changed.notify_all()


# -- the launcher side ---------------------------------------------------------------


def _send(message: dict[str, Any]) -> None:
    os.write(1, json.dumps(message).encode() + b"\n")


def _child(app: Callable[..., Any], request: dict[str, Any]) -> NoReturn:
    """In the forked process: wire stdio, environment and cwd, run the CLI, exit."""
    code = 1
    try:
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), 1)
        os.dup2(os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), 2)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.argv = ["sfsync", *request["argv"]]
        app(args=request["argv"], prog_name="sfsync")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def _reap(children: set[int]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        _send({"exited": pid, "code": os.waitstatus_to_exitcode(status)})


def serve() -> None:
    """The launcher's loop: fork a child per request line until stdin closes."""
    from sfsync.cli import app  # the expensive import, once

    assert threading.active_count() == 1, "forking is only safe without threads"
    children: set[int] = set()
    pending = b""
    _send({"ready": True})
    while True:
        readable, _, _ = select.select([0], [], [], POLL_S)
        _reap(children)
        if not readable:
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                _child(app, json.loads(line))
            children.add(pid)
            _send({"pid": pid})
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    while children:
        pid, _status = os.waitpid(-1, 0)
        children.discard(pid)


if __name__ == "__main__":
    serve()
