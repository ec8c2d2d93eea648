"""What a dashboard panel counts: the period and filters, the conversations they select, and the SQL both databases
agree on (days, seconds between two moments, percentiles).

What belongs to a period: a conversation when it *started* in it (volume, containment, fallbacks, handoff rate,
conversations that turned negative, returning customers); a customer message when it was *written* in it (response
times, mood per day and by label, intents, unknown questions: a range of the turns' time index, no join unless a
filter needs one); handoffs, journeys, survey answers and recommendation events when they happened in it. The two
rules differ only for a conversation that runs across the period's edge. The previous period is the same length,
just before, filtered the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Generic, TypeVar

import numpy as np
from sqlalchemy import Float, and_, case, exists, func, literal, select, text
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select

from bot.db.models import CustomerSegment, Handoff, InsightConversation, InsightTurn, Journey, JourneyStep
from bot.sentiment.labels import NEGATIVE

T = TypeVar("T")

FILTER_NAMES = ("channel", "segment", "workflow")


class FilterError(ValueError):
    """A period or filter that cannot be used (until before since, a period too long); safe to show."""


@dataclass(frozen=True)
class Filters:
    """The dashboard's period [since, until) (naive UTC) and its optional filters: Rasa's input channel, a customer
    segment (the RFM segment of `tandem recs segments`) and a workflow (journeys of that workflow, and the
    conversations that went through one)."""

    since: datetime
    until: datetime
    channel: str | None = None
    segment: str | None = None
    workflow: str | None = None

    MAX_DAYS = 400

    def __post_init__(self) -> None:
        if self.until <= self.since:
            raise FilterError("the period must end after it starts")
        if self.until - self.since > timedelta(days=self.MAX_DAYS):
            raise FilterError(f"a period is at most {self.MAX_DAYS} days")

    @property
    def length(self) -> timedelta:
        return self.until - self.since

    def previous(self) -> Filters:
        """The period of the same length just before this one, with the same filters."""
        return replace(self, since=self.since - self.length, until=self.since)

    def days(self) -> list[date]:
        """Every calendar day the period touches, for charts that must show a day with nothing on it."""
        first, last = self.since.date(), (self.until - timedelta(microseconds=1)).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def active(self) -> dict[str, str]:
        """The filters that are set, by name."""
        return {name: value for name in FILTER_NAMES if (value := getattr(self, name))}


@dataclass(frozen=True)
class Compared(Generic[T]):
    """A panel's figures for the period and for the previous one, computed the same way."""

    current: T
    previous: T


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def day_of(session: Session, column: Any) -> Any:
    """The calendar day of a timestamp, in SQL (read it back with `as_date`)."""
    if dialect(session) == "postgresql":
        return func.date_trunc("day", column)
    return func.date(column)


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def seconds_between(session: Session, start: Any, end: Any) -> Any:
    """`end - start` in seconds, in SQL (to the millisecond on SQLite, whose Julian days carry about 10 µs of noise)."""
    if dialect(session) == "postgresql":  # date_part's double: EXTRACT's numeric takes several times longer
        return func.date_part("epoch", end - start, type_=Float)
    return func.round((func.julianday(end) - func.julianday(start)) * 86400.0, 3)


@dataclass(frozen=True)
class Spread:
    """How long something took: how many, the median and the 90th percentile (seconds; linear interpolation,
    PostgreSQL's percentile_cont and numpy's default alike). `approximate`: the percentiles come from a histogram
    (bot.insights.histogram: within 1 %), the count is exact."""

    count: int
    median: float | None
    p90: float | None
    approximate: bool = False


SORT_MEMORY = "64MB"  # PostgreSQL's work_mem for the percentiles' sort (its default, 4 MB, spills 75,000 values)


def spread(session: Session, values: Select) -> Spread:
    """The spread of the one column `values` selects (NULLs left out)."""
    return spread_and_rows(session, values)[0]


def spread_and_rows(session: Session, values: Select) -> tuple[Spread, int]:
    """The spread of the one column `values` selects (NULLs left out), and how many rows it selects (NULLs too), in
    one pass: PostgreSQL's percentile_cont (one in-memory sort for both percentiles), or numpy on SQLite."""
    sub = values.subquery()
    column = sub.c[0]
    if dialect(session) == "postgresql":
        session.execute(text(f"SET LOCAL work_mem = '{SORT_MEMORY}'"))  # this transaction only
        rows, count, percentiles = session.execute(
            select(func.count(), func.count(column), func.percentile_cont(array([0.5, 0.9])).within_group(column))
        ).one()
        median, p90 = percentiles or (None, None)
        return Spread(int(count), _float(median), _float(p90)), int(rows)
    values_all = [v for (v,) in session.execute(select(column))]
    numbers = np.array([v for v in values_all if v is not None], dtype=float)
    return spread_of(numbers), len(values_all)


