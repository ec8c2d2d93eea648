"""Surveys for the actions: ask one when something was solved and the caps allow it, and store the answer.

The actions name the customer by their external id (the signed one) and the conversation by its Rasa sender id;
this service finds the rest, lets `policy.choose` decide and records the ask in the same unit of work as the turn.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime
from functools import lru_cache

from sqlalchemy.orm import Session

from bot.db.models import utcnow
from bot.journeys.open_issues import JourneyOpenIssues
from bot.shop.customers import customer_pk
from bot.surveys import store
from bot.surveys.answers import read_answer
from bot.surveys.config import Scale, SurveyConfig, default_config
from bot.surveys.policy import choose, history_since

logger = logging.getLogger(__name__)


class SurveyService:
    def __init__(self, config: SurveyConfig, open_issues: JourneyOpenIssues | None = None) -> None:
        self.config = config
        self.open_issues = open_issues or JourneyOpenIssues()

    def offer(
        self,
        session: Session,
        customer: str | None,
        conversation_id: str,
        moment: str,
        *,
        channel: str | None = None,
        journey_id: int | None = None,
        workflow: str | None = None,
        now: datetime | None = None,
    ) -> store.SurveyView | None:
        """The survey to ask now, recorded as asked; None when the caps say no (or the visitor is anonymous:
        surveys are capped per customer)."""
        customer_id = customer_pk(session, customer)
        if customer_id is None:
            return None
        now = now or utcnow()
        store.lock_customer(session, customer_id)
        kinds = self.config.moments.get(moment, ())
        decision = choose(
            self.config,
            moment,
            customer_asks=store.asked_since(session, customer_id, history_since(self.config, now)),
            conversation_asks=len(store.asked_in_conversation(session, conversation_id)),
            open_issue="nps" in kinds and self.open_issues.has_open_issue(session, customer_id),
            now=now,
        )
        if decision.kind is None:
            logger.info("no survey after %s in %s: %s", moment, conversation_id, decision.reason)
            return None
        return store.record_ask(
            session,
            decision.kind,
            customer_id,
            conversation_id,
            moment,
            journey_id=journey_id,
            workflow=workflow,
            channel=channel,
            now=now,
        )

    def latest_asked(self, session: Session, customer: str | None, survey_ids: Collection[int]) -> store.SurveyView:
        """The newest of the surveys offered in the conversation that is the customer's (`SurveyNotFound` if none)."""
        customer_id = customer_pk(session, customer)
        survey = store.latest_of(session, customer_id, survey_ids) if customer_id is not None else None
        if survey is None:
            raise store.SurveyNotFound("none of these surveys was asked of this customer")
        return survey

    def answer(
        self, session: Session, customer: str | None, survey_id: int, score: int, *, now: datetime | None = None
    ) -> store.SurveyView:
        """Store the customer's answer (`SurveyNotFound` for another customer's survey, `SurveyScoreError` for a
        score off its scale)."""
        customer_id = customer_pk(session, customer)
        if customer_id is None:
            raise store.SurveyNotFound(f"no survey {survey_id}")
        return store.record_answer(session, survey_id, customer_id, score, now=now)

    def read(self, kind: str, text: str | None) -> int | None:
        """A typed answer to a `kind` survey, as its score (None when it is no answer)."""
        return read_answer(kind, text, self.config)

    def scale(self, kind: str) -> Scale:
        return self.config.scale(kind)


@lru_cache(maxsize=1)
def default_service() -> SurveyService:
    return SurveyService(default_config())
