"""Charts as server-rendered SVG for the insights page, drawn like the conversation's mood chart: no script, no
library.

Each chart is a figure: a visible caption (its accessible name) and an `<svg role="img">` with a one-sentence
description, every point and bar
carries its value in a `<title>`, and the page puts the same figures in a table beside it (the accessible
alternative). All text is escaped: labels are data (intents, customers' questions)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

Format = Callable[[float], str]

LINE_W, LINE_H = 560, 210
LINE_PAD = {"left": 48, "right": 14, "top": 14, "bottom": 30}
BAR_W, BAR_ROW = 560, 24
BAR_LABEL = 200  # the labels' column
BAR_VALUE = 130  # the values' column, right of the bars
MAX_LABEL_CHARS = 30


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # one per x label; None: nothing that day
    tone: str = "current"  # CSS: chart-line--current | --previous


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    low: float | None = None  # an interval around the value (95 % CI), drawn as a whisker
    high: float | None = None
    tone: str = "current"


def _n(value: float) -> str:
    return f"{value:.1f}"


def _open(chart_id: str, title: str, description: str, width: int, height: int) -> str:
    """A figure whose visible caption names the chart (and is its accessible name), with the description inside."""
    cid = escape(chart_id)
    return (
        f'<figure class="chart"><figcaption class="chart-title" id="{cid}-title">{escape(title)}</figcaption>'
        f'<svg class="chart-svg" viewBox="0 0 {width} {height}" role="img" preserveAspectRatio="xMidYMid meet" '
        f'aria-labelledby="{cid}-title {cid}-desc" data-chart="{cid}">'
        f'<desc id="{cid}-desc">{escape(description)}</desc>'
    )


CLOSE = "</svg></figure>"


def count_axis(top: float) -> float:
    """The top of a count axis: a multiple of 4 (at least 4), so that its five grid lines fall on whole numbers."""
    return float(max(4, -(-int(top) // 4) * 4))


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 1] + "…"


def line_chart(
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    y_min: float,
    y_max: float,
    y_format: Format,
    zero_line: bool = False,
) -> Markup:
    """Lines over the period's days, the previous period's dashed beside it (the n-th day over the n-th)."""
    left, right, top, bottom = LINE_PAD["left"], LINE_PAD["right"], LINE_PAD["top"], LINE_PAD["bottom"]
    width, height = LINE_W - left - right, LINE_H - top - bottom
    span = (y_max - y_min) or 1.0
    n = len(labels)

    def x(i: int) -> float:
        return left + (width / 2 if n <= 1 else i * width / (n - 1))

    def y(v: float) -> float:
        clamped = min(max(v, y_min), y_max)
        return top + (1 - (clamped - y_min) / span) * height

    parts = [_open(chart_id, title, description, LINE_W, LINE_H)]
    for k in range(5):
        tick = y_min + span * k / 4
        css = "chart-zero" if zero_line and abs(tick) < 1e-9 else "chart-grid"
        at = _n(y(tick))
        parts.append(f'<line class="{css}" x1="{left}" x2="{LINE_W - right}" y1="{at}" y2="{at}"/>')
        parts.append(
            f'<text class="chart-axis" x="{left - 6}" y="{_n(y(tick) + 3)}" text-anchor="end">'
            f"{escape(y_format(tick))}</text>"
        )
    step = max(1, -(-n // 7))  # at most about seven day labels
    for i, label in enumerate(labels):
        if i % step == 0 or i == n - 1:
            parts.append(
                f'<text class="chart-axis" x="{_n(x(i))}" y="{LINE_H - 8}" text-anchor="middle">{escape(label)}</text>'
            )
    for s in series:
        runs: list[list[tuple[float, float]]] = [[]]
        for i, v in enumerate(s.values):
            if v is None:
                runs.append([])
            else:
                runs[-1].append((x(i), y(v)))
        for run in runs:
            if len(run) > 1:
                points = " ".join(f"{_n(px)},{_n(py)}" for px, py in run)
                parts.append(f'<polyline class="chart-line chart-line--{escape(s.tone)}" points="{points}"/>')
        for i, v in enumerate(s.values):
            if v is None:
                continue
            tip = f"{s.name}, {labels[i] if i < len(labels) else ''}: {y_format(v)}"
            parts.append(
                f'<circle class="chart-point chart-point--{escape(s.tone)}" cx="{_n(x(i))}" cy="{_n(y(v))}" r="3.5">'
                f"<title>{escape(tip)}</title></circle>"
            )
    parts.append(_legend(series, LINE_W - right, top))
    parts.append(CLOSE)
    return Markup("".join(parts))


def _legend(series: Sequence[Series], right_edge: int, top: int) -> str:
    out, x = [], right_edge
    for s in reversed(series):
        width = 12 + 7 * len(s.name)
        x -= width
        out.append(
            f'<g class="chart-legend"><line class="chart-line chart-line--{escape(s.tone)}" x1="{x}" x2="{x + 10}" '
            f'y1="{top - 6}" y2="{top - 6}"/><text class="chart-axis" x="{x + 13}" y="{top - 3}">{escape(s.name)}</text></g>'
        )
    return "".join(out)


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[Bar],
    *,
    value_format: Format,
    max_value: float | None = None,
) -> Markup:
    """Horizontal bars, one row each, with whiskers where a bar has an interval."""
    height = max(1, len(bars)) * BAR_ROW + 12
    top_value = max_value if max_value is not None else max([b.high or b.value or 0.0 for b in bars] + [0.0])
    top_value = top_value or 1.0
    span = BAR_W - BAR_LABEL - BAR_VALUE

    def w(v: float) -> float:
        return max(0.0, min(v, top_value)) / top_value * span

    parts = [_open(chart_id, title, description, BAR_W, height)]
    for i, b in enumerate(bars):
        y = 6 + i * BAR_ROW
        shown = "—" if b.value is None else value_format(b.value)
        tip = f"{b.label}: {shown}" + (
            f" (95% interval {value_format(b.low)} to {value_format(b.high)})"
            if b.low is not None and b.high is not None
            else ""
        )
        parts.append(f'<g class="chart-row"><title>{escape(tip)}</title>')
        parts.append(
            f'<text class="chart-label" x="{BAR_LABEL - 8}" y="{y + 15}" text-anchor="end">{escape(_short(b.label))}</text>'
        )
        if b.value is not None:
            parts.append(
                f'<rect class="chart-bar chart-bar--{escape(b.tone)}" x="{BAR_LABEL}" y="{y + 3}" '
                f'width="{_n(w(b.value))}" height="{BAR_ROW - 8}" rx="2" data-value="{b.value}"/>'
            )
        if b.low is not None and b.high is not None:
            mid = y + BAR_ROW / 2 - 1
            x1, x2 = BAR_LABEL + w(b.low), BAR_LABEL + w(b.high)
            parts.append(f'<line class="chart-whisker" x1="{_n(x1)}" x2="{_n(x2)}" y1="{_n(mid)}" y2="{_n(mid)}"/>')
            for xe in (x1, x2):
                parts.append(
                    f'<line class="chart-whisker" x1="{_n(xe)}" x2="{_n(xe)}" y1="{_n(mid - 5)}" y2="{_n(mid + 5)}"/>'
                )
        parts.append(f'<text class="chart-value" x="{BAR_W - BAR_VALUE + 8}" y="{y + 15}">{escape(shown)}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))
