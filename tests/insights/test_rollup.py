"""The daily rollup of customer messages: the message panels read whole days from it and give the figures of the
messages themselves (the hand-counted week, tests/insights/dashboard_seed.py; the bot's percentiles within 1 %), on
SQLite and PostgreSQL; a day written after its rollup is read from its messages until the consumer rebuilds it, and
a rebuild waits for a writer of the same day."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db.models import InsightDay, InsightDayMood
from bot.db.session import dispose_engine, session_factory, session_scope
from bot.insights import daily, histogram, panels
from bot.insights.dashboard_config import DashboardConfig
from bot.insights.rollup import mark_all_stale, mark_conversations_stale, refresh, stale_days
from bot.insights.scope import Filters
from bot.insights.store import ingest
from bot.insights.tables.messages import response_times_table
from tests.insights.conversations import bot, published, session_start, user
from tests.insights.dashboard_seed import EXPECTED, SINCE, UNTIL, WEEK, seed_week, week, week_db  # noqa: F401

E = EXPECTED
LATER = date(2026, 12, 1)  # a "today" after the seeded weeks
# The week's days with customer messages or conversations: the rollup knows a day once something was written on it
# (8 November has nothing, so the panels read it, empty, from the messages).
WRITTEN = tuple(date(2026, 11, d) for d in (2, 3, 4, 5, 6, 7))


def _rolled_week(db_factory) -> str:  # type: ignore[no-untyped-def]
    from tests.conftest import seed_small_shop

    url = db_factory.create()
    seed_small_shop(url)
    with session_scope(url) as session:
        seed_week(session)
        mark_all_stale(session)
    refresh(url, today=LATER)
    return url


@pytest.fixture(scope="module")
def rolled_db(db_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The hand-counted week with its rollup built (read only)."""
    url = _rolled_week(db_factory)
    yield url
    dispose_engine(url)


@pytest.fixture
def rolled(rolled_db: str) -> Iterator[Session]:
    session = session_factory(rolled_db)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


@pytest.fixture
def fresh_rolled_db(db_factory) -> Iterator[str]:  # type: ignore[no-untyped-def]
    url = _rolled_week(db_factory)
    yield url
    dispose_engine(url)


def test_the_rolled_up_week_gives_the_hand_counted_message_figures(rolled):
    assert daily.split(rolled, WEEK).days == WRITTEN
    i = panels.intents(rolled, WEEK, config=DashboardConfig(rising_min_count=2))
    assert (i.messages, i.previous_messages) == (13, 5)
    assert [(c.intent, c.count, c.previous) for c in i.top[:2]] == [("nlu_fallback", 3, 1), ("thank", 2, 0)]
    s = panels.sentiment(rolled, WEEK).current
    assert {c.key: c.count for c in s.distribution} == E["moods"]
    for got, want in zip([d.average for d in s.per_day], E["daily_mood"]):
        assert (got is None and want is None) or got == pytest.approx(want)
    assert {c.key: c.count for c in s.outcomes} == E["outcomes"]
    times = panels.response_times(rolled, WEEK)
    t = times.current
    assert (t.customer_messages, t.bot.count, t.bot.approximate) == (13, E["bot_answered"], True)
    assert (t.bot.median, t.bot.p90) == pytest.approx((E["bot_median"], E["bot_p90"]), rel=0.01)
    assert "within 1 %" in (response_times_table(times, WEEK).note or "")  # the panel says it is an estimate


def test_the_bot_response_times_of_the_messages_alone_are_exact_and_say_nothing_more(week):
    times = panels.response_times(week, WEEK)
    assert not times.current.bot.approximate
    assert response_times_table(times, WEEK).note is None


def _figures(session: Session, f: Filters) -> dict:
    i = panels.intents(session, f)
    s = panels.sentiment(session, f)
    t = panels.response_times(session, f)
    return {
        "intents": (i.messages, i.previous_messages, [(c.intent, c.count, c.previous) for c in i.top]),
        "moods": [[(c.key, c.count) for c in p.distribution] for p in (s.current, s.previous)],
        "outcomes": [(p.turned_negative, [(c.key, c.count) for c in p.outcomes]) for p in (s.current, s.previous)],
        "daily": [[(d.day, d.messages, d.average) for d in p.per_day] for p in (s.current, s.previous)],
        "messages": [(p.customer_messages, p.bot.count) for p in (t.current, t.previous)],
        "bot": [(p.bot.median, p.bot.p90) for p in (t.current, t.previous)],
    }


