"""Inline SVG charts for report.html: plain functions from numbers to markup, no script, no
network. Each chart scales to its container (a viewBox and width 100%), so it reads on a phone
as on a laptop; every mark has a <title> so a hover (or a screen reader) gives the figure.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

from markupsafe import Markup, escape

from nosql_advisor.report.risk import parse_time

WIDTH = 720
ROW = 18
LABEL = 230  # width of the label column


def _svg(height: int, label: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg class="chart" role="img" aria-label="{escape(label)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f'<title>{escape(label)}</title>{"".join(body)}</svg>')


def _short(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else "…" + text[-(limit - 1):]


def bars(rows: list[tuple[str, float, str]], label: str, maximum: float | None = None,
         intervals: list[tuple[float, float] | None] | None = None, room: int = 70) -> Markup:
    """Horizontal bars: (label, value, text shown at the bar's end). `maximum` fixes the scale
    (1.0 for shares), else the largest value fills the width. `intervals` (one per row, or None
    for a row without) draw each value's 95% interval as a whisker across the bar's end; `room`
    is the width kept right of the longest bar for its text."""
    top = maximum or max((value for _, value, _ in rows), default=0) or 1
    span = WIDTH - LABEL - room
    body = []
    for i, (name, value, text) in enumerate(rows):
        y = 4 + i * ROW
        length = max(1.0, span * value / top) if value > 0 else 0
        interval = intervals[i] if intervals else None
        whisker = "" if interval is None else (
            f'<line x1="{LABEL + span * interval[0] / top:.1f}" x2="{LABEL + span * interval[1] / top:.1f}" '
            f'y1="{y + 8}" y2="{y + 8}" class="whisker"/>')
        end = max(length, span * interval[1] / top) if interval else length
        body.append(
            f'<g><title>{escape(name)}: {escape(text)}</title>'
            f'<text x="{LABEL - 6}" y="{y + 12}" text-anchor="end" class="label">{escape(_short(name))}</text>'
            f'<rect x="{LABEL}" y="{y + 2}" width="{length:.1f}" height="{ROW - 5}" rx="2" class="bar"/>{whisker}'
            f'<text x="{LABEL + end + 4:.1f}" y="{y + 12}" class="value">{escape(text)}</text></g>')
    return _svg(8 + len(rows) * ROW, label, body)


def _log_x(value: float, low: float, high: float, span: float) -> float:
    low, high = math.log10(max(low, 1)), math.log10(max(high, 1))
    if high <= low:
        return LABEL + span / 2
    return LABEL + span * (math.log10(max(value, 1)) - low) / (high - low)


def ranges(rows: list[tuple[str, dict]], label: str, unit: str, fmt=str) -> Markup:
    """One line per distribution on a log scale: a thin whisker min..max, a bar p50..p95, a tick
    at p99. `rows` are (label, {"min", "p50", "p95", "p99", "max"})."""
    if not rows:
        return _svg(24, label, ['<text x="8" y="16" class="label">nothing to show</text>'])
    low = max(1, min(d["min"] for _, d in rows))
    high = max(2, max(d["max"] for _, d in rows))
    span = WIDTH - LABEL - 20
    body = [_log_axis(low, high, span, 4 + len(rows) * ROW, unit, fmt)]
    for i, (name, dist) in enumerate(rows):
        y = 4 + i * ROW
        x = {key: _log_x(dist[key], low, high, span) for key in ("min", "p50", "p95", "p99", "max")}
        said = (f"min {fmt(dist['min'])}, p50 {fmt(dist['p50'])}, p95 {fmt(dist['p95'])}, "
                f"p99 {fmt(dist['p99'])}, max {fmt(dist['max'])}")
        body.append(
            f'<g><title>{escape(name)}: {escape(said)}</title>'
            f'<text x="{LABEL - 6}" y="{y + 12}" text-anchor="end" class="label">{escape(_short(name))}</text>'
            f'<line x1="{x["min"]:.1f}" x2="{x["max"]:.1f}" y1="{y + 8}" y2="{y + 8}" class="whisker"/>'
            f'<rect x="{x["p50"]:.1f}" y="{y + 3}" width="{max(2.0, x["p95"] - x["p50"]):.1f}" height="{ROW - 7}" class="bar"/>'
            f'<line x1="{x["p99"]:.1f}" x2="{x["p99"]:.1f}" y1="{y + 1}" y2="{y + ROW - 3}" class="p99"/></g>')
    return _svg(24 + len(rows) * ROW, label, body)


BYTE_TICKS = (1, 10, 100, 1024, 10 * 1024, 100 * 1024, 1024**2, 10 * 1024**2, 16 * 1024**2)


def _log_axis(low: float, high: float, span: float, y: int, unit: str, fmt) -> str:
    """Grid lines at powers of ten (of bytes: 1 KiB, 10 KiB, ... up to 16 MiB), the unit on the left."""
    if unit == "bytes":
        values = BYTE_TICKS
    else:
        values = [10 ** k for k in range(0, int(math.log10(max(high, 1))) + 2)]
    ticks = []
    for value in values:
        if low <= value <= high:
            x = _log_x(value, low, high, span)
            ticks.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{y}" class="grid"/>'
                         f'<text x="{x:.1f}" y="{y + 14}" text-anchor="middle" class="tick">{escape(fmt(value))}</text>')
    ticks.append(f'<text x="{LABEL - 6}" y="{y + 14}" text-anchor="end" class="tick">{escape(unit)}, log scale</text>')
    return "".join(ticks)


def _time(text: str) -> float:
    return parse_time(text).timestamp()


def spans(rows: list[tuple[str, str, str, str, dict | None]], label: str) -> Markup:
    """One row per collection on a shared time axis, from its first to its last ObjectId creation
    time, with its average rate at the end: when each collection grew and how fast, whatever its
    size. Where the shape counted documents per month, the row is that monthly histogram (bars
    scaled to the row's busiest month); otherwise one bar for the span. `rows` are (label, first
    ISO time, last ISO time, text, {"2025-03": count} or None)."""
    if not rows:
        return _svg(24, label, ['<text x="8" y="16" class="label">no ObjectId creation times</text>'])
    left, right = LABEL, WIDTH - 120
    start = min(_time(first) for _, first, _, _, _ in rows)
    end = max(_time(last) for _, _, last, _, _ in rows)
    width_s = max(end - start, 1.0)

    def x(moment: float) -> float:
        return left + (right - left) * (moment - start) / width_s

    bottom = 4 + len(rows) * ROW
    body = []
    for year in range(datetime.fromtimestamp(start, timezone.utc).year + 1, datetime.fromtimestamp(end, timezone.utc).year + 1):
        at = x(datetime(year, 1, 1, tzinfo=timezone.utc).timestamp())
        body.append(f'<line x1="{at:.1f}" x2="{at:.1f}" y1="0" y2="{bottom}" class="grid"/>'
                    f'<text x="{at:.1f}" y="{bottom + 14}" text-anchor="middle" class="tick">{year}</text>')
    body.append(f'<text x="{LABEL - 6}" y="{bottom + 14}" text-anchor="end" class="tick">ObjectId creation time</text>')
    for i, (name, first, last, text, months) in enumerate(rows):
        y = 4 + i * ROW
        marks = _months(months, x, y) if months else _span(x(_time(first)), x(_time(last)), y)
        body.append(
            f'<g><title>{escape(name)}: created {first[:10]} .. {last[:10]}, {escape(text)}</title>'
            f'<text x="{LABEL - 6}" y="{y + 12}" text-anchor="end" class="label">{escape(_short(name))}</text>'
            f'{marks}<text x="{right + 6}" y="{y + 12}" class="value">{escape(text)}</text></g>')
    return _svg(bottom + 22, label, body)


def _span(x1: float, x2: float, y: int) -> str:
    return f'<rect x="{x1:.1f}" y="{y + 3}" width="{max(2.0, x2 - x1):.1f}" height="{ROW - 7}" rx="2" class="bar"/>'


def _months(months: dict[str, int], x, y: int) -> str:
    """A bar per month at its place on the axis, height by its share of the busiest month."""
    busiest = max(months.values())
    marks = []
    for month, count in months.items():
        year, number = (int(part) for part in month.split("-"))
        begin = datetime(year, number, 1, tzinfo=timezone.utc)
        after = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=timezone.utc)
        x1, x2 = x(begin.timestamp()), x(after.timestamp())
        height = max(1.0, (ROW - 5) * count / busiest)
        marks.append(f'<rect x="{x1:.1f}" y="{y + ROW - 2 - height:.1f}" width="{max(1.0, x2 - x1 - 0.5):.1f}" '
                     f'height="{height:.1f}" class="bar"><title>{month}: {count:,} documents</title></rect>')
    return "".join(marks)
