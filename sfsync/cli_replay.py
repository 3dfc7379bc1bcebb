"""`sfsync record` and `sfsync replay`: capture one cycle, run it again offline, diff the writes.

The main app registers them (`app.command("record")(record)`, `app.command("replay")(replay)`).
Exit codes of `replay`: 0 replayed (and, with --check, the same writes as
recorded), 1 with --check when the writes differ, 2 invalid mappings or
recording, 5 the cycle made a request the recording does not hold.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from sfsync.config import load_settings
from sfsync.console import exits_cleanly, out
from sfsync.jobs.replay import FieldDiff, ReplayResult, record_cycle, replay_cycle

ROWS_SHOWN = 50
NOT_WRITTEN = "(not written)"


@exits_cleanly
def record(
    out_file: Annotated[Path, typer.Option("--out", help="Recording to write (YAML)")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Decide and record the plan; write nothing")
    ] = False,
    mappings: Annotated[
        Path | None, typer.Option(help="Rules directory (default: SFSYNC_MAPPINGS)")
    ] = None,
    redact_field: Annotated[
        list[str] | None,
        typer.Option(
            "--redact-field",
            envvar="SFSYNC_REDACT_FIELDS",
            help="Field whose values are redacted (repeatable; env: space-separated)",
        ),
    ] = None,
    redact_value: Annotated[
        list[str] | None,
        typer.Option(
            "--redact-value",
            envvar="SFSYNC_REDACT_VALUES",
            help="Text redacted wherever it appears (prefer the env variable)",
        ),
    ] = None,
) -> None:
    """Run one cycle against the configured org and record every request, secrets redacted.

    The cycle starts from an empty, temporary state store (your store is not
    touched) so that `sfsync replay` can repeat it exactly.
    """
    overrides: dict[str, Any] = {"sfsync_mappings": mappings} if mappings else {}
    settings = load_settings(**overrides)
    report, count = record_cycle(
        settings,
        out_file,
        dry_run=dry_run,
        sensitive_fields=redact_field or (),
        sensitive_values=redact_value or (),
    )
    summary = f"pulled {report.pulled}, decided {report.decided}, written {report.written}"
    if dry_run:
        summary += f", planned writes on {len({c.lead_id for c in report.plan})} lead(s)"
    out.print(
        f"recorded {count} request(s) to {out_file} (secrets redacted): {report.status} — "
        + summary,
        highlight=False,
    )


@exits_cleanly
def replay(
    recording: Annotated[Path, typer.Argument(help="A file written by `sfsync record`")],
    mappings: Annotated[
        Path, typer.Option(envvar="SFSYNC_MAPPINGS", help="Rules directory to replay with")
    ] = Path("mappings"),
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when the writes differ from the recording")
    ] = False,
) -> None:
    """Run a recorded cycle offline with these rules; show its writes and the diff."""
    result = replay_cycle(recording, mappings)
    if as_json:
        typer.echo(json.dumps(result_data(result), ensure_ascii=False, default=str))
    else:
        print_result(out, result)
    if check and not result.same:
        raise typer.Exit(1)


def result_data(result: ReplayResult) -> dict[str, Any]:
    """Everything `replay` shows, as plain data (its --json output)."""
    return {
        "recording": str(result.recording),
        "recorded_at": result.meta.get("recorded_at"),
        "dry_run": bool(result.meta.get("dry_run")),
        "status": result.status,
        "recorded_status": result.recorded_status,
        "error": result.error,
        "cycle": result.counts,
        "writes": result.writes,
        "recorded_writes": result.recorded,
        "diff": [_diff_data(d) for d in result.diff],
        "same": result.same,
    }


def _diff_data(d: FieldDiff) -> dict[str, Any]:
    return {
        "lead_id": d.lead_id,
        "field": d.field,
        "old": d.old,
        "new": d.new,
        "old_written": d.old_written,
        "new_written": d.new_written,
    }


def print_result(console: Console, result: ReplayResult) -> None:
    """The replay's cycle, its writes now, and the diff against the recording."""
    counts = result.counts
    console.print(
        f"replayed {result.recording} (recorded {result.meta.get('recorded_at')}): "
        f"{result.status} — pulled {counts['pulled']}, decided {counts['decided']}, "
        f"{sum(len(f) for f in result.writes.values())} field write(s) on "
        f"{len(result.writes)} lead(s) now; the recorded run wrote "
        f"{sum(len(f) for f in result.recorded.values())} on {len(result.recorded)}",
        highlight=False,
    )
    if result.error:
        console.print(f"the replayed cycle failed: {result.error}", highlight=False)
    console.print(_writes_table(result))
    if not result.diff:
        console.print("no difference: these rules write exactly what the recorded run wrote")
        return
    console.print(_diff_table(result.diff))
    console.print(
        f"{len(result.diff)} field(s) differ on {len({d.lead_id for d in result.diff})} lead(s)",
        highlight=False,
    )


def _writes_table(result: ReplayResult) -> Table:
    table = Table(title="Writes now")
    for column in ("Lead", "Field", "Value"):
        table.add_column(column)
    rows = [(lead, name, value) for lead, f in result.writes.items() for name, value in f.items()]
    for lead, name, value in rows[:ROWS_SHOWN]:
        table.add_row(lead, name, _show(value, True))
    if len(rows) > ROWS_SHOWN:
        table.caption = f"{len(rows) - ROWS_SHOWN} more not shown (see --json)"
    return table


def _diff_table(diff: list[FieldDiff]) -> Table:
    table = Table(title="Diff against the recording (old → new)")
    for column in ("Lead", "Field", "Old (recorded)", "New (now)"):
        table.add_column(column)
    for d in diff[:ROWS_SHOWN]:
        table.add_row(d.lead_id, d.field, _show(d.old, d.old_written), _show(d.new, d.new_written))
    if len(diff) > ROWS_SHOWN:
        table.caption = f"{len(diff) - ROWS_SHOWN} more not shown (see --json)"
    return table


def _show(value: Any, written: bool) -> str:
    if not written:
        return NOT_WRITTEN
    return "∅" if value in (None, "") else str(value)
