"""From a lead's creation in the org to its owner being written, with the daemon polling.

Run: .venv/bin/python -m benchmarks.bench_owner_latency [--leads 5000] [--window 300]
     [--arrivals 40] [--interval 15] [--latency-ms 100] [--quick]

A seeded org is served over HTTPS from this process; `sfsync run` runs in a
child process as deployed, a cycle every `--interval` seconds (issue 11: 15),
with the shipped mappings plus a routing.yaml that gives every lead waiting
in the "Lead Intake" queue to a team of three reps (weighted round robin,
a follow-up Task each), as tests/integration/test_routing_cycle.py does.

Once the daemon's first cycle (the whole org) is done, `--arrivals` leads
are created in the "Lead Intake" queue at random moments over `--window`
seconds, as a web form would (a person's write, no assignment rule). A
watcher thread reads the org every 50 ms; a lead's owner is written when its
OwnerId leaves the queue. Latency = that moment - the creation moment (both
on this process's monotonic clock); the org's own stamps (LastModifiedDate -
CreatedDate, whole seconds) are reported beside it as a check. Expected: a
lead waits for the next cycle (uniform over the interval, 7.5 s on average
at 15 s), plus that cycle's pull-decide-write time.
`--quick` (for make bench-quick): 1,000 leads, 10 arrivals over 40 s.
Nothing is asserted: benchmarks measure.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from random import Random
from typing import Any

from benchmarks.daemon_process import MAPPINGS, Daemon, worker_env
from sfsync.emulator.activity_leads import NewLeadMaker
from sfsync.emulator.faults import FaultPlan
from sfsync.emulator.seed import SeededOrg, build_org
from sfsync.emulator.seed_setup import DEFAULT_STATUS
from sfsync.emulator.server import Emulator

SEED = 3
INTAKE = "Lead Intake"
WATCH_EVERY_S = 0.05
FIRST_CYCLE_TIMEOUT_S = 600
QUICK = {"leads": 1_000, "window_s": 40.0, "arrivals": 10}


def routing_yaml(reps: list[str]) -> str:
    """Every lead waiting in intake goes to a team of three, weighted 2:1:1, with a Task."""
    members = "\n".join(
        f"      - {{user: {rep}, weight: {w}}}" for rep, w in zip(reps, (2, 1, 1), strict=True)
    )
    return f"""
owner_field: OwnerId
intake: [{INTAKE}]
default: {{queue: {INTAKE}}}
rules:
  - name: Inbound
    assign: {{team: reps}}
teams:
  reps:
    strategy: weighted_round_robin
    members:
{members}
sla:
  subject: "Call {{LastName}} at {{Company}}"
  due_in: 2h
  priority: High
"""


@dataclass
class Arrival:
    """One lead created in intake, and when its owner was seen written."""

    lead_id: str
    created_at: float  # monotonic
    routed_at: float | None = None
    stamp_seconds: float | None = None  # LastModifiedDate - CreatedDate, from the org


@dataclass
class LatencyFigures:
    """Creation-to-owner latency over one run."""

    leads: int
    interval_s: int
    latency_ms: int
    window_s: float
    arrivals: int
    routed: int
    p50_s: float
    p95_s: float
    max_s: float
    min_s: float
    stamp_p50_s: float
    stamp_p95_s: float
    cycles: int


def percentile(values: list[float], share: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class Watcher:
    """Reads the org every 50 ms and notes when each arrival's owner leaves the queue."""

    def __init__(self, seeded: SeededOrg, queue_id: str) -> None:
        self.org, self.queue_id = seeded.org, queue_id
        self.arrivals: list[Arrival] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="owner-watcher", daemon=True)

    def add(self, arrival: Arrival) -> None:
        with self._lock:
            self.arrivals.append(arrival)

    def pending(self) -> int:
        with self._lock:
            return sum(1 for a in self.arrivals if a.routed_at is None)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(WATCH_EVERY_S):
            with self._lock:
                waiting = [a for a in self.arrivals if a.routed_at is None]
            self._check(waiting, time.monotonic())

    def _check(self, waiting: list[Arrival], now: float) -> None:
        with self.org.lock:
            table = self.org.tables["Lead"]
            for arrival in waiting:
                lead = table[arrival.lead_id]
                if lead["OwnerId"] != self.queue_id:
                    arrival.routed_at = now
                    stamp = lead["LastModifiedDate"] - lead["CreatedDate"]
                    arrival.stamp_seconds = stamp.total_seconds()


def _create_intake_lead(seeded: SeededOrg, maker: NewLeadMaker, creator: str) -> str:
    fields = maker.fields()
    fields.update(Status=DEFAULT_STATUS, OwnerId=seeded.queue_ids[INTAKE])
    result = seeded.org.create("Lead", fields, user_id=creator, auto_assign=False)
    if not result.success or result.id is None:
        raise RuntimeError(f"the org refused a new lead: {result.errors}")
    return result.id


