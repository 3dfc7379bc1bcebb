"""The daemon's memory: the heap trim, SFSYNC_MAX_MEMORY_MB, when `run_daemon` asks to restart."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest

from sfsync import memory
from sfsync.errors import ConfigError
from sfsync.jobs import daemon
from sfsync.jobs.daemon import run_daemon


@pytest.fixture(autouse=True)
def _signal_handlers() -> Iterator[None]:
    """run_daemon installs its own SIGTERM/SIGINT handlers: put pytest's back."""
    saved = {s: signal.getsignal(s) for s in memory.STOP_SIGNALS}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_the_heap_trim_runs_anywhere() -> None:
    memory.trim_heap()  # glibc trims; musl, macOS, Windows: nothing to do, no error


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc")
def test_resident_memory_is_read_from_proc() -> None:
    rss = memory.resident_mb()
    assert rss is not None and rss > 1


@pytest.mark.parametrize(("value", "expected"), [(None, 0), ("0", 0), ("200", 200)])
def test_max_memory_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: int
) -> None:
    if value is None:
        monkeypatch.delenv("SFSYNC_MAX_MEMORY_MB", raising=False)
    else:
        monkeypatch.setenv("SFSYNC_MAX_MEMORY_MB", value)
    assert memory.max_memory_mb() == expected


@pytest.mark.parametrize("value", ["-1", "lots"])
def test_a_bad_max_memory_is_a_config_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SFSYNC_MAX_MEMORY_MB", value)
    with pytest.raises(ConfigError, match="SFSYNC_MAX_MEMORY_MB"):
        memory.max_memory_mb()


def _resident(mb: float) -> object:
    return lambda: mb


def _stop_signal_to_main_thread() -> None:
    """SIGTERM to the thread that handles signals (a process-wide one may wake another first)."""
    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGTERM)


@pytest.mark.timeout(30)
def test_a_cycle_that_leaves_the_daemon_above_the_limit_asks_for_a_restart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(daemon, "resident_mb", _resident(250.0))
    cycles: list[int] = []
    assert run_daemon(None, 3600, lambda: cycles.append(1), max_memory_mb=200)  # type: ignore[arg-type]
    assert cycles == [1]


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("rss", "limit"), [(150.0, 200), (250.0, 0)])
def test_below_the_limit_or_without_one_the_daemon_runs_until_stopped(
    monkeypatch: pytest.MonkeyPatch, rss: float, limit: int
) -> None:
    monkeypatch.setattr(daemon, "resident_mb", _resident(rss))
    cycles: list[int] = []

    def cycle() -> None:
        cycles.append(1)
        threading.Timer(0.2, _stop_signal_to_main_thread).start()  # once the cycle is over

    assert not run_daemon(None, 3600, cycle, max_memory_mb=limit)  # type: ignore[arg-type]
    assert cycles == [1]


@pytest.mark.timeout(30)
def test_a_stop_signal_held_back_by_a_restart_stops_the_new_daemon_before_any_cycle() -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, memory.STOP_SIGNALS)  # as `restart` leaves it
    _stop_signal_to_main_thread()  # other threads (earlier tests' schedulers) do not block it
    cycles: list[int] = []
    assert not run_daemon(None, 3600, lambda: cycles.append(1), max_memory_mb=200)  # type: ignore[arg-type]
    assert cycles == []
    assert not signal.pthread_sigmask(signal.SIG_BLOCK, []) & memory.STOP_SIGNALS
