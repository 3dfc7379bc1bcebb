"""`sfsync import` of a broker spreadsheet into the emulator: rows/s, API calls, where time goes.

Run: .venv/bin/python -m benchmarks.bench_capture [--rows 10000] [--store URL] [--org-process]
         [--creates auto|collections|bulk]

A seeded org (300 leads, seed 11) with the shipped mappings plus a routing
team of three reps; its mirror filled by a backfill and one cycle run first.
The file is the integration test's broker list (tests/integration/
capture_files.py): new people, copies of earlier rows, copies of the org's
leads and contacts, broken rows, `;`-separated UTF-8 with a BOM. Measured:
the import (wall time, rows/s, API calls, time per phase as the progress
callback sees it), the same file imported again, and the sync cycle after
(which reads the captured leads as sfsync's own and sends their SLA Tasks).
With `--org-process` the emulator runs in a process of its own, so its work
does not share the worker's interpreter. `--creates` forces the new leads
through sObject Collections or Bulk API 2.0 insert jobs (`auto`: the
configured threshold decides). Worker CPU is this process's (with
`--org-process`, the org's work is not in it); the load average is the
machine's, read before and after. Nothing is asserted; figures go to
docs/CAPTURE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.emulator_process import EmulatorProcess
from sfsync.config import DEFAULT_MAPPINGS, load_settings
from sfsync.connectors.salesforce import SalesforceClient
from sfsync.emulator.seed import build_org
from sfsync.emulator.server import Emulator
from sfsync.jobs.backfill import backfill
from sfsync.jobs.capture_import import ImportOptions, read_import, run_import
from sfsync.jobs.capture_types import CaptureSetup
from sfsync.jobs.match_setup import load_matcher
from sfsync.jobs.sync import SyncJob
from sfsync.mappings import load_rules
from sfsync.store import Store
from tests.integration.capture_files import broker_file

SEED, LEADS = 11, 300
# SFSYNC_IMPORT_BULK_THRESHOLD per --creates: 1 sends every batch to Bulk, 10^9 none.
THRESHOLDS = {"collections": 10**9, "bulk": 1}
TEAM = """
owner_field: OwnerId
intake: [Lead Intake]
default: {{queue: Lead Intake}}
rules: [{{name: Inbound, assign: {{team: reps}}}}]
teams:
  reps:
    strategy: weighted_round_robin
    members: [{{user: {0}, weight: 2}}, {{user: {1}, weight: 1}}, {{user: {2}, weight: 1}}]
sla: {{subject: "Call {{LastName}}", due_in: 2h}}
"""


class Phases:
    """When each capture phase first and last reported progress."""

    def __init__(self) -> None:
        self.start: dict[str, float] = {}
        self.end: dict[str, float] = {}

    def __call__(self, phase: str, _done: int, _total: int) -> None:
        now = time.monotonic()
        self.start.setdefault(phase, now)
        self.end[phase] = now

    def seconds(self, began: float, ended: float) -> dict[str, float]:
        """Matching, the org's duplicates, deciding and routing (planning), creating."""
        marks = {"matching": self.start.get("matching", began)}
        spans = {"read and clean": marks["matching"] - began}
        spans["matching"] = self.end.get("matching", marks["matching"]) - marks["matching"]
        after_match = self.end.get("matching", began)
        if "updating" in self.start:
            spans["org duplicates"] = self.end["updating"] - self.start["updating"]
            after_match = self.end["updating"]
        creating = self.start.get("creating", ended)
        spans["decide, route, plan"] = creating - after_match
        spans["create and record"] = ended - creating
        return {k: round(v, 2) for k, v in spans.items()}


@contextmanager
def org(own_process: bool) -> Iterator[Any]:
    if own_process:
        with EmulatorProcess(LEADS, SEED, 0) as emu:
            yield emu
    else:
        with Emulator(build_org(leads=LEADS, seed=SEED).org) as emu:
            yield emu


def measure(
    rows: int, store_url: str | None, own_process: bool, creates: str = "auto"
) -> dict[str, Any]:
    local = build_org(leads=LEADS, seed=SEED)  # the same org the emulator serves
    with org(own_process) as emu, tempfile.TemporaryDirectory() as tmp:
        os.environ["REQUESTS_CA_BUNDLE"] = str(emu.ca_file)
        mappings = Path(tmp) / "mappings"
        shutil.copytree(DEFAULT_MAPPINGS, mappings)
        (mappings / "routing.yaml").write_text(TEAM.format(*local.human_user_ids[:3]))
        path = Path(tmp) / "broker.csv"
        truth = broker_file(path, local.org, rows=rows, in_file=rows * 15 // 1000,
                            in_org=120, broken=rows // 100)  # fmt: skip
        url = store_url or f"sqlite:///{tmp}/bench.db"
        settings = load_settings(
            sf_login_url=emu.login_url, sf_client_id=emu.credentials.client_id,
            sf_client_secret=emu.credentials.client_secret, sfsync_database_url=url,
            sfsync_mappings=mappings,
            **({"sfsync_import_bulk_threshold": THRESHOLDS[creates]} if creates in THRESHOLDS
               else {}),
        )  # fmt: skip
        return _run(settings, path, mappings, len(truth.new))


def _run(settings: Any, path: Path, mappings: Path, new: int) -> dict[str, Any]:
    store = Store(settings.sfsync_database_url.get_secret_value())
    client = SalesforceClient(settings)
    job = SyncJob(client, store, load_rules(mappings), settings)
    try:
        backfill(client, store, load_matcher(mappings))
        job.run_once()
        calls = client.meter.calls
        load_before = os.getloadavg()[0]
        began, cpu = time.monotonic(), time.process_time()
        setup = CaptureSetup.load(client, job.rules, mappings)
        setup_calls = client.meter.calls - calls
        sheet, columns, _ = read_import(path, setup, ImportOptions())
        phases = Phases()
        report = run_import(client, store, setup, sheet, columns, ImportOptions(), phases)
        ended, cpu = time.monotonic(), time.process_time() - cpu
        load_after = os.getloadavg()[0]
        started = time.monotonic()
        again = run_import(client, store, setup, sheet, columns, ImportOptions(), Phases())
        again_seconds = time.monotonic() - started
        started = time.monotonic()
        cycle = job.run_once()
        cycle_seconds = time.monotonic() - started
    finally:
        client.close()
        store.close()
    return {
        "rows": len(report.rows), "expected_new": new, "counts": report.counts,
        "seconds": round(ended - began, 2), "worker_cpu": round(cpu, 2),
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "rows_per_second": round(len(report.rows) / (ended - began)),
        "api_calls": report.api_calls + setup_calls, "setup_calls": setup_calls,
        "phases": phases.seconds(began, ended),
        "again": {"seconds": round(again_seconds, 2), "counts": again.counts,
                  "api_calls": again.api_calls},
        "next_cycle": {"seconds": round(cycle_seconds, 2), "pulled": cycle.pulled,
                       "written": cycle.written, "api_calls": cycle.api_calls},
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--store", default=None, help="state database URL (default: SQLite)")
    parser.add_argument("--org-process", action="store_true")
    parser.add_argument("--creates", choices=("auto", *THRESHOLDS), default="auto")
    args = parser.parse_args()
    figures = measure(args.rows, args.store, args.org_process, args.creates)
    print(json.dumps({"org_process": args.org_process, "creates": args.creates, **figures},
                     indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
