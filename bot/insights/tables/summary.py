"""The headline figures (the tiles at the top of the page): the period beside the previous one, and which way is
better for each."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.insights.panels.messages import Sentiment
from bot.insights.panels.workflows import Journeys
from bot.insights.scope import Filters, share
from bot.insights.tables.table import BY_ROW, Column, Table

HIGHER, LOWER, EITHER = "higher", "lower", ""


def _negative_share(s: Sentiment) -> float | None:
    return share(next(c.count for c in s.distribution if c.key == "negative"), s.messages)


def summary_table(r: Mapping[str, Any], f: Filters) -> Table:
    """The headline figures, the period beside the previous one (the tiles at the top of the page), and which way
    is better for each."""
    rows: list[tuple[str, str, str, Any, Any]] = []

    def add(label: str, kind: str, better: str, panel: str, value: Callable[[Any], Any]) -> None:
        compared = r[panel]
        rows.append((label, kind, better, value(compared.current), value(compared.previous)))

    def overall(attribute: str) -> Callable[[Journeys], Any]:
        return lambda j: getattr(j.overall, attribute) if j.overall else None

    add("Conversations", "count", EITHER, "volume", lambda v: v.conversations)
    add("Customers", "count", EITHER, "volume", lambda v: v.customers)
    add("Containment (no person needed)", "rate", HIGHER, "containment", lambda c: c.rate)
    add("Fallback rate (messages not understood)", "rate", LOWER, "fallbacks", lambda fb: fb.rate)
    add("Handoff rate (conversations)", "rate", LOWER, "handoffs", lambda h: h.rate)
    add("Bot response, median", "seconds", LOWER, "response_times", lambda t: t.bot.median)
    add("Agent first response, median", "seconds", LOWER, "response_times", lambda t: t.agent_first_response.median)
    add("Agent resolution, median", "seconds", LOWER, "response_times", lambda t: t.resolution.median)
    add("Negative messages", "rate", LOWER, "sentiment", _negative_share)
    add("Conversations that turned negative", "count", LOWER, "sentiment", lambda s: s.turned_negative)
    add("First-contact resolution", "rate", HIGHER, "journeys", overall("first_contact_resolution"))
    add("Median time to resolution", "hours", LOWER, "journeys", overall("median_hours_to_resolution"))
    for figures in r["surveys"].current.measures:
        measure = figures.measure
        then = r["surveys"].previous.of(measure.key)
        before = then.overall.headline(measure) if then else None
        rows.append((measure.label, "score", HIGHER, figures.overall.headline(measure), before))
    add("Returning customers", "rate", HIGHER, "engagement", lambda e: e.returning_share)
    return Table(
        "summary",
        "Headline figures",
        (
            Column("measure", "Measure", "text"),
            Column("kind", "Kind", "text"),
            Column("better", "Better when", "text"),
            Column("value", "This period", BY_ROW),
            Column("previous", "Previous period", BY_ROW),
        ),
        tuple(rows),
    )


SUMMARY_PANELS = (
    "volume",
    "containment",
    "fallbacks",
    "handoffs",
    "response_times",
    "sentiment",
    "journeys",
    "surveys",
    "engagement",
)
