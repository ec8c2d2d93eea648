"""The message panels: the bot's response times (with the agents'), customers' mood and their intents, counted over
the customer messages written in the period: whole days that are over from the daily rollup, the rest from the
messages themselves (bot/insights/daily.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db.models import Handoff, HandoffMessage, InsightConversation, InsightTurn
from bot.insights import daily, histogram
from bot.insights.dashboard_config import DashboardConfig, dashboard_config
from bot.insights.panels.figures import Count, compare
from bot.insights.rollup import NO_INTENT
from bot.insights.scope import (
    NEGATIVE_OUTCOMES,
    Compared,
    Filters,
    Spread,
    as_date,
    conversation_scope,
    day_of,
    handoff_scope,
    negative_outcome,
    scoped_turns,
    seconds_between,
    share,
    spread,
    spread_and_rows,
)
from bot.sentiment.labels import POLARITIES

C = InsightConversation
T = InsightTurn

# --- response times -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResponseTimes:
    """Seconds: the bot from a customer's message to its first answer; agents from the handoff's request to their
    first message, and to the handoff resolved."""

    customer_messages: int
    bot: Spread  # count: the messages the bot answered
    handoffs: int
    agent_first_response: Spread
    resolution: Spread  # handoffs an agent resolved

    @property
    def answered_share(self) -> float | None:
        return share(self.bot.count, self.customer_messages)


def _bot_response(session: Session, f: Filters) -> tuple[Spread, int]:
    """The bot's spread and the customer messages: exact from the messages alone; with days from the rollup, its
    percentiles come from the response-time histogram (the rest of the period's answers added to it)."""
    seconds = seconds_between(session, T.at, T.answered_at).label("seconds")  # NULL: not answered
    parts = daily.split(session, f)
    if not parts.rolled_up:
        return spread_and_rows(session, scoped_turns(select(seconds).select_from(T), f))
    counts = Counter(daily.answer_counts(session, parts, f))
    messages = daily.messages(session, parts, f)
    for rest in parts.rest:
        values = session.execute(scoped_turns(select(seconds).select_from(T), rest)).scalars().all()
        messages += len(values)
        counts.update(histogram.counts_of([v for v in values if v is not None]))
    return histogram.spread_of_counts(counts), messages


def _response_times(session: Session, f: Filters) -> ResponseTimes:
    bot, messages = _bot_response(session, f)
    scope = handoff_scope(f)
    first_reply = (
        select(func.min(HandoffMessage.at))
        .where(HandoffMessage.handoff_id == Handoff.id, HandoffMessage.kind == "agent")
        .scalar_subquery()
    )
    first, handed = spread_and_rows(
        session, select(seconds_between(session, Handoff.requested_at, first_reply)).where(*scope)
    )
    resolved = spread(
        session,
        select(seconds_between(session, Handoff.requested_at, Handoff.closed_at)).where(
            *scope, Handoff.status == "resolved"
        ),
    )
    return ResponseTimes(int(messages), bot, handed, first, resolved)


def response_times(session: Session, f: Filters) -> Compared[ResponseTimes]:
    return compare(_response_times, session, f)


# --- mood --------------------------------------------------------------------------------------------------------------


UNKNOWN_MOOD = "unknown"
MOODS = (*POLARITIES, UNKNOWN_MOOD)


@dataclass(frozen=True)
class DayMood:
    day: date
    messages: int  # customer messages with a score
    average: float | None  # -1..1


@dataclass(frozen=True)
class Sentiment:
    """Customers' mood: the average score per day, how many messages were negative, neutral or positive, and how
    the conversations that turned negative ended: handed to a person, recovered with the bot (their last message
    was no longer negative), or abandoned (no person, and still negative at the end)."""

    per_day: tuple[DayMood, ...]
    distribution: tuple[Count, ...]  # MOODS, in that order
    turned_negative: int
    outcomes: tuple[Count, ...]  # NEGATIVE_OUTCOMES, in that order

    @property
    def messages(self) -> int:
        return sum(c.count for c in self.distribution)


def _mood_rows(session: Session, f: Filters, parts: daily.Split) -> list[tuple[date, str | None, int, int, float]]:
    """(day, label, messages, messages with a score, their scores' sum), from the rollup's days and the messages."""
    rows: list[tuple[date, str | None, int, int, float]] = list(daily.moods(session, parts, f))
    day = day_of(session, T.at)
    for rest in parts.rest:
        found = session.execute(
            scoped_turns(
                select(day, T.sentiment_label, func.count(), func.count(T.sentiment), func.sum(T.sentiment))
                .select_from(T)
                .group_by(day, T.sentiment_label),
                rest,
            )
        )
        rows += [(as_date(d), label, int(n), int(scored), float(total or 0.0)) for d, label, n, scored, total in found]
    return rows


def _sentiment(session: Session, f: Filters) -> Sentiment:
    parts = daily.split(session, f)
    scored: dict[date, list[float]] = {}
    counts = Counter({UNKNOWN_MOOD: 0})
    for d, label, messages, with_score, total in _mood_rows(session, f, parts):
        counts[label if label in POLARITIES else UNKNOWN_MOOD] += messages
        day_sums = scored.setdefault(d, [0, 0.0])
        day_sums[0] += with_score
        day_sums[1] += total
    per_day = tuple(
        DayMood(d, int(scored[d][0]), scored[d][1] / scored[d][0]) if scored.get(d, [0])[0] else DayMood(d, 0, None)
        for d in f.days()
    )
    distribution = tuple(Count(m, counts[m]) for m in MOODS)

    ended = Counter(daily.outcomes(session, parts, f))
    outcome = negative_outcome()
    for rest in parts.rest:
        negative = (conversation_scope(rest), C.turned_negative_at.is_not(None))
        ended.update(dict(session.execute(select(outcome, func.count()).where(*negative).group_by(outcome)).all()))
    outcomes = tuple(Count(k, int(ended.get(k, 0))) for k in NEGATIVE_OUTCOMES)
    return Sentiment(per_day, distribution, sum(c.count for c in outcomes), outcomes)


def sentiment(session: Session, f: Filters) -> Compared[Sentiment]:
    return compare(_sentiment, session, f)


# --- intents ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntentCount:
    intent: str
    count: int
    previous: int

    @property
    def growth(self) -> float:
        """How many times the previous period's count (+1 each, so a new intent is finite)."""
        return (self.count + 1) / (self.previous + 1)


@dataclass(frozen=True)
class Intents:
    """What customers asked (the NLU's intent of each message): the most frequent, and the ones rising fastest
    against the previous period (at least `rising_min_count` messages and `rising_factor` times as many)."""

    messages: int
    previous_messages: int
    top: tuple[IntentCount, ...]
    rising: tuple[IntentCount, ...]


def _intent_counts(session: Session, f: Filters) -> dict[str, int]:
    parts = daily.split(session, f)
    counts = Counter(daily.intent_counts(session, parts, f))
    intent = func.coalesce(T.intent, NO_INTENT)
    for rest in parts.rest:
        rows = session.execute(scoped_turns(select(intent, func.count()).select_from(T).group_by(intent), rest))
        counts.update({name: int(n) for name, n in rows})
    return dict(counts)


def intents(session: Session, f: Filters, config: DashboardConfig | None = None) -> Intents:
    config = config or dashboard_config()
    now, before = _intent_counts(session, f), _intent_counts(session, f.previous())
    all_counts = [IntentCount(name, n, before.get(name, 0)) for name, n in now.items()]
    top = sorted(all_counts, key=lambda c: (-c.count, c.intent))[: config.top_intents]
    rising = sorted(
        (c for c in all_counts if c.count >= config.rising_min_count and c.growth >= config.rising_factor),
        key=lambda c: (-c.growth, -c.count, c.intent),
    )[: config.top_intents]
    return Intents(sum(now.values()), sum(before.values()), tuple(top), tuple(rising))
