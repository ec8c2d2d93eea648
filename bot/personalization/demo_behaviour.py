"""Behaviour for the demo shop: consent answers and the browsing that led to each order.

The seeded shop (bot/shop/seed/) has orders, devices and plans but nobody ever browsed; a recommender
needs that signal. Deterministic per seed, so demos and tests see the same customers consent and browse.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from bot.db.models import (
    BehaviourEvent,
    Customer,
    Order,
    OrderLine,
    PersonalizationConsent,
    Product,
)

CONSENT_SHARE = 0.85  # share of demo customers who said yes to personalization
_CHUNK = 2_000


@dataclass(frozen=True)
class DemoBehaviourSummary:
    consents: int
    granted: int
    views: int

    def __str__(self) -> str:
        return f"{self.consents} consent answers ({self.granted} yes), {self.views} product views"


def has_behaviour(session: Session) -> bool:
    return session.execute(select(func.count()).select_from(PersonalizationConsent)).scalar_one() > 0


def seed_demo_behaviour(
    session: Session, *, seed: int = 7, consent_share: float = CONSENT_SHARE
) -> DemoBehaviourSummary:
    """Consent rows for every customer, and 1-4 product views (same category, some the product bought)
    in the days before each order line."""
    rng = random.Random(seed)
    customers = session.execute(select(Customer.id, Customer.created_at).order_by(Customer.id)).all()
    consents = [
        {"customer_id": cid, "granted": rng.random() < consent_share, "updated_at": created, "source": "demo"}
        for cid, created in customers
    ]
    for chunk in range(0, len(consents), _CHUNK):
        session.execute(insert(PersonalizationConsent), consents[chunk : chunk + _CHUNK])

    by_category: dict[str, list[int]] = defaultdict(list)
    category_of: dict[int, str] = {}
    for pid, category in session.execute(
        select(Product.id, Product.category).where(Product.active.is_(True)).order_by(Product.id)
    ):
        by_category[category].append(pid)
        category_of[pid] = category

    views: list[dict] = []
    lines = session.execute(
        select(Order.customer_id, OrderLine.product_id, Order.placed_at)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.customer_id.is_not(None))  # orders of erased customers belong to nobody
        .order_by(OrderLine.id)
    ).all()
    for customer_id, product_id, placed_at in lines:
        category = category_of.get(product_id)
        siblings = by_category.get(category, []) if category else []
        for k in range(rng.randint(1, 4)):
            viewed = product_id if k == 0 or not siblings else rng.choice(siblings)
            views.append(
                {
                    "customer_id": customer_id,
                    "product_id": viewed,
                    "category": category_of.get(viewed),
                    "kind": "view",
                    "occurred_at": placed_at - timedelta(hours=rng.uniform(0.5, 24 * 7)),
                    "channel": "web",
                    "source": "demo",
                }
            )
    for chunk in range(0, len(views), _CHUNK):
        session.execute(insert(BehaviourEvent), views[chunk : chunk + _CHUNK])
    return DemoBehaviourSummary(len(consents), sum(c["granted"] for c in consents), len(views))
