"""Everything the shop's database holds about one customer, read as plain JSON-ready values (the export).

Rows are written out column by column from the table definitions, so a column added later appears in the
export without a change here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.db.models import (
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
    OrderLine,
    PersonalizationConsent,
    PrivacyRequest,
    Product,
    RecommendationExclusion,
    SurveyAsk,
)


@dataclass(frozen=True)
class CustomerRecords:
    """One customer's rows by section (`sections`), and the conversations that are theirs."""

    customer_id: int
    external_id: str
    sections: Mapping[str, Any]
    conversation_ids: tuple[str, ...]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def row(obj: Any) -> dict[str, Any]:
    """Every column of an ORM row, as JSON-ready values."""
    return {c.key: _plain(getattr(obj, c.key)) for c in obj.__table__.columns}


def _rows(objs: Iterable[Any]) -> list[dict[str, Any]]:
    return [row(o) for o in objs]


def find_customer(session: Session, external_id: str) -> Customer | None:
    return session.execute(select(Customer).where(Customer.external_id == external_id)).scalar_one_or_none()


def conversation_ids_of(session: Session, customer_id: int) -> set[str]:
    """Conversations that are the customer's: bound to them, or recorded on their journeys, handoffs, feedback and
    surveys; never one bound to someone else."""
    steps = select(JourneyStep.conversation_id).join(Journey, Journey.id == JourneyStep.journey_id)
    queries = [
        select(ChatConversation.conversation_id).where(ChatConversation.customer_id == customer_id),
        select(Journey.last_conversation_id).where(Journey.customer_id == customer_id),
        steps.where(Journey.customer_id == customer_id),
        select(Handoff.conversation_id).where(Handoff.customer_id == customer_id),
        select(Feedback.conversation_id).where(Feedback.customer_id == customer_id),
        select(SurveyAsk.conversation_id).where(SurveyAsk.customer_id == customer_id),
        select(InsightConversation.sender_id).where(InsightConversation.customer_id == customer_id),
    ]
    ids = {cid for q in queries for cid in session.execute(q).scalars() if cid}
    others = session.execute(
        select(ChatConversation.conversation_id).where(
            ChatConversation.conversation_id.in_(ids),
            ChatConversation.customer_id.is_not(None),
            ChatConversation.customer_id != customer_id,
        )
    ).scalars()
    return ids - set(others)


def _with_product(obj: Any, product: Product) -> dict[str, Any]:
    return {**row(obj), "sku": product.sku, "product_name": product.name}


def _orders(session: Session, customer_id: int) -> list[dict[str, Any]]:
    orders = session.execute(select(Order).where(Order.customer_id == customer_id).order_by(Order.placed_at)).scalars()
    out = []
    for order in orders:
        lines = session.execute(
            select(OrderLine, Product)
            .join(Product, Product.id == OrderLine.product_id)
            .where(OrderLine.order_id == order.id)
            .order_by(OrderLine.id)
        ).all()
        out.append({**row(order), "lines": [_with_product(line, product) for line, product in lines]})
    return out


def _owned(session: Session, model: Any, customer_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(model, Product).join(Product, Product.id == model.product_id).where(model.customer_id == customer_id)
    ).all()
    return [_with_product(obj, product) for obj, product in sorted(rows, key=lambda r: r[0].id)]


def _journeys(session: Session, customer_id: int) -> list[dict[str, Any]]:
    out = []
    for journey in session.execute(
        select(Journey).where(Journey.customer_id == customer_id).order_by(Journey.id)
    ).scalars():
        steps = session.execute(
            select(JourneyStep).where(JourneyStep.journey_id == journey.id).order_by(JourneyStep.seq)
        ).scalars()
        follow_ups = session.execute(
            select(JourneyFollowUp).where(JourneyFollowUp.journey_id == journey.id).order_by(JourneyFollowUp.id)
        ).scalars()
        csat = session.get(JourneyCsat, journey.id)
        out.append(
            {
                **row(journey),
                "steps": _rows(steps),
                "follow_ups": _rows(follow_ups),
                "csat": row(csat) if csat is not None else None,
            }
        )
    return out


