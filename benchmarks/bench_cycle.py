"""A real sync cycle against the emulator: API calls against the floor, and wall time.

Run: .venv/bin/python -m benchmarks.bench_cycle [LEADS ...] [--latency-ms N]
     [--concurrency N] [--naive-max N] [--phases] [--org-process] [--json PATH]
For each org size: the first cycle (every open lead scored), the next one
(it re-reads its own echoes once, in case an edit hid behind a write), an idle cycle,
and the naive alternative a user might write instead (simple-salesforce
`query_all`, then `Lead.update` once per lead) on the same org. The floor is
issue 11's: ceil(pulled / 2000) query pages + ceil(written / 200) Collections
writes + ceil(converted / 100) convertLead calls + a constant of 1 (the
once-per-process start-up read; conversions are counted from the org's journal,
so with `--org-process` the floor leaves them out).
`--concurrency` sets SFSYNC_WRITE_CONCURRENCY (1 = one write at a time);
`--phases` says where the first cycle's time went (see phases.py).
The emulator runs in the worker's process (sharing its interpreter), or with
`--org-process` in a process of its own, as a real org works elsewhere; either
way on the same machine. Nothing is asserted: benchmarks measure.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import resource
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import structlog
from simple_salesforce.api import Salesforce

from benchmarks.emulator_process import EmulatorProcess
from benchmarks.phases import timed_phases
from sfsync.config import DEFAULT_WRITE_CONCURRENCY, load_settings
from sfsync.connectors.salesforce import SalesforceClient
from sfsync.emulator.faults import FaultPlan
from sfsync.emulator.seed import build_org
from sfsync.emulator.server import Emulator
from sfsync.jobs.sync import SyncJob
from sfsync.mappings import load_rules
from sfsync.store import Store

NAIVE_MAX_LEADS = 2_000  # one call per lead: beyond this it only takes longer to say the same
Org = Emulator | EmulatorProcess
SEED = 3


@dataclass
class Figures:
    """What one measured cycle cost."""

    seconds: float
    calls: int
    floor: int
    written: int
    pulled: int = 0


@dataclass
class SizeFigures:
    """Everything measured on one org size."""

    leads: int
    latency_ms: int
    concurrency: int
    org_process: bool
    first: Figures
    echoes: Figures
    idle: Figures
    naive: Figures | None
    peak_rss_mb: int
    phases: dict[str, float] = field(default_factory=dict)


def _cycle(
    emu: Org, db: str, concurrency: int, phases: bool
) -> tuple[Figures, Figures, Figures, dict[str, float]]:
    settings = load_settings(
        sf_login_url=emu.login_url,
        sf_client_id=emu.credentials.client_id,
        sf_client_secret=emu.credentials.client_secret,
        sfsync_database_url=db,
        sfsync_write_concurrency=concurrency,
    )
    store, client = Store(db), SalesforceClient(settings)
    job = SyncJob(client, store, load_rules(settings.sfsync_mappings), settings)
    try:
        with timed_phases() as timers:
            first = _measure(emu, job)
        spent = dict(timers.seconds) if phases else {}
        # The cycle after a write re-reads its echoes once; the one after that is idle.
        return first, _measure(emu, job), _measure(emu, job), spent
    finally:
        client.close()
        store.close()


def _counted(emu: Org) -> int:
    if isinstance(emu, EmulatorProcess):
        return emu.counted_calls()
    return sum(1 for c in emu.calls.entries() if c.counted)


# Issue 11's floor: a constant for what every cycle of a process reads once (the start-up read).
FLOOR_CONSTANT = 1


def _measure(emu: Org, job: SyncJob) -> Figures:
    before, converted_before = _counted(emu), _converted(emu)
    began = time.perf_counter()
    report = job.run_once()
    seconds = time.perf_counter() - began
    calls = _counted(emu) - before
    converted = _converted(emu) - converted_before
    floor = (
        math.ceil(report.pulled / 2000)
        + math.ceil(report.written / 200)
        + math.ceil(converted / 100)
        + FLOOR_CONSTANT
    )
    return Figures(seconds, calls, floor, report.written, report.pulled)


def _converted(emu: Org) -> int:
    """Leads converted so far (the org's journal; unknown, 0, for an org in its own process)."""
    if isinstance(emu, EmulatorProcess):
        return 0
    return sum(1 for e in emu.org.history if e.operation == "convert")


def _naive(emu: Org, leads: int) -> Figures:
    before = _counted(emu)
    began = time.perf_counter()
    sf = Salesforce(instance_url=emu.instance_url, session_id=emu.credentials.access_token)
    records = sf.query_all("SELECT Id, Title FROM Lead WHERE IsConverted = false")["records"]
    for record in records[:leads]:
        sf.Lead.update(record["Id"], {"Lead_Score__c": 1}, headers={"Sforce-Auto-Assign": "FALSE"})
    seconds = time.perf_counter() - began
    calls = _counted(emu) - before
    return Figures(seconds, calls, 0, min(leads, len(records)), len(records))


def measure_size(
    leads: int,
    latency_ms: int = 0,
    concurrency: int = DEFAULT_WRITE_CONCURRENCY,
    naive_max: int = NAIVE_MAX_LEADS,
    phases: bool = False,
    org_process: bool = False,
) -> SizeFigures:
    """First, echo and idle cycles on a fresh org of `leads`, then the naive script."""
    with _org(leads, latency_ms, org_process) as emu:
        os.environ["REQUESTS_CA_BUNDLE"] = str(emu.ca_file)
        with tempfile.TemporaryDirectory() as tmp:
            first, echoes, idle, spent = _cycle(
                emu, f"sqlite:///{tmp}/bench.db", concurrency, phases
            )
        naive = _naive(emu, min(leads, naive_max)) if naive_max > 0 else None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return SizeFigures(
        leads, latency_ms, concurrency, org_process, first, echoes, idle, naive, peak, spent
    )


def _org(leads: int, latency_ms: int, own_process: bool) -> Emulator | EmulatorProcess:
    if own_process:
        return EmulatorProcess(leads, SEED, latency_ms)
    return Emulator(build_org(leads=leads, seed=SEED).org, faults=FaultPlan(latency_ms=latency_ms))


def describe(f: SizeFigures) -> str:
    """One block of text for one org size."""
    first, naive = f.first, f.naive
    where = "org in its own process" if f.org_process else "org in this process"
    text = (
        f"{f.leads:>7,} leads, {f.latency_ms} ms a call, {f.concurrency} write(s) in flight, "
        f"{where} | "
        f"first cycle: {first.written:,} written, {first.calls} calls "
        f"(floor {first.floor}, ratio {first.calls / max(first.floor, 1):.2f}), "
        f"{first.seconds:.1f} s | echo re-read: {f.echoes.calls} calls, {f.echoes.seconds:.1f} s | "
        f"idle cycle: {f.idle.calls} calls, {f.idle.seconds:.2f} s"
    )
    if naive is not None:
        text += f" | naive: {naive.calls} calls for {naive.written:,} leads, {naive.seconds:.1f} s"
    for label, seconds in sorted(f.phases.items(), key=lambda item: -item[1]):
        text += f"\n    {label:<40} {seconds:6.2f} s"
    return text


def main(
    sizes: tuple[int, ...] = (1_000, 10_000),
    latency_ms: int = 0,
    concurrency: int = DEFAULT_WRITE_CONCURRENCY,
    naive_max: int = NAIVE_MAX_LEADS,
    phases: bool = False,
    json_path: Path | None = None,
    org_process: bool = False,
) -> list[SizeFigures]:
    """Print one block per org size (and write them as JSON when asked)."""
    print(f"latency per call: {latency_ms} ms, writes in flight: {concurrency}")
    results = []
    for leads in sizes:
        figures = measure_size(leads, latency_ms, concurrency, naive_max, phases, org_process)
        print(describe(figures), flush=True)
        results.append(figures)
    if json_path is not None:
        json_path.write_text(json.dumps([asdict(r) for r in results], indent=1))
    return results


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000, 10_000])
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_WRITE_CONCURRENCY)
    parser.add_argument("--naive-max", type=int, default=NAIVE_MAX_LEADS, help="0: skip it")
    parser.add_argument("--phases", action="store_true", help="where the first cycle's time went")
    parser.add_argument("--org-process", action="store_true", help="emulator in its own process")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--verbose", action="store_true", help="the worker's info log lines too")
    return parser.parse_args()


if __name__ == "__main__":
    args = _arguments()
    if not args.verbose:
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    sizes = tuple(args.sizes)
    main(
        sizes,
        args.latency_ms,
        args.concurrency,
        args.naive_max,
        args.phases,
        args.json,
        args.org_process,
    )
