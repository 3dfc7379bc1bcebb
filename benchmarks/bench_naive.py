"""sfsync's cycle against what a user would write instead: same leads, same field changes.

Run: .venv/bin/python -m benchmarks.bench_naive [LEADS ...] [--latency-ms 100] [--sample N]

For each org size, three orgs built from one seed (same leads, same ids), one
after the other, each served over HTTPS with the same injected latency:

1. sfsync's first cycle (the real worker, SQLite store). The Lead updates it
   made, as the org's journal holds them, are the plan the others apply.
2. Per lead (simple-salesforce): `query_all` of the open leads, then
   `sf.Lead.update(id, patch)` once per planned lead, with
   `Sforce-Auto-Assign: FALSE` as sfsync sends. One call a lead: at 100 ms a
   call 10,000 leads take a quarter of an hour, so only `--sample` leads are
   written and the rest is extrapolated (calls and seconds grow by one call
   a lead; the figures say which are measured).
3. Bulk API 2.0 (simple-salesforce): the same `query_all`, then
   `sf.bulk2.Lead.update(records=...)` (one job: create, upload, close,
   status reads, a last status read) and `get_failed_records`, as a careful
   script checks. Nulls go as `#N/A` (an empty value would leave the field).
   The library sleeps `wait` seconds (its default, 5) before each status read
   of a job; the emulator finishes a job at its second read, where a real org
   takes its own time to process the rows, so wall time here is a floor.

Each alternative's end state is checked: the planned fields of the leads it
wrote must hold the planned values. Conversions (SOAP `convertLead`, which
simple-salesforce cannot send) are left out of the plan and counted apart.
Nothing is asserted: benchmarks measure.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, cast

import requests
import simple_salesforce.bulk2 as sf_bulk2
import structlog
from simple_salesforce.api import Salesforce, SFType
from simple_salesforce.bulk2 import SFBulk2Handler, SFBulk2Type

from sfsync.config import load_settings
from sfsync.connectors.salesforce import SalesforceClient
from sfsync.emulator.bulk_csv import csv_datetime
from sfsync.emulator.faults import FaultPlan
from sfsync.emulator.org import Org
from sfsync.emulator.rows import json_value
from sfsync.emulator.seed import build_org
from sfsync.emulator.server import Emulator
from sfsync.jobs.sync import SyncJob
from sfsync.mappings import load_rules
from sfsync.store import Store

SEED = 3
API_VERSION = "62.0"
DEFAULT_SAMPLE = 1_000
NO_ASSIGN = {"Sforce-Auto-Assign": "FALSE"}
Plan = dict[str, dict[str, Any]]  # lead id -> field -> value sfsync wrote


@dataclass
class Alternative:
    """What one way of writing the plan cost; `extrapolated` when only a sample was written."""

    calls: int
    seconds: float
    leads: int
    measured_calls: int
    measured_seconds: float
    measured_leads: int
    failed: int
    mismatched: int
    waited_seconds: float = 0.0

    @property
    def extrapolated(self) -> bool:
        return self.measured_leads < self.leads


@dataclass
class Comparison:
    """sfsync's first cycle and the two alternatives on one org size."""

    leads: int
    latency_ms: int
    sfsync_calls: int
    sfsync_seconds: float
    written: int
    planned_leads: int
    planned_fields: int
    conversions: int
    per_lead: Alternative
    bulk2: Alternative


def _serve(leads: int, latency_ms: int) -> Emulator:
    org = build_org(leads=leads, seed=SEED).org
    return Emulator(org, faults=FaultPlan(latency_ms=latency_ms))


def _counted(emu: Emulator) -> int:
    return sum(1 for c in emu.calls.entries() if c.counted)


def _sfsync_cycle(emu: Emulator) -> tuple[int, float, int]:
    """Calls, seconds and records written by sfsync's first cycle on a fresh store."""
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/bench.db"
        settings = load_settings(
            sf_login_url=emu.login_url,
            sf_client_id=emu.credentials.client_id,
            sf_client_secret=emu.credentials.client_secret,
            sfsync_database_url=db,
        )
        store, client = Store(db), SalesforceClient(settings)
        try:
            job = SyncJob(client, store, load_rules(settings.sfsync_mappings), settings)
            before, began = _counted(emu), time.perf_counter()
            report = job.run_once()
            return _counted(emu) - before, time.perf_counter() - began, report.written
        finally:
            client.close()
            store.close()


