"""The shop's remedies for a customer's problem: a free replacement order and a full refund.

Resolution workflows ask for them (bot.journeys.workflows.shop_operations); with the customer's own changes
(bot.shop.orders, bot.shop.order_edits) they are the only writes to `orders`. The caller commits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.db.models import CustomerDevice, Order, OrderLine, Product
from bot.shop.customers import customer_pk
from bot.shop.orders import (
    OrderView,
    add_working_days,
    get_customer_order,
    locked_customer_order,
    normalize_order_number,
)

REPLACEMENT_DELIVERY_WORKING_DAYS = 2
_REPLACEMENT_NUMBERS = 100_000  # replacements are numbered TD9xxxxx ...
_REPLACEMENT_BASE = 900_000
_PROBES = 50


class RemedyRefused(Exception):
    """The shop cannot do it (unknown customer or order, a discontinued product, ...); the message says why."""


@dataclass(frozen=True)
class Replacement:
    order_number: str
    eta: date
    replaces: str  # the order number or the device's serial number


@dataclass(frozen=True)
class Refund:
    order_number: str
    status: str  # returned (it was delivered) or cancelled (lost on its way)
    amount: Decimal
    issued_on: date


def _number(number: Any) -> str:
    normalized = normalize_order_number(str(number or ""))
    if normalized is None:
        raise RemedyRefused(f"not an order number: {number!r}")
    return normalized


def customer_order(session: Session, customer_external_id: str, number: Any, today: date) -> OrderView:
    """The customer's order with this number; refused when it is not one of theirs."""
    normalized = _number(number)
    order = get_customer_order(session, customer_external_id, normalized, today=today)
    if order is None:
        raise RemedyRefused(f"no order {normalized} for this customer")
    return order


def _order(session: Session, customer_external_id: str, number: Any, *, lock: bool = False) -> Order:
    """The customer's order row (locked against a concurrent change when `lock`); refused when not theirs."""
    normalized = _number(number)
    if lock:
        order = locked_customer_order(session, customer_external_id, normalized)
    else:
        order = session.execute(
            select(Order)
            .where(Order.customer_id == customer_pk(session, customer_external_id), Order.order_number == normalized)
            .options(selectinload(Order.lines))
        ).scalar_one_or_none()
    if order is None:
        raise RemedyRefused(f"no order {normalized} for this customer")
    return order


def _replacement_number(key: str, probe: int) -> str:
    digest = int(hashlib.sha256(key.encode()).hexdigest(), 16)
    return f"TD{_REPLACEMENT_BASE + (digest + probe) % _REPLACEMENT_NUMBERS:06d}"


def _latest_address(session: Session, customer_id: int) -> str:
    address = session.execute(
        select(Order.shipping_address)
        .where(Order.customer_id == customer_id)
        .order_by(Order.placed_at.desc(), Order.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if address is None:
        raise RemedyRefused("no delivery address on file")
    return address


def _what_to_replace(
    session: Session, customer_external_id: str, customer_id: int, order_number: Any, device_serial: Any
) -> tuple[list[tuple[int, int]], str, str]:
    """(product id, quantity) lines, the delivery address and what they replace."""
    if order_number:
        source = _order(session, customer_external_id, order_number)
        return [(line.product_id, line.quantity) for line in source.lines], source.shipping_address, source.order_number
    device = session.execute(
        select(CustomerDevice).where(
            CustomerDevice.customer_id == customer_id, CustomerDevice.serial_number == str(device_serial)
        )
    ).scalar_one_or_none()
    if device is None:
        raise RemedyRefused("no such device on the customer's account")
    return [(device.product_id, 1)], _latest_address(session, customer_id), device.serial_number


def place_replacement(
    session: Session,
    customer_external_id: str,
    key: str,
    now: datetime,
    *,
    order_number: Any = None,
    device_serial: Any = None,
) -> Replacement:
    """A new order copying an order's lines (or one faulty device) at price 0.

    Idempotent on `key` (a journey's): the order number is derived from it (TD9xxxxx, probing past numbers taken
    by others), so a second call finds the order the first one placed instead of placing another."""
    customer_id = customer_pk(session, customer_external_id)
    if customer_id is None:
        raise RemedyRefused("unknown customer")
    lines, address, replaces = _what_to_replace(session, customer_external_id, customer_id, order_number, device_serial)
    number = None
    for probe in range(_PROBES):  # the first free number from the key's, unless this key already has one
        candidate = _replacement_number(key, probe)
        existing = session.execute(select(Order).where(Order.order_number == candidate)).scalar_one_or_none()
        if existing is None:
            number = candidate
            break
        if existing.customer_id == customer_id and Decimal(existing.total) == 0:
            return Replacement(candidate, existing.estimated_delivery, replaces)
    if number is None:  # pragma: no cover - 50 taken numbers in a row
        raise RemedyRefused("no free replacement order number")
    products = session.execute(select(Product).where(Product.id.in_([p for p, _ in lines]))).scalars().all()
    discontinued = [p.name for p in products if not p.active]
    if discontinued:  # a person offers an equivalent instead
        raise RemedyRefused(f"no longer sold: {', '.join(discontinued)}")
    placed = now.replace(microsecond=0)
    eta = add_working_days(placed.date(), REPLACEMENT_DELIVERY_WORKING_DAYS)
    session.add(
        Order(
            order_number=number,
            customer_id=customer_id,
            status="placed",
            placed_at=placed,
            estimated_delivery=eta,
            total=Decimal("0.00"),
            shipping_address=address,
            lines=[OrderLine(product_id=p, quantity=q, unit_price=Decimal("0.00")) for p, q in lines],
        )
    )
    session.flush()
    return Replacement(number, eta, replaces)


def refund_order(session: Session, customer_external_id: str, order_number: Any, now: datetime) -> Refund:
    """Refund an order in full: a delivered order becomes `returned`, one lost on its way `cancelled`.

    There is no refunds table: the order's status is the shop's record (bot.shop.orders.refunds reads it). A
    second call finds the order already refunded and reports the same refund."""
    order = _order(session, customer_external_id, order_number, lock=True)
    now = now.replace(microsecond=0)
    if order.status == "delivered":
        order.status = "returned"
    elif order.status in ("placed", "processing", "shipped", "out_for_delivery"):
        order.status = "cancelled"
        order.cancelled_at = now
    elif order.status not in ("returned", "cancelled"):  # pragma: no cover - the status check constraint
        raise RemedyRefused(f"order {order.order_number} cannot be refunded")
    session.flush()
    issued = order.cancelled_at.date() if order.status == "cancelled" and order.cancelled_at else now.date()
    return Refund(order.order_number, order.status, Decimal(order.total), issued)
