"""The personalization engine's "does this customer have an open problem?", answered by the journeys.

Promotions wait while a customer's issue is unresolved (bot/personalization/open_issues.py, `OpenIssues`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Journey
from bot.journeys.types import OPEN_STATES


class JourneyOpenIssues:
    """`OpenIssues` from the journey table: open, waiting or escalated journeys count; resolved/closed do not."""

    def has_open_issue(self, session: Session, customer_id: int) -> bool:
        return (
            session.execute(
                select(Journey.id).where(Journey.customer_id == customer_id, Journey.state.in_(OPEN_STATES)).limit(1)
            ).first()
            is not None
        )
