"""The conversation panels: volume, containment, fallbacks and handoffs, from one row per conversation
(`insight_conversations`, its counters kept by the event consumer) and the handoffs' own table."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, distinct, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from bot.db.models import Handoff, InsightConversation
from bot.insights.panels.figures import Count, DayCount, DayRate, compare, per_day
from bot.insights.scope import (
    Compared,
    Filters,
    Spread,
    as_date,
    conversation_scope,
    day_of,
    handoff_scope,
    seconds_between,
    share,
    spreads_by,
)

C = InsightConversation

# --- volume ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Volume:
    """Conversations with at least one customer message: how many, whose, how many messages."""

    conversations: int
    customers: int  # distinct signed-in customers
    anonymous: int  # conversations of visitors without a customer id
    customer_messages: int
    per_day: tuple[DayCount, ...]


def _volume(session: Session, f: Filters) -> Volume:
    scope = conversation_scope(f)
    conversations, customers, anonymous, messages = session.execute(
        select(
            func.count(),
            func.count(distinct(C.customer_id)),
            func.coalesce(func.sum(case((C.customer_id.is_(None), 1), else_=0)), 0),
            func.coalesce(func.sum(C.user_turns), 0),
        ).where(scope)
    ).one()
    day = day_of(session, C.started_at)
    found = {as_date(d): (int(n),) for d, n in session.execute(select(day, func.count()).where(scope).group_by(day))}
    days = tuple(DayCount(d, n) for d, n in per_day(f, found, 1))
    return Volume(int(conversations), int(customers), int(anonymous), int(messages), days)


def volume(session: Session, f: Filters) -> Compared[Volume]:
    return compare(_volume, session, f)


# --- containment and fallbacks ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Containment:
    """Conversations the bot handled on its own: never handed to a person, and no agent wrote in them."""

    conversations: int
    contained: int
    handed_off: int
    per_day: tuple[DayRate, ...]

    @property
    def rate(self) -> float | None:
        return share(self.contained, self.conversations)


def _contained() -> ColumnElement[bool]:
    return and_(C.handed_off_at.is_(None), C.agent_messages == 0)


def _containment(session: Session, f: Filters) -> Containment:
    scope = conversation_scope(f)
    contained = func.coalesce(func.sum(case((_contained(), 1), else_=0)), 0)
    handed = func.count(C.handed_off_at)
    total, kept, handed_off = session.execute(select(func.count(), contained, handed).where(scope)).one()
    day = day_of(session, C.started_at)
    rows = session.execute(select(day, contained, func.count()).where(scope).group_by(day))
    found = {as_date(d): (int(k), int(n)) for d, k, n in rows}
    days = tuple(DayRate(d, k, n) for d, k, n in per_day(f, found, 2))
    return Containment(int(total), int(kept), int(handed_off), days)


def containment(session: Session, f: Filters) -> Compared[Containment]:
    return compare(_containment, session, f)


@dataclass(frozen=True)
class Fallbacks:
    """Customer messages the bot did not understand (its fallback answered), and conversations with any."""

    customer_messages: int
    fallbacks: int
    conversations: int
    conversations_with_fallback: int
    per_day: tuple[DayRate, ...]  # fallbacks / customer messages of the conversations started that day

    @property
    def rate(self) -> float | None:
        return share(self.fallbacks, self.customer_messages)

    @property
    def conversation_rate(self) -> float | None:
        return share(self.conversations_with_fallback, self.conversations)


def _fallbacks(session: Session, f: Filters) -> Fallbacks:
    scope = conversation_scope(f)
    fallbacks = func.coalesce(func.sum(C.fallbacks), 0)
    messages = func.coalesce(func.sum(C.user_turns), 0)
    total_messages, total_fallbacks, conversations, with_fallback = session.execute(
        select(
            messages, fallbacks, func.count(), func.coalesce(func.sum(case((C.fallbacks > 0, 1), else_=0)), 0)
        ).where(scope)
    ).one()
    day = day_of(session, C.started_at)
    found = {
        as_date(d): (int(k), int(n))
        for d, k, n in session.execute(select(day, fallbacks, messages).where(scope).group_by(day))
    }
    days = tuple(DayRate(d, k, n) for d, k, n in per_day(f, found, 2))
    return Fallbacks(int(total_messages), int(total_fallbacks), int(conversations), int(with_fallback), days)


def fallbacks(session: Session, f: Filters) -> Compared[Fallbacks]:
    return compare(_fallbacks, session, f)


# --- handoffs ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFigures:
    queue: str
    handoffs: int
    wait_to_claim: Spread  # seconds from the request to an agent claiming it


@dataclass(frozen=True)
class Handoffs:
    """How often the bot handed over, and why and to which queue (the handoffs requested in the period)."""

    conversations: int
    handed_off: int  # conversations handed to a person
    handoffs: int
    by_reason: tuple[Count, ...]
    by_queue: tuple[QueueFigures, ...]

    @property
    def rate(self) -> float | None:
        return share(self.handed_off, self.conversations)


def _handoffs(session: Session, f: Filters) -> Handoffs:
    conversations, handed = session.execute(
        select(func.count(), func.count(C.handed_off_at)).where(conversation_scope(f))
    ).one()
    scope = handoff_scope(f)
    reasons = session.execute(select(Handoff.reason, func.count()).where(*scope).group_by(Handoff.reason)).all()
    waits = spreads_by(
        session, select(Handoff.queue, seconds_between(session, Handoff.requested_at, Handoff.claimed_at)).where(*scope)
    )
    by_queue = tuple(
        QueueFigures(q, rows, wait)
        for q, (wait, rows) in sorted(waits.items(), key=lambda item: (-item[1][1], item[0]))
    )
    by_reason = tuple(Count(k, int(n)) for k, n in sorted(reasons, key=lambda item: (-item[1], item[0])))
    return Handoffs(int(conversations), int(handed), sum(c.count for c in by_reason), by_reason, by_queue)


def handoffs(session: Session, f: Filters) -> Compared[Handoffs]:
    return compare(_handoffs, session, f)
