"""Tables for bench-results.md: sfsync against the alternatives, the daemon's memory and latency.

`benchmarks.report` lists these renderers in its SECTIONS; each takes the
suite's results (anything with `rows(group)`) and returns Markdown lines, or
nothing when its benchmark did not run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

Row = dict[str, Any]
RSS_TARGET_MB = 200


class HasRows(Protocol):
    """The part of `report.Results` these renderers read."""

    def rows(self, group: str) -> list[Row]: ...


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return out + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def _alternative(alt: Row, sfsync_calls: int, sfsync_seconds: float) -> str:
    ratio_calls = alt["calls"] / max(sfsync_calls, 1)
    ratio_time = alt["seconds"] / max(sfsync_seconds, 1e-9)
    text = (
        f"{alt['calls']:,} calls ({ratio_calls:.1f}x), {alt['seconds']:.1f} s ({ratio_time:.1f}x)"
    )
    if alt["measured_leads"] < alt["leads"]:
        text += f", extrapolated from {alt['measured_leads']:,} leads"
    if alt["waited_seconds"]:
        text += f", {alt['waited_seconds']:.0f} s of it the library's sleeps"
    return text


def alternatives(results: HasRows) -> list[str]:
    """sfsync's first cycle, per-lead REST and Bulk 2.0 on the same leads and changes."""
    rows = []
    for r in results.rows("alternatives"):
        per_lead, bulk = r["per_lead"], r["bulk2"]
        check = "same" if per_lead["mismatched"] == bulk["mismatched"] == 0 else "DIFFERENT"
        rows.append(
            [
                f"{r['leads']:,}",
                f"{r['planned_leads']:,} leads, {r['planned_fields']:,} values "
                f"(+{r['conversions']} conversions)",
                f"{r['sfsync_calls']} calls, {r['sfsync_seconds']:.1f} s",
                _alternative(per_lead, r["sfsync_calls"], r["sfsync_seconds"]),
                _alternative(bulk, r["sfsync_calls"], r["sfsync_seconds"]),
                check,
            ]
        )
    if not rows:
        return []
    latency = results.rows("alternatives")[0]["latency_ms"]
    header = [
        "leads",
        "changes written (sfsync's)",
        "sfsync first cycle",
        "per lead: query_all + Lead.update",
        "Bulk 2.0: query_all + bulk2.Lead.update",
        "end state",
    ]
    note = (
        f"At {latency} ms a call; ratios against sfsync. sfsync's time includes deciding "
        "every lead; the scripts only write sfsync's own changes (bench_naive.py)."
    )
    return [note, "", *_table(header, rows)]


def daemon_memory(results: HasRows) -> list[str]:
    """The daemon's RSS: the first cycle's peak and the steady state after it."""
    rows = [
        [
            f"{r['leads']:,}",
            f"{r['minutes']:g} min, a cycle every {r['interval_s']} s",
            f"{r['cycles']} cycles, {r['changes']:,} changes",
            f"{r['peak_mb']:.0f} MB",
            f"{r['steady_median_mb']:.0f} / {r['steady_max_mb']:.0f} MB",
            f"{r['drift_mb']:+.1f} MB",
            "met" if r["steady_max_mb"] < RSS_TARGET_MB else "missed",
        ]
        for r in results.rows("daemon_rss")
    ]
    header = [
        "leads",
        "run after the first cycle",
        "work",
        "peak (first cycle)",
        "steady median / max",
        "drift",
        f"steady < {RSS_TARGET_MB} MB",
    ]
    return _table(header, rows) if rows else []


def owner_latency(results: HasRows) -> list[str]:
    """Creation in the org to owner written, with the daemon on its interval."""
    rows = [
        [
            f"{r['leads']:,}",
            f"{r['interval_s']} s, {r['latency_ms']} ms a call",
            f"{r['routed']} of {r['arrivals']} over {r['window_s']:g} s",
            f"{r['p50_s']:.1f} s",
            f"{r['p95_s']:.1f} s",
            f"{r['max_s']:.1f} s",
            f"{r['stamp_p50_s']:.0f} s / {r['stamp_p95_s']:.0f} s",
        ]
        for r in results.rows("owner_latency")
    ]
    header = [
        "org",
        "poll interval",
        "intake leads routed",
        "p50",
        "p95",
        "max",
        "org stamps p50 / p95",
    ]
    return _table(header, rows) if rows else []
