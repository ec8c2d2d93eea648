"""The survey store keeps every ask and the CES/NPS answers with their conversation, on SQLite and PostgreSQL, and
hands the dashboard its answers by period, channel, segment and workflow."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import Customer, CustomerSegment, SurveyAsk
from bot.surveys import store
from bot.surveys.store import SurveyNotFound, SurveyScoreError

T0 = datetime(2031, 5, 5, 10, 0)


def customers(session: Session, n: int = 2) -> list[int]:
    return list(session.execute(select(Customer.id).order_by(Customer.id).limit(n)).scalars())


def test_an_ask_is_kept_with_its_conversation_and_answered_on_its_scale(session: Session) -> None:
    cid, _ = customers(session)
    ask = store.record_ask(session, "ces", cid, "conv-1", "request_done", channel="tandem", now=T0)
    assert (ask.kind, ask.conversation_id, ask.moment, ask.channel, ask.asked_at) == (
        "ces",
        "conv-1",
        "request_done",
        "tandem",
        T0,
    )
    assert not ask.answered and ask.scale == (1, 7)
    for bad in (0, 8, True, 4.5, "5"):
        with pytest.raises(SurveyScoreError):
            store.record_answer(session, ask.id, cid, bad)
    store.record_answer(session, ask.id, cid, 2, now=T0 + timedelta(minutes=1))
    again = store.record_answer(session, ask.id, cid, 6, now=T0 + timedelta(minutes=2))  # the latest answer counts
    assert (again.score, again.answered_at) == (6, T0 + timedelta(minutes=2))
    assert store.get(session, ask.id, cid) == again


def test_nps_takes_zero_to_ten(session: Session) -> None:
    cid, _ = customers(session)
    ask = store.record_ask(session, "nps", cid, "conv-1", "request_done", now=T0)
    assert store.record_answer(session, ask.id, cid, 0).score == 0
    assert store.record_answer(session, ask.id, cid, 10).score == 10
    with pytest.raises(SurveyScoreError):
        store.record_answer(session, ask.id, cid, 11)


def test_a_csat_ask_keeps_no_answer_its_answer_is_journey_csats(session: Session) -> None:
    cid, _ = customers(session)
    ask = store.record_ask(session, "csat", cid, "conv-1", "journey_resolved", now=T0)
    with pytest.raises(SurveyScoreError, match="journey_csat"):
        store.record_answer(session, ask.id, cid, 4)
    with pytest.raises(SurveyScoreError):
        store.answers_query("csat", T0, T0 + timedelta(days=1))
    with pytest.raises(SurveyScoreError):
        store.record_ask(session, "sms", cid, "conv-1", "request_done")


def test_another_customers_survey_is_as_missing_as_one_that_never_was(session: Session) -> None:
    mine, theirs = customers(session)
    ask = store.record_ask(session, "nps", mine, "conv-1", "request_done", now=T0)
    for customer, survey in ((theirs, ask.id), (mine, ask.id + 1000)):
        with pytest.raises(SurveyNotFound):
            store.record_answer(session, survey, customer, 9)
        with pytest.raises(SurveyNotFound):
            store.get(session, survey, customer)
    assert store.latest_of(session, theirs, {ask.id}) is None
    assert store.get(session, ask.id, mine).score is None


def test_the_database_refuses_scores_off_the_scale_and_csat_scores(session: Session) -> None:
    cid, _ = customers(session)
    for row in (
        SurveyAsk(kind="ces", customer_id=cid, conversation_id="c", moment="m", score=9, answered_at=T0),
        SurveyAsk(kind="csat", customer_id=cid, conversation_id="c", moment="m", score=4, answered_at=T0),
        SurveyAsk(kind="nps", customer_id=cid, conversation_id="c", moment="m", score=9),  # answered when?
        SurveyAsk(kind="sms", customer_id=cid, conversation_id="c", moment="m"),
    ):
        nested = session.begin_nested()
        session.add(row)
        with pytest.raises(IntegrityError):
            session.flush()
        nested.rollback()


def test_what_the_caps_and_typed_answers_read(session: Session) -> None:
    mine, theirs = customers(session)
    old = store.record_ask(session, "nps", mine, "conv-1", "request_done", now=T0 - timedelta(days=30))
    ces = store.record_ask(session, "ces", mine, "conv-2", "request_done", now=T0)
    other = store.record_ask(session, "ces", theirs, "conv-2", "request_done", now=T0 + timedelta(minutes=1))
    assert [a.id for a in store.asked_since(session, mine, T0 - timedelta(days=7))] == [ces.id]
    assert [a.id for a in store.asked_since(session, mine, T0 - timedelta(days=90))] == [ces.id, old.id]
    assert [a.id for a in store.asked_in_conversation(session, "conv-2")] == [other.id, ces.id]
    assert store.latest_of(session, mine, {old.id, ces.id, other.id}) == ces
    assert store.latest_of(session, mine, set()) is None


def test_the_dashboards_answers_by_period_channel_segment_and_workflow(session: Session) -> None:
    a, b = customers(session)
    session.merge(  # the seed may have placed them already: the test sets their segments
        CustomerSegment(
            customer_id=a,
            recency_score=5,
            frequency_score=5,
            monetary_score=5,
            rfm_segment="champions",
            cluster=1,
            cluster_label="buyers",
            churn_risk=0.1,
            model_version="test",
        )
    )
    session.execute(CustomerSegment.__table__.delete().where(CustomerSegment.customer_id == b))

    def answered(customer: int, kind: str, score: int, at: datetime, **where) -> None:
        ask = store.record_ask(session, kind, customer, f"conv-{customer}-{at:%H%M}", "request_done", now=at, **where)
        store.record_answer(session, ask.id, customer, score, now=at + timedelta(minutes=1))

    answered(a, "ces", 7, T0, channel="tandem")
    answered(b, "ces", 2, T0 + timedelta(hours=1), channel="socketio", journey_id=None, workflow="no_internet")
    answered(a, "nps", 9, T0, channel="tandem")
    answered(a, "ces", 5, T0 + timedelta(days=3), channel="tandem")  # after the period
    store.record_ask(session, "ces", b, "conv-unanswered", "request_done", now=T0)  # asked, never answered

    def scores(**filters) -> list[tuple]:
        query = store.answers_query("ces", T0, T0 + timedelta(days=1), **filters)
        return sorted((r.score, r.workflow, r.segment, r.channel) for r in session.execute(query))

    assert scores() == [(2, "no_internet", None, "socketio"), (7, None, "champions", "tandem")]
    assert scores(channel="tandem") == [(7, None, "champions", "tandem")]
    assert scores(segment="champions") == [(7, None, "champions", "tandem")]
    assert scores(workflow="no_internet") == [(2, "no_internet", None, "socketio")]
    nps = session.execute(store.answers_query("nps", T0, T0 + timedelta(days=1))).all()
    assert [(r.score, r.at) for r in nps] == [(9, T0 + timedelta(minutes=1))]
