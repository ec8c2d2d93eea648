"""The survey panel: each survey measure over time, by workflow and by customer segment.

A measure is data, not code paths: its key and label, its scale, which answers count as good and as bad, how its
headline is summarised (a mean, or NPS's promoters minus detractors), and a query of its answers. Today the one
measure is CSAT (the 1-5 question after a resolved journey, `journey_csat`); Customer Effort Score and Net Promoter
Score come with the survey table another change adds, each as one more `SurveyMeasure` in `MEASURES` whose
`answers` reads that table (`bot.surveys.store.answers_query`, `survey_asks`). Nothing else in the panel, its tables,
CSV files, page or report changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from bot.db.models import CustomerSegment, Journey, JourneyCsat
from bot.insights.scope import Compared, Filters, as_date, day_of, in_segment, share
from bot.surveys import store as survey_store

MEAN = "mean"  # the headline is the average score (CSAT, CES)
NET = "net"  # the headline is % good minus % bad, -100..100 (NPS: promoters 9-10 minus detractors 0-6)
NO_SEGMENT = "(none)"  # answers of customers the segment refresh has not placed


@dataclass(frozen=True)
class SurveyMeasure:
    key: str
    label: str
    question: str
    lowest: int
    highest: int
    good_from: int  # scores at or above are "good" (satisfied, easy, promoters)
    bad_to: int  # scores at or below are "bad" (unhappy, hard, detractors)
    summary: str  # MEAN or NET
    # The answers in the period, filtered: columns at, score, workflow (or NULL) and segment (or NULL).
    answers: Callable[[Filters], Select]


def csat_answers(f: Filters) -> Select:
    """The satisfaction answers after resolved journeys, given in the period."""
    query = (
        select(
            JourneyCsat.at.label("at"),
            JourneyCsat.score.label("score"),
            Journey.workflow.label("workflow"),
            CustomerSegment.rfm_segment.label("segment"),
        )
        .join(Journey, Journey.id == JourneyCsat.journey_id)
        .outerjoin(CustomerSegment, CustomerSegment.customer_id == Journey.customer_id)
        .where(JourneyCsat.at >= f.since, JourneyCsat.at < f.until)
    )
    if f.channel:
        query = query.where(Journey.last_channel == f.channel)
    if f.segment:
        query = query.where(in_segment(Journey.customer_id, f.segment))
    if f.workflow:
        query = query.where(Journey.workflow == f.workflow)
    return query


CSAT = SurveyMeasure(
    key="csat",
    label="CSAT",
    question="How happy are you with how we handled it? (1-5, after a resolved journey)",
    lowest=1,
    highest=5,
    good_from=4,
    bad_to=2,
    summary=MEAN,
    answers=csat_answers,
)


def survey_answers(kind: str) -> Callable[[Filters], Select]:
    """The answers to one of bot.surveys' questions (CES, NPS) given in the period, filtered (`survey_asks`)."""

    def answers(f: Filters) -> Select:
        return survey_store.answers_query(
            kind, f.since, f.until, channel=f.channel, segment=f.segment, workflow=f.workflow
        )

    return answers


CES = SurveyMeasure(
    key="ces",
    label="CES",
    question="How easy was it to get help today? (1-7, after a request the bot carried out; easy: 5 to 7)",
    lowest=1,
    highest=7,
    good_from=5,
    bad_to=3,
    summary=MEAN,
    answers=survey_answers("ces"),
)

NPS = SurveyMeasure(
    key="nps",
    label="NPS",
    question="How likely are you to recommend us? (0-10, once a quarter; promoters 9-10 minus detractors 0-6)",
    lowest=0,
    highest=10,
    good_from=9,
    bad_to=6,
    summary=NET,
    answers=survey_answers("nps"),
)

MEASURES: tuple[SurveyMeasure, ...] = (CSAT, CES, NPS)


@dataclass(frozen=True)
class Scores:
    """Answers of one group (a day, a workflow, a segment, or all)."""

    key: str
    responses: int
    total: int  # sum of the scores
    good: int
    bad: int

    @property
    def average(self) -> float | None:
        return self.total / self.responses if self.responses else None

    @property
    def good_share(self) -> float | None:
        return share(self.good, self.responses)

    @property
    def net(self) -> float | None:
        """% good minus % bad, -100..100 (NPS)."""
        return 100.0 * (self.good - self.bad) / self.responses if self.responses else None

    def headline(self, measure: SurveyMeasure) -> float | None:
        return self.net if measure.summary == NET else self.average


@dataclass(frozen=True)
class MeasureFigures:
    measure: SurveyMeasure
    overall: Scores
    per_day: tuple[Scores, ...]  # key: the day, ISO
    by_workflow: tuple[Scores, ...]
    by_segment: tuple[Scores, ...]


@dataclass(frozen=True)
class Surveys:
    measures: tuple[MeasureFigures, ...]

    def of(self, key: str) -> MeasureFigures | None:
        return next((m for m in self.measures if m.measure.key == key), None)


def _grouped(
    session: Session, measure: SurveyMeasure, f: Filters, group: Callable[[Any], Any] | None = None
) -> list[tuple]:
    """(key, responses, sum, good, bad) per `group(answers)`, or one row for all the answers without a group."""
    sub = measure.answers(f).subquery()
    key = group(sub) if group is not None else literal("all")
    query = select(
        key,
        func.count(sub.c.score),
        func.coalesce(func.sum(sub.c.score), 0),
        func.coalesce(func.sum(case((sub.c.score >= measure.good_from, 1), else_=0)), 0),
        func.coalesce(func.sum(case((sub.c.score <= measure.bad_to, 1), else_=0)), 0),
    )
    return session.execute(query.group_by(key) if group is not None else query).all()


def _scores(rows: Sequence[tuple]) -> list[Scores]:
    return [Scores(str(k), int(n), int(t), int(g), int(b)) for k, n, t, g, b in rows]


def _measure(session: Session, measure: SurveyMeasure, f: Filters) -> MeasureFigures:
    overall = _scores(_grouped(session, measure, f))[0]
    day_rows = _grouped(session, measure, f, lambda sub: day_of(session, sub.c.at))
    days = {as_date(k): Scores(as_date(k).isoformat(), int(n), int(t), int(g), int(b)) for k, n, t, g, b in day_rows}
    per_day = tuple(days.get(d) or Scores(d.isoformat(), 0, 0, 0, 0) for d in f.days())
    by_workflow = _scores(_grouped(session, measure, f, lambda sub: func.coalesce(sub.c.workflow, NO_SEGMENT)))
    by_segment = _scores(_grouped(session, measure, f, lambda sub: func.coalesce(sub.c.segment, NO_SEGMENT)))
    return MeasureFigures(
        measure, overall, per_day, tuple(sorted(by_workflow, key=_key)), tuple(sorted(by_segment, key=_key))
    )


def _key(scores: Scores) -> str:
    return scores.key


def _surveys(session: Session, f: Filters, measures: Sequence[SurveyMeasure]) -> Surveys:
    return Surveys(tuple(_measure(session, m, f) for m in measures))


def surveys(session: Session, f: Filters, measures: Sequence[SurveyMeasure] = MEASURES) -> Compared[Surveys]:
    return Compared(_surveys(session, f, measures), _surveys(session, f.previous(), measures))
