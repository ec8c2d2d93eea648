"""Every table by slug (`/insights/<slug>.csv`), the panels each is built from, and all of them at once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.insights.scope import Filters
from bot.insights.tables.conversations import (
    containment_table,
    fallbacks_table,
    handoff_queues_table,
    handoff_reasons_table,
    volume_table,
)
from bot.insights.tables.customers import engagement_table, recommendation_tests_table, recommendations_table
from bot.insights.tables.messages import (
    intents_table,
    negative_outcomes_table,
    response_times_table,
    rising_intents_table,
    sentiment_days_table,
    sentiment_distribution_table,
    unknown_questions_table,
)
from bot.insights.tables.summary import SUMMARY_PANELS, summary_table
from bot.insights.tables.table import Table
from bot.insights.tables.workflows import funnel_table, journeys_table, surveys_by_day_table, surveys_table


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
