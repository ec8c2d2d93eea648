"""Erasure and retention in the shop's database: delete a customer's rows, anonymise what the shop keeps, record
the erasure; drop what is kept about conversations past their retention.

What goes and what stays, and why, is in docs/privacy.md. The caller commits (one unit of work), so an
erasure is all or nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from bot.db.models import (
    HANDOFF_STATUSES,
    OPEN_HANDOFF_STATUSES,
    BehaviourEvent,
    ChatConversation,
    Customer,
    CustomerDevice,
    CustomerPlan,
    CustomerSegment,
    Feedback,
    Handoff,
    HandoffMessage,
    InsightConversation,
    InsightTurn,
    Journey,
    JourneyCsat,
    JourneyFollowUp,
    JourneyStep,
    MarketingPreference,
    Order,
    PersonalizationConsent,
    PrivacyErasure,
    RecommendationExclusion,
    SurveyAsk,
    utcnow,
)
from bot.insights.rollup import mark_conversations_stale
from bot.privacy import requests as privacy_requests
from bot.privacy.records import insight_conversation_ids

_CHUNK = 500
ANONYMOUS_ORDER_PREFIX = "ANON-"


@dataclass(frozen=True)
class ErasureRecord:
    """An audit row: when and by whom, never whom (`subject_hash` only)."""

    id: int
    requested_by: str
    via: str
    erased_at: datetime
    removed: Mapping[str, int]


def _exec(session: Session, statement: Any) -> Any:
    """A bulk DELETE/UPDATE; the session holds none of these rows, so nothing in it needs synchronising."""
    return session.execute(statement.execution_options(synchronize_session=False))


def _count(result: Any) -> int:
    return int(result.rowcount or 0)


def _chunks(ids: Iterable[str]) -> list[list[str]]:
    ordered = sorted(set(ids))
    return [ordered[i : i + _CHUNK] for i in range(0, len(ordered), _CHUNK)]


def _anonymous_order_number(session: Session) -> str:
    """A fresh order number that says nothing about the order or its customer (`ANON-` + 10 random hex)."""
    while True:
        candidate = f"{ANONYMOUS_ORDER_PREFIX}{secrets.token_hex(5).upper()}"
        if session.execute(select(Order.id).where(Order.order_number == candidate)).first() is None:
            return candidate


def erase_customer_rows(
    session: Session, customer_id: int, conversation_ids: Iterable[str], *, by: str = "erasure"
) -> dict[str, int]:
    """Delete the customer and everything theirs; keep their orders for the accounts, anonymised and linked to
    nobody; keep their handoffs' queue statistics, anonymised; mark their erasure requests done (`by`) and
    unlink them, keeping the reference. Returns the rows affected per table."""
    convs = set(conversation_ids)
    n: dict[str, int] = {}
    n["privacy_requests"] = privacy_requests.unlink_customer(session, customer_id, by=by)
    n["survey_asks"] = _count(_exec(session, delete(SurveyAsk).where(SurveyAsk.customer_id == customer_id)))
    journeys = select(Journey.id).where(Journey.customer_id == customer_id).scalar_subquery()
    n["journey_steps"] = _count(_exec(session, delete(JourneyStep).where(JourneyStep.journey_id.in_(journeys))))
    n["journey_follow_ups"] = _count(
        _exec(session, delete(JourneyFollowUp).where(JourneyFollowUp.journey_id.in_(journeys)))
    )
    n["journey_csat"] = _count(_exec(session, delete(JourneyCsat).where(JourneyCsat.journey_id.in_(journeys))))
    n["journeys"] = _count(_exec(session, delete(Journey).where(Journey.customer_id == customer_id)))

    handoff_filter = [Handoff.customer_id == customer_id] + [Handoff.conversation_id.in_(c) for c in _chunks(convs)]
    handoff_ids = list(session.execute(select(Handoff.id).where(or_(*handoff_filter))).scalars())
    n["handoff_messages"] = _count(
        _exec(session, delete(HandoffMessage).where(HandoffMessage.handoff_id.in_(handoff_ids)))
    )
    now = utcnow()
    for handoff_id in handoff_ids:  # a handoff's wait and handling times stay for the queue's statistics
        _exec(
            session,
            update(Handoff)
            .where(Handoff.id == handoff_id)
            .values(
                customer_id=None,
                journey_id=None,
                summary=None,
                conversation_id=f"erased-{secrets.token_hex(8)}",
                updated_at=now,
            ),
        )
        _exec(
            session,
            update(Handoff)
            .where(Handoff.id == handoff_id, Handoff.status.in_(OPEN_HANDOFF_STATUSES))
            .values(status="cancelled", closed_at=now),
        )
    n["handoffs"] = len(handoff_ids)

    insights = insight_conversation_ids(session, customer_id, convs)  # their words and moods, as analytics counted
    for start in range(0, len(insights), _CHUNK):
        chunk = insights[start : start + _CHUNK]
        mark_conversations_stale(session, chunk)  # the daily rollup counted them: those days are counted again
        n["insight_turns"] = n.get("insight_turns", 0) + _count(
            _exec(session, delete(InsightTurn).where(InsightTurn.conversation_id.in_(chunk)))
        )
        n["insight_conversations"] = n.get("insight_conversations", 0) + _count(
            _exec(session, delete(InsightConversation).where(InsightConversation.id.in_(chunk)))
        )

    feedback_filter = [Feedback.customer_id == customer_id] + [Feedback.conversation_id.in_(c) for c in _chunks(convs)]
    n["feedback"] = _count(_exec(session, delete(Feedback).where(or_(*feedback_filter))))
    conv_filter = [ChatConversation.customer_id == customer_id] + [
        ChatConversation.conversation_id.in_(c) for c in _chunks(convs)
    ]
    n["chat_conversations"] = _count(_exec(session, delete(ChatConversation).where(or_(*conv_filter))))
    for model in (
        BehaviourEvent,
        RecommendationExclusion,
        CustomerSegment,
        PersonalizationConsent,
        MarketingPreference,
        CustomerDevice,
        CustomerPlan,
    ):
        n[model.__tablename__] = _count(_exec(session, delete(model).where(model.customer_id == customer_id)))

    orders = list(session.execute(select(Order.id).where(Order.customer_id == customer_id)).scalars())
    for order_id in orders:
        _exec(
            session,
            update(Order)
            .where(Order.id == order_id)
            .values(
                customer_id=None,
                order_number=_anonymous_order_number(session),
                shipping_address="",
                tracking_number=None,
            ),
        )
    n["orders_anonymised"] = len(orders)
    n["customers"] = _count(_exec(session, delete(Customer).where(Customer.id == customer_id)))
    return {table: count for table, count in n.items() if count}


def record_erasure(
    session: Session, subject_hash: str, *, requested_by: str, via: str, removed: Mapping[str, int]
) -> int:
    """The audit row of one erasure; its id."""
    entry = PrivacyErasure(
        subject_hash=subject_hash,
        requested_by=requested_by[:100],
        via=via[:16],
        erased_at=utcnow(),
        removed=dict(removed),
    )
    session.add(entry)
    session.flush()
    return int(entry.id)


def erasures_of(session: Session, subject_hash: str) -> list[ErasureRecord]:
    """The audit rows for one (hashed) customer, oldest first."""
    rows = session.execute(
        select(PrivacyErasure).where(PrivacyErasure.subject_hash == subject_hash).order_by(PrivacyErasure.id)
    ).scalars()
    return [ErasureRecord(r.id, r.requested_by, r.via, r.erased_at, dict(r.removed or {})) for r in rows]


# --- retention ---------------------------------------------------------------------------------------------------


def idle_bound_conversations(session: Session, before: datetime) -> list[str]:
    """Conversations whose owner was last seen before `before` (some may have no tracker events left)."""
    return list(
        session.execute(
            select(ChatConversation.conversation_id).where(ChatConversation.last_seen_at < before)
        ).scalars()
    )


def purge_conversation_rows(session: Session, conversation_ids: Iterable[str]) -> dict[str, int]:
    """Forget expired conversations: who owned them, and what was said in their closed handoffs (open ones are
    still being worked on) and to the bot (the analytics' copy of each message). Handoff rows and the analytics'
    counts stay for the statistics."""
    n = {"chat_conversations": 0, "handoff_messages": 0}
    closed = [s for s in HANDOFF_STATUSES if s not in OPEN_HANDOFF_STATUSES]
    for chunk in _chunks(conversation_ids):
        n["chat_conversations"] += _count(
            _exec(session, delete(ChatConversation).where(ChatConversation.conversation_id.in_(chunk)))
        )
        handoffs = select(Handoff.id).where(Handoff.conversation_id.in_(chunk), Handoff.status.in_(closed))
        n["handoff_messages"] += _count(
            _exec(session, delete(HandoffMessage).where(HandoffMessage.handoff_id.in_(handoffs.scalar_subquery())))
        )
        _exec(
            session,
            update(Handoff).where(Handoff.conversation_id.in_(chunk), Handoff.status.in_(closed)).values(summary=None),
        )
        insights = select(InsightConversation.id).where(InsightConversation.sender_id.in_(chunk))
        _exec(
            session,
            update(InsightTurn).where(InsightTurn.conversation_id.in_(insights.scalar_subquery())).values(text=None),
        )
        _exec(
            session,
            update(InsightConversation).where(InsightConversation.sender_id.in_(chunk)).values(customer_id=None),
        )
    return n
