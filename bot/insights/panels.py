"""The dashboard's panels: each one a function of a session and the filters, answering frozen figures for the period
and for the previous one (computed the same way; bot.insights.scope says what belongs to a period).

The conversation panels read the analytics tables the event consumer fills (`insight_conversations`, one row per
conversation with its counters, and `insight_turns`); handoffs, journeys and segments are read where their own
stores keep them, journeys' KPIs through `bot.journeys.kpis`. The survey, recommendation and unknown-question panels
live beside this module (surveys.py, recommendations.py, unknown.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

from sqlalchemy import and_, case, distinct, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select

from bot.db.models import (
    BehaviourEvent,
    CustomerSegment,
    Handoff,
    HandoffMessage,
    InsightConversation,
    InsightTurn,
    Journey,
    JourneyStep,
    Order,
)
from bot.insights.dashboard_config import DashboardConfig, dashboard_config
from bot.insights.scope import (
    Compared,
    Filters,
    Spread,
    as_date,
    conversation_scope,
    day_of,
    handoff_scope,
    in_segment,
    journey_scope,
    scoped_turns,
    seconds_between,
    share,
    spread,
    spread_and_rows,
    spreads_by,
)
from bot.journeys.kpis import ALL_WORKFLOWS, KpiRow, journey_kpis
from bot.personalization.jobs.next_best_action import NextBestActionRules
from bot.sentiment.labels import NEGATIVE, POLARITIES

C = InsightConversation
T = InsightTurn
P = TypeVar("P")


def _compare(compute: Callable[[Session, Filters], P], session: Session, f: Filters) -> Compared[P]:
    return Compared(compute(session, f), compute(session, f.previous()))


def _per_day(f: Filters, found: dict[date, tuple], width: int) -> list[tuple]:
    """One entry per day of the period, in order, with `found`'s `width` values or zeros."""
    return [(day, *found.get(day, (0,) * width)) for day in f.days()]


# --- volume ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayCount:
    day: date
    count: int


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
    per_day = tuple(DayCount(d, n) for d, n in _per_day(f, found, 1))
    return Volume(int(conversations), int(customers), int(anonymous), int(messages), per_day)


def volume(session: Session, f: Filters) -> Compared[Volume]:
    return _compare(_volume, session, f)


# --- containment and fallbacks ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayRate:
    day: date
    part: int
    whole: int

    @property
    def rate(self) -> float | None:
        return share(self.part, self.whole)


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
    per_day = tuple(DayRate(d, k, n) for d, k, n in _per_day(f, found, 2))
    return Containment(int(total), int(kept), int(handed_off), per_day)


def containment(session: Session, f: Filters) -> Compared[Containment]:
    return _compare(_containment, session, f)


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
    per_day = tuple(DayRate(d, k, n) for d, k, n in _per_day(f, found, 2))
    return Fallbacks(int(total_messages), int(total_fallbacks), int(conversations), int(with_fallback), per_day)


def fallbacks(session: Session, f: Filters) -> Compared[Fallbacks]:
    return _compare(_fallbacks, session, f)


# --- handoffs and response times ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    key: str
    count: int


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
    return _compare(_handoffs, session, f)


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


def _response_times(session: Session, f: Filters) -> ResponseTimes:
    seconds = seconds_between(session, T.at, T.answered_at).label("seconds")  # NULL: not answered
    bot, messages = spread_and_rows(session, scoped_turns(select(seconds).select_from(T), f))
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
    return _compare(_response_times, session, f)


# --- sentiment --------------------------------------------------------------------------------------------------------

UNKNOWN_MOOD = "unknown"
MOODS = (*POLARITIES, UNKNOWN_MOOD)
NEGATIVE_OUTCOMES = ("handed_off", "recovered", "abandoned")


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


