"""`sfsync events import FILE`: load an external activity feed for the behaviour score."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from sfsync.config import database_url
from sfsync.console import exits_cleanly, out
from sfsync.jobs.import_events import ImportReport, import_events
from sfsync.store import Store

# Bad rows listed on the terminal; --json lists them all.
SHOWN_PROBLEMS = 50

events_app = typer.Typer(
    help="External activity (page views, downloads...) for the behaviour score."
)


def register(app: typer.Typer) -> None:
    """Add the `events` command group to the main `sfsync` app."""
    app.add_typer(events_app, name="events")


@events_app.command("import")
@exits_cleanly
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV (with a header) or JSONL file")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable report")] = False,
) -> None:
    """Store the feed's events (importing twice adds nothing); bad rows are reported and skipped.

    Columns (CSV) or keys (JSONL): lead_id or email, kind, occurred_at (ISO 8601),
    detail. The next cycle decides the leads concerned again.
    """
    store = Store(database_url())
    try:
        report = import_events(store, file, datetime.now(UTC))
    finally:
        store.close()
    print_report(report, as_json=as_json)


def print_report(report: ImportReport, *, as_json: bool) -> None:
    """The counts, then each bad row with its line number."""
    if as_json:
        out.print_json(json.dumps(report.as_dict()))
        return
    out.print(
        f"{report.file}: {report.rows} row(s), {report.added} event(s) added, "
        f"{report.duplicates} already stored, {len(report.problems)} skipped",
        highlight=False,
    )
    for line, problem in report.problems[:SHOWN_PROBLEMS]:
        out.print(f"  line {line}: {escape(problem)}", highlight=False)
    hidden = len(report.problems) - SHOWN_PROBLEMS
    if hidden > 0:
        out.print(f"  … and {hidden} more (use --json for all)", highlight=False)
