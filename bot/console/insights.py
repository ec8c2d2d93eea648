"""`/insights`: what the assistant achieves, for the CX team (`cx`) and admins; agents get 403 (docs/insights.md).

The page is rendered on the server: each panel of `bot.insights.dashboard` is computed in its own database session
(side by side, off the event loop), drawn as SVG charts (bot/console/charts.py) with its tables beside them, and
every table downloads as CSV at `/insights/<table>.csv` with the page's filters. Grouping the unknown questions by
meaning runs after their texts are read, outside any database session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from markupsafe import Markup

from bot.console import db
from bot.console.charts import Bar, Series, bar_chart, count_axis, line_chart
from bot.console.keys import CLOCK, DATABASE_URL, RULES, SIGNED_IN
from bot.console.pages import error_page, render
from bot.console.responses import NO_STORE
from bot.insights import unknown
from bot.insights.dashboard import PANELS
from bot.insights.panels.options import filter_options
from bot.insights.period import filters_from, last_days
from bot.insights.scope import FilterError, Filters
from bot.insights.stats import Interval
from bot.insights.tables.catalogue import TABLES, all_tables
from bot.insights.tables.summary import HIGHER
from bot.insights.tables.table import Table, format_value

INSIGHTS_ONLY = "The insights are for the customer-experience team and admins."
PRESETS = (7, 30, 90)


def _reader(request: web.Request) -> web.Response | None:
    """None when the signed-in person may read the insights, else the 403 page."""
    if request[SIGNED_IN].agent.sees_insights:
        return None
    return error_page(request, 403, INSIGHTS_ONLY)


def _filters(request: web.Request) -> Filters:
    """The period and filters of the query: `days` (the last N days, today included), or `since` and `until`
    (calendar days, both included; or `since` a span such as 7d); by default the last 7 days."""
    q, now = request.query, request.app[CLOCK]()
    chosen = {k: (q.get(k) or "").strip() or None for k in ("channel", "segment", "workflow")}
    days = (q.get("days") or "").strip()
    if days and not q.get("since"):
        if not days.isdigit() or not 1 <= int(days) <= Filters.MAX_DAYS:
            raise FilterError(f"days must be a whole number from 1 to {Filters.MAX_DAYS}")
        since, until = last_days(int(days), now)
        return Filters(since, until, **chosen)
    return filters_from(q.get("since") or None, q.get("until") or None, now, **chosen)


def _query(f: Filters) -> dict[str, str]:
    """The filters as a query for links (calendar days, the last one included)."""
    last = f.until - timedelta(microseconds=1)
    return {"since": f.since.date().isoformat(), "until": last.date().isoformat(), **f.active()}


def _cluster(now: unknown.UnknownTexts, then: unknown.UnknownTexts) -> unknown.UnknownQuestions:
    return unknown.cluster_questions(now, then, unknown.shared_embeddings())


async def _panels(url: str, f: Filters, names: Sequence[str]) -> dict[str, Any]:
    """The named panels, each in its own session, side by side."""

    async def one(name: str) -> Any:
        if name == "unknown_questions":
            now = await db.run(url, lambda s: unknown.unknown_texts(s, f))
            then = await db.run(url, lambda s: unknown.unknown_texts(s, f.previous()))
            return await asyncio.to_thread(_cluster, now, then)
        return await db.run(url, lambda s: PANELS[name](s, f))

    values = await asyncio.gather(*(one(name) for name in names))
    return dict(zip(names, values))


# --- the page ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    previous: str
    change: str
    tone: str  # better | worse | same


@dataclass
class Section:
    id: str
    title: str
    intro: str
    charts: list[Markup] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)
    verdict: str | None = None


def _change(kind: str, now: Any, before: Any, better: str) -> tuple[str, str]:
    if now is None or before is None:
        return "", "same"
    diff = now - before
    if kind == "rate":
        text = f"{100 * diff:+.1f} pts"
    elif kind == "score":
        text = f"{diff:+.2f}"
    elif before:
        text = f"{100 * diff / before:+.0f}%"
    else:
        text = f"{diff:+,}" if kind == "count" else ""
    if abs(diff) < 1e-12:
        return "no change", "same"
    if not better:
        return text, "same"
    return text, "better" if (diff > 0) == (better == HIGHER) else "worse"


def _tiles(summary: Table) -> list[Tile]:
    tiles = []
    for label, kind, better, now, before in summary.rows:
        change, tone = _change(kind, now, before, better)
        tiles.append(Tile(label, format_value(now, kind), format_value(before, kind), change, tone))
    return tiles


OPEN_TABLES = ("response-times", "recommendation-tests", "unknown-questions")  # shown unfolded: the figures themselves


def _table_view(table: Table, query: dict[str, str]) -> dict[str, Any]:
    headers, rows = table.display()
    return {
        "open": table.slug in OPEN_TABLES,
        "slug": table.slug,
        "title": table.title,
        "headers": headers,
        "rows": rows,
        "note": table.note,
        "ignores": table.ignores,
        "csv": f"/insights/{table.slug}.csv?{urlencode(query)}",
    }


def _days(f: Filters) -> list[str]:
    return [d.strftime("%-d %b") for d in f.days()]


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"


def _rate_lines(chart_id: str, title: str, current: Sequence[Any], previous: Sequence[Any], f: Filters) -> Markup:
    now = [d.rate for d in current]
    then = [d.rate for d in previous]
    known = [v for v in now if v is not None]
    description = (
        f"{title}: from {_pct(known[0])} on the first day with conversations to {_pct(known[-1])} on the last."
        if known
        else f"{title}: no conversations in this period."
    )
    return line_chart(
        chart_id,
        title,
        description,
        _days(f),
        [Series("previous period", then, "previous"), Series("this period", now, "current")],
        y_min=0.0,
        y_max=1.0,
        y_format=_pct,
    )


def _sections(
    r: dict[str, Any], tables: dict[str, Table], f: Filters, query: dict[str, str], queues: Callable[[str], str]
) -> list[Section]:
    def view(*slugs: str) -> list[dict[str, Any]]:
        return [_table_view(tables[s], query) for s in slugs]

    out: list[Section] = []
    days = _days(f)

    volume = r["volume"]
    counts_now = [d.count for d in volume.current.per_day]
    counts_then = [d.count for d in volume.previous.per_day]
    top = count_axis(max(counts_now + counts_then + [1]))
    s = Section(
        "volume",
        "Volume, containment and fallbacks",
        "Conversations with at least one customer message, by the day they started; containment is the share "
        "that ended without a person; the fallback rate is the share of customer messages the bot did not understand.",
    )
    s.charts.append(
        line_chart(
            "chart-volume",
            "Conversations per day",
            f"{volume.current.conversations} conversations this period, {volume.previous.conversations} the period before.",
            days,
            [Series("previous period", counts_then, "previous"), Series("this period", counts_now, "current")],
            y_min=0.0,
            y_max=top,
            y_format=lambda v: f"{v:.0f}",
        )
    )
    s.charts.append(
        _rate_lines(
            "chart-containment",
            "Containment per day",
            r["containment"].current.per_day,
            r["containment"].previous.per_day,
            f,
        )
    )
    s.charts.append(
        _rate_lines(
            "chart-fallbacks",
            "Fallback rate per day",
            r["fallbacks"].current.per_day,
            r["fallbacks"].previous.per_day,
            f,
        )
    )
    s.tables = view("volume", "containment", "fallbacks")
    out.append(s)

    handoffs = r["handoffs"].current
    s = Section(
        "handoffs",
        "Handoffs to people",
        f"{handoffs.handed_off} of {handoffs.conversations} conversations were handed to a person; "
        "the handoffs requested in the period by reason and by queue, with the wait until an agent claimed them.",
    )
    s.charts.append(
        bar_chart(
            "chart-handoff-reasons",
            "Handoffs by reason",
            ", ".join(f"{c.key.replace('_', ' ')}: {c.count}" for c in handoffs.by_reason) or "No handoffs.",
            [Bar(c.key.replace("_", " "), c.count) for c in handoffs.by_reason],
            value_format=lambda v: f"{v:.0f}",
        )
    )
    s.charts.append(
        bar_chart(
            "chart-handoff-queues",
            "Handoffs by queue",
            ", ".join(f"{queues(q.queue)}: {q.handoffs}" for q in handoffs.by_queue) or "No handoffs.",
            [Bar(queues(q.queue), q.handoffs) for q in handoffs.by_queue],
            value_format=lambda v: f"{v:.0f}",
        )
    )
    s.tables = view("handoff-reasons", "handoff-queues", "response-times")
    out.append(s)

    mood = r["sentiment"]
    averages = [d.average for d in mood.current.per_day]
    s = Section(
        "sentiment",
        "Customers' mood",
        "The average sentiment of customers' messages per day (−1 to +1), how many were negative, neutral or "
        "positive, and how the conversations that turned negative ended.",
    )
    s.charts.append(
        line_chart(
            "chart-sentiment",
            "Average mood per day",
            f"{mood.current.messages} customer messages this period; {mood.current.turned_negative} conversations turned negative.",
            days,
            [
                Series("previous period", [d.average for d in mood.previous.per_day], "previous"),
                Series("this period", averages, "current"),
            ],
            y_min=-1.0,
            y_max=1.0,
            y_format=lambda v: f"{v:+.1f}",
            zero_line=True,
        )
    )
    s.charts.append(
        bar_chart(
            "chart-mood-distribution",
            "Customer messages by mood",
            ", ".join(f"{c.key}: {c.count}" for c in mood.current.distribution),
            [Bar(c.key, c.count, tone=f"mood-{c.key}") for c in mood.current.distribution],
            value_format=lambda v: f"{v:.0f}",
        )
    )
    s.charts.append(
        bar_chart(
            "chart-negative-outcomes",
            "How negative conversations ended",
            ", ".join(f"{row[0]}: {row[1]}" for row in tables["negative-outcomes"].rows),
            [Bar(row[0], row[1]) for row in tables["negative-outcomes"].rows],
            value_format=lambda v: f"{v:.0f}",
        )
    )
    s.tables = view("sentiment-by-day", "sentiment-distribution", "negative-outcomes")
    out.append(s)

    journeys = r["journeys"].current
    funnel = r["funnel"].current
    s = Section(
        "journeys",
        "Journeys per workflow",
        "Journeys opened in the period: first-contact resolution, time to resolution, escalations and reopens; "
        "then each workflow's steps in the order journeys reach them, and how many stopped there unresolved.",
    )
    s.charts.append(
        bar_chart(
            "chart-fcr",
            "First-contact resolution by workflow",
            ", ".join(f"{row.workflow}: {format_value(row.first_contact_resolution, 'rate')}" for row in journeys.rows)
            or "No journeys.",
            [Bar(row.workflow, row.first_contact_resolution) for row in journeys.rows],
            value_format=_pct,
            max_value=1.0,
        )
    )
    for c in funnel.journeys:
        steps = funnel.of(c.key)
        s.charts.append(
            bar_chart(
                f"chart-funnel-{c.key}",
                f"Funnel of {c.key}: journeys reaching each step",
                f"{c.count} journeys; "
                + "; ".join(f"{st.step} reached by {st.reached}, {st.stopped} stopped there" for st in steps),
                [Bar(st.step, st.reached) for st in steps],
                value_format=lambda v: f"{v:.0f}",
                max_value=float(c.count),
            )
        )
    s.tables = view("journeys", "funnel")
    out.append(s)

    surveys = r["surveys"].current
    s = Section(
        "surveys",
        "Surveys",
        "Each survey measure over time, by workflow and by customer segment. CSAT is asked after a resolved journey "
        "(1-5; satisfied: 4 or 5).",
    )
    for m in surveys.measures:
        then = r["surveys"].previous.of(m.measure.key)
        s.charts.append(
            line_chart(
                f"chart-survey-{m.measure.key}",
                f"{m.measure.label} per day",
                f"{m.overall.responses} answers this period, {format_value(m.overall.headline(m.measure), 'score')} overall.",
                days,
                [
                    Series(
                        "previous period", [d.headline(m.measure) for d in (then.per_day if then else ())], "previous"
                    ),
                    Series("this period", [d.headline(m.measure) for d in m.per_day], "current"),
                ],
                y_min=float(m.measure.lowest) if m.measure.summary != "net" else -100.0,
                y_max=float(m.measure.highest) if m.measure.summary != "net" else 100.0,
                y_format=lambda v: f"{v:.1f}",
            )
        )
        s.charts.append(
            bar_chart(
                f"chart-survey-{m.measure.key}-segments",
                f"{m.measure.label} by customer segment",
                ", ".join(f"{g.key}: {format_value(g.headline(m.measure), 'score')}" for g in m.by_segment)
                or "No answers.",
                [Bar(g.key, g.headline(m.measure)) for g in m.by_segment],
                value_format=lambda v: f"{v:.2f}",
                max_value=float(m.measure.highest),
            )
        )
    s.tables = view("surveys", "surveys-by-day")
    out.append(s)

    engagement = tables["engagement"]
    s = Section(
        "engagement",
        "Engagement and retention",
        "Customers who came back, bought again after a resolved issue or a clicked recommendation, and the "
        "customers at risk of leaving who talked to the bot.",
    )
    s.charts.append(
        bar_chart(
            "chart-engagement",
            "Engagement and retention",
            "; ".join(f"{row[0]}: {row[1]} of {row[2]}" for row in engagement.rows),
            [Bar(row[0], row[3]) for row in engagement.rows],
            value_format=_pct,
            max_value=1.0,
        )
    )
    s.tables = view("engagement")
    out.append(s)

    recs = r["recommendations"].current
    s = Section(
        "recommendations",
        "Recommendations per strategy",
        'Each strategy (A/B arm) with its impressions, click-through, conversion and "not interested" rate; bars are '
        "conversion with its 95% Wilson interval. The verdict compares the two strategies shown most.",
        verdict=recs.verdict,
    )
    s.charts.append(
        bar_chart(
            "chart-recommendations",
            "Conversion by strategy",
            "; ".join(
                f"{a.strategy}: {format_value(a.rate('conversion'), 'rate')} of {a.impressions}" for a in recs.arms
            )
            or "No recommendations were shown.",
            [_interval_bar(a.strategy, a.rate("conversion"), a.interval("conversion")) for a in recs.arms],
            value_format=_pct,
        )
    )
    s.tables = view("recommendations", "recommendation-tests")
    out.append(s)

    intents = r["intents"]
    s = Section(
        "intents",
        "What customers ask",
        "The most frequent intents, and the ones rising fastest against the previous period.",
    )
    s.charts.append(
        bar_chart(
            "chart-intents",
            "Top intents",
            ", ".join(f"{c.intent}: {c.count}" for c in intents.top) or "No messages.",
            [Bar(c.intent, c.count) for c in intents.top],
            value_format=lambda v: f"{v:.0f}",
        )
    )
    s.tables = view("intents", "rising-intents")
    out.append(s)

    questions = r["unknown_questions"]
    s = Section(
        "unknown-questions",
        "What the bot does not know",
        f"{questions.messages} customer messages the bot fell back on or was unsure of ({questions.previous_messages} the "
        "period before), grouped by meaning; each group with its size, trend and examples.",
    )
    s.charts.append(
        bar_chart(
            "chart-unknown-questions",
            "Unknown questions by group",
            "; ".join(f"{c.examples[0]}: {c.size} ({c.trend})" for c in questions.clusters) or "None.",
            [Bar(c.examples[0], c.size) for c in questions.clusters],
            value_format=lambda v: f"{v:.0f}",
        )
    )
    s.tables = view("unknown-questions")
    out.append(s)
    return out


def _interval_bar(label: str, value: float | None, interval: Interval | None) -> Bar:
    return Bar(label, value, interval.low if interval else None, interval.high if interval else None)


def _period_text(f: Filters) -> str:
    def span(a: date, b: date) -> str:
        return a.strftime("%-d %b %Y") if a == b else f"{a.strftime('%-d %b %Y')} – {b.strftime('%-d %b %Y')}"

    last = (f.until - timedelta(microseconds=1)).date()
    before = f.previous()
    before_last = (before.until - timedelta(microseconds=1)).date()
    return f"{span(f.since.date(), last)}, compared with {span(before.since.date(), before_last)}"


async def page(request: web.Request) -> web.Response:
    denied = _reader(request)
    if denied is not None:
        return denied
    try:
        f = _filters(request)
    except FilterError as exc:
        return error_page(request, 400, f"Those filters cannot be used: {exc}.", title="Check the filters")
    url = request.app[DATABASE_URL]
    options = await db.run(url, filter_options)
    results = await _panels(url, f, list(PANELS))
    tables = all_tables(results, f)
    query = _query(f)
    rules = request.app[RULES]
    return render(
        request,
        "insights.html",
        title="Insights",
        filters=f,
        query=query,
        period=_period_text(f),
        options=options,
        presets=[(n, f"/insights?{urlencode({'days': n, **f.active()})}") for n in PRESETS],
        tiles=_tiles(tables["summary"]),
        summary=_table_view(tables["summary"], query),
        sections=_sections(results, tables, f, query, rules.queue_name),
    )


async def csv_download(request: web.Request) -> web.Response:
    """One table as CSV, for the filters in the query."""
    denied = _reader(request)
    if denied is not None:
        return denied
    spec = TABLES.get(request.match_info["slug"])
    if spec is None:
        return error_page(request, 404, "There is no such table.")
    try:
        f = _filters(request)
    except FilterError as exc:
        return error_page(request, 400, f"Those filters cannot be used: {exc}.", title="Check the filters")
    results = await _panels(request.app[DATABASE_URL], f, spec.panels)
    table = spec.build(results, f)
    name = f"insights-{spec.slug}-{_query(f)['since']}-{_query(f)['until']}.csv"
    return web.Response(
        text=table.csv(),
        content_type="text/csv",
        charset="utf-8",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'},
    )