def _sentiment(session: Session, f: Filters) -> Sentiment:
    day = day_of(session, T.at)
    rows = session.execute(
        scoped_turns(
            select(day, T.sentiment_label, func.count(), func.count(T.sentiment), func.sum(T.sentiment))
            .select_from(T)
            .group_by(day, T.sentiment_label),
            f,
        )
    ).all()
    scored: dict[date, list[float]] = {}
    counts = Counter({UNKNOWN_MOOD: 0})
    for d, label, messages, with_score, total in rows:
        counts[label if label in POLARITIES else UNKNOWN_MOOD] += int(messages)
        day_sums = scored.setdefault(as_date(d), [0, 0.0])
        day_sums[0] += int(with_score)
        day_sums[1] += float(total or 0.0)
    per_day = tuple(
        DayMood(d, int(scored[d][0]), scored[d][1] / scored[d][0]) if scored.get(d, [0])[0] else DayMood(d, 0, None)
        for d in f.days()
    )
    distribution = tuple(Count(m, counts[m]) for m in MOODS)

    scope = conversation_scope(f)
    last_label = (
        select(T.sentiment_label)
        .where(T.conversation_id == C.id)
        .order_by(T.at.desc(), T.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    outcome = case(
        (C.handed_off_at.is_not(None), literal("handed_off")),
        (func.coalesce(last_label, "") == NEGATIVE, literal("abandoned")),
        else_=literal("recovered"),
    )
    ended = dict(
        session.execute(
            select(outcome, func.count()).where(scope, C.turned_negative_at.is_not(None)).group_by(outcome)
        ).all()
    )
    outcomes = tuple(Count(k, int(ended.get(k, 0))) for k in NEGATIVE_OUTCOMES)
    return Sentiment(per_day, distribution, sum(c.count for c in outcomes), outcomes)


def sentiment(session: Session, f: Filters) -> Compared[Sentiment]:
    return _compare(_sentiment, session, f)


# --- journeys -----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Journeys:
    """Journey KPIs per workflow (bot.journeys.kpis: FCR, time to resolution, escalation, reopens, CSAT) of the
    journeys opened in the period, the overall row last (absent when a workflow is chosen)."""

    rows: tuple[KpiRow, ...]

    @property
    def overall(self) -> KpiRow | None:
        return self.rows[-1] if self.rows else None


def _journeys(session: Session, f: Filters) -> Journeys:
    rows = journey_kpis(session, since=f.since, until=f.until, where=journey_scope(f))
    if f.workflow:
        rows = [r for r in rows if r.workflow != ALL_WORKFLOWS]
    return Journeys(tuple(rows))


def journeys(session: Session, f: Filters) -> Compared[Journeys]:
    return _compare(_journeys, session, f)


@dataclass(frozen=True)
class FunnelStep:
    workflow: str
    step: str
    reached: int  # journeys that went through this step
    stopped: int  # unresolved journeys whose latest step is this one: where customers dropped out

    @property
    def drop_out(self) -> float | None:
        return share(self.stopped, self.reached)


@dataclass(frozen=True)
class Funnel:
    """Per workflow, its steps in the order journeys reach them (on average), of the journeys opened in the period."""

    journeys: tuple[Count, ...]  # journeys per workflow
    steps: tuple[FunnelStep, ...]

    def of(self, workflow: str) -> tuple[FunnelStep, ...]:
        return tuple(s for s in self.steps if s.workflow == workflow)


def _funnel(session: Session, f: Filters) -> Funnel:
    scope = journey_scope(f)
    started = dict(
        session.execute(select(Journey.workflow, func.count()).where(*scope).group_by(Journey.workflow)).all()
    )
    first_seq = (
        select(
            JourneyStep.journey_id.label("journey_id"),
            JourneyStep.step.label("step"),
            func.min(JourneyStep.seq).label("seq"),
        )
        .join(Journey, Journey.id == JourneyStep.journey_id)
        .where(*scope)
        .group_by(JourneyStep.journey_id, JourneyStep.step)
        .subquery()
    )
    reached = session.execute(
        select(Journey.workflow, first_seq.c.step, func.count(), func.avg(first_seq.c.seq))
        .join(Journey, Journey.id == first_seq.c.journey_id)
        .group_by(Journey.workflow, first_seq.c.step)
    ).all()
    stopped = dict(
        ((w, s), int(n))
        for w, s, n in session.execute(
            select(Journey.workflow, JourneyStep.step, func.count())
            .join(Journey, and_(Journey.id == JourneyStep.journey_id, JourneyStep.seq == Journey.step_count))
            .where(*scope, Journey.resolved_at.is_(None))
            .group_by(Journey.workflow, JourneyStep.step)
        )
    )
    ordered = sorted(reached, key=lambda r: (r[0], float(r[3]), r[1]))
    steps = tuple(FunnelStep(w, s, int(n), stopped.get((w, s), 0)) for w, s, n, _ in ordered)
    counts = tuple(Count(w, int(n)) for w, n in sorted(started.items()))
    return Funnel(counts, steps)


def funnel(session: Session, f: Filters) -> Compared[Funnel]:
    return _compare(_funnel, session, f)


# --- engagement ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Engagement:
    """Customers who came back, bought again, or were at risk of leaving:

    - returning: signed-in customers of the period's conversations who had a conversation before it;
    - after a resolved issue: customers whose journey was resolved in the period, and those of them who ordered
      again within `repeat_days` of the resolution;
    - after a recommendation: customers who clicked one in the period, and those who ordered within `repeat_days`;
    - churn risk: customers the nightly segment refresh puts at or above the retention offer's risk
      (`TANDEM_NBA_RETENTION_MIN_RISK`), how many there are and how many talked to the bot in the period.
    """

    customers: int
    returning: int
    resolved_customers: int
    repurchased_after_resolution: int
    clicked_customers: int
    repurchased_after_click: int
    churn_risk_customers: int
    churn_risk_contacted: int
    churn_threshold: float
    repeat_days: float

    @property
    def returning_share(self) -> float | None:
        return share(self.returning, self.customers)

    @property
    def repurchase_after_resolution_share(self) -> float | None:
        return share(self.repurchased_after_resolution, self.resolved_customers)

    @property
    def repurchase_after_click_share(self) -> float | None:
        return share(self.repurchased_after_click, self.clicked_customers)

    @property
    def churn_risk_contacted_share(self) -> float | None:
        return share(self.churn_risk_contacted, self.churn_risk_customers)


def _ordered_again(session: Session, moments: Select, repeat_days: float) -> tuple[int, int]:
    """(customers, customers who placed a kept order within `repeat_days` after one of their moments)."""
    sub = moments.subquery()
    customers = session.execute(select(func.count(distinct(sub.c.customer_id)))).scalar_one()
    window = timedelta(days=repeat_days)
    rows = session.execute(
        select(sub.c.customer_id, sub.c.at, Order.placed_at)
        .join(Order, Order.customer_id == sub.c.customer_id)
        .where(Order.placed_at > sub.c.at, Order.status != "cancelled")
    )
    again = {customer for customer, at, placed in rows if placed <= at + window}
    return int(customers), len(again)


def _engagement(session: Session, f: Filters, config: DashboardConfig, threshold: float) -> Engagement:
    scope = conversation_scope(f)
    mine = select(C.customer_id).where(scope, C.customer_id.is_not(None)).distinct().subquery()
    earlier = C.__table__.alias("earlier")
    customers = session.execute(select(func.count()).select_from(mine)).scalar_one()
    returning = session.execute(
        select(func.count())
        .select_from(mine)
        .where(
            select(earlier.c.id)
            .where(earlier.c.customer_id == mine.c.customer_id, earlier.c.started_at < f.since)
            .exists()
        )
    ).scalar_one()
    resolved = select(Journey.customer_id.label("customer_id"), Journey.resolved_at.label("at")).where(
        *journey_scope(f, Journey.resolved_at)
    )
    resolved_customers, after_resolution = _ordered_again(session, resolved, config.repeat_purchase_days)
    clicks = select(BehaviourEvent.customer_id.label("customer_id"), BehaviourEvent.occurred_at.label("at")).where(
        BehaviourEvent.kind == "click", BehaviourEvent.occurred_at >= f.since, BehaviourEvent.occurred_at < f.until
    )
    if f.segment:
        clicks = clicks.where(in_segment(BehaviourEvent.customer_id, f.segment))
    clicked_customers, after_click = _ordered_again(session, clicks, config.repeat_purchase_days)
    at_risk = select(CustomerSegment.customer_id).where(CustomerSegment.churn_risk >= threshold)
    if f.segment:
        at_risk = at_risk.where(CustomerSegment.rfm_segment == f.segment)
    risk_total = session.execute(select(func.count()).select_from(at_risk.subquery())).scalar_one()
    contacted = session.execute(
        select(func.count()).select_from(mine).where(mine.c.customer_id.in_(at_risk))
    ).scalar_one()
    return Engagement(
        customers=int(customers),
        returning=int(returning),
        resolved_customers=resolved_customers,
        repurchased_after_resolution=after_resolution,
        clicked_customers=clicked_customers,
        repurchased_after_click=after_click,
        churn_risk_customers=int(risk_total),
        churn_risk_contacted=int(contacted),
        churn_threshold=threshold,
        repeat_days=config.repeat_purchase_days,
    )


def engagement(
    session: Session, f: Filters, config: DashboardConfig | None = None, churn_threshold: float | None = None
) -> Compared[Engagement]:
    config = config or dashboard_config()
    threshold = NextBestActionRules.from_env().retention_min_risk if churn_threshold is None else churn_threshold
    return Compared(_engagement(session, f, config, threshold), _engagement(session, f.previous(), config, threshold))


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
    intent = func.coalesce(T.intent, "(none)")
    rows = session.execute(scoped_turns(select(intent, func.count()).select_from(T).group_by(intent), f))
    return {name: int(n) for name, n in rows}


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


# --- the filters' choices ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterOptions:
    channels: tuple[str, ...]
    segments: tuple[str, ...]
    workflows: tuple[str, ...]


def filter_options(session: Session) -> FilterOptions:
    """What the filters can be set to: the channels conversations came in on, the segments the refresh assigned,
    the workflows journeys ran."""
    channels = session.execute(select(C.channel).where(C.channel.is_not(None)).distinct()).scalars()
    segments = session.execute(select(CustomerSegment.rfm_segment).distinct()).scalars()
    workflows = session.execute(select(Journey.workflow).distinct()).scalars()
    return FilterOptions(tuple(sorted(channels)), tuple(sorted(segments)), tuple(sorted(workflows)))
