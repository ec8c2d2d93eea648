"""The NLU inbox: the customer messages the bot was unsure about, deduplicated, a page at a time, grouped by meaning.

A candidate is a typed customer message that the bot fell back on, whose intent had a confidence below
`low_confidence_below`, whose top two intents were less than `narrow_margin_below` apart, or that an agent answered
after a handoff (thresholds in config/review.yml). Candidates with the same normal form of their redacted text are
one inbox item, with their count; an item leaves the inbox once it is annotated (accepted or discarded:
`review_annotations`, by the same key). The inbox reads `review_messages` only, which bot.review.messages keeps in
step with the analytics tables (call its `refresh` before reading, as `tandem review inbox` does).

Paging is SQL's (GROUP BY the key, most frequent first, LIMIT/OFFSET), so a page costs one aggregate over the
candidates that pass the filter, whatever their number. Grouping by meaning is done on the page only, with the
dashboard's encoder and clustering (bot.insights.unknown): clustering every distinct text up front would cost
O(n^2) in time and memory for average linkage (100,000 texts: 10^10 distances) and would go stale with every new
message and annotation. So a group never spans pages; the page's order (by count) puts the frequent ones first, which
is what a CX user works through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import case, false, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Select

from bot.db.models import ReviewAnnotation, ReviewMessage
from bot.insights.unknown import EmbeddingCache, encoder_problem, group_by_meaning, shared_embeddings
from bot.review.config import REASONS, InboxConfig, review_config
from bot.review.redact import Placeholder

M, A = ReviewMessage, ReviewAnnotation


class InboxError(ValueError):
    """A filter or page that cannot be used (an unknown reason, a page size over the limit); safe to show."""


@dataclass(frozen=True)
class InboxFilter:
    """Which candidates: any of `reasons` (all when empty), written in [since, until) (naive UTC), and the intent
    the NLU gave them."""

    reasons: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    intent: str | None = None

    def __post_init__(self) -> None:
        unknown = [r for r in self.reasons if r not in REASONS]
        if unknown:
            raise InboxError(f"unknown reason {unknown[0]!r}; the reasons are {', '.join(REASONS)}")
        if self.since and self.until and self.until <= self.since:
            raise InboxError("`until` must be after `since`")


@dataclass(frozen=True)
class InboxItem:
    """One distinct message (after redaction) and how often customers wrote it."""

    message_id: int  # the latest of these messages (`insight_turns.id`): what an annotation names
    text: str  # redacted
    placeholders: tuple[Placeholder, ...]  # where the redacted values are in `text`
    count: int  # messages with this text that pass the filter
    reasons: tuple[str, ...]  # why they are candidates, in REASONS' order
    intent: str | None  # what the NLU made of the latest one
    confidence: float | None
    margin: float | None
    last_at: datetime


@dataclass(frozen=True)
class InboxGroup:
    """Items of a page that mean the same (the sentence encoder's cosine similarity, average linkage)."""

    items: tuple[InboxItem, ...]

    @property
    def count(self) -> int:
        return sum(item.count for item in self.items)


@dataclass(frozen=True)
class InboxPage:
    groups: tuple[InboxGroup, ...]
    page: int
    page_size: int
    distinct: int  # distinct texts that pass the filter, on every page
    messages: int  # messages that pass the filter
    note: str | None = None  # why the page is not grouped by meaning, when it is not
    filter: InboxFilter = field(default_factory=InboxFilter)

    @property
    def pages(self) -> int:
        return max(1, -(-self.distinct // self.page_size))

    @property
    def items(self) -> tuple[InboxItem, ...]:
        return tuple(item for group in self.groups for item in group.items)


def reason_conditions(config: InboxConfig) -> dict[str, ColumnElement[bool]]:
    """Each reason as a condition on a row of `review_messages`."""
    return {
        "fallback": M.fallback.is_(True),
        "low_confidence": M.confidence < config.low_confidence_below,
        "narrow_margin": M.margin < config.narrow_margin_below,
        "handoff": M.handoff.is_(True),
    }


def _candidates(query: Select, f: InboxFilter, config: InboxConfig) -> Select:
    conditions = reason_conditions(config)
    wanted = [conditions[r] for r in (f.reasons or REASONS)]
    # NOT IN, not NOT EXISTS: PostgreSQL hashes the annotated keys once (a third faster with none annotated, when
    # its estimate for the anti-join is a nested loop over 100,000 rows); `key` is never NULL in either table here.
    annotated = select(A.key)
    query = query.select_from(M).where(M.key.is_not(None), or_(false(), *wanted), M.key.not_in(annotated))
    if f.since is not None:
        query = query.where(M.at >= f.since)
    if f.until is not None:
        query = query.where(M.at < f.until)
    if f.intent is not None:
        query = query.where(M.intent == f.intent)
    return query


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.max(case((condition, 1), else_=0))


def _page_rows(session: Session, f: InboxFilter, config: InboxConfig, page: int, size: int) -> list:
    conditions = reason_conditions(config)
    count = func.count()
    last_at = func.max(M.at)
    query = _candidates(
        select(
            M.key,
            count.label("n"),
            func.max(M.turn_id).label("latest"),
            last_at.label("last_at"),
            *(_flag(conditions[r]).label(r) for r in REASONS),
            func.count().over().label("distinct"),  # window functions run after GROUP BY, before LIMIT
            func.sum(count).over().label("messages"),
        ),
        f,
        config,
    )
    query = query.group_by(M.key).order_by(count.desc(), last_at.desc(), M.key).limit(size).offset((page - 1) * size)
    return session.execute(query).all()


def _latest(session: Session, ids: Sequence[int]) -> dict[int, tuple]:
    if not ids:
        return {}
    rows = session.execute(
        select(M.turn_id, M.text, M.placeholders, M.intent, M.confidence, M.margin).where(M.turn_id.in_(list(ids)))
    ).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def inbox_items(
    session: Session, f: InboxFilter, *, page: int = 1, page_size: int | None = None, config: InboxConfig | None = None
) -> tuple[tuple[InboxItem, ...], int, int]:
    """A page of distinct candidates, the most frequent first: (items, distinct texts, messages) of the filter."""
    config = config or review_config().inbox
    size = page_size or config.page_size
    if not 1 <= size <= config.max_page_size:
        raise InboxError(f"a page holds 1 to {config.max_page_size} messages, not {size}")
    if page < 1:
        raise InboxError("pages are numbered from 1")
    rows = _page_rows(session, f, config, page, size)
    latest = _latest(session, [row.latest for row in rows])
    items = []
    for row in rows:
        text, placeholders, intent, confidence, margin = latest[row.latest]
        items.append(
            InboxItem(
                message_id=int(row.latest),
                text=text,
                placeholders=tuple(Placeholder(**p) for p in placeholders or ()),
                count=int(row.n),
                reasons=tuple(r for r in REASONS if getattr(row, r)),
                intent=intent,
                confidence=confidence,
                margin=margin,
                last_at=row.last_at,
            )
        )
    distinct = int(rows[0].distinct) if rows else 0
    messages = int(rows[0].messages) if rows else 0
    if not rows and page > 1:  # past the end: the totals still tell the page how far it goes
        distinct, messages = _totals(session, f, config)
    return tuple(items), distinct, messages


def _totals(session: Session, f: InboxFilter, config: InboxConfig) -> tuple[int, int]:
    row = session.execute(_candidates(select(func.count(func.distinct(M.key)), func.count()), f, config)).one()
    return int(row[0]), int(row[1])


def reason_counts(session: Session, f: InboxFilter, config: InboxConfig | None = None) -> dict[str, int]:
    """Messages per reason under the filter's period and intent (a message may have several reasons): what the
    reason filter's choices show."""
    config = config or review_config().inbox
    conditions = reason_conditions(config)
    every = InboxFilter((), f.since, f.until, f.intent)
    row = session.execute(
        _candidates(select(*(func.sum(case((conditions[r], 1), else_=0)) for r in REASONS)), every, config)
    ).one()
    return {r: int(n or 0) for r, n in zip(REASONS, row)}


def group_items(
    items: Sequence[InboxItem], embeddings: EmbeddingCache | None, same_meaning: float
) -> tuple[tuple[InboxGroup, ...], str | None]:
    """The page's items grouped by meaning, the largest group first (items keep the page's order inside a group);
    without the encoder every item is its own group, and the note says why."""
    if not items:
        return (), None
    if embeddings is None:
        note = (
            "Not grouped by meaning: the sentence encoder is unavailable (" + (encoder_problem() or "not loaded") + ")."
        )
        return tuple(InboxGroup((item,)) for item in items), note
    labels = group_by_meaning(embeddings.embed([item.text for item in items]), same_meaning)
    groups: dict[int, list[int]] = {}  # label -> positions on the page
    for position, label in enumerate(np.asarray(labels).tolist()):
        groups.setdefault(int(label), []).append(position)
    ordered = sorted(groups.values(), key=lambda g: (-sum(items[i].count for i in g), g[0]))
    return tuple(InboxGroup(tuple(items[i] for i in g)) for g in ordered), None


def inbox_page(
    session: Session,
    f: InboxFilter | None = None,
    *,
    page: int = 1,
    page_size: int | None = None,
    config: InboxConfig | None = None,
    embeddings: EmbeddingCache | None = None,
    group: bool = True,
) -> InboxPage:
    """The inbox as a page shows it. `embeddings`: this process's encoder unless given; `group=False` leaves every
    item on its own (a terminal listing that does not want to load the encoder)."""
    f = f or InboxFilter()
    config = config or review_config().inbox
    items, distinct, messages = inbox_items(session, f, page=page, page_size=page_size, config=config)
    if group:
        groups, note = group_items(
            items, embeddings if embeddings is not None else shared_embeddings(), config.same_meaning
        )
    else:
        groups, note = tuple(InboxGroup((item,)) for item in items), None
    return InboxPage(groups, page, page_size or config.page_size, distinct, messages, note, f)
