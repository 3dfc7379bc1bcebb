"""The read-only status page (GET /) and the lead-analytics report (`sfsync report`).

Plain HTML with inline CSS and inline SVG: it must render offline, under a
Content-Security-Policy without scripts, and leak nothing. Every value that
comes from the org or the store passes through `esc` (dead-letter messages
are Salesforce's text about a record, and could hold anything).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sfsync.report import status_data
from sfsync.service import charts, reads
from sfsync.service.analytics import Analytics, Rate, analyse
from sfsync.service.charts import esc
from sfsync.service.health import HealthVerdict, Readiness, health, readiness
from sfsync.service.speed import WINDOW_DAYS, Durations, SpeedReport, analyse_speed
from sfsync.store import RunRow, Store

CYCLES_CHARTED = 30
USAGE_RUNS_CHARTED = 50
REPS_SHOWN = 50  # the busiest; a page with every rep of a large org would be unreadable
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1080px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
h3{font-size:15px;margin:16px 0 4px}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 8px;border-bottom:1px solid #eee;
text-align:left;vertical-align:top}th{background:#f4f4f4}
.grid{display:flex;flex-wrap:wrap;gap:16px}figure{margin:8px 0}figcaption{font-weight:600}
svg text{font:11px system-ui,sans-serif;fill:#333}.empty,.note{color:#777}
.badge{padding:2px 8px;border-radius:4px;color:#fff}.healthy{background:#3c9a5f}
.degraded{background:#e08a1e}.bad{background:#b04a4a}
.key{display:inline-block;width:10px;height:10px;margin:0 4px 0 8px}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{color:#666}
"""


@dataclass(frozen=True)
class PageData:
    """Everything the status page shows, read from the store in one go."""

    status: dict[str, Any]
    cycles: list[RunRow]
    usage: list[RunRow]
    analytics: Analytics
    speed: SpeedReport
    verdict: HealthVerdict
    ready: Readiness
    generated_at: datetime


def collect(store: Store, max_age: timedelta, now: datetime) -> PageData:
    """Read the page's data (raises the store's errors: the caller answers 503)."""
    analytics, speed = lead_report(store, now)
    return PageData(
        status=status_data(store),
        cycles=list(reversed(store.recent_runs(CYCLES_CHARTED))),
        usage=reads.runs_with_usage(store, USAGE_RUNS_CHARTED),
        analytics=analytics,
        speed=speed,
        verdict=health(store, max_age, now),
        ready=readiness(store),
        generated_at=now,
    )


def lead_report(store: Store, now: datetime) -> tuple[Analytics, SpeedReport]:
    """The lead analytics, and speed-to-lead over the last WINDOW_DAYS days, read from the store."""
    analytics = analyse(reads.lead_facts(store))
    routing = reads.routing_facts(store, now - timedelta(days=WINDOW_DAYS))
    return analytics, analyse_speed(routing, now, analytics.load_per_rep)


def status_page(data: PageData) -> str:
    """The whole status page."""
    body = [
        _header(data),
        _overview(data.status),
        _cycles(data.cycles, data.status["runs"]),
        _api_usage(data.usage),
        _leads(data.analytics),
        _dead_letters(data.status["dead_letters"]),
        analytics_section(data.analytics, data.speed),
    ]
    return _document("sfsync status", "".join(body))


def report_page(analytics: Analytics, speed: SpeedReport, generated_at: datetime) -> str:
    """The lead-analytics report as a standalone file (`sfsync report --out`)."""
    title = f"<h1>sfsync lead report</h1><p class=note>generated {esc(_when(generated_at))}</p>"
    return _document("sfsync lead report", title + analytics_section(analytics, speed))


