"""The customer panels' tables: engagement and retention, and the recommendation arms with their tests."""

from __future__ import annotations

from typing import Any

from bot.insights.panels.customers import Engagement
from bot.insights.recommendations import METRIC_WORDS, METRICS, Recommendations
from bot.insights.scope import Compared, Filters
from bot.insights.tables.table import ALL_FILTERS, Column, Table


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
