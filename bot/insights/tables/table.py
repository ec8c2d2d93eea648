"""A table of the dashboard's figures: its columns, how each kind of value reads (the page, the terminal), and its
CSV (raw values: counts, rates as 0..1, seconds, scores, ISO dates; a cell a spreadsheet would run as a formula is
defused)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

# How a column's values read: count 1,234; rate 42.0%; seconds 1.2 s / 3.5 min / 2.1 h; hours 5.0 h / 2.1 d;
# score 4.25; signed +0.12; p 0.013; date 2026-11-03; text as is.
KINDS = ("count", "rate", "seconds", "hours", "score", "signed", "p", "date", "text")
BY_ROW = "by_row"  # a column whose rows say their own kind (the summary: counts, rates and times in one column)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "count"


@dataclass(frozen=True)
class Table:
    slug: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    ignores: tuple[str, ...] = ()  # filters that do not apply to this table
    note: str | None = None

    def csv(self) -> str:
        """The table as CSV: a header of column keys, raw values (rates 0..1, seconds, ISO dates), empty for none."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([c.key for c in self.columns])
        for row in self.rows:
            writer.writerow([_csv_value(v) for v in row])
        return out.getvalue()

    def formatted(self) -> list[list[str]]:
        return [[format_value(v, self.kind_of(c, row)) for v, c in zip(row, self.columns)] for row in self.rows]

    def display(self) -> tuple[list[str], list[list[str]]]:
        """Headers and formatted rows for people: a rate and its interval (`x_rate`, `x_ci_low`, `x_ci_high`) in one
        cell, "25.0% (18.1–33.4%)"; the CSV keeps them apart."""
        keys = [c.key for c in self.columns]
        merged = {k[: -len("_rate")] for k in keys if k.endswith("_rate") and f"{k[:-5]}_ci_low" in keys}
        headers, picks = [], []
        for i, c in enumerate(self.columns):
            stem = c.key.rsplit("_ci_", 1)[0]
            if "_ci_" in c.key and stem in merged:
                continue
            headers.append(c.label + (" (95% CI)" if c.key[:-5] in merged and c.key.endswith("_rate") else ""))
            picks.append(i)
        rows = []
        for row, cells in zip(self.rows, self.formatted()):
            out = []
            for i in picks:
                key = keys[i]
                text = cells[i]
                if key.endswith("_rate") and key[:-5] in merged:
                    low, high = row[keys.index(key[:-5] + "_ci_low")], row[keys.index(key[:-5] + "_ci_high")]
                    if low is not None and high is not None:
                        text += f" ({100 * low:.1f}–{100 * high:.1f}%)"
                out.append(text)
            rows.append(out)
        return headers, rows

    def kind_of(self, column: Column, row: Sequence[Any]) -> str:
        """The column's kind, or for BY_ROW columns the row's own (its `kind` cell)."""
        if column.kind != BY_ROW:
            return column.kind
        index = next(i for i, c in enumerate(self.columns) if c.key == "kind")
        return str(row[index])


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    # A spreadsheet runs a cell that starts with = + - @ as a formula: customers' words are data, never formulas.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def format_value(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "count":
        return f"{int(value):,}"
    if kind == "rate":
        return f"{100 * value:.1f}%"
    if kind == "seconds":
        return format_seconds(float(value))
    if kind == "hours":
        return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} d"
    if kind == "score":
        return f"{value:.2f}"
    if kind == "signed":
        return f"{value:+.2f}"
    if kind == "p":
        return "< 0.001" if value < 0.001 else f"{value:.3f}"
    if kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)
    return str(value)


def format_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


# --- what the builders share -------------------------------------------------------------------------------------------

ALL_FILTERS = ("channel", "segment", "workflow")


def daily(rows_now: Sequence[Any], rows_before: Sequence[Any], value: Callable[[Any], tuple]) -> tuple[tuple, ...]:
    """Each day of the period beside the same day of the previous one (the n-th beside the n-th)."""
    out = []
    for i, now in enumerate(rows_now):
        before = rows_before[i] if i < len(rows_before) else None
        out.append((now.day, *value(now), before.day if before else None, *(value(before) if before else (None,))))
    return tuple(out)
