"""Every panel of the insights dashboard by name, and all of them at once (the console's page, `tandem insights
report`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bot.insights import recommendations, surveys, unknown
from bot.insights.panels import conversations, customers, messages, workflows
from bot.insights.panels.conversations import Containment, Fallbacks, Handoffs, Volume
from bot.insights.panels.customers import Engagement
from bot.insights.panels.messages import Intents, ResponseTimes, Sentiment
from bot.insights.panels.workflows import Funnel, Journeys
from bot.insights.recommendations import Recommendations
from bot.insights.scope import Compared, Filters
from bot.insights.surveys import Surveys
from bot.insights.unknown import UnknownQuestions

PanelFunction = Callable[[Session, Filters], Any]

# In the order the page and the report show them.
PANELS: dict[str, PanelFunction] = {
    "volume": conversations.volume,
    "containment": conversations.containment,
    "fallbacks": conversations.fallbacks,
    "handoffs": conversations.handoffs,
    "response_times": messages.response_times,
    "sentiment": messages.sentiment,
    "journeys": workflows.journeys,
    "funnel": workflows.funnel,
    "surveys": surveys.surveys,
    "engagement": customers.engagement,
    "recommendations": recommendations.recommendations,
    "intents": messages.intents,
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
