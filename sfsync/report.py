"""What the CLI prints: a cycle's outcome, a dry run's plan, the store's status."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sfsync.jobs.plan import planned_calls
from sfsync.jobs.sync import LEAD_CURSOR, SWEEP_CURSOR, CycleReport
from sfsync.jobs.undo import UndoReport
from sfsync.store import OutboxKind, OutboxState, Store

PLAN_ROWS_SHOWN = 50
DEAD_LETTERS_SHOWN = 20


def print_cycle(console: Console, report: CycleReport) -> None:
    """One line of counts, and the plan when it was a dry run."""
    if report.dry_run:
        print_plan(console, report)
        return
    console.print(
        f"run {report.run_id}: {report.status} — pulled {report.pulled}, decided "
        f"{report.decided}, written {report.written}, rejected {report.rejected}, "
        f"retry later {report.retry_later}, API calls {report.api_calls}",
        highlight=False,
    )


def print_plan(console: Console, report: CycleReport) -> None:
    """The dry run's write-back plan: per lead and field, old → new, and what it would cost."""
    table = Table(title=f"Dry run {report.run_id}: nothing was written")
    for column in ("Lead", "Field", "Old", "New"):
        table.add_column(column)
    for change in report.plan[:PLAN_ROWS_SHOWN]:
        table.add_row(change.lead_id, change.field, _show(change.old), _show(change.new))
    console.print(table)
    leads = len({c.lead_id for c in report.plan})
    hidden = max(0, len(report.plan) - PLAN_ROWS_SHOWN)
    console.print(
        f"{len(report.plan)} field changes on {leads} leads"
        + (f" ({hidden} not shown)" if hidden else "")
        + f"; a real run would spend {planned_calls(report.plan)} call(s) on writes;"
        + f" this dry run used {report.api_calls} API call(s).",
        highlight=False,
    )


def _show(value: Any) -> str:
    # Values come from the org and from people: never let them act as Rich markup.
    return "∅" if value in (None, "") else escape(str(value))


def status_data(store: Store, dead_limit: int | None = DEAD_LETTERS_SHOWN) -> dict[str, Any]:
    """Everything `sfsync status` shows, as plain data (also its --json output)."""
    runs = store.recent_runs(10)
    dead = store.outbox(OutboxState.DEAD, limit=dead_limit)
    latest = next((r for r in runs if r.api_limit), None)
    return {
        "watermark": _iso(store.watermark(LEAD_CURSOR)),
        "last_sweep": _iso(store.watermark(SWEEP_CURSOR)),
        "outbox": store.outbox_counts(),
        "conversions": store.outbox_counts(OutboxKind.CONVERT),
        "runs": [
            {
                "id": r.id,
                "started_at": _iso(r.started_at),
                "finished_at": _iso(r.finished_at),
                "status": r.status,
                "dry_run": r.dry_run,
                "pulled": r.pulled,
                "decided": r.decided,
                "written": r.written,
                "rejected": r.rejected,
                "retry_later": r.retry_later,
                "api_calls": r.api_calls,
                "error": r.error,
            }
            for r in runs
        ],
        "dead_letters": [
            {
                "id": d.id,
                "lead_id": d.lead_id,
                "error_code": d.error_code,
                "message": d.error_message,
                "fields": d.error_fields,
                "patch": d.patch,
            }
            for d in dead
        ],
        "dead_letter_codes": dict(Counter(d.error_code for d in dead)),
        "api_usage": {"used": latest.api_used, "limit": latest.api_limit} if latest else None,
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def print_status(console: Console, store: Store, *, as_json: bool) -> None:
    """The status page of the terminal."""
    data = status_data(store)
    if as_json:
        console.print_json(json.dumps(data))
        return
    usage = data["api_usage"]
    console.print(
        f"watermark {data['watermark'] or '—'} · last sweep {data['last_sweep'] or '—'} · "
        f"outbox {data['outbox'] or '{}'} · conversions {data['conversions'] or '{}'} · API usage "
        + (f"{usage['used']}/{usage['limit']}" if usage else "unknown"),
        highlight=False,
    )
    console.print(_runs_table(data["runs"]))
    if data["dead_letters"]:
        console.print(_dead_table(data["dead_letters"]))


def print_dead_letters(console: Console, store: Store, *, as_json: bool) -> None:
    """Every dead letter, newest last."""
    dead = status_data(store, dead_limit=None)["dead_letters"]
    if as_json:
        console.print_json(json.dumps(dead))
    elif dead:
        console.print(_dead_table(dead))
    else:
        console.print("no dead letters")


def _runs_table(runs: list[dict[str, Any]]) -> Table:
    table = Table(title="Recent runs")
    columns = ("started_at", "status", "pulled", "decided", "written", "rejected", "api_calls")
    for column in columns:
        table.add_column(column)
    for run in runs:
        table.add_row(
            *(str(run[c]) + (" (dry)" if c == "status" and run["dry_run"] else "") for c in columns)
        )
    return table


def _dead_table(dead: list[dict[str, Any]]) -> Table:
    table = Table(title="Dead letters (retry with `sfsync dead-letters retry`)")
    for column in ("id", "lead", "code", "message"):
        table.add_column(column)
    for d in dead:
        table.add_row(
            str(d["id"]), d["lead_id"], escape(d["error_code"] or ""), escape(d["message"] or "")
        )
    return table


def print_undo(console: Console, result: UndoReport, *, as_json: bool, dry_run: bool) -> None:
    """The undo plan (and outcome): per lead and field, what is restored or left and why."""
    if as_json:
        console.print_json(json.dumps(dataclasses.asdict(result), default=str))
        return
    table = Table(
        title=f"Undo of run {result.run_id}" + (" (dry run: nothing written)" if dry_run else "")
    )
    for column in ("Lead", "Field", "Now", "Restore to", "Action"):
        table.add_column(column)
    for item in result.items:
        action = item.action if not item.reason else f"skip: {item.reason}"
        table.add_row(item.lead_id, item.field, _show(item.current), _show(item.restore_to), action)
    console.print(table)
    for lead_id in result.conversions:
        console.print(
            f"{lead_id}: converted by this run; conversions cannot be undone", highlight=False
        )
    if not dry_run:
        console.print(
            f"{result.restored} lead(s) restored, {len(result.failed)} failed", highlight=False
        )
    for lead_id, error in result.failed.items():
        console.print(f"{lead_id}: {error}", highlight=False)
