"""Inline SVG charts, drawn in Python: no JavaScript, no external assets, every label escaped.

The status page must render in any browser, offline, under a CSP that
forbids scripts; plain SVG does that. Each function returns a `<figure>`.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

WIDTH = 640
ROW = 22
LABEL_WIDTH = 180
PLOT_HEIGHT = 160
LEFT = 56  # room for the y-axis label, e.g. '15,000'
PALETTE = ("#2f6fb0", "#e08a1e", "#3c9a5f", "#b04a4a")
Fmt = Callable[[float], str]


def esc(value: object) -> str:
    """HTML-escape any value, quotes included: every byte from the org or the store goes here."""
    return html.escape(str(value), quote=True)


def number(value: float) -> str:
    """A count without a pointless '.0'."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def percent(value: float) -> str:
    """A share as a percentage."""
    return f"{value:.0%}"


def duration(seconds: float) -> str:
    """A duration as people read it: '45s', '12m 05s', '3h 05m', '2d 4h'."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def _figure(title: str, svg_body: str, height: int, legend: str = "") -> str:
    return (
        f"<figure><figcaption>{esc(title)}</figcaption>"
        f'<svg role="img" aria-label="{esc(title)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{esc(title)}</title>{svg_body}</svg>{legend}</figure>"
    )


def empty(title: str, why: str = "no data yet") -> str:
    """A chart's place when there is nothing to draw, saying why."""
    return f'<figure><figcaption>{esc(title)}</figcaption><p class="empty">{esc(why)}</p></figure>'


def bars(title: str, items: Sequence[tuple[str, float]], fmt: Fmt = number) -> str:
    """Horizontal bars, one row per category: readable with long labels and many rows."""
    if not items or not any(value for _, value in items):
        return empty(title)
    top = max(value for _, value in items) or 1.0
    room = WIDTH - LABEL_WIDTH - 70
    rows = []
    for i, (label, value) in enumerate(items):
        y, length = i * ROW + 4, room * value / top
        rows.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 14}" text-anchor="end">{esc(label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{ROW - 6}" '
            f'fill="{PALETTE[0]}"/>'
            f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + 14}">{esc(fmt(value))}</text>'
        )
    return _figure(title, "".join(rows), len(items) * ROW + 8)


def columns(title: str, labels: Sequence[str], series: dict[str, Sequence[float]]) -> str:
    """Vertical columns per label, one colour per series (e.g. pulled and written per cycle)."""
    values = [v for column in series.values() for v in column]
    if not labels or not any(values):
        return empty(title)
    top, slot = max(values) or 1.0, (WIDTH - LEFT) / len(labels)
    width = max(1.0, slot * 0.8 / len(series))
    parts = [_axis(top)]
    for s, (name, column) in enumerate(series.items()):
        for i, value in enumerate(column):
            h = PLOT_HEIGHT * value / top
            x = LEFT + i * slot + s * width
            parts.append(
                f'<rect x="{x:.1f}" y="{PLOT_HEIGHT - h + 10:.1f}" width="{width:.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[s % len(PALETTE)]}">'
                f"<title>{esc(labels[i])} {esc(name)}: {esc(number(value))}</title></rect>"
            )
    parts.append(_x_labels(labels, slot))
    return _figure(title, "".join(parts), PLOT_HEIGHT + 40, _legend(list(series)))


def line(title: str, labels: Sequence[str], points: Sequence[float], ceiling: float | None) -> str:
    """A line over time, with a dashed ceiling (e.g. API calls used against the daily limit)."""
    if len(points) < 1:
        return empty(title)
    top = max([*points, ceiling or 0.0]) or 1.0
    step = (WIDTH - LEFT - 20) / max(1, len(points) - 1)
    xy = " ".join(
        f"{LEFT + i * step:.1f},{PLOT_HEIGHT + 10 - PLOT_HEIGHT * v / top:.1f}"
        for i, v in enumerate(points)
    )
    parts = [
        _axis(top),
        f'<polyline points="{xy}" fill="none" stroke="{PALETTE[0]}" stroke-width="2"/>',
    ]
    if ceiling:
        y = PLOT_HEIGHT + 10 - PLOT_HEIGHT * ceiling / top
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - 20}" y1="{y:.1f}" y2="{y:.1f}" stroke="{PALETTE[3]}" '
            f'stroke-dasharray="6 4"><title>limit {esc(number(ceiling))}</title></line>'
        )
    parts.append(_ends(labels[0], labels[-1]))
    return _figure(title, "".join(parts), PLOT_HEIGHT + 40)


def _axis(top: float) -> str:
    return (
        f'<line x1="{LEFT - 2}" x2="{LEFT - 2}" y1="10" y2="{PLOT_HEIGHT + 10}" stroke="#888"/>'
        f'<line x1="{LEFT - 2}" x2="{WIDTH - 10}" y1="{PLOT_HEIGHT + 10}" '
        f'y2="{PLOT_HEIGHT + 10}" stroke="#888"/>'
        f'<text x="{LEFT - 6}" y="18" text-anchor="end">{esc(number(top))}</text>'
        f'<text x="{LEFT - 6}" y="{PLOT_HEIGHT + 10}" text-anchor="end">0</text>'
    )


def _x_labels(labels: Sequence[str], slot: float) -> str:
    every = max(1, len(labels) // 8)  # at most about eight labels on the axis
    return "".join(
        f'<text x="{LEFT + i * slot:.1f}" y="{PLOT_HEIGHT + 28}">{esc(label)}</text>'
        for i, label in enumerate(labels)
        if i % every == 0
    )


def _ends(first: str, last: str) -> str:
    y = PLOT_HEIGHT + 28
    return (
        f'<text x="{LEFT}" y="{y}">{esc(first)}</text>'
        f'<text x="{WIDTH - 20}" y="{y}" text-anchor="end">{esc(last)}</text>'
    )


def _legend(names: list[str]) -> str:
    keys = "".join(
        f'<span class="key" style="background:{PALETTE[i % len(PALETTE)]}"></span>{esc(name)} '
        for i, name in enumerate(names)
    )
    return f'<p class="legend">{keys}</p>'