def _handoffs(session: Session, customer_id: int, conversation_ids: set[str]) -> list[dict[str, Any]]:
    handoffs = session.execute(
        select(Handoff)
        .where(or_(Handoff.customer_id == customer_id, Handoff.conversation_id.in_(conversation_ids)))
        .order_by(Handoff.id)
    ).scalars()
    out = []
    for handoff in handoffs:
        messages = session.execute(
            select(HandoffMessage).where(HandoffMessage.handoff_id == handoff.id).order_by(HandoffMessage.id)
        ).scalars()
        out.append({**row(handoff), "messages": _rows(messages)})
    return out


def insight_conversation_ids(session: Session, customer_id: int, conversation_ids: Iterable[str]) -> list[int]:
    """The analytics' conversations that are the customer's: attributed to them, or of their conversations."""
    ids = sorted(set(conversation_ids))
    found = set(
        session.execute(select(InsightConversation.id).where(InsightConversation.customer_id == customer_id)).scalars()
    )
    for start in range(0, len(ids), 500):
        found.update(
            session.execute(
                select(InsightConversation.id).where(InsightConversation.sender_id.in_(ids[start : start + 500]))
            ).scalars()
        )
    return sorted(found)


def _insights(session: Session, customer_id: int, conversation_ids: set[str]) -> list[dict[str, Any]]:
    """What the analytics counted of the customer's conversations, each with its messages (bot/insights)."""
    out = []
    for conversation_id in insight_conversation_ids(session, customer_id, conversation_ids):
        conversation = session.get(InsightConversation, conversation_id)
        turns = session.execute(
            select(InsightTurn).where(InsightTurn.conversation_id == conversation_id).order_by(InsightTurn.at)
        ).scalars()
        out.append({**row(conversation), "turns": _rows(turns)})
    return out


def _by_customer(session: Session, model: Any, customer_id: int, *where: Any) -> list[dict[str, Any]]:
    order = model.id if hasattr(model, "id") else model.customer_id
    return _rows(
        session.execute(select(model).where(model.customer_id == customer_id, *where).order_by(order)).scalars()
    )


def _one(session: Session, model: Any, customer_id: int) -> dict[str, Any] | None:
    obj = session.get(model, customer_id)
    return row(obj) if obj is not None else None


def customer_records(session: Session, external_id: str) -> CustomerRecords | None:
    """Everything about the customer in the shop's database; None when there is no such customer."""
    customer = find_customer(session, external_id)
    if customer is None:
        return None
    cid = customer.id
    conversation_ids = conversation_ids_of(session, cid)
    bound = {
        c.conversation_id: row(c)
        for c in session.execute(select(ChatConversation).where(ChatConversation.conversation_id.in_(conversation_ids)))
        .scalars()
        .all()
    }
    sections: dict[str, Any] = {
        "profile": row(customer),
        "orders": _orders(session, cid),
        "devices": _owned(session, CustomerDevice, cid),
        "plans": _owned(session, CustomerPlan, cid),
        "conversations": [bound.get(c, {"conversation_id": c}) for c in sorted(conversation_ids)],
        "journeys": _journeys(session, cid),
        "handoffs": _handoffs(session, cid, conversation_ids),
        "insights": _insights(session, cid, conversation_ids),
        "behaviour_events": _by_customer(session, BehaviourEvent, cid, BehaviourEvent.kind != "impression"),
        "recommendation_impressions": _by_customer(session, BehaviourEvent, cid, BehaviourEvent.kind == "impression"),
        "recommendation_exclusions": _by_customer(session, RecommendationExclusion, cid),
        "feedback": _rows(
            session.execute(
                select(Feedback)
                .where(or_(Feedback.customer_id == cid, Feedback.conversation_id.in_(conversation_ids)))
                .order_by(Feedback.id)
            ).scalars()
        ),
        "surveys": _by_customer(session, SurveyAsk, cid),
        "segment": _one(session, CustomerSegment, cid),
        "personalization_consent": _one(session, PersonalizationConsent, cid),
        "marketing_preference": _one(session, MarketingPreference, cid),
        "privacy_requests": _by_customer(session, PrivacyRequest, cid),
    }
    return CustomerRecords(cid, customer.external_id, MappingProxyType(sections), tuple(sorted(conversation_ids)))
