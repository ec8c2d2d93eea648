"""Finding conversations to review: `insight_conversations` filtered by their moment, channel, what the NLU and the bot
did (`insight_turns`), the journeys they went through (`journeys`, `journey_csat`: outcome, CSAT) and what reviewers
recorded (`review_conversations`, `review_conversation_tags`), newest first, a page at a time in SQL.

A conversation went through a journey when one of the journey's steps names its Rasa sender id within its time (as
the dashboard's workflow filter, bot.insights.scope.went_through). The first customer message of each listed
conversation is shown redacted (bot.review.redact), never as written.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from bot.db.models import (
    JOURNEY_STATES,
    Customer,
    InsightConversation,
    InsightTurn,
    Journey,
    JourneyCsat,
    JourneyStep,
    ReviewConversation,
    ReviewConversationTag,
)
from bot.review.config import TAG, review_config
from bot.review.redact import default_redactor

C, T = InsightConversation, InsightTurn
MAX_PAGE = 1_000_000
MAX_TAGS = 10  # tags one filter may ask for
FIRST_MESSAGE_CHARS = 160


class ConversationError(ValueError):
    """A filter, page or conversation that cannot be used; the message is safe to show."""


class NoSuchConversation(ConversationError):
    """No conversation with this id (never recorded, or erased)."""


@dataclass(frozen=True)
class ConversationFilter:
    """Which conversations: started in [since, until) (naive UTC); `fallback`/`handoff`/`reviewed`: True (had one, is
    reviewed), False (had none, is not) or None (either); `sentiment_below`: the customer's lowest sentiment under
    it (-1..1); CSAT of a journey it went through within [csat_min, csat_max]; `outcome`: such a journey's outcome
    or state; `tags`: every one of them."""

    since: datetime | None = None
    until: datetime | None = None
    channel: str | None = None
    intent: str | None = None
    fallback: bool | None = None
    handoff: bool | None = None
    sentiment_below: float | None = None
    csat_min: int | None = None
    csat_max: int | None = None
    outcome: str | None = None
    tags: tuple[str, ...] = ()
    reviewed: bool | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.until <= self.since:
            raise ConversationError("`until` must be after `since`")
        if self.sentiment_below is not None and not -1.0 <= self.sentiment_below <= 1.0:
            raise ConversationError("sentiment_below must lie between -1 and 1")
        for name in ("csat_min", "csat_max"):
            value = getattr(self, name)
            if value is not None and not 1 <= value <= 5:
                raise ConversationError(f"{name} must be a score from 1 to 5")
        if self.csat_min is not None and self.csat_max is not None and self.csat_min > self.csat_max:
            raise ConversationError("csat_min must not be above csat_max")
        if len(self.tags) > MAX_TAGS:
            raise ConversationError(f"filter by at most {MAX_TAGS} tags")
        for tag in self.tags:
            if not TAG.fullmatch(tag):
                raise ConversationError(f"{tag[:48]!r} is not a tag (lower case letters, digits, _ and -)")


@dataclass(frozen=True)
class ConversationSummary:
    """One conversation as the list shows it."""

    id: int
    sender_id: str
    channel: str | None
    started_at: datetime
    last_event_at: datetime
    user_turns: int
    bot_messages: int
    agent_messages: int
    fallbacks: int
    handed_off: bool
    sentiment_min: float | None
    first_message: str  # redacted
    intents: tuple[str, ...]
    journeys: tuple[str, ...]  # "workflow: outcome or state"
    csat: int | None  # the lowest CSAT of its journeys
    tags: tuple[str, ...]
    reviewed: bool
    reviewed_by: str | None


@dataclass(frozen=True)
class ConversationPage:
    items: tuple[ConversationSummary, ...]
    page: int
    page_size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))


def _journeys(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """The conversation went through a journey (one of its steps in the conversation's time) that meets these."""
    return exists().where(
        JourneyStep.conversation_id == C.sender_id,
        JourneyStep.at >= C.started_at,
        JourneyStep.at <= C.last_event_at,
        Journey.id == JourneyStep.journey_id,
        *conditions,
    )


def _yes_no(value: bool | None, condition: ColumnElement[bool]) -> list[ColumnElement[bool]]:
    if value is None:
        return []
    return [condition if value else ~condition]


def conditions(f: ConversationFilter) -> list[ColumnElement[bool]]:
    """The filter as SQL conditions on `insight_conversations`."""
    where: list[ColumnElement[bool]] = []
    if f.since:
        where.append(C.started_at >= f.since)
    if f.until:
        where.append(C.started_at < f.until)
    if f.channel:
        where.append(C.channel == f.channel)
    if f.intent:
        where.append(exists().where(T.conversation_id == C.id, T.intent == f.intent))
    where += _yes_no(f.fallback, C.fallbacks > 0)
    where += _yes_no(f.handoff, C.handed_off_at.is_not(None))
    if f.sentiment_below is not None:
        where.append(C.sentiment_min < f.sentiment_below)
    if f.csat_min is not None or f.csat_max is not None:
        score = [JourneyCsat.journey_id == Journey.id]
        score += [JourneyCsat.score >= f.csat_min] if f.csat_min is not None else []
        score += [JourneyCsat.score <= f.csat_max] if f.csat_max is not None else []
        where.append(_journeys(exists().where(*score)))
    if f.outcome:
        where.append(_journeys(or_(Journey.outcome == f.outcome, Journey.state == f.outcome)))
    for tag in f.tags:
        where.append(exists().where(ReviewConversationTag.conversation_id == C.id, ReviewConversationTag.tag == tag))
    if f.reviewed is not None:
        is_reviewed = exists().where(ReviewConversation.conversation_id == C.id, ReviewConversation.reviewed == true())
        where.append(is_reviewed if f.reviewed else ~is_reviewed)
    return where


def search(
    session: Session, f: ConversationFilter | None = None, *, page: int = 1, page_size: int | None = None
) -> ConversationPage:
    """One page of the conversations that pass `f`, newest first."""
    f = f or ConversationFilter()
    config = review_config().conversations
    size = page_size or config.page_size
    if not 1 <= size <= config.max_page_size:
        raise ConversationError(f"a page holds 1 to {config.max_page_size} conversations, not {size}")
    if not 1 <= page <= MAX_PAGE:
        raise ConversationError("pages are numbered from 1")
    where = and_(true(), *conditions(f))
    total = session.execute(select(func.count()).select_from(C).where(where)).scalar_one()
    rows = session.execute(
        select(C, Customer.name)
        .outerjoin(Customer, Customer.id == C.customer_id)
        .where(where)
        .order_by(C.started_at.desc(), C.id.desc())
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    return ConversationPage(tuple(summaries(session, rows)), page, size, total)


def summaries(session: Session, rows: list) -> list[ConversationSummary]:
    """(InsightConversation, customer name) rows with their intents, journeys, tags, review and first message."""
    ids = [row[0].id for row in rows]
    if not ids:
        return []
    intents: dict[int, list[str]] = defaultdict(list)
    for cid, intent in session.execute(
        select(T.conversation_id, T.intent).where(T.conversation_id.in_(ids), T.intent.is_not(None)).distinct()
    ):
        intents[cid].append(intent)
    first: dict[int, str] = {}
    firsts = (
        select(T.conversation_id, func.min(T.id).label("id"))
        .where(T.conversation_id.in_(ids), T.text.is_not(None))
        .group_by(T.conversation_id)
        .subquery()
    )
    for cid, text in session.execute(select(T.conversation_id, T.text).join(firsts, firsts.c.id == T.id)):
        first[cid] = text
    tags: dict[int, list[str]] = defaultdict(list)
    for cid, tag in session.execute(
        select(ReviewConversationTag.conversation_id, ReviewConversationTag.tag)
        .where(ReviewConversationTag.conversation_id.in_(ids))
        .order_by(ReviewConversationTag.tag)
    ):
        tags[cid].append(tag)
    reviews = {
        r.conversation_id: r
        for r in session.execute(select(ReviewConversation).where(ReviewConversation.conversation_id.in_(ids)))
        .scalars()
        .all()
    }
    journeys, csat = _journey_facts(session, ids)
    redactor = default_redactor()
    out = []
    for conv, name in rows:
        review = reviews.get(conv.id)
        text = first.get(conv.id)
        shown = redactor.redact(text, names=(name,) if name else ()).truncated(FIRST_MESSAGE_CHARS).text if text else ""
        out.append(
            ConversationSummary(
                id=conv.id,
                sender_id=conv.sender_id,
                channel=conv.channel,
                started_at=conv.started_at,
                last_event_at=conv.last_event_at,
                user_turns=conv.user_turns,
                bot_messages=conv.bot_messages,
                agent_messages=conv.agent_messages,
                fallbacks=conv.fallbacks,
                handed_off=conv.handed_off_at is not None,
                sentiment_min=conv.sentiment_min,
                first_message=shown,
                intents=tuple(sorted(intents.get(conv.id, []))),
                journeys=tuple(journeys.get(conv.id, [])),
                csat=csat.get(conv.id),
                tags=tuple(tags.get(conv.id, [])),
                reviewed=bool(review and review.reviewed),
                reviewed_by=review.reviewed_by if review and review.reviewed else None,
            )
        )
    return out


def _journey_facts(session: Session, ids: list[int]) -> tuple[dict[int, list[str]], dict[int, int]]:
    """Per conversation: its journeys ("workflow: outcome or state") and their lowest CSAT."""
    rows = session.execute(
        select(C.id, Journey.id, Journey.workflow, Journey.outcome, Journey.state, JourneyCsat.score)
        .join(
            JourneyStep,
            and_(
                JourneyStep.conversation_id == C.sender_id,
                JourneyStep.at >= C.started_at,
                JourneyStep.at <= C.last_event_at,
            ),
        )
        .join(Journey, Journey.id == JourneyStep.journey_id)
        .outerjoin(JourneyCsat, JourneyCsat.journey_id == Journey.id)
        .where(C.id.in_(ids))
        .distinct()
    ).all()
    journeys: dict[int, list[str]] = defaultdict(list)
    csat: dict[int, int] = {}
    seen: set[tuple[int, int]] = set()
    for cid, jid, workflow, outcome, state, score in sorted(rows, key=lambda r: (r[0], r[1])):
        if (cid, jid) not in seen:
            seen.add((cid, jid))
            journeys[cid].append(f"{workflow}: {outcome or state}")
        if score is not None:
            csat[cid] = min(score, csat.get(cid, score))
    return journeys, csat


def conversation_row(session: Session, conversation_id: int) -> tuple[InsightConversation, str | None]:
    """The conversation and its customer's name (for redaction); NoSuchConversation when there is none."""
    row = session.execute(
        select(C, Customer.name).outerjoin(Customer, Customer.id == C.customer_id).where(C.id == conversation_id)
    ).first()
    if row is None:
        raise NoSuchConversation(f"there is no conversation {conversation_id}")
    return row[0], row[1]


def channels(session: Session) -> tuple[str, ...]:
    """The channels conversations came through (for the filter's choices)."""
    found = session.execute(select(C.channel).where(C.channel.is_not(None)).distinct()).scalars()
    return tuple(sorted(found))


def outcomes(session: Session) -> tuple[str, ...]:
    """The journey outcomes recorded so far, and the journeys' states (for the filter's choices)."""
    found = session.execute(select(Journey.outcome).where(Journey.outcome.is_not(None)).distinct()).scalars()
    return tuple(sorted(found)) + JOURNEY_STATES
