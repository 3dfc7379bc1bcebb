"""`sfsync demo`: the whole loop on a seeded emulator, no credentials needed.

It starts the org emulator over HTTPS, runs a real sync cycle against it,
lets simulated people create and edit leads, runs a second cycle, and shows
what changed in the org each time and what it cost in API calls.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sfsync.config import load_settings
from sfsync.connectors.salesforce import SalesforceClient
from sfsync.emulator.activity import Activity
from sfsync.emulator.org import Org
from sfsync.emulator.seed import build_org
from sfsync.emulator.server import Emulator
from sfsync.jobs.sync import CycleReport, SyncJob
from sfsync.mappings import load_rules
from sfsync.store import Store

SHOWN_CHANGES = 12
Snapshot = dict[str, dict[str, Any]]


def run_demo(console: Console, *, leads: int, seed: int, mappings: Path) -> None:
    """Seed, serve, sync, simulate people, sync again, and show the org's changes."""
    rules = load_rules(mappings)
    managed = list(rules.fields.write)
    console.print(f"[bold]Seeding an org with {leads} leads (seed {seed})…[/]")
    seeded = build_org(leads=leads, seed=seed)
    with Emulator(seeded.org) as emu, _workdir() as tmp, _trusting(emu.ca_file):
        console.print(f"Emulator at {emu.instance_url} (CA {emu.ca_file})", highlight=False)
        settings = load_settings(
            sf_login_url=emu.login_url,
            sf_instance_url=emu.instance_url,
            sf_client_id=emu.credentials.client_id,
            sf_client_secret=emu.credentials.client_secret,
            sfsync_database_url=f"sqlite:///{tmp}/demo.db",
            sfsync_mappings=mappings,
        )
        store, client = (
            Store(settings.sfsync_database_url.get_secret_value()),
            SalesforceClient(settings),
        )
        try:
            job = SyncJob(client, store, rules, settings)
            _cycle(console, "Cycle 1: first pull of the whole org", job, seeded.org, managed)
            events = Activity(seeded, seed=seed).step(new_leads=5, edits=8)
            console.print(f"\n[bold]People at work:[/] {_describe_events(events)}")
            _cycle(console, "Cycle 2: only what people changed", job, seeded.org, managed)
            _cycle(
                console,
                "Cycle 3: nothing changed (echoes of our own writes are skipped)",
                job,
                seeded.org,
                managed,
            )
        finally:
            client.close()
            store.close()


def _cycle(console: Console, title: str, job: SyncJob, org: Org, managed: list[str]) -> CycleReport:
    before = _snapshot(org, managed)
    history_before = len(org.history)
    report = job.run_once()
    after = _snapshot(org, managed)
    converted = [e for e in org.history[history_before:] if e.operation == "convert"]
    console.print(f"\n[bold]{title}[/]")
    console.print(
        f"pulled {report.pulled} · decided {report.decided} · written {report.written} · "
        f"rejected {report.rejected} · converted {len(converted)} · API calls {report.api_calls}",
        highlight=False,
    )
    for event in converted[:3]:
        lead = org.tables["Lead"][event.record_id]
        console.print(
            f"converted {event.record_id} ({lead['Company']}) → account "
            f"{lead['ConvertedAccountId']}, contact {lead['ConvertedContactId']}, "
            f"opportunity {lead['ConvertedOpportunityId'] or '—'}",
            highlight=False,
        )
    changed = [
        (i, f, before.get(i, {}).get(f), after[i][f])
        for i in after
        for f in managed
        if before.get(i, {}).get(f) != after[i][f]
    ]
    if changed:
        console.print(_changes_table(changed))
    ratings = Counter(str(v.get("Rating") or "none") for v in after.values())
    console.print(f"ratings of open leads in the org now: {dict(ratings)}", highlight=False)
    return report


def _snapshot(org: Org, fields: list[str]) -> Snapshot:
    with org.lock:
        return {
            lead_id: {f: record.get(f) for f in fields}
            for lead_id, record in org.tables["Lead"].items()
            if not record.get("IsDeleted") and not record.get("IsConverted")
        }


def _changes_table(changed: list[tuple[str, str, Any, Any]]) -> Table:
    table = Table(title=f"What changed in the org ({len(changed)} field values)")
    for column in ("Lead", "Field", "Before", "After"):
        table.add_column(column)
    for lead_id, field, old, new in changed[:SHOWN_CHANGES]:
        table.add_row(lead_id, field, _show(old), _show(new))
    return table


def _show(value: Any, width: int = 40) -> str:
    text = "∅" if value in (None, "") else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _describe_events(events: list[Any]) -> str:
    kinds = Counter(e.kind for e in events)
    return ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))


@contextmanager
def _workdir() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="sfsync-demo-") as tmp:
        yield tmp


@contextmanager
def _trusting(ca_file: Path) -> Iterator[None]:
    # requests lets REQUESTS_CA_BUNDLE override session.verify: point it at the emulator's CA.
    previous = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = str(ca_file)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = previous