def lead_plan(org: Org, user_id: str) -> tuple[Plan, int]:
    """The Lead updates `user_id` made, merged per lead in order; and its conversions."""
    plan: Plan = {}
    conversions = 0
    for event in org.writes_by(user_id):
        if event.operation == "convert":
            conversions += 1
        elif event.operation == "update":
            plan.setdefault(event.record_id, {}).update(event.changes)
    return plan, conversions


def mismatches(org: Org, plan: Plan) -> int:
    """Leads of `plan` whose planned fields do not hold the planned values in `org`."""
    with org.lock:
        table = org.tables["Lead"]
        return sum(
            1
            for lead_id, patch in plan.items()
            if any(table[lead_id].get(name) != value for name, value in patch.items())
        )


def _client(emu: Emulator, session: requests.Session) -> Salesforce:
    return Salesforce(
        instance_url=emu.instance_url,
        session_id=emu.credentials.access_token,
        session=session,
        version=API_VERSION,
    )


def _read_open_leads(sf: Salesforce, fields: list[str]) -> int:
    """What either script reads first: every open lead, through `query_all`'s pages."""
    soql = f"SELECT Id, {', '.join(fields)} FROM Lead WHERE IsConverted = false"
    return len(sf.query_all(soql)["records"])


def per_lead(emu: Emulator, plan: Plan, sample: int) -> Alternative:
    """`sf.Lead.update` once per planned lead (the first `sample` of them), then extrapolate."""
    fields = sorted({name for patch in plan.values() for name in patch})
    chosen = dict(list(plan.items())[:sample])
    failed = 0
    with requests.Session() as session:
        before, began = _counted(emu), time.perf_counter()
        sf = _client(emu, session)
        _read_open_leads(sf, fields)
        read_calls = _counted(emu) - before
        leads = cast(SFType, sf.Lead)
        for lead_id, patch in chosen.items():
            body = {name: json_value(value) for name, value in patch.items()}
            try:
                leads.update(lead_id, body, headers=NO_ASSIGN)
            except Exception:  # a refused lead: the script goes on, as a loop with try would
                failed += 1
        seconds = time.perf_counter() - began
    calls = _counted(emu) - before
    per_call = seconds / max(calls, 1)
    total_calls = read_calls + len(plan)
    return Alternative(
        calls=total_calls,
        seconds=seconds + per_call * (total_calls - calls),
        leads=len(plan),
        measured_calls=calls,
        measured_seconds=seconds,
        measured_leads=len(chosen),
        failed=failed,
        mismatched=mismatches(emu.org, chosen),
    )


def csv_value(value: Any) -> str:
    """A planned value as Bulk 2.0 CSV wants it: null is `#N/A` (empty would mean no change)."""
    if value is None:
        return "#N/A"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return csv_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def bulk_rows(plan: Plan) -> list[dict[str, str]]:
    """One CSV row a lead, a column per planned field; a field the lead keeps stays empty."""
    fields = sorted({name for patch in plan.values() for name in patch})
    return [
        {
            "Id": lead_id,
            **{name: csv_value(patch[name]) if name in patch else "" for name in fields},
        }
        for lead_id, patch in plan.items()
    ]


def bulk2(emu: Emulator, plan: Plan, wait: float) -> Alternative:
    """`sf.bulk2.Lead.update` of the whole plan in one job, then its failed records."""
    fields = sorted({name for patch in plan.values() for name in patch})
    with requests.Session() as session, _counting_sleeps() as slept:
        before, began = _counted(emu), time.perf_counter()
        sf = _client(emu, session)
        _read_open_leads(sf, fields)
        leads: SFBulk2Type = cast(SFBulk2Handler, sf.bulk2).Lead
        jobs = leads.update(records=bulk_rows(plan), wait=wait)  # type: ignore[arg-type]
        failed_rows = 0
        for job in jobs:
            text = leads.get_failed_records(str(job["job_id"]))
            failed_rows += max(len(text.strip().splitlines()) - 1, 0)
        seconds = time.perf_counter() - began
    calls = _counted(emu) - before
    return Alternative(
        calls=calls,
        seconds=seconds,
        leads=len(plan),
        measured_calls=calls,
        measured_seconds=seconds,
        measured_leads=len(plan),
        failed=failed_rows,
        mismatched=mismatches(emu.org, plan),
        waited_seconds=sum(slept),
    )


