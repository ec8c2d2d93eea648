"""A period as the message panels read it: the whole days whose daily rollup is fresh (bot/insights/rollup.py), and
the rest (today, a partial day at either end, a day not rolled up yet) from the messages themselves.

The rollup is kept per day and channel, so the channel filter reads it too; with a segment or workflow filter the
whole period is read from the messages (those filters pick conversations, and so far fewer messages).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from bot.db.models import InsightDay, InsightDayAnswer, InsightDayIntent, InsightDayMood, InsightDayOutcome, utcnow
from bot.insights.rollup import day_start
from bot.insights.scope import Filters, as_date

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Split:
    days: tuple[date, ...]  # read from the rollup
    rest: tuple[Filters, ...]  # the rest of the period, in parts with the period's filters: read from the messages

    @property
    def rolled_up(self) -> bool:
        return bool(self.days)


def split(session: Session, f: Filters, today: date | None = None) -> Split:
    """Which of the period's days the rollup answers (whole days before `today`, UTC, rebuilt since their last
    message was written), and the parts of it the messages answer."""
    if f.segment or f.workflow:
        return Split((), (f,))
    first = f.since.date() if f.since == day_start(f.since.date()) else f.since.date() + DAY
    bound = min(f.until.date(), today or utcnow().date())
    days: tuple[date, ...] = ()
    if first < bound:
        fresh = select(InsightDay.day).where(
            InsightDay.day >= first, InsightDay.day < bound, InsightDay.stale.is_(False)
        )
        days = tuple(sorted(as_date(d) for d in session.execute(fresh).scalars()))
    rest: list[Filters] = []
    cursor = f.since
    for day in days:
        if day_start(day) > cursor:
            rest.append(replace(f, since=cursor, until=day_start(day)))
        cursor = day_start(day) + DAY
    if cursor < f.until:
        rest.append(replace(f, since=cursor, until=f.until))
    return Split(days, tuple(rest))


def _rows(table: Any, s: Split, f: Filters) -> list[ColumnElement[bool]]:
    conditions = [table.day.in_(s.days)]
    if f.channel:
        conditions.append(table.channel == f.channel)
    return conditions


def intent_counts(session: Session, s: Split, f: Filters) -> dict[str, int]:
    """Messages per intent on the rollup's days."""
    if not s.days:
        return {}
    T = InsightDayIntent
    rows = session.execute(select(T.intent, func.sum(T.messages)).where(*_rows(T, s, f)).group_by(T.intent))
    return {intent: int(n) for intent, n in rows}


def moods(session: Session, s: Split, f: Filters) -> Sequence[tuple[date, str, int, int, float]]:
    """(day, label ("" for none), messages, messages with a score, their scores' sum) on the rollup's days."""
    if not s.days:
        return []
    M = InsightDayMood
    rows = session.execute(
        select(M.day, M.label, func.sum(M.messages), func.sum(M.scored), func.sum(M.score_sum))
        .where(*_rows(M, s, f))
        .group_by(M.day, M.label)
    )
    return [(as_date(d), label, int(n), int(scored), float(total)) for d, label, n, scored, total in rows]


def messages(session: Session, s: Split, f: Filters) -> int:
    """Customer messages on the rollup's days."""
    if not s.days:
        return 0
    M = InsightDayMood
    return int(session.execute(select(func.coalesce(func.sum(M.messages), 0)).where(*_rows(M, s, f))).scalar_one())


def answer_counts(session: Session, s: Split, f: Filters) -> dict[int, int]:
    """The bot's answers per response-time bucket (bot.insights.histogram) on the rollup's days."""
    if not s.days:
        return {}
    A = InsightDayAnswer
    rows = session.execute(select(A.bucket, func.sum(A.answers)).where(*_rows(A, s, f)).group_by(A.bucket))
    return {int(bucket): int(n) for bucket, n in rows}


def outcomes(session: Session, s: Split, f: Filters) -> dict[str, int]:
    """How the conversations that started on the rollup's days and turned negative ended."""
    if not s.days:
        return {}
    D = InsightDayOutcome
    rows = session.execute(select(D.outcome, func.sum(D.conversations)).where(*_rows(D, s, f)).group_by(D.outcome))
    return {outcome: int(n) for outcome, n in rows}
