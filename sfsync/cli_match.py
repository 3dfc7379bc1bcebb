"""`sfsync backfill`, `sfsync match LEAD_ID` and `sfsync duplicates report`.

`backfill` talks to the org; `match` and `duplicates report` read only the
state store's mirror, so they cost no API calls. `register(app)` adds them to
the main app.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sfsync.config import DEFAULT_MAPPINGS, database_url, load_settings
from sfsync.connectors.salesforce import SalesforceClient
from sfsync.console import err, exits_cleanly, out
from sfsync.errors import ConfigError
from sfsync.ids import InvalidId, to18
from sfsync.jobs.backfill import MIRROR_OBJECTS, BackfillResult, backfill
from sfsync.jobs.match import duplicate_report, find_matches, stored_lead
from sfsync.jobs.match_setup import load_matcher
from sfsync.rules.matching import Match
from sfsync.store import Store
from sfsync.store.mirror import counts

duplicates_app = typer.Typer(help="Duplicates among the mirrored leads, contacts and accounts.")
PAIRS_SHOWN = 20


class _Bar:
    """The backfill's progress as one Rich bar per object."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}

    def start(self, sobject: str, total: int) -> None:
        self.tasks[sobject] = self.progress.add_task(sobject, total=total)

    def advance(self, sobject: str, count: int) -> None:
        if sobject in self.tasks:
            self.progress.advance(self.tasks[sobject], count)


def backfill_command(
    full: Annotated[
        bool, typer.Option("--full", help="Read everything again (else: changes since last time)")
    ] = False,
    objects: Annotated[str, typer.Option(help="Comma-separated objects to mirror")] = ",".join(
        MIRROR_OBJECTS
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Fill the matching mirror from the org (queryAll; Bulk API 2.0 for large objects)."""
    wanted = _objects(objects)
    settings = load_settings()
    matcher = load_matcher(settings.sfsync_mappings)  # a bad matching.yaml stops before any call
    store = Store(settings.sfsync_database_url.get_secret_value())
    client = SalesforceClient(settings)
    columns = (TextColumn("{task.description:>8}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    try:
        with Progress(*columns, console=err, transient=as_json, disable=as_json) as bar:
            result = backfill(client, store, matcher, objects=wanted, full=full,
                              progress=_Bar(bar))  # fmt: skip
    finally:
        client.close()
        store.close()
    _print_backfill(out, result, as_json)


def _objects(text: str) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(o.strip() for o in text.split(",") if o.strip()))
    unknown = [o for o in wanted if o not in MIRROR_OBJECTS]
    if unknown or not wanted:
        raise ConfigError(f"--objects: choose among {', '.join(MIRROR_OBJECTS)} (got {text!r})")
    return wanted


def _print_backfill(console: Console, result: BackfillResult, as_json: bool) -> None:
    data = {name: vars(r) for name, r in result.objects.items()}
    if as_json:
        console.print_json(json.dumps(data))
        return
    for name, r in result.objects.items():
        how = "changes" if r.incremental else "all records"
        api = "Bulk API 2.0" if r.api == "bulk" else "REST"
        console.print(
            f"✓ {name}: {r.read:,} read ({how}) in {r.pages:,} {api} page(s), "
            f"{r.deleted:,} deleted or merged, {r.retired:,} no longer in the org",
            highlight=False,
        )


def match_command(
    lead_id: Annotated[str, typer.Argument(help="Lead id, 15 or 18 characters")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """The records a mirrored lead matches, with confidence and every field comparison."""
    try:
        lead_id = to18(lead_id)
    except InvalidId as exc:
        raise ConfigError(f"LEAD_ID: {exc}") from None
    matcher = load_matcher(_mappings())
    store = Store(database_url())
    try:
        matches = find_matches(store, [stored_lead(store, lead_id)], matcher)[lead_id]
    finally:
        store.close()
    if as_json:
        out.print_json(json.dumps({"lead_id": lead_id, "matches": [m.as_dict() for m in matches]}))
        return
    print_matches(out, lead_id, matches)


def _mappings() -> Path:
    """SFSYNC_MAPPINGS, without asking for org credentials (these commands read only the store)."""
    return Path(os.environ.get("SFSYNC_MAPPINGS") or DEFAULT_MAPPINGS)


def print_matches(console: Console, lead_id: str, matches: list[Match]) -> None:
    """Each match and the comparisons behind it, for people."""
    if not matches:
        console.print(f"lead {lead_id} matches no lead, contact or account", highlight=False)
        return
    for m in matches:
        how = " (first and last names swapped)" if m.transposed else ""
        batch = " (same batch)" if m.same_batch else ""
        console.print(
            f"[bold]{m.sobject} {m.record_id}[/]: rule {escape(m.rule)}, "
            f"confidence {m.confidence:.2f}{how}{batch}"
        )
        table = Table(show_header=True, box=None, padding=(0, 2))
        for column in ("field", "method", "algorithm", "score", "threshold", "matched"):
            table.add_column(column)
        for c in m.comparisons:
            blank = f"blank ({c.blank})" if c.blank else c.algorithm
            table.add_row(c.field, c.method, blank, f"{c.score:g}", f"{c.threshold:g}",
                          "[green]yes[/]" if c.matched else "no")  # fmt: skip
        console.print(table)


@duplicates_app.command("report")
@exits_cleanly
def duplicates_report(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """Match every mirrored lead against the mirror: duplicate pairs and account matches."""
    matcher = load_matcher(_mappings())
    store = Store(database_url())
    try:
        mirrored = counts(store.engine)
        report = duplicate_report(store, matcher)
    finally:
        store.close()
    data = {
        "mirror": mirrored,
        "leads": report.leads,
        "duplicates": [m.as_dict() for m in report.duplicates],
        "by_object": dict(Counter(m.sobject for m in report.duplicates)),
        "by_rule": dict(Counter(m.rule for m in report.duplicates)),
        "leads_at_accounts": len({m.lead_id for m in report.accounts}),
    }
    if as_json:
        out.print_json(json.dumps(data))
        return
    _print_report(out, data)


def _print_report(console: Console, data: dict[str, Any]) -> None:
    live = {k: v["live"] for k, v in data["mirror"].items()}
    console.print(f"mirror: {live}; {data['leads']:,} live leads matched", highlight=False)
    console.print(
        f"{len(data['duplicates']):,} duplicate pair(s) {data['by_object']}, by rule "
        f"{data['by_rule']}; {data['leads_at_accounts']:,} lead(s) at a company with an account",
        highlight=False,
    )
    table = Table("lead", "duplicate of", "rule", "confidence")
    for pair in data["duplicates"][:PAIRS_SHOWN]:
        table.add_row(pair["lead_id"], f"{pair['sobject']} {pair['record_id']}", pair["rule"],
                      f"{pair['confidence']:.2f}")  # fmt: skip
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add `backfill`, `match` and `duplicates` to a Typer app (the main `sfsync` app)."""
    app.command("backfill")(exits_cleanly(backfill_command))
    app.command("match")(exits_cleanly(match_command))
    app.add_typer(duplicates_app, name="duplicates")
