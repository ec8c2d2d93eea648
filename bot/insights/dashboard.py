"""Every panel of the insights dashboard by name, and all of them at once (the console's page, `tandem insights
report`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bot.insights import panels, recommendations, surveys, unknown
from bot.insights.panels import (
    Containment,
    Engagement,
    Fallbacks,
    Funnel,
    Handoffs,
    Intents,
    Journeys,
    ResponseTimes,
    Sentiment,
    Volume,
)
from bot.insights.recommendations import Recommendations
from bot.insights.scope import Compared, Filters
from bot.insights.surveys import Surveys
from bot.insights.unknown import UnknownQuestions

PanelFunction = Callable[[Session, Filters], Any]

# In the order the page and the report show them.
PANELS: dict[str, PanelFunction] = {
    "volume": panels.volume,
    "containment": panels.containment,
    "fallbacks": panels.fallbacks,
    "handoffs": panels.handoffs,
    "response_times": panels.response_times,
    "sentiment": panels.sentiment,
    "journeys": panels.journeys,
    "funnel": panels.funnel,
    "surveys": surveys.surveys,
    "engagement": panels.engagement,
    "recommendations": recommendations.recommendations,
    "intents": panels.intents,
    "unknown_questions": unknown.unknown_questions,
}


@dataclass(frozen=True)
class Dashboard:
    filters: Filters
    volume: Compared[Volume]
    containment: Compared[Containment]
    fallbacks: Compared[Fallbacks]
    handoffs: Compared[Handoffs]
    response_times: Compared[ResponseTimes]
    sentiment: Compared[Sentiment]
    journeys: Compared[Journeys]
    funnel: Compared[Funnel]
    surveys: Compared[Surveys]
    engagement: Compared[Engagement]
    recommendations: Compared[Recommendations]
    intents: Intents
    unknown_questions: UnknownQuestions


def compute(session: Session, f: Filters) -> Dashboard:
    """Every panel, one after the other in this session."""
    return Dashboard(filters=f, **{name: panel(session, f) for name, panel in PANELS.items()})
