"""Events into the analytics tables, a batch per transaction, each event counted exactly once.

How each source is made exactly-once (the caller commits the batch's rows with its bookkeeping, or nothing):
- an ordered source (Rasa's SQL event broker table) stores how far it has read (`InsightOffset`);
- an at-least-once source (RabbitMQ redelivers what was not acknowledged) stores a key per event
  (`InsightEventSeen`) and skips events whose key is there; keys are pruned after some days;
- the backfill from the tracker store adds whole conversations that are not there yet (bot.insights.backfill).
One moment, the partition (an `InsightOffset` row, Unix milliseconds), divides the history between the backfill
and the live sources: live sources count events from then on, the backfill those before, so the same event in the
tracker store and in a broker is never counted by both. It is fixed once a live source has counted an event
(`claim_partition`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from bot.db.models import InsightConversation, InsightEventSeen, InsightOffset, InsightTurn, utcnow
from bot.db.session import unit_of_work
from bot.insights.events import (
    ActionRun,
    BotMessage,
    CustomerMessage,
    HandedOff,
    OtherEvent,
    SentimentSlot,
    SessionStarted,
    Update,
    event_key,
    event_time,
    interpret,
)
from bot.insights.rollup import mark_stale
from bot.sentiment.labels import NEGATIVE
from bot.shop.customers import customer_pk

PARTITION = "partition"  # InsightOffset.source of the moment between the backfill's history and the live sources'
LIVE_CLAIMED = "partition:live"  # present once a live source has counted an event: the partition stays put

SourcedEvent = tuple[str, Mapping[str, Any]]  # (sender_id, the event as Rasa wrote it)


@dataclass(frozen=True)
class BatchResult:
    events: int
    counted: int  # changed the tables (or would have, had they been of interest: every event not skipped)
    duplicates: int  # already counted: a redelivery
    skipped: int  # before the partition (the backfill's history), or not an event of a conversation

    def __add__(self, other: BatchResult) -> BatchResult:
        return BatchResult(
            self.events + other.events,
            self.counted + other.counted,
            self.duplicates + other.duplicates,
            self.skipped + other.skipped,
        )


EMPTY = BatchResult(0, 0, 0, 0)


def _millis(at: datetime) -> int:
    return math.floor(at.replace(tzinfo=UTC).timestamp() * 1000)


def _from_millis(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


def partition(session: Session) -> datetime | None:
    """The moment between the backfill's history and the live sources' events (None: not set yet)."""
    row = session.get(InsightOffset, PARTITION)
    return _from_millis(row.position) if row is not None else None


def claim_partition(session: Session, at: datetime, *, live: bool) -> datetime:
    """The partition, for a live source (`at`: its first event) or the backfill (`at`: now).

    The first to come sets it. Until a live source has counted an event, a later backfill moves it on to its own
    `at` (history up to now is the backfill's); from then on it stays. Both lock the row first, so a live source
    and a backfill never both count an event: a concurrent first claim fails its commit on the primary key, and
    the retry reads the winner's.
    """
    row = session.execute(
        select(InsightOffset).where(InsightOffset.source == PARTITION).with_for_update()
    ).scalar_one_or_none()
    if row is None:
        row = InsightOffset(source=PARTITION, position=_millis(at), updated_at=utcnow())
        session.add(row)
        session.flush()
    claimed = session.get(InsightOffset, LIVE_CLAIMED)
    if live and claimed is None:
        session.add(InsightOffset(source=LIVE_CLAIMED, position=row.position, updated_at=utcnow()))
        session.flush()
    elif not live and claimed is None and _millis(at) > row.position:
        row.position, row.updated_at = _millis(at), utcnow()
    return _from_millis(row.position)


def offset(session: Session, source: str) -> int:
    """How far an ordered source has been read (0: not yet)."""
    row = session.get(InsightOffset, source)
    return row.position if row is not None else 0


def set_offset(session: Session, source: str, position: int) -> None:
    row = session.get(InsightOffset, source)
    if row is None:
        session.add(InsightOffset(source=source, position=position, updated_at=utcnow()))
    else:
        row.position, row.updated_at = position, utcnow()


def prune_seen(session: Session, older_than: datetime) -> int:
    """Forget the keys of events seen before `older_than`, long after any redelivery; how many went."""
    return session.execute(delete(InsightEventSeen).where(InsightEventSeen.seen_at < older_than)).rowcount or 0


def conversation_exists(session: Session, sender_id: str, started_at: datetime) -> bool:
    return (
        session.execute(
            select(InsightConversation.id).where(
                InsightConversation.sender_id == sender_id, InsightConversation.started_at == started_at
            )
        ).first()
        is not None
    )


class _Tables:
    """The rows one batch touches, looked up once each; the session writes them all at its commit."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._current: dict[str, InsightConversation] = {}  # sender -> its latest conversation seen in this batch
        self._latest_turn: dict[int, InsightTurn | None] = {}
        self._customers: dict[str, int | None] = {}
        self.touched: set[date] = set()  # days whose messages or conversations this batch changed (the rollup's)

    def conversation(self, sender_id: str, at: datetime, *, create: bool) -> InsightConversation | None:
        """The sender's conversation an event at `at` belongs to: the latest one started at or before it. With
        `create`, one starts at `at` when there is none (a source that begins in the middle of a conversation)."""
        cached = self._current.get(sender_id)
        if cached is not None and cached.started_at <= at:
            return cached
        found = self.session.execute(
            select(InsightConversation)
            .where(InsightConversation.sender_id == sender_id, InsightConversation.started_at <= at)
            .order_by(InsightConversation.started_at.desc())
            .limit(1)
        ).scalar_one_or_none()
        if found is None and create:
            found = self.start(sender_id, at)
        if found is not None and (cached is None or cached.started_at <= found.started_at):
            self._current[sender_id] = found
        return found

    def start(self, sender_id: str, at: datetime) -> InsightConversation:
        existing = self.session.execute(
            select(InsightConversation).where(
                InsightConversation.sender_id == sender_id, InsightConversation.started_at == at
            )
        ).scalar_one_or_none()
        if existing is not None:
            return existing
        # Inserted at once for its id (its turns need it), without flushing the rest of the batch.
        inserted = self.session.execute(
            insert(InsightConversation).values(
                sender_id=sender_id[:128],
                started_at=at,
                last_event_at=at,
                user_turns=0,
                bot_messages=0,
                agent_messages=0,
                fallbacks=0,
            )
        )
        conversation = self.session.get(InsightConversation, inserted.inserted_primary_key[0])
        assert conversation is not None
        self._latest_turn[conversation.id] = None
        cached = self._current.get(sender_id)
        if cached is None or cached.started_at <= at:
            self._current[sender_id] = conversation
        return conversation

    def latest_turn(self, conversation: InsightConversation) -> InsightTurn | None:
        if conversation.id not in self._latest_turn:
            self._latest_turn[conversation.id] = self.session.execute(
                select(InsightTurn)
                .where(InsightTurn.conversation_id == conversation.id)
                .order_by(InsightTurn.at.desc(), InsightTurn.id.desc())
                .limit(1)
            ).scalar_one_or_none()
        return self._latest_turn[conversation.id]

    def add_turn(self, conversation: InsightConversation, turn: InsightTurn) -> None:
        self.session.add(turn)
        self.touched.add(turn.at.date())
        latest = self.latest_turn(conversation)
        if latest is None or latest.at <= turn.at:
            self._latest_turn[conversation.id] = turn

    def customer(self, external_id: str) -> int | None:
        if external_id not in self._customers:
            self._customers[external_id] = customer_pk(self.session, external_id)
        return self._customers[external_id]


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _note_sentiment(conversation: InsightConversation, turn: InsightTurn, is_latest: bool) -> None:
    if turn.sentiment is not None:
        if conversation.sentiment_min is None or turn.sentiment < conversation.sentiment_min:
            conversation.sentiment_min = turn.sentiment
        if is_latest:
            conversation.sentiment_last = turn.sentiment
    if turn.sentiment_label == NEGATIVE and (
        conversation.turned_negative_at is None or turn.at < conversation.turned_negative_at
    ):
        conversation.turned_negative_at = turn.at


def _touch(conversation: InsightConversation, at: datetime) -> None:
    if at > conversation.last_event_at:
        conversation.last_event_at = at


def _apply(tables: _Tables, update: Update) -> None:
    if isinstance(update, SessionStarted):
        _touch(tables.start(update.sender_id, update.at), update.at)
        return
    create = isinstance(update, CustomerMessage | ActionRun | BotMessage | HandedOff)
    conversation = tables.conversation(update.sender_id, update.at, create=create)
    if conversation is None:
        return
    _touch(conversation, update.at)
    tables.touched.add(conversation.started_at.date())  # how it ended, in the rollup of the day it started
    if isinstance(update, CustomerMessage):
        turn = InsightTurn(
            conversation_id=conversation.id,
            at=update.at,
            text=update.text,
            intent=update.intent,
            confidence=update.confidence,
            margin=update.margin,
            entities=list(update.entities),
            sentiment=update.sentiment,
            sentiment_label=update.sentiment_label,
            language=update.language,
            fallback=update.fallback,
        )
        tables.add_turn(conversation, turn)
        conversation.user_turns += 1
        conversation.fallbacks += int(update.fallback)
        if conversation.channel is None and update.channel:
            conversation.channel = update.channel  # the rollup counts its earlier messages under this channel now
            tables.touched.update(_days(conversation.started_at.date(), update.at.date()))
        if conversation.customer_id is None and update.customer:
            conversation.customer_id = tables.customer(update.customer)
        _note_sentiment(conversation, turn, tables.latest_turn(conversation) is turn)
        return
    if isinstance(update, OtherEvent):
        return
    if isinstance(update, HandedOff):
        if conversation.handed_off_at is None or update.at < conversation.handed_off_at:
            conversation.handed_off_at = update.at
        return
    if isinstance(update, BotMessage) and update.from_agent:
        conversation.agent_messages += 1
        if conversation.first_agent_reply_at is None or update.at < conversation.first_agent_reply_at:
            conversation.first_agent_reply_at = update.at
        return
    if isinstance(update, BotMessage):
        conversation.bot_messages += 1
    answered = tables.latest_turn(conversation)
    if answered is None or answered.at > update.at:
        return
    tables.touched.add(answered.at.date())
    _answer(conversation, answered, update)


def _answer(conversation: InsightConversation, turn: InsightTurn, update: Update) -> None:
    """What the bot did after the customer's latest message."""
    if isinstance(update, ActionRun):
        if turn.action is None:
            turn.action, turn.policy = update.action, update.policy
            if update.fallback and not turn.fallback:
                turn.fallback = True
                conversation.fallbacks += 1
    elif isinstance(update, BotMessage):
        if turn.answered_at is None:
            turn.answered_at = update.at
    elif isinstance(update, SentimentSlot) and turn.answered_at is None:  # slots of the turn, before its answer
        if turn.sentiment_label is None and update.label is not None:
            turn.sentiment_label = update.label
        if turn.sentiment is None and update.score is not None:
            turn.sentiment = update.score
        _note_sentiment(conversation, turn, True)


def ingest(session: Session, events: Sequence[SourcedEvent], *, live: bool = True, dedupe: bool = False) -> BatchResult:
    """Count `events` (in their order) into the tables of `session`'s transaction.

    `live`: a live source, which counts only events from the partition on (and sets it, with its first event).
    `dedupe`: skip events whose key was stored before, and store the keys of the others.
    """
    tables = _Tables(session)
    keys: list[str | None] = [event_key(sender, event) if dedupe else None for sender, event in events]
    seen: set[str] = set()
    if dedupe:
        wanted = sorted({k for k in keys if k is not None})
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            seen.update(session.execute(select(InsightEventSeen.key).where(InsightEventSeen.key.in_(chunk))).scalars())
    since: datetime | None = None
    if live:
        times = [t for t in (event_time(event) for _, event in events) if t is not None]
        since = partition(session) if not times else claim_partition(session, min(times), live=True)
    counted = duplicates = skipped = 0
    now = utcnow()
    # One flush at the end (and one per new conversation, for its id): the lookups in between need none, as every
    # row this batch adds or changes is also in `tables`.
    with session.no_autoflush:
        for (sender, event), key in zip(events, keys):
            if key is not None:
                if key in seen:
                    duplicates += 1
                    continue
                seen.add(key)
                session.add(InsightEventSeen(key=key, seen_at=now))
            update = interpret(event, sender)
            if update is None or (since is not None and update.at < since):
                skipped += 1
                continue
            _apply(tables, update)
            counted += 1
    session.flush()
    mark_stale(session, tables.touched)
    return BatchResult(len(events), counted, duplicates, skipped)


def ingest_batch(
    url: str, events: Sequence[SourcedEvent], *, position: tuple[str, int] | None = None, dedupe: bool = False
) -> BatchResult:
    """One live batch in one transaction: its rows, and the source's `position` (ordered sources) or the events'
    keys (`dedupe`), all stored together or not at all. Raises `DatabaseUnavailable` (nothing stored)."""
    with unit_of_work(url) as session:
        result = ingest(session, events, live=True, dedupe=dedupe)
        if position is not None:
            set_offset(session, *position)
    return result


def read_offset(url: str, source: str) -> int:
    """`offset` in a transaction of its own. Raises `DatabaseUnavailable`."""
    with unit_of_work(url) as session:
        return offset(session, source)


def prune_seen_keys(url: str, older_than: datetime) -> int:
    """`prune_seen` in a transaction of its own. Raises `DatabaseUnavailable`."""
    with unit_of_work(url) as session:
        return prune_seen(session, older_than)
