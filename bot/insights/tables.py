"""The dashboard's figures as tables: what the console shows beside each chart (its accessible alternative), what
every CSV download holds, and what `tandem insights report` prints.

One table per slug (`/insights/<slug>.csv`),
each built from one panel, with the previous period's figures beside the period's.

Values stay raw (counts, rates as 0..1, seconds, scores, dates); `Column.kind` says how to show them and
`format_value` does it, so the CSV keeps full precision and the page and terminal read alike.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.insights.panels import (
    NEGATIVE_OUTCOMES,
    Containment,
    Engagement,
    Fallbacks,
    Funnel,
    Handoffs,
    IntentCount,
    Intents,
    Journeys,
    ResponseTimes,
    Sentiment,
    Volume,
)
from bot.insights.recommendations import METRIC_WORDS, METRICS, Recommendations
from bot.insights.scope import Compared, Filters, Spread, share
from bot.insights.surveys import Surveys
from bot.insights.unknown import UnknownQuestions

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


# --- one builder per table ---------------------------------------------------------------------------------------------

ALL_FILTERS = ("channel", "segment", "workflow")


def _daily(rows_now: Sequence[Any], rows_before: Sequence[Any], value: Callable[[Any], tuple]) -> tuple[tuple, ...]:
    """Each day of the period beside the same day of the previous one (the n-th beside the n-th)."""
    out = []
    for i, now in enumerate(rows_now):
        before = rows_before[i] if i < len(rows_before) else None
        out.append((now.day, *value(now), before.day if before else None, *(value(before) if before else (None,))))
    return tuple(out)


def volume_table(p: Compared[Volume], f: Filters) -> Table:
    return Table(
        "volume",
        "Conversations per day",
        (
            Column("day", "Day", "date"),
            Column("conversations", "Conversations"),
            Column("previous_day", "Same day, previous period", "date"),
            Column("previous_conversations", "Conversations then"),
        ),
        _daily(p.current.per_day, p.previous.per_day, lambda d: (d.count,)),
    )


def containment_table(p: Compared[Containment], f: Filters) -> Table:
    return Table(
        "containment",
        "Containment per day (conversations that ended without a person)",
        (
            Column("day", "Day", "date"),
            Column("conversations", "Conversations"),
            Column("contained", "Without a person"),
            Column("containment", "Containment", "rate"),
            Column("previous_day", "Same day, previous period", "date"),
            Column("previous_containment", "Containment then", "rate"),
        ),
        tuple(
            (d.day, d.whole, d.part, d.rate, prev[0], prev[1])
            for d, prev in zip(
                p.current.per_day,
                [(b.day, b.rate) for b in p.previous.per_day] + [(None, None)] * len(p.current.per_day),
            )
        ),
    )


def fallbacks_table(p: Compared[Fallbacks], f: Filters) -> Table:
    return Table(
        "fallbacks",
        "Fallback rate per day (customer messages the bot did not understand)",
        (
            Column("day", "Day", "date"),
            Column("customer_messages", "Customer messages"),
            Column("fallbacks", "Fallbacks"),
            Column("fallback_rate", "Fallback rate", "rate"),
            Column("previous_day", "Same day, previous period", "date"),
            Column("previous_fallback_rate", "Fallback rate then", "rate"),
        ),
        tuple(
            (d.day, d.whole, d.part, d.rate, prev[0], prev[1])
            for d, prev in zip(
                p.current.per_day,
                [(b.day, b.rate) for b in p.previous.per_day] + [(None, None)] * len(p.current.per_day),
            )
        ),
    )


def handoff_reasons_table(p: Compared[Handoffs], f: Filters) -> Table:
    before = {c.key: c.count for c in p.previous.by_reason}
    now = p.current
    keys = [c.key for c in now.by_reason] + sorted(set(before) - {c.key for c in now.by_reason})
    counts = {c.key: c.count for c in now.by_reason}
    return Table(
        "handoff-reasons",
        "Why customers were handed to a person",
        (
            Column("reason", "Reason", "text"),
            Column("handoffs", "Handoffs"),
            Column("share", "Share", "rate"),
            Column("previous_handoffs", "Handoffs, previous period"),
        ),
        tuple((k, counts.get(k, 0), share(counts.get(k, 0), now.handoffs), before.get(k, 0)) for k in keys),
    )


def handoff_queues_table(p: Compared[Handoffs], f: Filters) -> Table:
    before = {q.queue: q for q in p.previous.by_queue}
    now = {q.queue: q for q in p.current.by_queue}
    keys = [q.queue for q in p.current.by_queue] + sorted(set(before) - set(now))
    rows = []
    for k in keys:
        q, b = now.get(k), before.get(k)
        rows.append(
            (
                k,
                q.handoffs if q else 0,
                share(q.handoffs if q else 0, p.current.handoffs),
                q.wait_to_claim.median if q else None,
                q.wait_to_claim.p90 if q else None,
                b.handoffs if b else 0,
                b.wait_to_claim.median if b else None,
            )
        )
    return Table(
        "handoff-queues",
        "Handoffs per queue, and the wait until an agent claimed them",
        (
            Column("queue", "Queue", "text"),
            Column("handoffs", "Handoffs"),
            Column("share", "Share", "rate"),
            Column("median_wait_seconds", "Median wait", "seconds"),
            Column("p90_wait_seconds", "90th percentile wait", "seconds"),
            Column("previous_handoffs", "Handoffs, previous period"),
            Column("previous_median_wait_seconds", "Median wait then", "seconds"),
        ),
        tuple(rows),
    )


def response_times_table(p: Compared[ResponseTimes], f: Filters) -> Table:
    def row(label: str, now: Spread, before: Spread) -> tuple:
        return (label, now.count, now.median, now.p90, before.count, before.median, before.p90)

    c, b = p.current, p.previous
    return Table(
        "response-times",
        "Response times",
        (
            Column("measure", "Measure", "text"),
            Column("count", "How many"),
            Column("median_seconds", "Median", "seconds"),
            Column("p90_seconds", "90th percentile", "seconds"),
            Column("previous_count", "How many, previous period"),
            Column("previous_median_seconds", "Median then", "seconds"),
            Column("previous_p90_seconds", "90th percentile then", "seconds"),
        ),
        (
            row("Bot: customer message to its answer", c.bot, b.bot),
            row("Agent: handoff to first reply", c.agent_first_response, b.agent_first_response),
            row("Agent: handoff to resolved", c.resolution, b.resolution),
        ),
    )


def sentiment_days_table(p: Compared[Sentiment], f: Filters) -> Table:
    return Table(
        "sentiment-by-day",
        "Customers' mood per day (average sentiment of their messages, -1 to +1)",
        (
            Column("day", "Day", "date"),
            Column("messages", "Messages with a mood"),
            Column("average", "Average", "signed"),
            Column("previous_day", "Same day, previous period", "date"),
            Column("previous_average", "Average then", "signed"),
        ),
        tuple(
            (d.day, d.messages, d.average, prev[0], prev[1])
            for d, prev in zip(
                p.current.per_day,
                [(b.day, b.average) for b in p.previous.per_day] + [(None, None)] * len(p.current.per_day),
            )
        ),
    )


MOOD_LABELS = {"negative": "Negative", "neutral": "Neutral", "positive": "Positive", "unknown": "No mood"}
OUTCOME_LABELS = {
    "handed_off": "Handed to a person",
    "recovered": "Recovered with the bot (last message not negative)",
    "abandoned": "Left unhappy (no person, last message negative)",
}


def sentiment_distribution_table(p: Compared[Sentiment], f: Filters) -> Table:
    before = {c.key: c.count for c in p.previous.distribution}
    return Table(
        "sentiment-distribution",
        "Customer messages by mood",
        (
            Column("mood", "Mood", "text"),
            Column("messages", "Messages"),
            Column("share", "Share", "rate"),
            Column("previous_messages", "Messages, previous period"),
            Column("previous_share", "Share then", "rate"),
        ),
        tuple(
            (
                MOOD_LABELS.get(c.key, c.key),
                c.count,
                share(c.count, p.current.messages),
                before.get(c.key, 0),
                share(before.get(c.key, 0), p.previous.messages),
            )
            for c in p.current.distribution
        ),
    )


def negative_outcomes_table(p: Compared[Sentiment], f: Filters) -> Table:
    now = {c.key: c.count for c in p.current.outcomes}
    before = {c.key: c.count for c in p.previous.outcomes}
    return Table(
        "negative-outcomes",
        "How conversations that turned negative ended",
        (
            Column("outcome", "Outcome", "text"),
            Column("conversations", "Conversations"),
            Column("share", "Share", "rate"),
            Column("previous_conversations", "Conversations, previous period"),
            Column("previous_share", "Share then", "rate"),
        ),
        tuple(
            (
                OUTCOME_LABELS[k],
                now.get(k, 0),
                share(now.get(k, 0), p.current.turned_negative),
                before.get(k, 0),
                share(before.get(k, 0), p.previous.turned_negative),
            )
            for k in NEGATIVE_OUTCOMES
        ),
    )


def journeys_table(p: Compared[Journeys], f: Filters) -> Table:
    before = {r.workflow: r for r in p.previous.rows}
    rows = []
    for r in p.current.rows:
        b = before.get(r.workflow)
        rows.append(
            (
                r.workflow,
                r.journeys,
                r.resolution_rate,
                r.first_contact_resolution,
                r.median_hours_to_resolution,
                r.p90_hours_to_resolution,
                r.escalation_rate,
                r.reopen_rate,
                r.csat_average,
                r.csat_responses,
                b.journeys if b else 0,
                b.first_contact_resolution if b else None,
            )
        )
    return Table(
        "journeys",
        "Journeys per workflow (opened in the period)",
        (
            Column("workflow", "Workflow", "text"),
            Column("journeys", "Journeys"),
            Column("resolved", "Resolved", "rate"),
            Column("first_contact_resolution", "First-contact resolution", "rate"),
            Column("median_hours_to_resolution", "Median time to resolution", "hours"),
            Column("p90_hours_to_resolution", "90th percentile", "hours"),
            Column("escalation_rate", "Escalated", "rate"),
            Column("reopen_rate", "Reopened", "rate"),
            Column("csat_average", "CSAT", "score"),
            Column("csat_responses", "CSAT answers"),
            Column("previous_journeys", "Journeys, previous period"),
            Column("previous_first_contact_resolution", "FCR then", "rate"),
        ),
        tuple(rows),
    )


def funnel_table(p: Compared[Funnel], f: Filters) -> Table:
    before = {(s.workflow, s.step): s for s in p.previous.steps}
    rows = []
    for s in p.current.steps:
        b = before.get((s.workflow, s.step))
        rows.append(
            (s.workflow, s.step, s.reached, s.stopped, s.drop_out, b.reached if b else 0, b.drop_out if b else None)
        )
    return Table(
        "funnel",
        "Where customers drop out: each workflow's steps, in the order journeys reach them",
        (
            Column("workflow", "Workflow", "text"),
            Column("step", "Step", "text"),
            Column("reached", "Journeys that reached it"),
            Column("stopped", "Stopped there, unresolved"),
            Column("drop_out", "Drop-out", "rate"),
            Column("previous_reached", "Reached, previous period"),
            Column("previous_drop_out", "Drop-out then", "rate"),
        ),
        tuple(rows),
    )


def surveys_table(p: Compared[Surveys], f: Filters) -> Table:
    rows = []
    for m in p.current.measures:
        then = p.previous.of(m.measure.key)
        groups = (
            [("overall", m.overall)] + [("workflow", s) for s in m.by_workflow] + [("segment", s) for s in m.by_segment]
        )
        before: dict[tuple[str, str], Any] = {}
        if then is not None:
            before = {("overall", "all"): then.overall}
            before |= {("workflow", s.key): s for s in then.by_workflow}
            before |= {("segment", s.key): s for s in then.by_segment}
        for kind, s in groups:
            b = before.get((kind, s.key))
            rows.append(
                (
                    m.measure.label,
                    kind,
                    s.key,
                    s.responses,
                    s.headline(m.measure),
                    s.good_share,
                    b.responses if b else 0,
                    b.headline(m.measure) if b else None,
                )
            )
    return Table(
        "surveys",
        "Survey answers: overall, by workflow and by customer segment",
        (
            Column("measure", "Measure", "text"),
            Column("group_by", "Grouped by", "text"),
            Column("group", "Group", "text"),
            Column("responses", "Answers"),
            Column("score", "Score", "score"),
            Column("good_share", "Satisfied (top two)", "rate"),
            Column("previous_responses", "Answers, previous period"),
            Column("previous_score", "Score then", "score"),
        ),
        tuple(rows),
    )


def surveys_by_day_table(p: Compared[Surveys], f: Filters) -> Table:
    rows = []
    for m in p.current.measures:
        for s in m.per_day:
            rows.append((m.measure.label, date.fromisoformat(s.key), s.responses, s.headline(m.measure)))
    return Table(
        "surveys-by-day",
        "Survey answers per day",
        (
            Column("measure", "Measure", "text"),
            Column("day", "Day", "date"),
            Column("responses", "Answers"),
            Column("score", "Score", "score"),
        ),
        tuple(rows),
    )


def engagement_table(p: Compared[Engagement], f: Filters) -> Table:
    def rows(e: Engagement) -> list[tuple[str, int, int, float | None]]:
        days = f"{e.repeat_days:g}"
        return [
            ("Returning customers (talked to the bot before)", e.returning, e.customers, e.returning_share),
            (
                f"Ordered again within {days} days of a resolved issue",
                e.repurchased_after_resolution,
                e.resolved_customers,
                e.repurchase_after_resolution_share,
            ),
            (
                f"Ordered within {days} days of clicking a recommendation",
                e.repurchased_after_click,
                e.clicked_customers,
                e.repurchase_after_click_share,
            ),
            (
                f"Churn-risk customers (risk ≥ {e.churn_threshold:.2f}) who talked to the bot",
                e.churn_risk_contacted,
                e.churn_risk_customers,
                e.churn_risk_contacted_share,
            ),
        ]

    now, before = rows(p.current), rows(p.previous)
    return Table(
        "engagement",
        "Engagement and retention",
        (
            Column("measure", "Measure", "text"),
            Column("customers", "Customers"),
            Column("of", "Out of"),
            Column("share", "Share", "rate"),
            Column("previous_customers", "Customers, previous period"),
            Column("previous_share", "Share then", "rate"),
        ),
        tuple((*n, b[1], b[3]) for n, b in zip(now, before)),
        note="Clicks and churn risk follow the segment filter only; the channel and workflow filters do not apply to them.",
    )


def recommendations_table(p: Compared[Recommendations], f: Filters) -> Table:
    rows = []
    for a in p.current.arms:
        b = p.previous.arm(a.strategy)
        cells: list[Any] = [a.strategy, a.customers, a.impressions]
        for metric in METRICS:
            ci = a.interval(metric)
            cells += [a.successes(metric), a.rate(metric), ci.low if ci else None, ci.high if ci else None]
        cells += [b.impressions if b else 0, b.rate("conversion") if b else None]
        rows.append(tuple(cells))
    columns = [Column("strategy", "Strategy", "text"), Column("customers", "Customers"), Column("impressions", "Shown")]
    for metric, (count_label, rate_label) in {
        "conversion": ("Bought", "Conversion"),
        "ctr": ("Clicked", "Click-through"),
        "not_interested": ('"Not interested"', '"Not interested" rate'),
    }.items():
        columns += [
            Column(f"{metric}_count", count_label),
            Column(f"{metric}_rate", rate_label, "rate"),
            Column(f"{metric}_ci_low", "95% CI low", "rate"),
            Column(f"{metric}_ci_high", "95% CI high", "rate"),
        ]
    columns += [
        Column("previous_impressions", "Shown, previous period"),
        Column("previous_conversion", "Conversion then", "rate"),
    ]
    return Table(
        "recommendations",
        "Recommendations per strategy (A/B arms), with 95% Wilson intervals",
        tuple(columns),
        tuple(rows),
        ignores=ALL_FILTERS,
        note=f"Verdict: {p.current.verdict}.",
    )


def recommendation_tests_table(p: Compared[Recommendations], f: Filters) -> Table:
    return Table(
        "recommendation-tests",
        "Significance tests between the two strategies shown most (two-proportion z-test, two-sided)",
        (
            Column("metric", "Metric", "text"),
            Column("higher", "Higher rate", "text"),
            Column("lower", "Lower rate", "text"),
            Column("z", "z", "score"),
            Column("p_value", "p", "p"),
            Column("verdict", "Verdict", "text"),
        ),
        tuple(
            (
                METRIC_WORDS[c.metric],
                c.first,
                c.second,
                c.test.z if c.test else None,
                c.test.p_value if c.test else None,
                c.verdict,
            )
            for c in p.current.comparisons
        ),
        ignores=ALL_FILTERS,
    )


def _intent_rows(counts: Sequence[IntentCount], total: int) -> tuple[tuple, ...]:
    return tuple((c.intent, c.count, share(c.count, total), c.previous, c.count - c.previous) for c in counts)


INTENT_COLUMNS = (
    Column("intent", "Intent", "text"),
    Column("messages", "Messages"),
    Column("share", "Share", "rate"),
    Column("previous_messages", "Messages, previous period"),
    Column("change", "Change"),
)


def intents_table(p: Intents, f: Filters) -> Table:
    return Table("intents", "Top intents", INTENT_COLUMNS, _intent_rows(p.top, p.messages))


def rising_intents_table(p: Intents, f: Filters) -> Table:
    return Table("rising-intents", "Rising intents", INTENT_COLUMNS, _intent_rows(p.rising, p.messages))


def unknown_questions_table(p: UnknownQuestions, f: Filters) -> Table:
    return Table(
        "unknown-questions",
        "What customers ask that the bot does not know, grouped by meaning",
        (
            Column("group", "Group"),
            Column("messages", "Messages"),
            Column("previous_messages", "Messages, previous period"),
            Column("trend", "Trend", "text"),
            Column("examples", "Examples", "text"),
        ),
        tuple((i + 1, c.size, c.previous, c.trend, " | ".join(c.examples)) for i, c in enumerate(p.clusters)),
        note=p.note,
    )


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


@dataclass(frozen=True)
class TableSpec:
    slug: str
    panels: tuple[str, ...]  # bot.insights.dashboard.PANELS it is built from
    build: Callable[[Mapping[str, Any], Filters], Table]


def _one(slug: str, panel: str, build: Callable[[Any, Filters], Table]) -> TableSpec:
    return TableSpec(slug, (panel,), lambda results, f: build(results[panel], f))


TABLES: dict[str, TableSpec] = {
    spec.slug: spec
    for spec in (
        TableSpec("summary", SUMMARY_PANELS, summary_table),
        _one("volume", "volume", volume_table),
        _one("containment", "containment", containment_table),
        _one("fallbacks", "fallbacks", fallbacks_table),
        _one("handoff-reasons", "handoffs", handoff_reasons_table),
        _one("handoff-queues", "handoffs", handoff_queues_table),
        _one("response-times", "response_times", response_times_table),
        _one("sentiment-by-day", "sentiment", sentiment_days_table),
        _one("sentiment-distribution", "sentiment", sentiment_distribution_table),
        _one("negative-outcomes", "sentiment", negative_outcomes_table),
        _one("journeys", "journeys", journeys_table),
        _one("funnel", "funnel", funnel_table),
        _one("surveys", "surveys", surveys_table),
        _one("surveys-by-day", "surveys", surveys_by_day_table),
        _one("engagement", "engagement", engagement_table),
        _one("recommendations", "recommendations", recommendations_table),
        _one("recommendation-tests", "recommendations", recommendation_tests_table),
        _one("intents", "intents", intents_table),
        _one("rising-intents", "intents", rising_intents_table),
        _one("unknown-questions", "unknown_questions", unknown_questions_table),
    )
}


def all_tables(results: Mapping[str, Any], f: Filters) -> dict[str, Table]:
    """Every table whose panels are in `results` (panel name -> figures)."""
    return {slug: spec.build(results, f) for slug, spec in TABLES.items() if all(p in results for p in spec.panels)}
