"""What the dashboard's filters can be set to: the channels conversations came in on, the segments the nightly
refresh assigned, the workflows journeys ran."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import CustomerSegment, InsightConversation, Journey

C = InsightConversation


@dataclass(frozen=True)
class FilterOptions:
    channels: tuple[str, ...]
    segments: tuple[str, ...]
    workflows: tuple[str, ...]


def filter_options(session: Session) -> FilterOptions:
    """What the filters can be set to: the channels conversations came in on, the segments the refresh assigned,
    the workflows journeys ran."""
    channels = session.execute(select(C.channel).where(C.channel.is_not(None)).distinct()).scalars()
    segments = session.execute(select(CustomerSegment.rfm_segment).distinct()).scalars()
    workflows = session.execute(select(Journey.workflow).distinct()).scalars()
    return FilterOptions(tuple(sorted(channels)), tuple(sorted(segments)), tuple(sorted(workflows)))
