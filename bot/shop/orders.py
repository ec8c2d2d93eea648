"""Orders: lookup, delivery information, and the shop's rules for cancelling and for changing the delivery address.

Every lookup is scoped by the customer's external id (from the verified token), so an order number typed in
the chat can never reveal another customer's order: it simply is "not found". Results are frozen
dataclasses, safe to use after the session has closed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.db.models import OPEN_ORDER_STATUSES, Customer, Order, OrderLine, utcnow
from bot.shop.addresses import clean_address
from bot.shop.words import NOT_AN_ITEM

RETURN_WINDOW_DAYS = 30

_ORDER_NUMBER = re.compile(r"^#?\s*td\s*[-_#:.]?\s*(\d{6})$", re.IGNORECASE)


def normalize_order_number(text: str | None) -> str | None:
    """`TD` + 6 digits from what a customer typed ("td123456", "TD-123456", " Td 123456 ", "#TD123456").

    Returns None for anything else (including bare digits), so callers can ask again instead of guessing.
    """
    if not text or not isinstance(text, str):
        return None
    match = _ORDER_NUMBER.match(text.strip())
    return f"TD{match.group(1)}" if match else None


def _today(today: date | None) -> date:
    return today if today is not None else utcnow().date()


@dataclass(frozen=True)
class OrderLineView:
    product_name: str
    quantity: int
    unit_price: Decimal
    sku: str
    category: str = ""


@dataclass(frozen=True)
class OrderView:
    """An order as the customer may see it. `is_late` and the return window are evaluated for `today`."""

    number: str
    status: str
    placed_at: datetime
    shipped_at: datetime | None
    estimated_delivery: date | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    carrier: str | None
    tracking_number: str | None
    total: Decimal
    shipping_address: str
    lines: tuple[OrderLineView, ...]
    is_late: bool
    return_deadline: date | None
    return_window_open: bool

    @property
    def is_open(self) -> bool:
        """Still on its way: neither delivered nor cancelled/returned."""
        return self.status in OPEN_ORDER_STATUSES


def order_view(order: Order, today: date) -> OrderView:
    """The frozen view of an order row, with lateness and the return window as of `today`."""
    late = (
        order.status in OPEN_ORDER_STATUSES
        and order.estimated_delivery is not None
        and order.estimated_delivery < today
    )
    deadline = None
    if order.delivered_at is not None and order.status == "delivered":
        deadline = order.delivered_at.date() + timedelta(days=RETURN_WINDOW_DAYS)
    return OrderView(
        number=order.order_number,
        status=order.status,
        placed_at=order.placed_at,
        shipped_at=order.shipped_at,
        estimated_delivery=order.estimated_delivery,
        delivered_at=order.delivered_at,
        cancelled_at=order.cancelled_at,
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        total=Decimal(order.total),
        shipping_address=order.shipping_address,
        lines=tuple(
            OrderLineView(
                product_name=line.product.name,
                quantity=line.quantity,
                unit_price=Decimal(line.unit_price),
                sku=line.product.sku,
                category=line.product.category,
            )
            for line in order.lines
        ),
        is_late=late,
        return_deadline=deadline,
        return_window_open=deadline is not None and today <= deadline,
    )


_WORD = re.compile(r"[a-z0-9]+")
_THE_OTHER = re.compile(r"\bthe other\b|\bother one\b", re.IGNORECASE)


def order_meant(orders: Sequence[tuple[str, str]], text: str | None, discussed: str | None = None) -> str | None:
    """The number of the one order a customer means by what is in it ("the iPad one") or, of two, by "the other
    one" (the one not under discussion). `orders`: (number, what is in it). None when the words fit none, or
    several equally."""
    numbers = [number for number, _ in orders]
    if _THE_OTHER.search(text or "") and len(numbers) == 2 and discussed in numbers:
        return next(n for n in numbers if n != discussed)
    said = set(_WORD.findall((text or "").lower())) - NOT_AN_ITEM  # words that say nothing about which order
    scores = sorted(((len(said & set(_WORD.findall(items.lower()))), number) for number, items in orders), reverse=True)
    if not scores or scores[0][0] == 0 or (len(scores) > 1 and scores[1][0] == scores[0][0]):
        return None
    return scores[0][1]


def _orders_of(customer_external_id: str):
    return (
        select(Order)
        .join(Customer, Customer.id == Order.customer_id)
        .where(Customer.external_id == customer_external_id)
        .options(selectinload(Order.lines).joinedload(OrderLine.product))
    )


def locked_customer_order(session: Session, customer_external_id: str | None, number: str | None) -> Order | None:
    """The customer's order, its row locked (`SELECT ... FOR UPDATE` on PostgreSQL) so that a change to it
    cannot race with dispatch; None when the number is not one of theirs."""
    if number is None or not customer_external_id:
        return None
    return session.execute(
        _orders_of(customer_external_id)
        .where(Order.order_number == number)
        .with_for_update(of=Order)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def get_customer_order(
    session: Session, customer_external_id: str, order_number: str, today: date | None = None
) -> OrderView | None:
    """The customer's order with this number, or None if it does not exist or belongs to someone else."""
    number = normalize_order_number(order_number)
    if number is None or not customer_external_id:
        return None
    order = session.execute(_orders_of(customer_external_id).where(Order.order_number == number)).scalar_one_or_none()
    return order_view(order, _today(today)) if order else None