def analytics_section(a: Analytics, speed: SpeedReport) -> str:
    """Stages, conversion by score band and source, speed-to-lead, SLA, load, what is missing."""
    figures = [
        charts.bars("Leads by stage", a.by_stage),
        charts.bars("Leads by Status", a.by_status) if a.by_status else "",
        charts.bars("Leads by rating", a.ratings),
        _rates("Conversion rate by score band", a.conversion_by_band),
        _rates("Conversion rate by source", a.conversion_by_source),
        charts.bars("Load per rep (open leads)", a.load_per_rep) if a.load_per_rep else "",
    ]
    gaps = "".join(f"<li>{esc(why)}</li>" for why in a.missing)
    note = f"<p class=note>Not shown yet:</p><ul class=note>{gaps}</ul>" if gaps else ""
    return (
        f"<section id=analytics><h2>Lead analytics ({esc(charts.number(a.leads))} leads)</h2>"
        f"<div class=grid>{''.join(figures)}</div>{note}{speed_section(speed)}</section>"
    )


def speed_section(r: SpeedReport) -> str:
    """Speed-to-lead and SLA compliance per team, and load per rep (or why there are none)."""
    title = f"<h2 id=speed>Speed-to-lead and SLA (routed since {esc(_when(r.since))})</h2>"
    loads = _rep_loads(r)
    if not r.routed:
        return f"{title}<p class=empty>{esc(r.notes[0])}</p>{loads}"
    speeds = [(t.team, t.to_owner.p50) for t in r.teams if t.to_owner.p50 is not None]
    rates = [(s.team, s.compliance) for s in r.sla if s.compliance is not None]
    figures = [
        charts.bars("Speed-to-lead per team (median)", speeds, charts.duration) if speeds else "",
        charts.bars("SLA compliance per team", rates, charts.percent) if rates and r.touches_known
        else "",
    ]  # fmt: skip
    notes = "".join(f"<li>{esc(n)}</li>" for n in r.notes)
    rerouted = (
        f"<li>{esc(r.rerouted)} lead(s) only re-routed in this window (not counted)</li>"
        if r.rerouted
        else ""
    )
    return (
        f"{title}<div class=grid>{''.join(figures)}</div>{_speed_table(r)}{_sla_table(r)}"
        f"{loads}<ul class=note>{notes}{rerouted}</ul>"
    )


def _speed_table(r: SpeedReport) -> str:
    head = ("team", "routed", "owner written", "created → decided", "decided → written",
            "speed-to-lead")  # fmt: skip
    rows = [
        [t.team, t.routed, t.written, _spread(t.to_decision), _spread(t.to_write),
         _spread(t.to_owner)]
        for t in [*r.teams, r.overall]
    ]  # fmt: skip
    note = "<p class=note>Times are median / 90th percentile.</p>"
    return "<h3>Speed-to-lead</h3>" + _table(head, rows) + note


def _spread(d: Durations) -> str:
    if d.p50 is None or d.p90 is None:
        return "—"
    return f"{charts.duration(d.p50)} / {charts.duration(d.p90)}"


def _sla_table(r: SpeedReport) -> str:
    if not r.sla_overall.with_sla:
        return "<h3>SLA compliance</h3><p class=empty>no routed lead had an SLA</p>"
    head = ("team", "with SLA", "on time", "late", "overdue", "not yet due", "compliance")
    rows = [
        [s.team, s.with_sla, s.on_time, s.late, s.overdue, s.waiting,
         charts.percent(s.compliance) if s.compliance is not None and r.touches_known else "—"]
        for s in [*r.sla, r.sla_overall]
    ]  # fmt: skip
    formula = "<p class=note>Compliance = on time / (on time + late + overdue).</p>"
    return "<h3>SLA compliance</h3>" + _table(head, rows) + formula


def _rep_loads(r: SpeedReport) -> str:
    if not r.loads:
        return ""
    head = ("rep", "teams", "open leads (routing)", "open leads (decisions)", "routed by teams")
    rows = [
        [rep.owner, ", ".join(rep.teams), _count(rep.open_routing), _count(rep.open_decided),
         rep.assigned]
        for rep in r.loads[:REPS_SHOWN]
    ]  # fmt: skip
    hidden = len(r.loads) - REPS_SHOWN
    more = f"<p class=note>{esc(hidden)} more rep(s) not shown</p>" if hidden > 0 else ""
    return "<h3>Load per rep</h3>" + _table(head, rows) + more


def _count(value: int | None) -> object:
    return "—" if value is None else value


