"""Training data from the shop's database: the catalog as the recommenders see it, and consented behaviour.

Only customers who consented to personalization contribute behaviour (rule: without consent, behaviour is
not used). Orders count as purchases even when no purchase event was logged; returned orders do not.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import (
    BehaviourEvent,
    Customer,
    CustomerSegment,
    Order,
    OrderLine,
    PersonalizationConsent,
    Product,
    ProductCompatibility,
    utcnow,
)
from bot.personalization.training_data import (
    EVENT_WEIGHTS,
    Interactions,
    ItemCatalog,
    TrainingData,
    rating_weight,
    returned_purchases,
)
from bot.shop.catalog import DEVICE_CATEGORIES

_EPOCH = datetime(1970, 1, 1)


def unix_seconds(when: datetime) -> int:
    """Naive-UTC datetimes (the store's convention) as Unix seconds."""
    return int((when - _EPOCH).total_seconds())


def _text(name: str, description: str | None, attributes: dict | None) -> str:
    values = " ".join(str(v) for v in (attributes or {}).values() if isinstance(v, (str, int, float)))
    return f"{name}. {description or ''} {values}".strip()


def load_catalog(session: Session) -> tuple[ItemCatalog, np.ndarray]:
    """The catalog, ordered by product id, and the product ids behind its indices."""
    products = session.execute(
        select(
            Product.id,
            Product.sku,
            Product.name,
            Product.category,
            Product.brand,
            Product.price,
            Product.description,
            Product.attributes,
            Product.family,
            Product.active,
        ).order_by(Product.id)
    ).all()
    family_of = {row.id: row.family for row in products}
    fits: dict[int, set[str]] = defaultdict(set)
    for accessory, device in session.execute(
        select(ProductCompatibility.product_id, ProductCompatibility.compatible_product_id)
    ):
        if family_of.get(device):
            fits[accessory].add(family_of[device])
    catalog = ItemCatalog(
        item_ids=np.array([p.sku for p in products], dtype=object),
        names=np.array([p.name for p in products], dtype=object),
        categories=np.array([p.category for p in products], dtype=object),
        brands=np.array([p.brand for p in products], dtype=object),
        prices=np.array([float(p.price) for p in products], dtype=np.float64),
        text=np.array([_text(p.name, p.description, p.attributes) for p in products], dtype=object),
        family=np.array([p.family for p in products], dtype=object),
        fits=tuple(frozenset(fits.get(p.id, ())) for p in products),
        active=np.array([bool(p.active) for p in products], dtype=bool),
        device_categories=frozenset(DEVICE_CATEGORIES),
    )
    return catalog, np.array([p.id for p in products], dtype=np.int64)


def event_weight(kind: str, value: float | None) -> float:
    """The implicit-feedback strength of one behaviour event (0: no signal)."""
    if kind == "rating":
        return rating_weight(value or 0.0)
    weight = EVENT_WEIGHTS.get(kind, 0.0)
    if kind == "purchase" and value:
        weight *= min(float(value), 3.0)  # quantity, capped: ten cables are not ten times the taste signal
    return weight


def load_training_data(session: Session, *, now: datetime | None = None, history_days: float = 365.0) -> TrainingData:
    """Consented customers' behaviour of the last `history_days`, over the whole catalog (ordered by product id)."""
    now = now or utcnow()
    since = now - timedelta(days=history_days)
    catalog, product_ids = load_catalog(session)
    item_index = {int(pid): i for i, pid in enumerate(product_ids)}

    consented = select(PersonalizationConsent.customer_id).where(PersonalizationConsent.granted.is_(True))
    customers = session.execute(
        select(Customer.id, Customer.external_id).where(Customer.id.in_(consented)).order_by(Customer.id)
    ).all()
    user_index = {cid: u for u, (cid, _) in enumerate(customers)}

    users: list[int] = []
    items: list[int] = []
    kinds: list[str] = []
    weights: list[float] = []
    stamps: list[int] = []

    def add(customer_id: int, product_id: int, kind: str, weight: float, when: datetime) -> None:
        u, i = user_index.get(customer_id), item_index.get(product_id)
        if u is None or i is None or (weight <= 0 and kind != "return"):
            return
        users.append(u)
        items.append(i)
        kinds.append(kind)
        weights.append(weight)
        stamps.append(unix_seconds(when))

    for cid, pid, kind, value, when in session.execute(
        select(
            BehaviourEvent.customer_id,
            BehaviourEvent.product_id,
            BehaviourEvent.kind,
            BehaviourEvent.value,
            BehaviourEvent.occurred_at,
        ).where(
            BehaviourEvent.customer_id.in_(consented),
            BehaviourEvent.product_id.is_not(None),
            BehaviourEvent.occurred_at >= since,
            BehaviourEvent.kind.in_(("view", "mention", "click", "rating", "purchase", "return")),
        )
    ):
        add(cid, pid, kind, event_weight(kind, value), when)
    for cid, pid, quantity, when in session.execute(
        select(Order.customer_id, OrderLine.product_id, OrderLine.quantity, Order.placed_at)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.customer_id.in_(consented),
            Order.placed_at >= since,
            Order.status.not_in(("cancelled", "returned")),
        )
    ):
        add(cid, pid, "purchase", event_weight("purchase", quantity), when)

    u_arr = np.array(users, dtype=np.int32)
    i_arr = np.array(items, dtype=np.int32)
    k_arr = np.array(kinds, dtype=object)
    t_arr = np.array(stamps, dtype=np.int64)
    # A returned item was not wanted: its purchase is no taste signal, and the return itself is none either.
    keep = (k_arr != "return") & ~returned_purchases(u_arr, i_arr, k_arr, t_arr)

    segment_rows = dict(
        session.execute(
            select(CustomerSegment.customer_id, CustomerSegment.cluster_label).where(
                CustomerSegment.customer_id.in_(consented)
            )
        ).all()
    )
    segments = np.array([segment_rows.get(cid) for cid, _ in customers], dtype=object)

    interactions = Interactions(
        user_ids=np.array([ext for _, ext in customers], dtype=object),
        item_ids=catalog.item_ids,
        users=u_arr[keep],
        items=i_arr[keep],
        weights=np.array(weights, dtype=np.float32)[keep],
        timestamps=t_arr[keep],
    )
    data = TrainingData(
        interactions=interactions,
        catalog=catalog,
        segments=segments if any(s is not None for s in segments) else None,
        now=unix_seconds(now),
    )
    return data
