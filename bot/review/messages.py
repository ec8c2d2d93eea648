"""The inbox's own table of customer messages (`review_messages`), kept in step with the analytics tables.

The inbox deduplicates on the normal form of the *redacted* text ("where is TD104233" and "where is td-220001" are
one message), which SQL cannot compute, and it must page through 100,000 candidates in SQL; so each message is
redacted once, here, with what makes it a candidate copied beside it, and a page reads this one table (joining the
turns and conversations for every page took three to four times as long: bench/README.md).

What is copied never changes once the consumer wrote the turn (its text, moment, intent, confidence, margin), except
whether it was a fallback: Rasa's core fallback marks the turn when the bot acts on it, which may come in the
consumer's next batch. So a row stays unsettled until the turn has its action (or was written during a handoff, when
the bot does not act), and each refresh copies the flags of the unsettled rows again. `handoff`: the message was
written after the bot stepped aside for a person (`insight_conversations.handed_off_at`), so an agent answered it.

`refresh` adds the turns after the highest one indexed (less a margin, `LOOKBACK_IDS`, for turns a concurrent
transaction committed out of id order), settles what it can, and drops the copies of messages whose text was purged
(retention, bot.privacy); an erased customer's turns are deleted, and their copies with them. Every typed message is
indexed, not only today's candidates: the thresholds are applied when the inbox is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from bot.db.dialect import dialect_insert
from bot.db.models import Customer, InsightConversation, InsightTurn, ReviewMessage
from bot.review.config import InboxConfig, review_config
from bot.review.examples import text_key
from bot.review.redact import Redactor, default_redactor

T, C, M = InsightTurn, InsightConversation, ReviewMessage
LOOKBACK_IDS = 10_000
BATCH = 2_000

# A turn written after the bot stepped aside, and a turn whose fallback flag is final.
HANDOFF = and_(C.handed_off_at.is_not(None), T.at >= C.handed_off_at)
SETTLED = or_(T.action.is_not(None), HANDOFF)


@dataclass(frozen=True)
class Refreshed:
    added: int  # messages redacted and stored
    settled: int  # unsettled rows whose flags changed or that are settled now
    forgotten: int  # copies of purged texts dropped


def redacted_row(row: Any, redactor: Redactor, config: InboxConfig) -> dict[str, Any]:
    """The row of one turn (`_TURN`'s columns): its redacted text and key (none for what was not typed: a button's
    payload, whose data is not kept either), and its candidate facts."""
    facts = {
        "turn_id": row.id,
        "at": row.at,
        "intent": row.intent,
        "confidence": row.confidence,
        "margin": row.margin,
        "fallback": bool(row.fallback),
        "handoff": bool(row.handoff),
        "settled": bool(row.settled),
    }
    if row.text.lstrip().startswith(config.skip_prefixes):
        return {**facts, "key": None, "text": "", "placeholders": []}
    redacted = redactor.redact(row.text, names=(row.name,) if row.name else ()).truncated(config.max_text_chars)
    return {
        **facts,
        "key": text_key(redacted.text) if redacted.text else None,
        "text": redacted.text,
        "placeholders": [asdict(p) for p in redacted.placeholders],
    }


_TURN = (
    T.id,
    T.text,
    T.at,
    T.intent,
    T.confidence,
    T.margin,
    T.fallback,
    HANDOFF.label("handoff"),
    SETTLED.label("settled"),
    Customer.name,
)


def _new_turns(session: Session, after: int, batch: int) -> Iterator[list]:
    """The turns after `after` that are not indexed, in id order, a window of `batch` ids at a time: bounding both
    ends keeps each anti-join an index range read (unbounded, the planner scans both tables for every batch), and only
    the missing ids come back to Python (the lookback's 10,000 rows through the ORM cost about 150 ms)."""
    last = session.execute(select(func.max(T.id))).scalar() or 0
    while after < last:
        window = (T.id > after, T.id <= after + batch)
        missing = list(
            session.execute(
                select(T.id)
                .where(*window, T.text.is_not(None), ~exists().where(M.turn_id == T.id, M.turn_id > after))
                .order_by(T.id)
            ).scalars()
        )
        after += batch
        if missing:
            yield session.execute(
                select(*_TURN)
                .join(C, C.id == T.conversation_id)
                .outerjoin(Customer, Customer.id == C.customer_id)
                .where(T.id.in_(missing))
                .order_by(T.id)
            ).all()


def index_messages(
    session: Session, redactor: Redactor | None = None, config: InboxConfig | None = None, *, batch: int = BATCH
) -> int:
    """Redact and store the turns not indexed yet, in the caller's transaction; how many. Safe to run from two
    processes at once: a message the other one stored first is left as it is."""
    redactor = redactor or default_redactor()
    config = config or review_config().inbox
    highest = session.execute(select(func.max(M.turn_id))).scalar() or 0
    added = 0
    for rows in _new_turns(session, max(0, highest - LOOKBACK_IDS), batch):
        values = [redacted_row(row, redactor, config) for row in rows if row.text is not None]
        if values:  # executemany: a multi-row VALUES would spend more time compiling than the database inserting
            session.execute(dialect_insert(session, M).on_conflict_do_nothing(index_elements=["turn_id"]), values)
            added += len(values)
    return added


def settle(session: Session) -> int:
    """Copy the fallback and handoff flags of the unsettled rows again, and settle those the bot has acted on; how
    many changed. (SQLAlchemy 1.4 has no UPDATE ... FROM for SQLite: one read, then one executemany.)"""
    changed = [
        {"tid": row.id, "f": bool(row.fallback), "h": bool(row.handoff), "s": bool(row.settled)}
        for row in session.execute(
            select(
                T.id,
                T.fallback,
                HANDOFF.label("handoff"),
                SETTLED.label("settled"),
                M.fallback.label("was_fallback"),
                M.handoff.label("was_handoff"),
            )
            .join(M, M.turn_id == T.id)
            .join(C, C.id == T.conversation_id)
            .where(M.settled.is_(False))
        ).all()
        if row.settled or bool(row.fallback) != row.was_fallback or bool(row.handoff) != row.was_handoff
    ]
    if changed:
        session.execute(
            update(M.__table__)
            .where(M.__table__.c.turn_id == bindparam("tid"))
            .values(fallback=bindparam("f"), handoff=bindparam("h"), settled=bindparam("s")),
            changed,
        )
    return len(changed)


def forget_purged(session: Session) -> int:
    """Drop the copies of messages whose text was purged (retention keeps the turn, without its words)."""
    purged = select(T.id).where(T.id == M.turn_id, T.text.is_(None))
    return session.execute(delete(M).where(exists(purged)), execution_options={"synchronize_session": False}).rowcount


def refresh(session: Session, redactor: Redactor | None = None, config: InboxConfig | None = None) -> Refreshed:
    """What the inbox needs before it is read: the purged texts gone, the unsettled rows settled, the new turns in."""
    forgotten = forget_purged(session)
    settled = settle(session)
    return Refreshed(index_messages(session, redactor, config), settled, forgotten)
