"""The dashboard's panels: each one a function of a session and the filters, answering frozen figures for the period
and for the previous one (computed the same way; bot.insights.scope says what belongs to a period).

The conversation panels (`conversations`) read one row per conversation with its counters (`insight_conversations`,
filled by the event consumer); the message panels (`messages`) read the customer messages (`insight_turns`), or for
whole days the daily rollup of them (bot.insights.rollup); handoffs, journeys (`workflows`, through
bot.journeys.kpis) and segments (`customers`) are read where their own stores keep them; `figures` holds what they
share and `options` what the filters can be set to. The survey,
recommendation and unknown-question panels live beside this package (surveys.py, recommendations.py, unknown.py).
Every panel and its figures are importable from here.
"""

from bot.insights.panels.conversations import (
    Containment,
    Fallbacks,
    Handoffs,
    QueueFigures,
    Volume,
    containment,
    fallbacks,
    handoffs,
    volume,
)
from bot.insights.panels.customers import Engagement, engagement
from bot.insights.panels.figures import Count, DayCount, DayRate
from bot.insights.panels.messages import (
    MOODS,
    NEGATIVE_OUTCOMES,
    UNKNOWN_MOOD,
    DayMood,
    IntentCount,
    Intents,
    ResponseTimes,
    Sentiment,
    intents,
    response_times,
    sentiment,
)
from bot.insights.panels.options import FilterOptions, filter_options
from bot.insights.panels.workflows import Funnel, FunnelStep, Journeys, funnel, journeys

__all__ = [
    "MOODS",
    "NEGATIVE_OUTCOMES",
    "UNKNOWN_MOOD",
    "Containment",
    "Count",
    "DayCount",
    "DayMood",
    "DayRate",
    "Engagement",
    "Fallbacks",
    "FilterOptions",
    "Funnel",
    "FunnelStep",
    "Handoffs",
    "IntentCount",
    "Intents",
    "Journeys",
    "QueueFigures",
    "ResponseTimes",
    "Sentiment",
    "Volume",
    "containment",
    "engagement",
    "fallbacks",
    "filter_options",
    "funnel",
    "handoffs",
    "intents",
    "journeys",
    "response_times",
    "sentiment",
    "volume",
]