def recent_orders(
    session: Session, customer_external_id: str, limit: int = 5, today: date | None = None
) -> list[OrderView]:
    """The customer's latest orders, newest first."""
    stmt = _orders_of(customer_external_id).order_by(Order.placed_at.desc(), Order.id.desc()).limit(limit)
    day = _today(today)
    return [order_view(o, day) for o in session.execute(stmt).scalars()]


def open_orders(
    session: Session, customer_external_id: str, limit: int | None = None, today: date | None = None
) -> list[OrderView]:
    """Orders still on their way (not delivered, cancelled or returned), newest first."""
    stmt = (
        _orders_of(customer_external_id)
        .where(Order.status.in_(OPEN_ORDER_STATUSES))
        .order_by(Order.placed_at.desc(), Order.id.desc())
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    day = _today(today)
    return [order_view(o, day) for o in session.execute(stmt).scalars()]


# ----------------------------------------------------------------------------------------------------------------
# Cancellation
# ----------------------------------------------------------------------------------------------------------------


class CancelDecision(str, Enum):
    """Why an order can or cannot be cancelled (a `str`, so it can go straight into a slot)."""

    CANCELLABLE = "cancellable"  # can_cancel(): placed or processing
    CANCELLED = "cancelled"  # cancel_order(): done now
    SHIPPED = "shipped"  # too late: refuse the delivery or return it
    OUT_FOR_DELIVERY = "out_for_delivery"  # too late: refuse the delivery or return it
    DELIVERED = "delivered"  # too late: return it (30-day window)
    ALREADY_CANCELLED = "already_cancelled"
    RETURNED = "returned"
    NOT_FOUND = "not_found"  # no such order for this customer


_REASON_BY_STATUS = {
    "placed": CancelDecision.CANCELLABLE,
    "processing": CancelDecision.CANCELLABLE,
    "shipped": CancelDecision.SHIPPED,
    "out_for_delivery": CancelDecision.OUT_FOR_DELIVERY,
    "delivered": CancelDecision.DELIVERED,
    "cancelled": CancelDecision.ALREADY_CANCELLED,
    "returned": CancelDecision.RETURNED,
}


def can_cancel(order: Any) -> tuple[bool, CancelDecision]:
    """Whether an order (an `OrderView`, an ORM `Order`, anything with `.status`) can still be cancelled.

    One rule for the confirmation question and for the cancellation itself: only orders that have not left
    the warehouse (placed, processing) can be cancelled.
    """
    if order is None:
        return False, CancelDecision.NOT_FOUND
    reason = _REASON_BY_STATUS.get(getattr(order, "status", ""), CancelDecision.NOT_FOUND)
    return reason is CancelDecision.CANCELLABLE, reason


@dataclass(frozen=True)
class CancelResult:
    """Outcome of `cancel_order`: the decision, the order as it is now, and what the customer can do instead."""

    decision: CancelDecision
    order_number: str | None
    order: OrderView | None
    advice: str | None = None  # "refuse_delivery_or_return", "return", "return_window_closed"
    return_deadline: date | None = None
    return_window_open: bool | None = None

    @property
    def cancelled(self) -> bool:
        return self.decision is CancelDecision.CANCELLED


def cancel_order(
    session: Session, customer_external_id: str, order_number: str, now: datetime | None = None
) -> CancelResult:
    """Cancel the customer's order if the rules allow it (status placed/processing).

    The row is locked (`SELECT ... FOR UPDATE` on PostgreSQL) so a cancellation cannot race with dispatch.
    The change is flushed in the caller's transaction; `session_scope` commits it.
    """
    number = normalize_order_number(order_number)
    now = now or utcnow()
    today = now.date()
    order = locked_customer_order(session, customer_external_id, number)
    if order is None:
        return CancelResult(CancelDecision.NOT_FOUND, number, None)

    allowed, decision = can_cancel(order)
    if allowed:
        order.status = "cancelled"
        order.cancelled_at = now.replace(microsecond=0)
        session.flush()
        decision = CancelDecision.CANCELLED
    view = order_view(order, today)
    advice = None
    if decision in (CancelDecision.SHIPPED, CancelDecision.OUT_FOR_DELIVERY):
        advice = "refuse_delivery_or_return"
    elif decision is CancelDecision.DELIVERED:
        advice = "return" if view.return_window_open else "return_window_closed"
    return CancelResult(
        decision=decision,
        order_number=number,
        order=view,
        advice=advice,
        return_deadline=view.return_deadline,
        return_window_open=view.return_window_open if decision is CancelDecision.DELIVERED else None,
    )


# ----------------------------------------------------------------------------------------------------------------
# Delivery address
# ----------------------------------------------------------------------------------------------------------------


class AddressDecision(str, Enum):
    """Whether an order's delivery address can change (a `str`, so it can go straight into a slot)."""

    CHANGEABLE = "changeable"  # placed or processing: it has not left the warehouse
    CHANGED = "changed"  # change_shipping_address(): done now
    SHIPPED = "shipped"  # on its way (shipped or out for delivery): the courier has the address
    DELIVERED = "delivered"
    CLOSED = "closed"  # cancelled or returned
    NOT_FOUND = "not_found"  # no such order for this customer
    NOT_AN_ADDRESS = "not_an_address"  # the text given is not a usable address


_ADDRESS_DECISION_BY_STATUS = {
    "placed": AddressDecision.CHANGEABLE,
    "processing": AddressDecision.CHANGEABLE,
    "shipped": AddressDecision.SHIPPED,
    "out_for_delivery": AddressDecision.SHIPPED,
    "delivered": AddressDecision.DELIVERED,
    "cancelled": AddressDecision.CLOSED,
    "returned": AddressDecision.CLOSED,
}


def can_change_address(order: Any) -> tuple[bool, AddressDecision]:
    """The same line as cancelling: an order's address can change until it leaves the warehouse."""
    if order is None:
        return False, AddressDecision.NOT_FOUND
    decision = _ADDRESS_DECISION_BY_STATUS.get(getattr(order, "status", ""), AddressDecision.NOT_FOUND)
    return decision is AddressDecision.CHANGEABLE, decision


@dataclass(frozen=True)
class AddressChange:
    decision: AddressDecision
    order_number: str | None
    order: OrderView | None
    previous_address: str | None = None

    @property
    def changed(self) -> bool:
        return self.decision is AddressDecision.CHANGED


def change_shipping_address(
    session: Session, customer_external_id: str, order_number: str, address: str, now: datetime | None = None
) -> AddressChange:
    """Send the customer's order to `address`, if the rules allow it (not once it has left the warehouse).

    Like `cancel_order`, the row is locked so that the change cannot race with dispatch; the caller commits.
    """
    number = normalize_order_number(order_number)
    today = (now or utcnow()).date()
    order = locked_customer_order(session, customer_external_id, number)
    if order is None:
        return AddressChange(AddressDecision.NOT_FOUND, number, None)
    allowed, decision = can_change_address(order)
    previous = order.shipping_address
    if allowed:
        cleaned = clean_address(address)
        if cleaned is None:
            return AddressChange(AddressDecision.NOT_AN_ADDRESS, number, order_view(order, today), previous)
        order.shipping_address = cleaned
        session.flush()
        decision = AddressDecision.CHANGED
    return AddressChange(decision, number, order_view(order, today), previous)


# ----------------------------------------------------------------------------------------------------------------
# Delivery
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryInfo:
    """Answer to "where is my delivery?" for one order."""

    order_number: str
    status: str
    carrier: str | None
    tracking_number: str | None
    placed_at: datetime
    shipped_at: datetime | None
    estimated_delivery: date | None
    delivered_at: datetime | None
    is_late: bool
    days_late: int


def delivery_info(
    session: Session,
    customer_external_id: str,
    order_number: str | None = None,
    today: date | None = None,
) -> DeliveryInfo | None:
    """Carrier, tracking, ETA and lateness of the customer's order.

    Without an order number: the newest order still on its way, else the newest order. None if there is
    no such order for this customer.
    """
    day = _today(today)
    if order_number:
        view = get_customer_order(session, customer_external_id, order_number, today=day)
    else:
        candidates = open_orders(session, customer_external_id, limit=1, today=day) or recent_orders(
            session, customer_external_id, limit=1, today=day
        )
        view = candidates[0] if candidates else None
    if view is None:
        return None
    days_late = (day - view.estimated_delivery).days if view.is_late and view.estimated_delivery else 0
    return DeliveryInfo(
        order_number=view.number,
        status=view.status,
        carrier=view.carrier,
        tracking_number=view.tracking_number,
        placed_at=view.placed_at,
        shipped_at=view.shipped_at,
        estimated_delivery=view.estimated_delivery,
        delivered_at=view.delivered_at,
        is_late=view.is_late,
        days_late=days_late,
    )


# ----------------------------------------------------------------------------------------------------------------
# Refunds
# ----------------------------------------------------------------------------------------------------------------

REFUND_WORKING_DAYS = 5  # a refund reaches the original payment method within this many working days


def add_working_days(start: date, days: int) -> date:
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


@dataclass(frozen=True)
class RefundView:
    """A refund the customer is owed or has had, from a cancelled or returned order."""

    order_number: str
    amount: Decimal
    issued_on: date | None
    expected_by: date | None
    arrived: bool


def refunds(session: Session, customer_external_id: str, limit: int = 5, today: date | None = None) -> list[RefundView]:
    """Refunds of the customer's cancelled and returned orders, newest first."""
    day = _today(today)
    views = [
        v
        for v in recent_orders(session, customer_external_id, limit=50, today=day)
        if v.status in ("cancelled", "returned")
    ]
    result = []
    for view in views[:limit]:
        issued = view.cancelled_at.date() if view.status == "cancelled" and view.cancelled_at else None
        expected = add_working_days(issued, REFUND_WORKING_DAYS) if issued else None
        result.append(
            RefundView(
                order_number=view.number,
                amount=view.total,
                issued_on=issued,
                expected_by=expected,
                arrived=expected is None or expected < day,
            )
        )
    return result


def items_summary(lines: Sequence[Any]) -> str:
    """'Apple iPhone 15 and 2 other items' from an order's lines (how the bot names an order's contents)."""
    if not lines:
        return "your items"
    first = lines[0].product_name
    rest = sum(int(line.quantity) for line in lines[1:])
    if rest == 0 and int(lines[0].quantity) > 1:
        return f"{lines[0].quantity} x {first}"
    return first if rest == 0 else f"{first} and {rest} other item{'s' if rest > 1 else ''}"
