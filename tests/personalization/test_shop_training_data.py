"""What the recommenders learn from: consented behaviour only, and nothing the customer sent back."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from sqlalchemy import select

from bot.db.models import Customer, Order, OrderLine, Product
from bot.db.session import session_scope
from bot.personalization import store
from bot.personalization.shop_training_data import load_training_data


def _learned(data, external_id: str) -> dict[str, float]:
    inter = data.interactions
    rows = np.flatnonzero(inter.user_ids == external_id)
    if not len(rows):
        return {}
    mask = inter.users == rows[0]
    out: dict[str, float] = {}
    for item, weight in zip(inter.items[mask], inter.weights[mask]):
        out[inter.item_ids[item]] = out.get(inter.item_ids[item], 0.0) + float(weight)
    return out


def test_only_consenting_customers_teach_the_recommenders(fresh_shop_db, shop) -> None:
    with session_scope(fresh_shop_db) as session:
        (yes, yes_ext), (no, no_ext), (_, silent_ext) = session.execute(
            select(Customer.id, Customer.external_id).order_by(Customer.id).limit(3)
        ).all()
        store.set_consent(session, yes, True)
        store.set_consent(session, no, False)
    with session_scope(fresh_shop_db) as session:
        users = set(load_training_data(session, now=shop.now).interactions.user_ids)
    assert yes_ext in users and no_ext not in users and silent_ext not in users


def test_a_returned_purchase_and_a_returned_order_teach_nothing(fresh_shop_db, shop) -> None:
    now = shop.now
    with session_scope(fresh_shop_db) as session:
        order = session.execute(select(Order).where(Order.status == "returned").limit(1)).scalars().first()
        customer = session.get(Customer, order.customer_id)
        store.set_consent(session, customer.id, True)
        owned = set(
            session.execute(select(OrderLine.product_id).join(Order).where(Order.customer_id == customer.id)).scalars()
        )
        sent_back, kept = session.execute(
            select(Product.id, Product.sku).where(Product.id.not_in(owned)).order_by(Product.id).limit(2)
        ).all()
        store.record_events(
            session,
            [
                {
                    "customer_id": customer.id,
                    "product_id": sent_back.id,
                    "kind": "purchase",
                    "value": 1,
                    "occurred_at": now - timedelta(days=9),
                },
                {
                    "customer_id": customer.id,
                    "product_id": sent_back.id,
                    "kind": "return",
                    "value": 1,
                    "occurred_at": now - timedelta(days=5),
                },
                {
                    "customer_id": customer.id,
                    "product_id": kept.id,
                    "kind": "purchase",
                    "value": 1,
                    "occurred_at": now - timedelta(days=3),
                },
            ],
        )
        returned_skus = {line.product.sku for line in order.lines}
        other_skus = set(
            session.execute(
                select(Product.sku)
                .join(OrderLine)
                .join(Order)
                .where(Order.customer_id == customer.id, Order.status.not_in(("returned", "cancelled")))
            ).scalars()
        )
        external_id = customer.external_id
    with session_scope(fresh_shop_db) as session:
        learned = _learned(load_training_data(session, now=now, history_days=10_000), external_id)
    assert learned[kept.sku] == 5.0
    assert sent_back.sku not in learned
    assert not (returned_skus - other_skus) & set(learned)
