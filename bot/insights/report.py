"""`tandem insights report`: the dashboard's tables in the terminal, the period beside the previous one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from bot.insights.scope import Filters
from bot.insights.tables.table import Table

# What the terminal shows, in order (the page and the CSV downloads have every table).
REPORT_TABLES = (
    "summary",
    "handoff-reasons",
    "handoff-queues",
    "response-times",
    "negative-outcomes",
    "journeys",
    "funnel",
    "surveys",
    "engagement",
    "recommendations",
    "recommendation-tests",
    "intents",
    "rising-intents",
    "unknown-questions",
)
MAX_CELL = 90


def _when(f: Filters) -> str:
    def moment(at: datetime) -> str:
        return (
            at.strftime("%Y-%m-%d") if (at.hour, at.minute, at.second) == (0, 0, 0) else at.strftime("%Y-%m-%d %H:%M")
        )

    return f"{moment(f.since)} to {moment(f.until)} UTC"


def heading(f: Filters) -> str:
    before = f.previous()
    filters = ", ".join(f"{k} {v}" for k, v in f.active().items())
    return f"Insights {_when(f)}, compared with {_when(before)}" + (f"; only {filters}" if filters else "")


def format_table(table: Table) -> str:
    headers, rows = table.display()
    if table.slug == "summary":  # the kind and better-when columns say how to read the others
        headers = [h for i, h in enumerate(headers) if i not in (1, 2)]
        rows = [[c for i, c in enumerate(r) if i not in (1, 2)] for r in rows]
    cells = [headers] + [[c if len(c) <= MAX_CELL else c[: MAX_CELL - 1] + "…" for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [table.title]
    if not rows:
        return table.title + "\n  (nothing in this period)"
    for n, r in enumerate(cells):
        lines.append(
            "  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
        )
        if n == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    if table.ignores:
        lines.append(f"  (the {', '.join(table.ignores)} filters do not apply here)")
    if table.note:
        lines.append(f"  {table.note}")
    return "\n".join(lines)


def format_report(tables: Mapping[str, Table], f: Filters, order: Iterable[str] = REPORT_TABLES) -> str:
    parts = [heading(f)]
    parts += [format_table(tables[slug]) for slug in order if slug in tables]
    return "\n\n".join(parts) + "\n"
