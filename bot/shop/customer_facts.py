"""What the shop knows of several customers at once, one query each: the demo sign-in page's labels."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import OPEN_ORDER_STATUSES, Customer, CustomerDevice, Order, Product
from bot.shop.customers import CustomerView, customer_view


def first_customers(session: Session, limit: int) -> list[CustomerView]:
    """The first `limit` customers by external id."""
    rows = session.execute(select(Customer).order_by(Customer.external_id).limit(limit)).scalars()
    return [customer_view(c) for c in rows]


def open_orders_of(session: Session, external_ids: Sequence[str]) -> list[tuple[str, str, str, date | None]]:
    """(customer, order number, status, estimated delivery) of their orders still on their way, newest first."""
    if not external_ids:
        return []
    rows = session.execute(
        select(Customer.external_id, Order.order_number, Order.status, Order.estimated_delivery)
        .join(Customer, Customer.id == Order.customer_id)
        .where(Customer.external_id.in_(list(external_ids)), Order.status.in_(OPEN_ORDER_STATUSES))
        .order_by(Order.placed_at.desc())
    ).all()
    return [(customer, number, status, eta) for customer, number, status, eta in rows]


def devices_of(session: Session, external_ids: Sequence[str]) -> list[tuple[str, str]]:
    """(customer, product name) of the devices they own, newest first."""
    if not external_ids:
        return []
    rows = session.execute(
        select(Customer.external_id, Product.name)
        .join(CustomerDevice, CustomerDevice.customer_id == Customer.id)
        .join(Product, Product.id == CustomerDevice.product_id)
        .where(Customer.external_id.in_(list(external_ids)))
        .order_by(CustomerDevice.acquired_at.desc())
    ).all()
    return [(customer, name) for customer, name in rows]