@contextmanager
def _counting_sleeps() -> Iterator[list[float]]:
    """How long simple-salesforce's Bulk 2.0 client slept between status reads (it still sleeps)."""
    slept: list[float] = []
    real: Callable[[float], None] = getattr(sf_bulk2, "sleep")  # noqa: B009

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        real(seconds)

    setattr(sf_bulk2, "sleep", sleep)  # noqa: B010
    try:
        yield slept
    finally:
        setattr(sf_bulk2, "sleep", real)  # noqa: B010


def compare(
    leads: int, latency_ms: int = 100, sample: int = DEFAULT_SAMPLE, bulk_wait: float = 5
) -> Comparison:
    """sfsync's first cycle, then the per-lead script and the Bulk 2.0 script, on fresh orgs."""
    with _serve(leads, latency_ms) as emu, _trusting(emu):
        calls, seconds, written = _sfsync_cycle(emu)
        plan, conversions = lead_plan(emu.org, emu.run_as_user_id)
    with _serve(leads, latency_ms) as emu, _trusting(emu):
        naive = per_lead(emu, plan, sample)
    with _serve(leads, latency_ms) as emu, _trusting(emu):
        bulk = bulk2(emu, plan, bulk_wait)
    fields = sum(len(patch) for patch in plan.values())
    return Comparison(
        leads, latency_ms, calls, seconds, written, len(plan), fields, conversions, naive, bulk
    )


def figures(leads: int, latency_ms: int = 100, sample: int = DEFAULT_SAMPLE) -> dict[str, Any]:
    """For benchmarks.run: the comparison as plain data."""
    return asdict(compare(leads, latency_ms, sample))


@contextmanager
def _trusting(emu: Emulator) -> Iterator[None]:
    previous = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = str(emu.ca_file)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = previous


def describe(c: Comparison) -> str:
    """One block of text for one org size."""
    lines = [
        f"{c.leads:,} leads at {c.latency_ms} ms a call: sfsync wrote {c.written:,} records "
        f"({c.planned_leads:,} lead updates, {c.planned_fields:,} field values; "
        f"{c.conversions} conversions left out of the plan) in {c.sfsync_calls} calls, "
        f"{c.sfsync_seconds:.1f} s"
    ]
    for name, alt in (("per-lead Lead.update", c.per_lead), ("Bulk 2.0 update", c.bulk2)):
        ratio_calls = alt.calls / max(c.sfsync_calls, 1)
        ratio_time = alt.seconds / max(c.sfsync_seconds, 1e-9)
        how = (
            f" (measured {alt.measured_calls} calls, {alt.measured_seconds:.1f} s "
            f"for {alt.measured_leads:,} leads; the rest extrapolated)"
            if alt.extrapolated
            else ""
        )
        waited = (
            f", of which {alt.waited_seconds:.1f} s the library's sleeps"
            if alt.waited_seconds
            else ""
        )
        lines.append(
            f"  {name:<22} {alt.calls:>6,} calls ({ratio_calls:.1f}x), {alt.seconds:7.1f} s "
            f"({ratio_time:.1f}x){waited}{how}; failed {alt.failed}, mismatched {alt.mismatched}"
        )
    return "\n".join(lines)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000, 10_000])
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument(
        "--sample", type=int, default=DEFAULT_SAMPLE, help="leads written one by one"
    )
    parser.add_argument("--bulk-wait", type=float, default=5, help="simple-salesforce's wait")
    return parser.parse_args()


def main() -> None:
    """Print one block per org size."""
    args = _arguments()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    for leads in args.sizes:
        result = compare(leads, args.latency_ms, args.sample, args.bulk_wait)
        print(describe(result), flush=True)


if __name__ == "__main__":
    main()
