"""`sfsync import FILE.csv|.xlsx`: a spreadsheet's rows as scored, routed, unduplicated leads.

`register(app)` adds the command to the main app; the work is in
`sfsync.jobs.capture_import` and `sfsync.jobs.capture`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.syntax import Syntax
from rich.table import Table

from sfsync.config import load_settings
from sfsync.connectors.salesforce import SalesforceClient
from sfsync.console import err, exits_cleanly, out
from sfsync.jobs.capture_import import ImportOptions, ImportReport, read_import, run_import
from sfsync.jobs.capture_types import Action, CaptureSetup, DuplicatePolicy
from sfsync.mappings import load_rules
from sfsync.store import Store

# Rows listed per kind on the terminal; the result file lists them all.
SHOWN = 15
TITLES = {
    Action.REJECTED: "Rejected",
    Action.DUPLICATE: "Skipped as duplicates",
    Action.UPDATED: "Duplicates whose record was filled in",
}


class _Bar:
    """Capture's phases as Rich progress bars."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase not in self.tasks:
            self.tasks[phase] = self.progress.add_task(phase, total=total)
        self.progress.update(self.tasks[phase], completed=done, total=total)


def import_command(
    file: Annotated[Path, typer.Argument(help="A .csv or .xlsx file with a header row")],
    mapping: Annotated[
        Path | None, typer.Option(help="columns.yaml: header -> Lead field (else: suggested)")
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Where the rows come from (and LeadSource, if a value)")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would happen; write nothing")
    ] = False,
    on_duplicate: Annotated[
        DuplicatePolicy,
        typer.Option(help="update: fill the existing record's empty fields; skip: leave it"),
    ] = DuplicatePolicy.UPDATE,
    sheet: Annotated[str | None, typer.Option(help="The .xlsx sheet (default: the first)")] = None,
    save_mapping: Annotated[
        Path | None, typer.Option(help="Write the column mapping used to this file")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable summary")] = False,
) -> None:
    """Create leads from a spreadsheet: validated, matched, scored and routed; never twice.

    Writes FILE.result.csv next to the file: each row's outcome and reasons.
    """
    options = ImportOptions(mapping, source, dry_run, on_duplicate, sheet)
    settings = load_settings()
    rules = load_rules(settings.sfsync_mappings)
    store = Store(settings.sfsync_database_url.get_secret_value())
    client = SalesforceClient(settings)
    try:
        setup = CaptureSetup.load(client, rules, settings.sfsync_mappings)  # about five calls
        loaded, columns, suggested = read_import(file, setup, options)
        if save_mapping is not None:
            save_mapping.write_text(columns.to_yaml(), encoding="utf-8")
        if suggested and not as_json:
            _print_mapping(err, columns.to_yaml(), columns.extra())
        bars = (TextColumn("{task.description:>9}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn())  # fmt: skip
        with Progress(*bars, console=err, transient=True, disable=as_json) as progress:
            report = run_import(client, store, setup, loaded, columns, options, _Bar(progress),
                                suggested=suggested)  # fmt: skip
        report.api_calls = client.meter.calls  # the whole command's, the setup's included
    finally:
        client.close()
        store.close()
    if as_json:
        out.print_json(json.dumps(summary(report)))
    else:
        print_report(out, report)


def _print_mapping(console: Console, text: str, extra: list[str]) -> None:
    console.print("Column mapping (suggested from the headers; save it with --save-mapping,")
    console.print("edit it, and pass it back with --mapping):")
    console.print(Syntax(text, "yaml", theme="ansi_dark", background_color="default"))
    if extra:
        console.print(f"Columns not imported: {escape(', '.join(extra))}", highlight=False)


def summary(report: ImportReport) -> dict[str, Any]:
    """The import's counts and cost as plain data."""
    sheet = report.sheet
    return {
        "file": str(sheet.path),
        "rows": len(report.rows),
        "encoding": sheet.encoding,
        "delimiter": sheet.delimiter,
        "dry_run": report.dry_run,
        "source": report.source,
        "counts": report.counts,
        "api_calls": report.api_calls,
        "seconds": round(report.seconds, 2),
        "result_file": str(report.result_file) if report.result_file else None,
        "warnings": report.warnings,
    }


def print_report(console: Console, report: ImportReport) -> None:
    """Counts first, then a few rows of each kind that needs a look."""
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    counts = report.counts
    verb = "would be " if report.dry_run else ""
    sheet = report.sheet
    read = f" ({sheet.encoding}, delimiter {sheet.delimiter!r})" if sheet.encoding else ""
    console.print(f"{escape(str(sheet.path))}: {len(report.rows):,} row(s){escape(read)}",
                  highlight=False)  # fmt: skip
    table = Table(show_header=False, box=None, pad_edge=False)
    for action, label in (
        (Action.CREATED, f"{verb}created"),
        (Action.UPDATED, f"{verb}updated (duplicates that filled an existing record)"),
        (Action.DUPLICATE, "skipped as duplicates"),
        (Action.REJECTED, "rejected"),
        (Action.ALREADY_DONE, "already imported earlier"),
    ):
        table.add_row(f"{counts[action.value]:>8,}", label)
    console.print(table)
    for action, title in TITLES.items():
        _print_rows(console, report, action, title)
    console.print(
        f"{report.api_calls} API call(s), {report.seconds:.1f} s; every row: "
        f"{escape(str(report.result_file))}",
        highlight=False,
    )


def _print_rows(console: Console, report: ImportReport, action: Action, title: str) -> None:
    rows = report.of(action)
    if not rows:
        return
    table = Table(title=f"{title} ({len(rows):,})", title_justify="left")
    table.add_column("row", justify="right")
    table.add_column("matched" if action is not Action.REJECTED else "name")
    table.add_column("why")
    for number, candidate, outcome in rows[:SHOWN]:
        name = f"{candidate.values.get('FirstName', '')} {candidate.values.get('LastName', '')}"
        who = outcome.matched_id or "" if action is not Action.REJECTED else name.strip()
        table.add_row(str(number), escape(str(who)), escape("; ".join(outcome.reasons)))
    console.print(table)
    if len(rows) > SHOWN:
        console.print(f"... and {len(rows) - SHOWN:,} more in the result file", highlight=False)


def register(app: typer.Typer) -> None:
    """Add `import` to a Typer app (the main `sfsync` app)."""
    app.command("import")(exits_cleanly(import_command))