@pytest.mark.parametrize(
    "f",
    [
        WEEK,
        replace(WEEK, channel="rest"),
        replace(WEEK, channel="socketio"),
        replace(WEEK, segment="at_risk"),
        replace(WEEK, workflow="late_delivery"),
        Filters(datetime(2026, 11, 3, 12), datetime(2026, 11, 6, 12)),  # partial days at both ends
        Filters(datetime(2026, 10, 26), datetime(2026, 11, 9, 0, 0, 6), channel="socketio"),  # c7's first message
    ],
    ids=["week", "rest", "socketio", "segment", "workflow", "partial-days", "into-the-next-day"],
)
def test_the_rollup_and_the_messages_give_the_same_figures(rolled, week, f):
    rolled_up, counted = _figures(rolled, f), _figures(week, f)
    bot_rolled, bot_counted = rolled_up.pop("bot"), counted.pop("bot")
    daily_rolled, daily_counted = rolled_up.pop("daily"), counted.pop("daily")
    assert rolled_up == counted
    for got, want in zip(sum(daily_rolled, []), sum(daily_counted, [])):
        assert got[:2] == want[:2] and (got[2] == want[2] or got[2] == pytest.approx(want[2]))
    for got, want in zip(sum(map(list, bot_rolled), []), sum(map(list, bot_counted), [])):
        assert (got is None and want is None) or got == pytest.approx(want, rel=histogram.RATIO - 1)


def test_whole_fresh_days_before_today_come_from_the_rollup_and_the_rest_from_the_messages(rolled):
    f = Filters(datetime(2026, 11, 3, 12), datetime(2026, 11, 6, 12))
    parts = daily.split(rolled, f)
    assert parts.days == (date(2026, 11, 4), date(2026, 11, 5))
    assert [(p.since, p.until) for p in parts.rest] == [
        (datetime(2026, 11, 3, 12), datetime(2026, 11, 4)),
        (datetime(2026, 11, 6), datetime(2026, 11, 6, 12)),
    ]
    today = daily.split(rolled, WEEK, today=date(2026, 11, 5))
    assert today.days == WRITTEN[:3]
    assert [(p.since, p.until) for p in today.rest] == [(datetime(2026, 11, 5), UNTIL)]
    segment = replace(WEEK, segment="at_risk")  # the rollup is per channel, not per segment
    assert daily.split(rolled, segment) == daily.Split((), (segment,))


def _late_message(day: datetime) -> list[tuple[str, dict]]:
    events = [
        *session_start(0, base=day),
        user(1, "hello again", "greet", 0.9, sentiment=("positive", 0.4), channel="rest", base=day),
        bot(3, "Hello!", base=day),
    ]
    return [(body["sender_id"], body) for body in published("late-sender", events)]


def test_a_message_written_into_a_rolled_up_day_counts_at_once_and_the_rebuild_agrees(fresh_rolled_db):
    url = fresh_rolled_db
    with session_scope(url) as session:
        ingest(session, _late_message(datetime(2026, 11, 4, 10)), live=False)
    with session_scope(url) as session:
        assert stale_days(session, LATER) == [date(2026, 11, 4)]
        assert date(2026, 11, 4) not in daily.split(session, WEEK).days  # read from its messages meanwhile
        before = panels.intents(session, WEEK)
        mood = panels.sentiment(session, WEEK).current
    assert before.messages == 14 and ("greet", 2) in [(c.intent, c.count) for c in before.top]  # c1 said hi too
    assert refresh(url, today=LATER) == (1, 0)
    assert refresh(url, today=LATER) == (0, 0)  # nothing left: a second run changes nothing
    with session_scope(url) as session:
        assert daily.split(session, WEEK).days == WRITTEN
        after = panels.intents(session, WEEK)
        assert (after.messages, after.top) == (before.messages, before.top)
        assert panels.sentiment(session, WEEK).current == mood
        answered = panels.response_times(session, WEEK).current
        assert (answered.customer_messages, answered.bot.count) == (14, 13)


def test_erasing_a_conversation_marks_the_days_of_its_messages_stale(fresh_rolled_db):
    with session_scope(fresh_rolled_db) as session:
        from bot.db.models import InsightConversation

        c2 = session.execute(
            select(InsightConversation.id).where(InsightConversation.sender_id == "c2-sender")
        ).scalar_one()
        mark_conversations_stale(session, [c2])
        assert stale_days(session, LATER) == [date(2026, 11, 3)]


def test_a_rebuild_waits_for_a_writer_of_the_same_day_and_counts_its_message(fresh_rolled_db, backend):
    if backend == "sqlite":
        pytest.skip("SQLite runs one writer at a time: a rebuild never overlaps a writer there")
    url = fresh_rolled_db
    with session_scope(url) as session:  # the day is stale already: a rebuild would start on it at once
        session.execute(InsightDay.__table__.update().where(InsightDay.day == date(2026, 11, 4)).values(stale=True))
    writer = session_factory(url)()
    ingest(writer, _late_message(datetime(2026, 11, 4, 10)), live=False)  # not committed yet: holds the day's row
    done: list[tuple[int, int]] = []
    rebuild = threading.Thread(target=lambda: done.append(refresh(url, today=LATER)))
    rebuild.start()
    time.sleep(1.0)
    assert rebuild.is_alive()  # waiting for the writer
    writer.commit()
    writer.close()
    rebuild.join(timeout=30)
    assert done == [(1, 0)]
    with session_scope(url) as session:
        total = session.execute(
            select(func.sum(InsightDayMood.messages)).where(InsightDayMood.day == date(2026, 11, 4))
        ).scalar_one()
        assert total == 2 + 1  # c3's two messages and the writer's
        assert stale_days(session, LATER) == []