def _document(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def _header(data: PageData) -> str:
    v = data.verdict
    kind = "healthy" if v.state.value == "healthy" else "degraded" if v.healthy else "bad"
    ready = "ready" if data.ready.ready else f"not ready: {data.ready.reason}"
    return (
        f"<h1>sfsync status</h1><p><span class='badge {kind}'>{esc(v.state.value)}</span> "
        f"{esc(v.message)} · {esc(ready)} · generated {esc(_when(data.generated_at))}</p>"
    )


def _overview(status: dict[str, Any]) -> str:
    usage = status["api_usage"]
    api = f"{usage['used']:,} of {usage['limit']:,}" if usage else "unknown"
    outbox = ", ".join(f"{k} {n:,}" for k, n in sorted(status["outbox"].items())) or "empty"
    rows = {
        "Watermark": status["watermark"] or "—",
        "Last sweep": status["last_sweep"] or "—",
        "Outbox": outbox,
        "Dead letters": sum(status["dead_letter_codes"].values()),
        "API usage today": api,
    }
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows.items())
    return f"<h2>Overview</h2><dl>{items}</dl>"


def _cycles(cycles: Sequence[RunRow], runs: list[dict[str, Any]]) -> str:
    labels = [_when(r.started_at, short=True) for r in cycles]
    chart = charts.columns(
        "Leads per cycle",
        labels,
        {
            "pulled": [r.pulled for r in cycles],
            "written": [r.written for r in cycles],
            "rejected": [r.rejected for r in cycles],
        },
    )
    head = ("started", "status", "pulled", "decided", "written", "rejected", "API calls", "error")
    keys = (
        "started_at",
        "status",
        "pulled",
        "decided",
        "written",
        "rejected",
        "api_calls",
        "error",
    )
    rows = [[_cell(run, k) for k in keys] for run in runs]
    return f"<h2>Recent cycles</h2>{chart}{_table(head, rows)}"


def _cell(run: dict[str, Any], key: str) -> object:
    value = run[key]
    if key == "status" and run["dry_run"]:
        return f"{value} (dry run)"
    if key == "started_at" and value:
        return str(value)[:19].replace("T", " ")
    return "" if value is None else value


def _api_usage(usage: Sequence[RunRow]) -> str:
    title = "API calls used today, as reported after each cycle"
    if not usage:
        return f"<h2>API usage over time</h2>{charts.empty(title)}"
    labels = [_when(r.started_at, short=True) for r in usage]
    used = [float(r.api_used or 0) for r in usage]
    chart = charts.line(title, labels, used, float(usage[-1].api_limit or 0) or None)
    return f"<h2>API usage over time</h2>{chart}"


def _leads(a: Analytics) -> str:
    owners = (
        charts.bars("Leads per owner", a.per_owner)
        if a.per_owner
        else charts.empty("Leads per owner", "the store does not record lead owners yet")
    )
    scores = charts.bars("Score distribution (latest score per lead)", a.scores)
    return f"<h2>Leads</h2><div class=grid>{owners}{scores}</div>"


def _dead_letters(dead: list[dict[str, Any]]) -> str:
    if not dead:
        return "<h2>Dead letters</h2><p class=empty>none</p>"
    head = ("id", "lead", "error code", "fields", "message")
    rows = [
        [d["id"], d["lead_id"], d["error_code"] or "", ", ".join(d["fields"]), d["message"] or ""]
        for d in dead
    ]
    hint = "<p class=note>Retry with <code>sfsync dead-letters retry</code>.</p>"
    return f"<h2>Dead letters</h2>{_table(head, rows)}{hint}"


def _rates(title: str, rates: Sequence[Rate]) -> str:
    if not rates:
        return charts.empty(title, "not recorded in the store yet")
    chart = charts.bars(title, [(r.group, r.rate) for r in rates], charts.percent)
    rows = [[r.group, r.leads, r.converted, charts.percent(r.rate)] for r in rates]
    return chart + _table(("group", "leads", "converted", "rate"), rows)


def _table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _when(value: datetime, *, short: bool = False) -> str:
    return value.strftime("%H:%M" if short else "%Y-%m-%d %H:%M:%S UTC")
