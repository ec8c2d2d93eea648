"""The behaviour store: what customers did and were shown, their consent, and what they turned down.

Every read here is one indexed query per request (the engine's latency budget is a few milliseconds on
PostgreSQL); every write happens in the caller's session, so it commits before the bot answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from bot.db.models import (
    BehaviourEvent,
    CustomerDevice,
    CustomerSegment,
    MarketingPreference,
    Order,
    OrderLine,
    PersonalizationConsent,
    Product,
    RecommendationExclusion,
    utcnow,
)
from bot.shop.customers import customer_pk

# Behaviour that says "I like this" (training signal and a request's history).
POSITIVE_KINDS = ("view", "mention", "click", "rating", "purchase")


@dataclass(frozen=True)
class HistoryEvent:
    product_id: int
    kind: str  # one of POSITIVE_KINDS, or "return"
    value: float | None
    occurred_at: datetime


@dataclass(frozen=True)
class OwnedDevice:
    product_id: int
    family: str | None
    category: str
    acquired_at: datetime


@dataclass(frozen=True)
class Exclusions:
    """What the customer said "not interested" to, still in force."""

    product_ids: frozenset[int] = frozenset()
    categories: frozenset[str] = frozenset()


# --- consent ---------------------------------------------------------------------------------------------------


def has_consent(session: Session, customer_id: int) -> bool:
    """No row means no consent: personalization is opt-in."""
    granted = session.execute(
        select(PersonalizationConsent.granted).where(PersonalizationConsent.customer_id == customer_id)
    ).scalar_one_or_none()
    return bool(granted)


def set_consent(
    session: Session, customer_id: int, granted: bool, *, source: str = "chat", now: datetime | None = None
) -> None:
    """Record the customer's latest answer (one row per customer; the newest answer wins)."""
    row = session.get(PersonalizationConsent, customer_id)
    when = now or utcnow()
    if row is None:
        session.add(PersonalizationConsent(customer_id=customer_id, granted=granted, updated_at=when, source=source))
    else:
        row.granted, row.updated_at, row.source = granted, when, source
    session.flush()


def is_unsubscribed(session: Session, customer_id: int) -> bool:
    """No row means subscribed: marketing stops only when the customer says so."""
    subscribed = session.execute(
        select(MarketingPreference.subscribed).where(MarketingPreference.customer_id == customer_id)
    ).scalar_one_or_none()
    return subscribed is False


def set_marketing(
    session: Session, customer_id: int, subscribed: bool, *, source: str = "chat", now: datetime | None = None
) -> None:
    """Record the customer's latest choice about marketing (one row per customer; the newest wins)."""
    row = session.get(MarketingPreference, customer_id)
    when = now or utcnow()
    if row is None:
        session.add(MarketingPreference(customer_id=customer_id, subscribed=subscribed, updated_at=when, source=source))
    else:
        row.subscribed, row.updated_at, row.source = subscribed, when, source
    session.flush()


def consented_customer_ids(session: Session) -> set[int]:
    return set(
        session.execute(
            select(PersonalizationConsent.customer_id).where(PersonalizationConsent.granted.is_(True))
        ).scalars()
    )


# --- events ----------------------------------------------------------------------------------------------------


def record_events(session: Session, rows: Sequence[dict]) -> None:
    """Insert behaviour events (dicts of `BehaviourEvent` columns) in one statement."""
    if rows:
        session.execute(insert(BehaviourEvent), [{"source": "chat", **row} for row in rows])


def recent_history(session: Session, customer_id: int, *, since: datetime, limit: int = 200) -> list[HistoryEvent]:
    """The customer's positive behaviour and returns since `since`, newest first: behaviour events plus
    the products of their orders (an order is a purchase even when no purchase event was logged)."""
    events = session.execute(
        select(BehaviourEvent.product_id, BehaviourEvent.kind, BehaviourEvent.value, BehaviourEvent.occurred_at)
        .where(
            BehaviourEvent.customer_id == customer_id,
            BehaviourEvent.occurred_at >= since,
            BehaviourEvent.kind.in_((*POSITIVE_KINDS, "return")),
            BehaviourEvent.product_id.is_not(None),
        )
        .order_by(BehaviourEvent.occurred_at.desc())
        .limit(limit)
    ).all()
    orders = session.execute(
        select(OrderLine.product_id, Order.status, OrderLine.quantity, Order.placed_at)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.customer_id == customer_id, Order.placed_at >= since, Order.status != "cancelled")
        .order_by(Order.placed_at.desc())
        .limit(limit)
    ).all()
    history = [HistoryEvent(p, k, v, t) for p, k, v, t in events]
    history += [
        HistoryEvent(p, "return" if status == "returned" else "purchase", float(q), t) for p, status, q, t in orders
    ]
    history.sort(key=lambda e: e.occurred_at, reverse=True)
    return history[:limit]


def owned_devices(session: Session, customer_id: int) -> list[OwnedDevice]:
    rows = session.execute(
        select(CustomerDevice.product_id, Product.family, Product.category, CustomerDevice.acquired_at)
        .join(Product, Product.id == CustomerDevice.product_id)
        .where(CustomerDevice.customer_id == customer_id)
    ).all()
    return [OwnedDevice(*row) for row in rows]


def unsolicited_shown_since(session: Session, customer_id: int, since: datetime) -> int:
    """How many unsolicited suggestions (one per request, however many items) the customer got since `since`."""
    return session.execute(
        select(func.count(func.distinct(BehaviourEvent.request_id))).where(
            BehaviourEvent.customer_id == customer_id,
            BehaviourEvent.kind == "impression",
            BehaviourEvent.solicited.is_(False),
            BehaviourEvent.occurred_at >= since,
        )
    ).scalar_one()


