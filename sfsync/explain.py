"""`sfsync explain LEAD_ID`: the whole story of a lead's decision, from the audit trail.

Every decision stores its reasons, each tagged with the part of the chain it
comes from: what enrichment found and filled, each score rule, each
behaviour rule with its decay, the grade's steps, the rating and the status
rule that fired. `--json` gives the same as data (with the reasons grouped
by part under `story`); without it, Rich tables tell it in that order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sfsync.errors import ConfigError
from sfsync.ids import InvalidId, to18
from sfsync.store import Store
from sfsync.store.tables import DecisionRow, OutboxKind, OutboxRow

# The parts of a decision, in the order the chain runs them.
PARTS = ("enrichment", "score", "behavior", "predict", "grade", "rating", "status", "routing")
_TITLES = {
    "enrichment": "Enrichment: what the lead's values say, and the fields filled",
    "score": "Score rules (scoring.yaml)",
    "behavior": "Behaviour (decayed engagement and field signals)",
    "predict": "Predictive score",
    "grade": "Fit grade (thirds of a letter)",
}


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
        "story": story(row.reasons),
        "changes": row.changes,
        "skipped": row.skipped,
        "write": _write(update),
        "conversion": _write(convert),
    }


def story(reasons: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The reasons grouped by the part of the decision they belong to, in chain order.

    Decisions recorded before reasons carried a part are score lines.
    """
    grouped: dict[str, list[dict[str, Any]]] = {}
    for reason in reasons:
        grouped.setdefault(str(reason.get("part") or "score"), []).append(reason)
    order = [p for p in PARTS if p in grouped] + sorted(set(grouped) - set(PARTS))
    return {part: grouped[part] for part in order}


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
        console.print(headline(summary), highlight=False)
        _print_story(console, latest["story"], summary)
    _print_changes(console, latest)
    for earlier in data["history"]:
        console.print(
            f"earlier: {earlier['decided_at']} score {_num(earlier['summary'].get('score'))} "
            f"changes {sorted(earlier['changes']) or 'none'}",
            highlight=False,
        )


def headline(summary: Mapping[str, Any]) -> str:
    """ "Score 72 (points 55 + behaviour 17) · grade B+ · rating Hot · status …"."""
    text = f"Score {_num(summary.get('score'))}"
    behaviour = summary.get("behavior_score")
    if behaviour is not None and summary.get("points_score") is not None:
        text += f" (points {_num(summary['points_score'])} + behaviour {_num(behaviour)})"
    if summary.get("grade"):
        text += f" · grade {summary['grade']}"
    text += f" · rating {summary.get('rating') or '—'}"
    if summary.get("status"):
        stage = f" ({summary['stage']})" if summary.get("stage") else ""
        text += f" · status {summary['status']}{stage}"
    return text


def _print_story(
    console: Console, parts: Mapping[str, list[dict[str, Any]]], summary: Mapping[str, Any]
) -> None:
    if not any(p in parts for p in ("score", "behavior", "predict")):
        console.print(_table(_TITLES["score"], [], "Points"))
    for part, lines in parts.items():
        if part in ("rating", "status"):
            for line in lines:
                label = "Rating" if part == "rating" else "Status"
                console.print(f"{label}: {escape(_line(line))}", highlight=False)
        elif part == "enrichment":
            console.print(_enrichment_table(lines, summary.get("facts") or {}))
        elif part == "routing":
            _print_routing(console, lines, summary.get("routing") or {})
        else:
            unit = "Thirds" if part == "grade" else "Points"
            console.print(_table(_TITLES.get(part, part), lines, unit))


def _print_routing(
    console: Console, lines: list[dict[str, Any]], routing: Mapping[str, Any]
) -> None:
    """Which rule matched, who was considered, who was skipped and why, the follow-ups."""
    for line in lines:
        console.print(f"Routing: {escape(_line(line))}", highlight=False)
    if routing.get("considered"):
        console.print(f"  considered: {', '.join(routing['considered'])}", highlight=False)
    for skip in routing.get("skipped") or []:
        why = f"{skip['reason']} — {escape(skip['detail'])}"
        console.print(f"  skipped {skip['member']} ({skip['team']}): {why}", highlight=False)
    if routing.get("sla_due"):
        console.print(f"  follow-up Task due {routing['sla_due']}", highlight=False)
    if routing.get("problem"):
        console.print(f"  [red]problem:[/] {escape(routing['problem'])}", highlight=False)


def _table(title: str, lines: list[dict[str, Any]], unit: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("Rule")
    table.add_column(unit, justify="right")
    table.add_column("Why")
    for line in lines:
        table.add_row(escape(str(line["rule"])), f"{line['points']:+g}", escape(line["detail"]))
    if not lines:
        table.add_row("no rule matched", "0", "")
    return table


def _enrichment_table(lines: list[dict[str, Any]], facts: Mapping[str, Any]) -> Table:
    table = Table(title=_TITLES["enrichment"], title_justify="left")
    table.add_column("Step")
    table.add_column("Found")
    for line in lines:
        table.add_row(escape(str(line["rule"])), escape(str(line.get("detail") or "")))
    if facts:
        shown = ", ".join(f"{name}={value}" for name, value in facts.items())
        table.add_row("Facts", escape(shown))
    return table


def _line(line: Mapping[str, Any]) -> str:
    detail = line.get("detail") or ""
    return f"{line['rule']}" + (f" — {detail}" if detail else "")


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


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
