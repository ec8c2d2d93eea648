"""The dashboard's survey panel shows CES and NPS from the survey table beside CSAT (both databases): the effort
score's mean, NPS as promoters minus detractors, by day, workflow and segment, compared with the period before."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import Customer
from bot.insights import surveys
from bot.insights.scope import Filters
from bot.surveys import store

MONDAY = datetime(2031, 5, 5)
WEEK = Filters(MONDAY, MONDAY + timedelta(days=7))


def test_ces_and_nps_are_measures_of_the_panel(session: Session) -> None:
    ids = list(session.execute(select(Customer.id).order_by(Customer.id).limit(5)).scalars())

    def answered(customer: int, kind: str, score: int, day: int, workflow: str | None = None) -> None:
        at = MONDAY + timedelta(days=day, hours=10)
        conversation = f"conv-{kind}-{customer}-{day}"
        ask = store.record_ask(session, kind, customer, conversation, "request_done", workflow=workflow, now=at)
        store.record_answer(session, ask.id, customer, score, now=at + timedelta(minutes=2))

    for customer, score in zip(ids, (10, 9, 8, 3, 0)):  # 2 promoters, 1 passive, 2 detractors
        answered(customer, "nps", score, day=1)
    answered(ids[0], "ces", 7, day=0)
    answered(ids[1], "ces", 2, day=2, workflow="late_delivery")
    answered(ids[2], "ces", 6, day=-3)  # the week before

    figures = surveys.surveys(session, WEEK)
    nps, ces = figures.current.of("nps"), figures.current.of("ces")
    assert nps is not None and ces is not None
    assert (nps.overall.responses, nps.overall.headline(surveys.NPS)) == (5, 0.0)
    assert (ces.overall.responses, ces.overall.headline(surveys.CES)) == (2, 4.5)
    assert [(d.key, d.responses) for d in ces.per_day if d.responses] == [("2031-05-05", 1), ("2031-05-07", 1)]
    assert [(g.key, g.responses) for g in ces.by_workflow] == [("(none)", 1), ("late_delivery", 1)]
    assert figures.previous.of("ces").overall.average == 6.0
    late = surveys.surveys(session, Filters(MONDAY, MONDAY + timedelta(days=7), workflow="late_delivery"))
    assert late.current.of("ces").overall.responses == 1 and late.current.of("nps").overall.responses == 0
