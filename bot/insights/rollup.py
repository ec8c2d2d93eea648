"""The daily rollup of customer messages: per day and channel, the messages by intent and by mood (with their
scores' sum), the bot's answers per response-time bucket, and how the conversations that started that day and
turned negative ended, so that a month of the message panels reads a few thousand rows instead of a third of a
million messages.

Kept exact by rebuilding, never by adding up. Whatever writes `insight_turns` or `insight_conversations` (the
consumer's and the backfill's `ingest`, a customer's erasure) marks the days it touched (a message's day, a touched
conversation's first day) stale in its own transaction (`mark_stale`). `refresh` (the insights consumer calls it)
rebuilds each stale day that is over from its rows, in a transaction of its own that first locks the day's row: a
writer of that day waits for the rebuild, or the rebuild for the writer's commit and then reads its rows; a writer
after the rebuild leaves the day stale again. Rebuilding a day twice gives the same rows. The panels read a day from
the rollup only while it is fresh (bot/insights/daily.py), everything else of a period (today, a partial day at
either end, a stale day) from the messages and conversations themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import Date, delete, func, insert, literal, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from bot.db.dialect import dialect_insert
from bot.db.models import (
    InsightConversation,
    InsightDay,
    InsightDayAnswer,
    InsightDayIntent,
    InsightDayMood,
    InsightDayOutcome,
    InsightTurn,
    utcnow,
)
from bot.db.session import unit_of_work
from bot.insights.histogram import counts_of
from bot.insights.scope import as_date, negative_outcome, seconds_between

log = logging.getLogger(__name__)

C = InsightConversation
T = InsightTurn
NO_INTENT = "(none)"  # what the intents panel calls a message without one


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def rollup_channel() -> ColumnElement[str]:
    """A message's channel as the rollup keys it: its conversation's, "" for none."""
    return func.coalesce(C.channel, "")


def mark_stale(session: Session, days: Iterable[date]) -> None:
    """The rollup of these days no longer counts every row: rebuild them (in the writer's transaction)."""
    rows = [{"day": day, "stale": True} for day in sorted(set(days))]  # one order, so two writers never deadlock
    if not rows:
        return
    stmt = dialect_insert(session, InsightDay)
    session.execute(stmt.values(rows).on_conflict_do_update(index_elements=["day"], set_={"stale": True}))


def _days(session: Session, conversations: ColumnElement[bool]) -> set[date]:
    """The days the messages of these conversations (a condition on `insight_conversations`) were written on, and
    the days they started on."""
    written = select(func.date(T.at)).join(C, C.id == T.conversation_id).where(conversations)
    started = select(func.date(C.started_at)).where(conversations)
    return {as_date(d) for d in session.execute(written.union(started)).scalars()}


def mark_conversations_stale(session: Session, conversation_ids: Iterable[int]) -> None:
    """`mark_stale` for the days of these conversations' messages and starts (before they are deleted)."""
    ids = list(conversation_ids)
    if ids:
        mark_stale(session, _days(session, C.id.in_(ids)))


def mark_all_stale(session: Session) -> int:
    """Every day with messages or conversations, to be rebuilt (rows written without `ingest`, as the benchmark's
    bulk load)."""
    days = _days(session, true())
    mark_stale(session, days)
    return len(days)


def stale_days(session: Session, before: date) -> list[date]:
    rows = session.execute(
        select(InsightDay.day).where(InsightDay.stale.is_(True), InsightDay.day < before).order_by(InsightDay.day)
    )
    return [as_date(d) for d in rows.scalars()]


def build_day(session: Session, day: date) -> bool:
    """Rebuild one stale day's rows from its messages; False when it was not stale (another rebuild came first)."""
    marker = session.execute(select(InsightDay).where(InsightDay.day == day).with_for_update()).scalar_one_or_none()
    if marker is None or not marker.stale:
        return False
    start, end = day_start(day), day_start(day) + timedelta(days=1)
    for table in (InsightDayIntent, InsightDayMood, InsightDayAnswer, InsightDayOutcome):
        session.execute(delete(table).where(table.day == day))
    channel = rollup_channel()
    messages = select(literal(day, Date), channel).select_from(T).join(C, C.id == T.conversation_id)
    messages = messages.where(T.at >= start, T.at < end)
    intent = func.coalesce(T.intent, NO_INTENT)
    session.execute(
        insert(InsightDayIntent).from_select(
            ["day", "channel", "intent", "messages"],
            messages.add_columns(intent, func.count()).group_by(channel, intent),
        )
    )
    label = func.coalesce(T.sentiment_label, "")
    session.execute(
        insert(InsightDayMood).from_select(
            ["day", "channel", "label", "messages", "scored", "score_sum"],
            messages.add_columns(
                label, func.count(), func.count(T.sentiment), func.coalesce(func.sum(T.sentiment), 0.0)
            ).group_by(channel, label),
        )
    )
    outcome = negative_outcome()
    session.execute(
        insert(InsightDayOutcome).from_select(
            ["day", "channel", "outcome", "conversations"],
            select(literal(day, Date), channel, outcome, func.count())
            .where(C.started_at >= start, C.started_at < end, C.user_turns > 0, C.turned_negative_at.is_not(None))
            .group_by(channel, outcome),
        )
    )
    seconds: dict[str, list[float]] = {}
    answered = select(channel, seconds_between(session, T.at, T.answered_at)).join(C, C.id == T.conversation_id)
    for name, value in session.execute(answered.where(T.at >= start, T.at < end, T.answered_at.is_not(None))):
        seconds.setdefault(name, []).append(float(value))
    rows = [
        {"day": day, "channel": name, "bucket": bucket, "answers": n}
        for name, values in seconds.items()
        for bucket, n in counts_of(values).items()
    ]
    if rows:
        session.execute(insert(InsightDayAnswer), rows)
    marker.stale, marker.built_at = False, utcnow()
    return True


def refresh(url: str, today: date | None = None, limit: int | None = None) -> tuple[int, int]:
    """Rebuild the stale days before `today` (UTC), the oldest first, each in its own transaction, at most `limit`;
    (days rebuilt, stale days left). Raises `DatabaseUnavailable`."""
    today = today or utcnow().date()
    with unit_of_work(url) as session:
        days = stale_days(session, today)
    built = 0
    for day in days[:limit]:
        with unit_of_work(url) as session:
            built += build_day(session, day)
    if built:
        log.info("insights: rolled up %d day(s) of messages", built)
    return built, len(days) - len(days[:limit])
