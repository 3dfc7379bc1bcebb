"""Steady-state memory of `sfsync run` (the daemon) while people keep changing leads.

Run: .venv/bin/python -m benchmarks.bench_daemon_rss [--leads 10000] [--minutes 5]
     [--interval 5] [--sample 2] [--env SFSYNC_MAX_MEMORY_MB=0 ...]

A seeded org is served over HTTPS from this process; the daemon runs in a
child process as deployed (shipped mappings, SQLite store, status page,
JSON logs, the memory settings of the Dockerfile), a cycle every
`--interval` seconds; `--env` adds or overrides a variable, for variants.
From the start a background thread plays people at work through the org's
own API (`Activity`: each second two new leads and five edits: owners,
statuses, inputs, a few deletes), so every cycle has something to pull,
decide and write.

The daemon's resident memory (VmRSS in /proc) is sampled every `--sample`
seconds. Reported: the peak (the kernel's high-water mark over the whole
process, across the restarts after large cycles: the first cycle over the
whole org), the restarts, the steady state (median and maximum of the
samples taken after the first cycle, and the drift between the first and
the last quarter of them, the sign of a leak). Target (issue 11): < 200 MB.
Nothing is asserted: benchmarks measure.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.daemon_process import MAPPINGS, Daemon, children_peak_mb, worker_env
from sfsync.emulator.activity import Activity
from sfsync.emulator.faults import FaultPlan
from sfsync.emulator.seed import build_org
from sfsync.emulator.server import Emulator

SEED = 3
TARGET_MB = 200
FIRST_CYCLE_TIMEOUT_S = 600
STEPS_FOREVER = 10**9
RESTARTING = "sfsync.daemon.restarting"
Samples = list[tuple[float, float]]


@dataclass
class RssFigures:
    """What the daemon's memory did over one run."""

    leads: int
    minutes: float
    interval_s: int
    cycles: int
    restarts: int
    changes: int
    first_cycle_s: float
    peak_mb: float
    steady_median_mb: float
    steady_max_mb: float
    drift_mb: float
    samples: Samples = field(default_factory=list)  # (seconds since start, MB)


def steady_figures(samples: list[float]) -> tuple[float, float, float]:
    """Median, maximum, and last-quarter mean minus first-quarter mean of the samples."""
    if not samples:
        return 0.0, 0.0, 0.0
    quarter = max(len(samples) // 4, 1)
    drift = statistics.fmean(samples[-quarter:]) - statistics.fmean(samples[:quarter])
    return statistics.median(samples), max(samples), drift


def measure(
    leads: int = 10_000,
    minutes: float = 5.0,
    interval_s: int = 5,
    sample_s: float = 2.0,
    latency_ms: int = 0,
    extra_env: dict[str, str] | None = None,
) -> RssFigures:
    """Serve, start the daemon and the people, sample its RSS until `minutes` after its first
    cycle, stop."""
    seeded = build_org(leads=leads, seed=SEED)
    activity = Activity(seeded, seed=SEED)
    with (
        tempfile.TemporaryDirectory() as tmp,
        Emulator(seeded.org, faults=FaultPlan(latency_ms=latency_ms)) as emu,
    ):
        env = worker_env(emu, f"sqlite:///{tmp}/rss.db", MAPPINGS, interval_s)
        env.update(extra_env or {})
        with Daemon(env, Path(tmp) / "daemon.log") as daemon:
            activity.run_in_background(1.0, STEPS_FOREVER, new_leads=2, edits=5)
            try:
                first_cycle, samples = _sample(daemon, minutes * 60, sample_s)
                hwm, cycles, restarts = daemon.peak_mb(), daemon.cycles(), daemon.count(RESTARTING)
            finally:
                activity.stop()
    peak = max(hwm, children_peak_mb())  # the daemon is reaped: its peak before any restart
    steady = [mb for seconds, mb in samples if seconds > first_cycle]
    median, top, drift = steady_figures(steady)
    return RssFigures(
        leads, minutes, interval_s, cycles, restarts, len(activity.events), round(first_cycle, 1),
        round(peak, 1), round(median, 1), round(top, 1), round(drift, 1), samples,
    )  # fmt: skip


def _sample(daemon: Daemon, steady_s: float, every_s: float) -> tuple[float, Samples]:
    """When the first cycle ended, and (seconds since start, RSS MB) every `every_s` from the
    start until `steady_s` after that first cycle."""
    began = time.monotonic()
    samples: Samples = []
    first: float | None = None
    while first is None or time.monotonic() - began < first + steady_s:
        elapsed = time.monotonic() - began
        if daemon.process.poll() is not None:
            raise RuntimeError(f"the daemon exited with {daemon.process.returncode}")
        if first is None and elapsed > FIRST_CYCLE_TIMEOUT_S:
            raise RuntimeError(f"no cycle finished in {FIRST_CYCLE_TIMEOUT_S} s")
        samples.append((round(elapsed, 1), round(daemon.rss_mb(), 1)))
        if first is None and daemon.cycles() >= 1:
            first = elapsed
        time.sleep(every_s)
    return first, samples


def figures(leads: int, minutes: float, interval_s: int = 5) -> dict[str, Any]:
    """For benchmarks.run: the run's figures without the sample series."""
    result = asdict(measure(leads, minutes, interval_s))
    result.pop("samples")
    return result


def describe(f: RssFigures) -> str:
    """The run in a few lines."""
    verdict = "met" if f.peak_mb < TARGET_MB else "missed"
    steady = "met" if f.steady_max_mb < TARGET_MB else "missed"
    return (
        f"{f.leads:,} leads, {f.minutes:g} min after the first cycle, one every {f.interval_s} s: "
        f"{f.cycles} cycles ({f.restarts} restarts), {f.changes:,} changes by people; "
        f"first cycle done after "
        f"{f.first_cycle_s:.0f} s\n"
        f"  peak RSS {f.peak_mb:.0f} MB ({verdict} < {TARGET_MB} MB); steady state median "
        f"{f.steady_median_mb:.0f} MB, max {f.steady_max_mb:.0f} MB ({steady}), "
        f"drift {f.drift_mb:+.1f} MB (last quarter - first quarter of samples)"
    )


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=10_000)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--interval", type=int, default=5, help="SFSYNC_INTERVAL_SECONDS")
    parser.add_argument("--sample", type=float, default=2.0, help="seconds between samples")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--series", action="store_true", help="print every sample too")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the daemon")
    return parser.parse_args()


if __name__ == "__main__":
    args = _arguments()
    extra = dict(item.split("=", 1) for item in args.env)
    result = measure(args.leads, args.minutes, args.interval, args.sample, args.latency_ms, extra)
    print(describe(result))
    if args.series:
        for seconds, mb in result.samples:
            print(f"{seconds:8.1f} s {mb:8.1f} MB")
