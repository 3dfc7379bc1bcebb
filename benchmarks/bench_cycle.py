"""A real sync cycle against the emulator: API calls against the floor, and wall time.

Run: .venv/bin/python -m benchmarks.bench_cycle [LEADS ...] [--latency-ms N]
For each org size: the first cycle (every open lead scored), the next one
(it re-reads its own echoes once, in case an edit hid behind a write), an idle cycle,
and the naive alternative a user might write instead (simple-salesforce
`query_all`, then `Lead.update` once per lead) on the same org. The floor is
ceil(pulled / 2000) query pages + ceil(written / 200) Collections writes.
Nothing is asserted: benchmarks measure.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass

from simple_salesforce.api import Salesforce

from sfsync.config import load_settings
from sfsync.connectors.salesforce import SalesforceClient
from sfsync.emulator.faults import FaultPlan
from sfsync.emulator.seed import build_org
from sfsync.emulator.server import Emulator
from sfsync.jobs.sync import SyncJob
from sfsync.mappings import load_rules
from sfsync.store import Store

NAIVE_MAX_LEADS = 2_000  # one call per lead: beyond this it only takes longer to say the same


@dataclass
class Figures:
    """What one measured cycle cost."""

    seconds: float
    calls: int
    floor: int
    written: int


def _cycle(emu: Emulator, db: str) -> tuple[Figures, Figures, Figures]:
    settings = load_settings(
        sf_login_url=emu.login_url,
        sf_client_id=emu.credentials.client_id,
        sf_client_secret=emu.credentials.client_secret,
        sfsync_database_url=db,
    )
    store, client = Store(db), SalesforceClient(settings)
    job = SyncJob(client, store, load_rules(settings.sfsync_mappings), settings)
    try:
        # The cycle after a write re-reads its echoes once; the one after that is idle.
        return _measure(emu, job), _measure(emu, job), _measure(emu, job)
    finally:
        client.close()
        store.close()


def _measure(emu: Emulator, job: SyncJob) -> Figures:
    before = len(emu.calls.entries())
    began = time.perf_counter()
    report = job.run_once()
    seconds = time.perf_counter() - began
    calls = sum(1 for c in emu.calls.entries()[before:] if c.counted)
    floor = math.ceil(report.pulled / 2000) + math.ceil(report.written / 200)
    return Figures(seconds, calls, floor, report.written)


def _naive(emu: Emulator, leads: int) -> Figures:
    before = len(emu.calls.entries())
    began = time.perf_counter()
    sf = Salesforce(instance_url=emu.instance_url, session_id=emu.credentials.access_token)
    records = sf.query_all("SELECT Id, Title FROM Lead WHERE IsConverted = false")["records"]
    for record in records[:leads]:
        sf.Lead.update(record["Id"], {"Lead_Score__c": 1}, headers={"Sforce-Auto-Assign": "FALSE"})
    seconds = time.perf_counter() - began
    calls = sum(1 for c in emu.calls.entries()[before:] if c.counted)
    return Figures(seconds, calls, 0, min(leads, len(records)))


def main(sizes: tuple[int, ...] = (1_000, 10_000), latency_ms: int = 0) -> None:
    """Print one block per org size."""
    print(f"latency per call: {latency_ms} ms")
    for leads in sizes:
        seeded = build_org(leads=leads, seed=3)
        with Emulator(seeded.org, faults=FaultPlan(latency_ms=latency_ms)) as emu:
            os.environ["REQUESTS_CA_BUNDLE"] = str(emu.ca_file)
            with tempfile.TemporaryDirectory() as tmp:
                first, echoes, idle = _cycle(emu, f"sqlite:///{tmp}/bench.db")
            naive = _naive(emu, min(leads, NAIVE_MAX_LEADS))
        print(
            f"{leads:>7,} leads | first cycle: {first.written:,} written, {first.calls} calls "
            f"(floor {first.floor}, ratio {first.calls / max(first.floor, 1):.2f}), "
            f"{first.seconds:.1f} s | echo re-read: {echoes.calls} calls, {echoes.seconds:.1f} s | "
            f"idle cycle: {idle.calls} calls, {idle.seconds:.2f} s | "
            f"naive: {naive.calls} calls for {naive.written:,} leads, {naive.seconds:.1f} s"
        )


if __name__ == "__main__":
    args = sys.argv[1:]
    latency = 0
    if "--latency-ms" in args:
        at = args.index("--latency-ms")
        latency = int(args[at + 1])
        del args[at : at + 2]
    main(tuple(int(a) for a in args) or (1_000, 10_000), latency)