def _arrive(seeded: SeededOrg, watcher: Watcher, window_s: float, count: int) -> None:
    """Create `count` intake leads at random moments over `window_s` seconds."""
    rng = Random(SEED)
    maker = NewLeadMaker(seeded.org, rng, SEED)
    creator = seeded.human_user_ids[-1]
    began = time.monotonic()
    for offset in sorted(rng.uniform(0, window_s) for _ in range(count)):
        time.sleep(max(0.0, began + offset - time.monotonic()))
        lead_id = _create_intake_lead(seeded, maker, creator)
        watcher.add(Arrival(lead_id, time.monotonic()))
    time.sleep(max(0.0, began + window_s - time.monotonic()))


def _mappings(seeded: SeededOrg, directory: Path) -> Path:
    shutil.copytree(MAPPINGS, directory)
    (directory / "routing.yaml").write_text(routing_yaml(seeded.human_user_ids[:3]))
    return directory


def measure(
    leads: int = 5_000,
    window_s: float = 300.0,
    arrivals: int = 40,
    interval_s: int = 15,
    latency_ms: int = 100,
) -> LatencyFigures:
    """Serve, start the daemon, let leads arrive, wait for their owners, stop."""
    seeded = build_org(leads=leads, seed=SEED)
    with (
        tempfile.TemporaryDirectory() as tmp,
        Emulator(seeded.org, faults=FaultPlan(latency_ms=latency_ms)) as emu,
    ):
        mappings = _mappings(seeded, Path(tmp) / "mappings")
        env = worker_env(emu, f"sqlite:///{tmp}/latency.db", mappings, interval_s)
        with Daemon(env, Path(tmp) / "daemon.log") as daemon:
            daemon.wait_for_cycles(1, FIRST_CYCLE_TIMEOUT_S)
            with Watcher(seeded, seeded.queue_ids[INTAKE]) as watcher:
                _arrive(seeded, watcher, window_s, arrivals)
                _settle(watcher, daemon, 3 * interval_s + 60)
            cycles = daemon.cycles()
    return _figures(leads, interval_s, latency_ms, window_s, watcher.arrivals, cycles)


def _settle(watcher: Watcher, daemon: Daemon, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while watcher.pending() and time.monotonic() < deadline and daemon.process.poll() is None:
        time.sleep(0.2)


def _figures(
    leads: int,
    interval_s: int,
    latency_ms: int,
    window_s: float,
    arrived: list[Arrival],
    cycles: int,
) -> LatencyFigures:
    waits = [a.routed_at - a.created_at for a in arrived if a.routed_at is not None]
    stamps = [a.stamp_seconds for a in arrived if a.stamp_seconds is not None]
    return LatencyFigures(
        leads, interval_s, latency_ms, window_s, len(arrived), len(waits),
        round(percentile(waits, 0.5), 2), round(percentile(waits, 0.95), 2),
        round(max(waits, default=0.0), 2), round(min(waits, default=0.0), 2),
        percentile(stamps, 0.5), percentile(stamps, 0.95), cycles,
    )  # fmt: skip


def figures(quick: bool = False, **overrides: Any) -> dict[str, Any]:
    """For benchmarks.run: the run's figures (the quick sizes with `quick`)."""
    return asdict(measure(**{**(QUICK if quick else {}), **overrides}))


def describe(f: LatencyFigures) -> str:
    """The run in two lines."""
    return (
        f"{f.leads:,}-lead org, a cycle every {f.interval_s} s, {f.latency_ms} ms a call: "
        f"{f.routed} of {f.arrivals} intake leads routed (arrivals over {f.window_s:g} s, "
        f"{f.cycles} cycles in all)\n"
        f"  creation -> owner written: p50 {f.p50_s:.1f} s, p95 {f.p95_s:.1f} s "
        f"(min {f.min_s:.1f}, max {f.max_s:.1f}); by the org's stamps p50 {f.stamp_p50_s:.0f} s, "
        f"p95 {f.stamp_p95_s:.0f} s"
    )


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=5_000)
    parser.add_argument("--window", type=float, default=300.0, help="seconds leads arrive over")
    parser.add_argument("--arrivals", type=int, default=40)
    parser.add_argument("--interval", type=int, default=15, help="SFSYNC_INTERVAL_SECONDS")
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="1,000 leads, 10 over 40 s")
    return parser.parse_args()


if __name__ == "__main__":
    args = _arguments()
    chosen = {"leads": args.leads, "window_s": args.window, "arrivals": args.arrivals}
    sizes = QUICK if args.quick else chosen
    print(describe(measure(**sizes, interval_s=args.interval, latency_ms=args.latency_ms)))
