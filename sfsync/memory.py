"""Keeping the daemon's resident memory near what it holds, not what it once needed (issue 11).

A cycle over a whole org (the first pull, the sweeps that re-read its
writes) builds pages of 2,000 leads, their decisions and the write batches,
and frees them; but CPython's allocator and glibc's heaps keep most of that
memory, fragmented by the few long-lived objects allocated in between. At
10,000 leads the daemon stayed ~110 MB above what is alive. Two remedies:

- `trim_heap()` after every cycle hands glibc's free pages back to the kernel.
- SFSYNC_MAX_MEMORY_MB (0, the default: off; the image sets it): when the
  resident memory after a cycle is above it, the daemon starts afresh. It
  stops the scheduler and the status server, closes the store and the
  client, then `restart()` replaces the process image with the same command
  (same PID, environment and open stdio), as Celery's
  `worker_max_memory_per_child` and gunicorn's `max_requests` do with theirs.
  Nothing is lost: every cycle's state is in the store; the new process
  reads the org's describe again (one API call) and its metric counters
  start again from zero.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, NoReturn

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from sfsync.errors import ConfigError

STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})


class MemorySettings(BaseSettings):
    """SFSYNC_MAX_MEMORY_MB (0: never restart)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    sfsync_max_memory_mb: Annotated[int, Field(ge=0)] = 0


def max_memory_mb() -> int:
    """SFSYNC_MAX_MEMORY_MB; a bad value is a ConfigError naming the variable."""
    try:
        return MemorySettings().sfsync_max_memory_mb
    except ValidationError:
        raise ConfigError("invalid configuration: SFSYNC_MAX_MEMORY_MB") from None


def resident_mb() -> float | None:
    """This process's resident memory now (VmRSS), None where /proc does not tell."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def trim_heap() -> None:
    """Return the C heap's free pages to the kernel (glibc's malloc_trim); elsewhere nothing."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # absent from musl (Alpine): no trim there
        return None
    return trim


def restart() -> NoReturn:
    """Replace this process with the command that started it (same PID, environment).

    A stop signal arriving from here on stays pending across exec until the
    new daemon can handle it (`accept_stop_signals`): it then exits 0.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def accept_stop_signals() -> None:
    """Deliver the stop signals `restart` held back (none after an ordinary start)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