def spreads_by(session: Session, values: Select) -> dict[Any, tuple[Spread, int]]:
    """`spread_and_rows` per key: `values` selects (key, value)."""
    sub = values.subquery()
    key, column = sub.c[0], sub.c[1]
    if dialect(session) == "postgresql":
        session.execute(text(f"SET LOCAL work_mem = '{SORT_MEMORY}'"))
        rows = session.execute(
            select(
                key, func.count(), func.count(column), func.percentile_cont(array([0.5, 0.9])).within_group(column)
            ).group_by(key)
        )
        out = {}
        for k, n, count, percentiles in rows:
            median, p90 = percentiles or (None, None)
            out[k] = (Spread(int(count), _float(median), _float(p90)), int(n))
        return out
    grouped: dict[Any, list[Any]] = {}
    for k, v in session.execute(select(key, column)):
        grouped.setdefault(k, []).append(v)
    return {
        k: (spread_of(np.array([v for v in vs if v is not None], dtype=float)), len(vs)) for k, vs in grouped.items()
    }


def spread_of(numbers: Sequence[float] | np.ndarray) -> Spread:
    values = np.asarray(numbers, dtype=float)
    if not values.size:
        return Spread(0, None, None)
    median, p90 = np.percentile(values, [50, 90])
    return Spread(int(values.size), float(median), float(p90))


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def in_segment(customer_id: Any, segment: str) -> ColumnElement[bool]:
    return customer_id.in_(select(CustomerSegment.customer_id).where(CustomerSegment.rfm_segment == segment))


def went_through(workflow: str) -> ColumnElement[bool]:
    """The conversation had a step of a journey of `workflow` (journey steps name their Rasa sender id)."""
    return exists().where(
        JourneyStep.conversation_id == InsightConversation.sender_id,
        JourneyStep.at >= InsightConversation.started_at,
        JourneyStep.at <= InsightConversation.last_event_at,
        Journey.id == JourneyStep.journey_id,
        Journey.workflow == workflow,
    )


def conversation_filters(f: Filters) -> list[ColumnElement[bool]]:
    """The channel, segment and workflow filters, on `insight_conversations`."""
    conditions: list[ColumnElement[bool]] = []
    if f.channel:
        conditions.append(InsightConversation.channel == f.channel)
    if f.segment:
        conditions.append(in_segment(InsightConversation.customer_id, f.segment))
    if f.workflow:
        conditions.append(went_through(f.workflow))
    return conditions


def conversation_scope(f: Filters) -> ColumnElement[bool]:
    """The conversations of the period: started in it, with at least one customer message, and the filters."""
    return and_(
        InsightConversation.started_at >= f.since,
        InsightConversation.started_at < f.until,
        InsightConversation.user_turns > 0,
        *conversation_filters(f),
    )


def scoped_turns(query: Select, f: Filters) -> Select:
    """`query` (over `insight_turns`) narrowed to the customer messages written in the period, of conversations
    the filters keep. By the message's own moment, so that a range of the turns' time index is read; the
    conversations are joined only when a filter needs them, and only those that ran in the period are looked at
    (one starts before its messages, and its latest event comes at or after them)."""
    query = query.where(InsightTurn.at >= f.since, InsightTurn.at < f.until)
    filters = conversation_filters(f)
    if filters:
        ran = (InsightConversation.started_at < f.until, InsightConversation.last_event_at >= f.since)
        query = query.join(InsightConversation, InsightConversation.id == InsightTurn.conversation_id)
        query = query.where(*ran, *filters)
    return query


NEGATIVE_OUTCOMES = ("handed_off", "recovered", "abandoned")


def negative_outcome() -> ColumnElement[str]:
    """How a conversation that turned negative ended: handed to a person, or else by its last message's mood
    (still negative: abandoned; otherwise recovered)."""
    last_label = (
        select(InsightTurn.sentiment_label)
        .where(InsightTurn.conversation_id == InsightConversation.id)
        .order_by(InsightTurn.at.desc(), InsightTurn.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return case(
        (InsightConversation.handed_off_at.is_not(None), literal("handed_off")),
        (func.coalesce(last_label, "") == NEGATIVE, literal("abandoned")),
        else_=literal("recovered"),
    )


def journey_scope(f: Filters, moment: Any = None) -> list[ColumnElement[bool]]:
    """Journeys that happened in the period (opened, unless `moment` names another column), and the filters: the
    channel of their latest conversation, their customer's segment, their workflow."""
    moment = Journey.opened_at if moment is None else moment
    conditions: list[ColumnElement[bool]] = [moment >= f.since, moment < f.until]
    if f.channel:
        conditions.append(Journey.last_channel == f.channel)
    if f.segment:
        conditions.append(in_segment(Journey.customer_id, f.segment))
    if f.workflow:
        conditions.append(Journey.workflow == f.workflow)
    return conditions


def handoff_scope(f: Filters) -> list[ColumnElement[bool]]:
    """Handoffs requested in the period, and the filters (the workflow of the journey that was handed over)."""
    conditions: list[ColumnElement[bool]] = [Handoff.requested_at >= f.since, Handoff.requested_at < f.until]
    if f.channel:
        conditions.append(Handoff.channel == f.channel)
    if f.segment:
        conditions.append(in_segment(Handoff.customer_id, f.segment))
    if f.workflow:
        conditions.append(Handoff.journey_id.in_(select(Journey.id).where(Journey.workflow == f.workflow)))
    return conditions


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
