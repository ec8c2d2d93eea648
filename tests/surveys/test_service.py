"""What the actions get from the survey service on a real shop (SQLite and PostgreSQL): the caps applied to the
stored asks, NPS kept away from customers with an open issue, and answers only for the customer's own survey."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Customer, Journey, SurveyAsk
from bot.surveys.config import load_config
from bot.surveys.service import SurveyService
from bot.surveys.store import SurveyNotFound

NOW = datetime(2031, 5, 6, 10, 0)  # a Tuesday in the second quarter
SERVICE = SurveyService(load_config())


def someone(session: Session, skip: int = 0) -> tuple[str, int]:
    row = session.execute(select(Customer.external_id, Customer.id).order_by(Customer.id).offset(skip).limit(1)).one()
    return row[0], row[1]


def offer(session: Session, customer: str | None, conversation: str, moment: str = "request_done", at=NOW, **kw):
    return SERVICE.offer(session, customer, conversation, moment, channel="tandem", now=at, **kw)


def test_one_survey_a_week_and_one_per_conversation(session: Session) -> None:
    customer, _ = someone(session)
    first = offer(session, customer, "conv-a")
    assert first is not None and (first.kind, first.conversation_id, first.channel) == ("nps", "conv-a", "tandem")
    assert offer(session, customer, "conv-a", "journey_resolved") is None  # the same conversation
    assert offer(session, customer, "conv-b", at=NOW + timedelta(days=6)) is None  # the same week
    later = offer(session, customer, "conv-c", at=NOW + timedelta(days=8))
    assert later is not None and later.kind == "ces"  # NPS was asked this quarter
    next_quarter = offer(session, customer, "conv-d", at=datetime(2031, 7, 2, 9, 0))
    assert next_quarter is not None and next_quarter.kind == "nps"


def test_a_conversation_takes_one_survey_whoever_is_in_it(session: Session) -> None:
    first, _ = someone(session)
    second, _ = someone(session, skip=1)
    assert offer(session, first, "shared-conv") is not None
    assert offer(session, second, "shared-conv") is None


def test_no_nps_while_the_customer_has_an_open_issue(session: Session) -> None:
    customer, pk = someone(session, skip=2)
    session.add(
        Journey(customer_id=pk, workflow="no_internet", problem_key="no_internet:x", state="waiting_for_customer")
    )
    session.flush()
    survey = offer(session, customer, "conv-open")
    assert survey is not None and survey.kind == "ces"


def test_a_resolved_journey_is_rated_with_csat_recorded_against_it(session: Session) -> None:
    customer, pk = someone(session, skip=3)
    journey = Journey(customer_id=pk, workflow="no_internet", problem_key="no_internet:y", state="resolved")
    session.add(journey)
    session.flush()
    survey = offer(session, customer, "conv-j", "journey_resolved", journey_id=journey.id, workflow="no_internet")
    assert survey is not None and (survey.kind, survey.journey_id, survey.workflow) == (
        "csat",
        journey.id,
        "no_internet",
    )
    stored = session.get(SurveyAsk, survey.id)
    assert (stored.moment, stored.score) == ("journey_resolved", None)


def test_anonymous_and_unknown_visitors_are_not_surveyed(session: Session) -> None:
    assert offer(session, None, "conv-anon") is None
    assert offer(session, "CUST-99999", "conv-anon") is None
    assert session.execute(select(SurveyAsk).where(SurveyAsk.conversation_id == "conv-anon")).first() is None


def test_answers_go_to_the_customers_own_survey(session: Session) -> None:
    customer, _ = someone(session, skip=4)
    stranger, _ = someone(session, skip=5)
    survey = offer(session, customer, "conv-ans")
    assert SERVICE.latest_asked(session, customer, {survey.id}) == survey
    with pytest.raises(SurveyNotFound):
        SERVICE.latest_asked(session, stranger, {survey.id})
    with pytest.raises(SurveyNotFound):
        SERVICE.answer(session, stranger, survey.id, 9)
    with pytest.raises(SurveyNotFound):
        SERVICE.answer(session, None, survey.id, 9)
    answered = SERVICE.answer(session, customer, survey.id, SERVICE.read("nps", "definitely would recommend"))
    assert (answered.score, answered.answered) == (10, True)
