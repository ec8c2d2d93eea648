"""Order lookup, the rules for cancelling and for a new delivery address, and delivery information, scoped to the
signed-in customer."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from bot.db.models import Customer, Order
from bot.db.session import session_scope
from bot.shop.customers import customer_devices, customer_exists, customer_plans, get_customer
from bot.shop.orders import (
    AddressDecision,
    CancelDecision,
    can_cancel,
    can_change_address,
    cancel_order,
    change_shipping_address,
    delivery_info,
    get_customer_order,
    normalize_order_number,
    open_orders,
    order_meant,
    recent_orders,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("TD123456", "TD123456"),
        ("td123456", "TD123456"),
        ("TD-123456", "TD123456"),
        ("td-123456", "TD123456"),
        (" Td 123456 ", "TD123456"),
        ("#TD123456", "TD123456"),
        ("123456", None),
        ("TD12345", None),
        ("TD1234567", None),
        ("my order TD123456", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_order_number(text, expected):
    assert normalize_order_number(text) == expected


def _order(session, status: str, *, late: bool | None = None, today=None, delivered_after=None):
    """(customer external id, order number) of the newest order in this state."""
    stmt = select(Order, Customer.external_id).join(Customer).where(Order.status == status)
    if late is True:
        stmt = stmt.where(Order.estimated_delivery < today)
    elif late is False:
        stmt = stmt.where(Order.estimated_delivery >= today)
    if delivered_after is not None:
        stmt = stmt.where(Order.delivered_at >= delivered_after)
    row = session.execute(stmt.order_by(Order.placed_at.desc()).limit(1)).first()
    assert row is not None, f"the small shop has no {status} order (late={late})"
    return row[1], row[0].order_number


def _other_customer(session, external_id: str) -> str:
    return session.execute(
        select(Customer.external_id).where(Customer.external_id != external_id).order_by(Customer.id).limit(1)
    ).scalar_one()


def test_get_customer_order(session, shop):
    ext, number = _order(session, "shipped", late=False, today=shop.anchor)
    view = get_customer_order(session, ext, number.replace("TD", "td-"), today=shop.anchor)
    assert view is not None and view.number == number and view.status == "shipped"
    assert view.carrier and view.tracking_number and view.lines and not view.is_late and view.is_open
    assert view.total == sum(line.unit_price * line.quantity for line in view.lines)
    assert all(line.product_name and line.sku for line in view.lines)


def test_another_customers_order_is_not_found(session, shop):
    ext, number = _order(session, "delivered")
    other = _other_customer(session, ext)
    assert get_customer_order(session, other, number, today=shop.anchor) is None
    assert delivery_info(session, other, number, today=shop.anchor) is None
    assert get_customer_order(session, ext, "TD000000", today=shop.anchor) is None
    assert get_customer_order(session, ext, "not an order", today=shop.anchor) is None
    assert get_customer_order(session, "CUST-99999", number, today=shop.anchor) is None


def test_recent_and_open_orders(session, shop):
    ext, _ = _order(session, "processing")
    recent = recent_orders(session, ext, limit=3, today=shop.anchor)
    assert 1 <= len(recent) <= 3
    assert [o.placed_at for o in recent] == sorted((o.placed_at for o in recent), reverse=True)
    opened = open_orders(session, ext, today=shop.anchor)
    assert opened and all(o.status in ("placed", "processing", "shipped", "out_for_delivery") for o in opened)
    all_numbers = {o.number for o in recent_orders(session, ext, limit=100, today=shop.anchor)}
    owned = set(session.execute(select(Order.order_number).join(Customer).where(Customer.external_id == ext)).scalars())
    assert all_numbers == owned
    assert recent_orders(session, "CUST-99999") == [] and open_orders(session, "CUST-99999") == []


@pytest.mark.parametrize(
    "status, allowed, reason",
    [
        ("placed", True, CancelDecision.CANCELLABLE),
        ("processing", True, CancelDecision.CANCELLABLE),
        ("shipped", False, CancelDecision.SHIPPED),
        ("out_for_delivery", False, CancelDecision.OUT_FOR_DELIVERY),
        ("delivered", False, CancelDecision.DELIVERED),
        ("cancelled", False, CancelDecision.ALREADY_CANCELLED),
        ("returned", False, CancelDecision.RETURNED),
    ],
)
def test_can_cancel(status, allowed, reason):
    assert can_cancel(SimpleNamespace(status=status)) == (allowed, reason)
    assert reason == reason.value  # usable as a plain string in slots


def test_can_cancel_nothing():
    assert can_cancel(None) == (False, CancelDecision.NOT_FOUND)


@pytest.mark.parametrize("status", ["placed", "processing"])
def test_cancel_placed_or_processing_order(session, shop, status):
    ext, number = _order(session, status)
    now = shop.now + timedelta(minutes=5)
    assert can_cancel(get_customer_order(session, ext, number, today=shop.anchor)) == (True, CancelDecision.CANCELLABLE)
    result = cancel_order(session, ext, number, now=now)
    assert result.cancelled and result.decision is CancelDecision.CANCELLED
    assert result.order.status == "cancelled" and result.order.cancelled_at == now.replace(microsecond=0)
    assert result.order_number == number and result.order.status == "cancelled"
    again = cancel_order(session, ext, number, now=now)
    assert again.decision is CancelDecision.ALREADY_CANCELLED and not again.cancelled


@pytest.mark.parametrize(
    "status, decision", [("shipped", CancelDecision.SHIPPED), ("out_for_delivery", CancelDecision.OUT_FOR_DELIVERY)]
)
def test_shipped_orders_cannot_be_cancelled(session, shop, status, decision):
    ext, number = _order(session, status)
    result = cancel_order(session, ext, number, now=shop.now)
    assert result.decision is decision and not result.cancelled
    assert result.advice == "refuse_delivery_or_return"
    assert get_customer_order(session, ext, number, today=shop.anchor).status == status


def test_delivered_order_within_return_window(session, shop):
    ext, number = _order(session, "delivered", delivered_after=shop.now - timedelta(days=10))
    result = cancel_order(session, ext, number, now=shop.now)
    assert result.decision is CancelDecision.DELIVERED and not result.cancelled
    assert result.advice == "return" and result.return_window_open is True
    assert result.return_deadline >= shop.anchor
    assert get_customer_order(session, ext, number, today=shop.anchor).status == "delivered"


def test_delivered_order_after_return_window(session, shop):
    row = session.execute(
        select(Order.order_number, Customer.external_id)
        .join(Customer)
        .where(Order.status == "delivered", Order.delivered_at < shop.now - timedelta(days=60))
        .order_by(Order.id)
        .limit(1)
    ).first()
    number, ext = row
    result = cancel_order(session, ext, number, now=shop.now)
    assert result.decision is CancelDecision.DELIVERED
    assert result.advice == "return_window_closed" and result.return_window_open is False
    assert result.return_deadline < shop.anchor and result.advice == "return_window_closed"


@pytest.mark.parametrize(
    "status, decision", [("cancelled", CancelDecision.ALREADY_CANCELLED), ("returned", CancelDecision.RETURNED)]
)
def test_closed_orders(session, shop, status, decision):
    ext, number = _order(session, status)
    result = cancel_order(session, ext, number, now=shop.now)
    assert result.decision is decision and not result.cancelled and result.advice is None
    assert get_customer_order(session, ext, number, today=shop.anchor).status == status


def test_cancel_unknown_or_someone_elses_order(session, shop):
    ext, number = _order(session, "placed")
    other = _other_customer(session, ext)
    result = cancel_order(session, other, number, now=shop.now)
    assert result.decision is CancelDecision.NOT_FOUND and result.order is None and not result.cancelled
    assert get_customer_order(session, ext, number, today=shop.anchor).status == "placed"
    assert cancel_order(session, ext, "TD000000").decision is CancelDecision.NOT_FOUND
    assert cancel_order(session, ext, "hello").decision is CancelDecision.NOT_FOUND


def test_cancellation_is_persisted(fresh_shop_db, shop):
    with session_scope(fresh_shop_db) as s:
        ext, number = _order(s, "processing")
    with session_scope(fresh_shop_db) as s:
        assert cancel_order(s, ext, number, now=shop.now).cancelled
    with session_scope(fresh_shop_db) as s:
        order = s.execute(select(Order).where(Order.order_number == number)).scalar_one()
        assert order.status == "cancelled" and order.cancelled_at == shop.now


def test_delivery_info_for_a_late_order(session, shop):
    row = session.execute(
        select(Order, Customer.external_id)
        .join(Customer)
        .where(
            Order.status.in_(["placed", "processing", "shipped", "out_for_delivery"]),
            Order.estimated_delivery < shop.anchor,
        )
        .order_by(Order.id)
        .limit(1)
    ).first()
    assert row is not None, "the small shop must contain a late order"
    order, ext = row
    info = delivery_info(session, ext, order.order_number, today=shop.anchor)
    assert info.is_late and info.days_late == (shop.anchor - order.estimated_delivery).days > 0
    assert info.estimated_delivery == order.estimated_delivery
    assert info.order_number == order.order_number
    assert (info.tracking_number, info.carrier) == (order.tracking_number, order.carrier)
    # the same order seen on its due date is not late yet
    on_time = delivery_info(session, ext, order.order_number, today=order.estimated_delivery)
    assert not on_time.is_late and on_time.days_late == 0


def test_delivery_info_states(session, shop):
    ext, number = _order(session, "out_for_delivery", late=False, today=shop.anchor)
    info = delivery_info(session, ext, number, today=shop.anchor)
    assert not info.is_late and info.status == "out_for_delivery" and info.tracking_number
    ext, number = _order(session, "delivered")
    info = delivery_info(session, ext, number, today=shop.anchor)
    assert info.delivered_at is not None and info.status == "delivered" and not info.is_late


def test_delivery_info_without_number_picks_newest_open_order(session, shop):
    ext, number = _order(session, "shipped")
    info = delivery_info(session, ext, today=shop.anchor)
    newest_open = open_orders(session, ext, limit=1, today=shop.anchor)[0]
    assert info.order_number == newest_open.number
    assert delivery_info(session, "CUST-99999", today=shop.anchor) is None


def test_customers(session, shop):
    assert customer_exists(session, "CUST-00001")
    assert not customer_exists(session, "CUST-99999") and not customer_exists(session, "")
    customer = get_customer(session, "CUST-00001")
    assert customer.external_id == "CUST-00001" and customer.first_name == customer.name.split()[0]
    assert get_customer(session, "CUST-99999") is None
    with_devices = session.execute(select(Customer.external_id).order_by(Customer.id)).scalars().all()
    devices = [d for ext in with_devices for d in customer_devices(session, ext)]
    assert devices and all(d.category in ("phones", "laptops", "tablets", "smartwatches") for d in devices)
    plans = [p for ext in with_devices for p in customer_plans(session, ext, active_only=True)]
    assert plans and all(p.status == "active" for p in plans)


@pytest.mark.parametrize(
    "text, discussed, expected",
    [
        ("the ipad one", None, "TD000002"),
        ("The Apple iPad (10th generation) 256GB one please", None, "TD000002"),
        ("the one with the sony headphones", None, "TD000001"),
        ("the other one", "TD000001", "TD000002"),
        ("the other one", None, None),  # nothing under discussion: no "other"
        ("the apple one", None, None),  # both hold Apple things: ask again
        ("the blue one", None, None),
        ("", None, None),
        ("I want to return my order", None, None),  # "to" is in "USB-C to Lightning", but names nothing
    ],
)
def test_a_customer_picks_an_order_by_what_is_in_it_or_as_the_other_one(text, discussed, expected) -> None:
    orders = [
        ("TD000001", "Sony WH-CH720N headphones and Apple USB-C to Lightning cable"),
        ("TD000002", "Apple iPad (10th generation) 256GB Wi-Fi Pink"),
    ]
    assert order_meant(orders, text, discussed=discussed) == expected


# --- the delivery address ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["placed", "processing"])
def test_an_order_in_the_warehouse_goes_to_the_new_address(session, shop, status):
    ext, number = _order(session, status)
    result = change_shipping_address(session, ext, number, "  4 Canal Walk,\n Manchester M1 3LA ", now=shop.now)
    assert result.changed and result.decision is AddressDecision.CHANGED
    assert result.order.shipping_address == "4 Canal Walk, Manchester M1 3LA"
    assert result.previous_address != result.order.shipping_address
    stored = session.execute(select(Order.shipping_address).where(Order.order_number == number)).scalar_one()
    assert stored == "4 Canal Walk, Manchester M1 3LA"


@pytest.mark.parametrize(
    "status, decision",
    [
        ("shipped", AddressDecision.SHIPPED),
        ("out_for_delivery", AddressDecision.SHIPPED),
        ("delivered", AddressDecision.DELIVERED),
        ("cancelled", AddressDecision.CLOSED),
    ],
)
def test_an_order_that_left_the_warehouse_keeps_its_address(session, shop, status, decision):
    ext, number = _order(session, status)
    before = get_customer_order(session, ext, number, today=shop.anchor).shipping_address
    result = change_shipping_address(session, ext, number, "4 Canal Walk, Manchester M1 3LA", now=shop.now)
    assert result.decision is decision and not result.changed
    assert can_change_address(SimpleNamespace(status=status)) == (False, decision)
    assert get_customer_order(session, ext, number, today=shop.anchor).shipping_address == before


def test_an_address_change_needs_the_customers_own_order_and_a_real_address(session, shop):
    ext, number = _order(session, "placed")
    other = session.execute(select(Customer.external_id).where(Customer.external_id != ext).limit(1)).scalar_one()
    assert change_shipping_address(session, other, number, "4 Canal Walk, Manchester M1 3LA").decision is (
        AddressDecision.NOT_FOUND
    )
    before = get_customer_order(session, ext, number, today=shop.anchor).shipping_address
    refused = change_shipping_address(session, ext, number, "my office please")
    assert refused.decision is AddressDecision.NOT_AN_ADDRESS
    assert get_customer_order(session, ext, number, today=shop.anchor).shipping_address == before