# --- "not interested" ------------------------------------------------------------------------------------------


def active_exclusions(session: Session, customer_id: int, now: datetime) -> Exclusions:
    rows = session.execute(
        select(RecommendationExclusion.product_id, RecommendationExclusion.category).where(
            RecommendationExclusion.customer_id == customer_id, RecommendationExclusion.expires_at > now
        )
    ).all()
    return Exclusions(
        product_ids=frozenset(p for p, _ in rows if p is not None),
        categories=frozenset(c for _, c in rows if c is not None),
    )


def add_exclusions(
    session: Session,
    customer_id: int,
    *,
    product_ids: Iterable[int] = (),
    category: str | None = None,
    until: datetime,
    now: datetime | None = None,
) -> None:
    """Exclude products (and/or a whole category) until `until`; an existing exclusion is extended, not doubled."""
    when = now or utcnow()
    targets: list[tuple[int | None, str | None]] = [(pid, None) for pid in dict.fromkeys(product_ids)]
    if category:
        targets.append((None, category))
    if not targets:
        return
    session.execute(
        delete(RecommendationExclusion).where(
            RecommendationExclusion.customer_id == customer_id,
            or_(
                *(
                    and_(RecommendationExclusion.product_id == pid, RecommendationExclusion.category.is_(None))
                    if pid is not None
                    else and_(RecommendationExclusion.category == cat, RecommendationExclusion.product_id.is_(None))
                    for pid, cat in targets
                )
            ),
        )
    )
    session.execute(
        insert(RecommendationExclusion),
        [
            {"customer_id": customer_id, "product_id": pid, "category": cat, "created_at": when, "expires_at": until}
            for pid, cat in targets
        ],
    )


def product_ids_for(session: Session, skus: Iterable[str]) -> list[int]:
    """Database ids of these SKUs (unknown SKUs are skipped), in the given order."""
    wanted = [s.strip().upper() for s in skus if s and s.strip()]
    if not wanted:
        return []
    found = dict(session.execute(select(Product.sku, Product.id).where(Product.sku.in_(wanted))).all())
    return [found[s] for s in dict.fromkeys(wanted) if s in found]


def skus_for(session: Session, product_ids: Iterable[int]) -> list[str]:
    ids = list(product_ids)
    if not ids:
        return []
    return list(session.execute(select(Product.sku).where(Product.id.in_(ids))).scalars())


@dataclass(frozen=True)
class Impression:
    request_id: str | None
    strategy: str | None


def impression_of(session: Session, customer_id: int, product_id: int, request_id: str | None) -> Impression | None:
    """The impression a click answers: the given request's, else the newest showing of that product."""
    stmt = select(BehaviourEvent.request_id, BehaviourEvent.strategy).where(
        BehaviourEvent.customer_id == customer_id,
        BehaviourEvent.product_id == product_id,
        BehaviourEvent.kind == "impression",
    )
    if request_id:
        stmt = stmt.where(BehaviourEvent.request_id == request_id)
    row = session.execute(stmt.order_by(BehaviourEvent.occurred_at.desc()).limit(1)).first()
    return Impression(*row) if row else None


def recent_impressions(session: Session, customer_id: int, *, limit: int) -> list[tuple[str, str | None, datetime]]:
    """(product name, strategy, when) of what the customer was last shown, newest first (the agent's context)."""
    rows = session.execute(
        select(Product.name, BehaviourEvent.strategy, BehaviourEvent.occurred_at)
        .join(Product, Product.id == BehaviourEvent.product_id)
        .where(BehaviourEvent.customer_id == customer_id, BehaviourEvent.kind == "impression")
        .order_by(BehaviourEvent.occurred_at.desc(), BehaviourEvent.id.desc())
        .limit(limit)
    ).all()
    return [(name, strategy, at) for name, strategy, at in rows]


@dataclass(frozen=True)
class CustomerSegmentView:
    """One customer's stored segmentation, as the engine and the agent console read it."""

    customer_external_id: str
    recency_score: int
    frequency_score: int
    monetary_score: int
    rfm_segment: str
    cluster: int
    cluster_label: str
    churn_risk: float
    next_best_action: str
    next_best_action_reason: str
    refreshed_at: datetime
    model_version: str


def segment_label(session: Session, customer_id: int) -> str | None:
    """The customer's behaviour cluster (a ranking feature); None until the segment refresh has run."""
    return session.execute(
        select(CustomerSegment.cluster_label).where(CustomerSegment.customer_id == customer_id)
    ).scalar_one_or_none()


def segment_of(session: Session, customer_external_id: str | None) -> CustomerSegmentView | None:
    """The stored segmentation of one customer, or None when unknown or not refreshed yet."""
    customer_id = customer_pk(session, customer_external_id)
    row = session.get(CustomerSegment, customer_id) if customer_id is not None else None
    if row is None:
        return None
    return CustomerSegmentView(
        customer_external_id=str(customer_external_id),
        recency_score=row.recency_score,
        frequency_score=row.frequency_score,
        monetary_score=row.monetary_score,
        rfm_segment=row.rfm_segment,
        cluster=row.cluster,
        cluster_label=row.cluster_label,
        churn_risk=row.churn_risk,
        next_best_action=row.next_best_action,
        next_best_action_reason=row.next_best_action_reason,
        refreshed_at=row.refreshed_at,
        model_version=row.model_version,
    )
