"""`sfsync explain LEAD_ID`: why a lead got its score, rating and writes, from the audit trail."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sfsync.errors import ConfigError
from sfsync.ids import InvalidId, to18
from sfsync.store import Store
from sfsync.store.tables import DecisionRow, OutboxKind, OutboxRow


def explanation(store: Store, lead_id: str) -> dict[str, Any]:
    """Everything the store knows about one lead's decisions, as plain data."""
    try:
        lead_id = to18(lead_id)
    except InvalidId as exc:
        raise ConfigError(f"LEAD_ID: {exc}") from None
    decisions = store.decisions_for(lead_id, limit=10)
    if not decisions:
        raise ConfigError(f"no decision recorded for lead {lead_id}: has a cycle seen it yet?")
    rows = store.outbox_for(lead_id)
    return {
        "lead_id": lead_id,
        "latest": _decision(decisions[0], rows),
        "history": [_decision(d, rows) for d in decisions[1:]],
    }


def _decision(row: DecisionRow, outbox: list[OutboxRow]) -> dict[str, Any]:
    mine = [o for o in outbox if o.decision_id == row.id]
    update = next((o for o in mine if o.kind == OutboxKind.UPDATE), None)
    convert = next((o for o in mine if o.kind == OutboxKind.CONVERT), None)
    return {
        "decided_at": row.created_at.isoformat(),
        "run_id": row.run_id,
        "rules_version": row.rules_version,
        "lead_version": row.base_stamp.isoformat(),
        "summary": row.summary,
        "reasons": row.reasons,
        "changes": row.changes,
        "skipped": row.skipped,
        "write": _write(update),
        "conversion": _write(convert),
    }


def _write(row: OutboxRow | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "state": row.state,
        "attempts": row.attempts,
        "error_code": row.error_code,
        "error_message": row.error_message,
        "before": row.before,
        "result": row.result,
    }


def print_explanation(console: Console, data: dict[str, Any], *, as_json: bool) -> None:
    """The story of the latest decision, then one line per earlier one."""
    if as_json:
        console.print_json(json.dumps(data))
        return
    latest = data["latest"]
    summary = latest["summary"]
    console.print(
        f"[bold]Lead {data['lead_id']}[/] — decided {latest['decided_at']} "
        f"(rules {latest['rules_version']}, lead version {latest['lead_version']})",
        highlight=False,
    )
    if "skipped" in summary:
        console.print(f"Not written: the lead is {summary['skipped']}.")
    else:
        console.print(f"Score {summary.get('score')} → rating {summary.get('rating') or '—'}")
        console.print(_reasons_table(latest["reasons"]))
    _print_changes(console, latest)
    for earlier in data["history"]:
        console.print(
            f"earlier: {earlier['decided_at']} score {earlier['summary'].get('score')} "
            f"changes {sorted(earlier['changes']) or 'none'}",
            highlight=False,
        )


def _reasons_table(reasons: list[dict[str, Any]]) -> Table:
    table = Table(title="Score contributions")
    table.add_column("Rule")
    table.add_column("Points", justify="right")
    for reason in reasons:
        table.add_row(str(reason["rule"]), f"{reason['points']:+g}")
    if not reasons:
        table.add_row("no rule matched", "0")
    return table


def _print_changes(console: Console, decision: dict[str, Any]) -> None:
    write = decision["write"] or {}
    for field, value in decision["changes"].items():
        old = write.get("before", {}).get(field)
        console.print(f"  write {field}: {old!r} → {value!r}", highlight=False)
    for field, why in decision["skipped"].items():
        console.print(f"  left {field} alone: {escape(str(why))}", highlight=False)
    blocked = decision["summary"].get("conversion_blocked")
    if blocked:
        console.print(f"  conversion: {escape(str(blocked))}", highlight=False)
    target = decision["summary"].get("conversion_target")
    if target:
        console.print(f"  conversion target: {target}", highlight=False)
    conversion = decision["conversion"]
    if conversion:
        created = ", ".join(f"{k} {v}" for k, v in (conversion["result"] or {}).items())
        error = f" ({conversion['error_code']}: {conversion['error_message']})"
        detail = created or (error if conversion["error_code"] else "")
        console.print(f"  conversion {conversion['state']}: {escape(detail)}", highlight=False)
    if write:
        state = write["state"]
        detail = (
            f" ({write['error_code']}: {write['error_message']})" if write["error_code"] else ""
        )
        console.print(f"  write state: {state}{escape(detail)}", highlight=False)
    elif not decision["changes"]:
        console.print("  nothing to write: the org already holds these values")
