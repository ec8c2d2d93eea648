"""Changing what is in an order before it ships: typed requests read as one edit, and the shop's rules for
applying it (not once it left the warehouse, never an empty order, at most ten of a product), on both databases."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.db.models import Customer, Order, OrderLine
from bot.shop.order_edits import MAX_ITEM_QUANTITY, EditDecision, EditKind, ItemEdit, edit_order, read_edit
from bot.shop.orders import OrderLineView, get_customer_order

CASE = OrderLineView("Spigen Tough Armor case for Pixel 8", 2, Decimal("24.99"), "CASE8", "cases")
CHARGER = OrderLineView("Anker Nano 20W USB-C charger", 1, Decimal("19.99"), "NANO20", "chargers")
MOUSE = OrderLineView("Logitech Pebble Mouse 2 M350s", 1, Decimal("29.99"), "PEBBLE", "accessories")
PHONE = OrderLineView("Google Pixel 8 128GB Obsidian", 1, Decimal("599.00"), "PIX8", "phones")


@pytest.mark.parametrize(
    "text, lines, expected",
    [
        ("remove the mouse", [CASE, CHARGER, MOUSE], ItemEdit(EditKind.REMOVE, 0, sku="PEBBLE")),
        ("take the charger off my order pls", [CASE, CHARGER, MOUSE], ItemEdit(EditKind.REMOVE, 0, sku="NANO20")),
        ("i dont need the charger anymore", [CASE, CHARGER], ItemEdit(EditKind.REMOVE, 0, sku="NANO20")),
        ("remove one of the cases", [CASE, CHARGER], ItemEdit(EditKind.SET_QUANTITY, 1, sku="CASE8")),
        ("i ordered 2 by mistake, can i change it to 1", [CASE], ItemEdit(EditKind.SET_QUANTITY, 1, sku="CASE8")),
        ("i need 3 not 2", [CASE], ItemEdit(EditKind.SET_QUANTITY, 3, sku="CASE8")),
        ("change the qty of chargers from 1 to 3", [CASE, CHARGER], ItemEdit(EditKind.SET_QUANTITY, 3, sku="NANO20")),
        ("add one more", [CHARGER], ItemEdit(EditKind.SET_QUANTITY, 2, sku="NANO20")),
        ("add another charger", [CASE, CHARGER], ItemEdit(EditKind.SET_QUANTITY, 2, sku="NANO20")),
        ("just one case", [CASE, CHARGER], ItemEdit(EditKind.SET_QUANTITY, 1, sku="CASE8")),
        # digits of a product's name are not quantities
        ("the pixel 8 case, 1 not 2", [CASE, PHONE], ItemEdit(EditKind.SET_QUANTITY, 1, sku="CASE8")),
        ("TD104233 make it 1", [CASE], ItemEdit(EditKind.SET_QUANTITY, 1, sku="CASE8")),
        # ... but the same digit said as a count still is one
        ("make it 2 of the pebble mouse 2", [CASE, MOUSE], ItemEdit(EditKind.SET_QUANTITY, 2, sku="PEBBLE")),
        ("8 of the pixel 8 cases", [CASE, CHARGER], ItemEdit(EditKind.SET_QUANTITY, 8, sku="CASE8")),
        ("add a usb cable", [CASE, CHARGER], ItemEdit(EditKind.ADD, 1, query="usb cable")),
        ("i forgot to add airpods to my order", [PHONE], ItemEdit(EditKind.ADD, 1, query="airpod")),
        ("i want 3 screen protectors added", [PHONE], ItemEdit(EditKind.ADD, 3, query="screen protector")),
        ("can you add airpods pro 2", [PHONE], ItemEdit(EditKind.ADD, 1, query="airpod pro 2")),  # a name's digit
        ("2 of the cables please", [PHONE], ItemEdit(EditKind.ADD, 2, query="cable")),
        (
            "Could you add a phone case to it please? I forgot to order one.",
            [CHARGER, MOUSE],
            ItemEdit(EditKind.ADD, 1, query="phone case"),
        ),
        # asked what to change, a product that is not in the order yet is one to add
        ("a charger", [PHONE], ItemEdit(EditKind.ADD, 1, query="charger")),
        # a kind the order already holds: "add a charger" is another charger, "another charger" one more of it
        ("ok cool. add a charger then", [CHARGER], ItemEdit(EditKind.ADD, 1, query="charger")),
        ("a charger", [CASE, CHARGER], ItemEdit(EditKind.ADD, 1, query="charger")),
        ("a quick question", [CHARGER], None),
        ("ad a screen protecter", [PHONE], ItemEdit(EditKind.ADD, 1, query="screen protecter")),
        ("hi i want to add smth", [PHONE], None),
        # nothing clear: the bot asks
        ("remove it", [CASE, CHARGER], None),
        ("3", [CASE, CHARGER], None),
        ("change the colour to blue", [CASE, CHARGER], None),
        ("hello?", [CASE], None),
        # "actually i only need one" is about the product changed last
        ("actually sorry i only need one after all", [CASE, CHARGER], None),
        ("", [CASE], None),
        ("add a charger " * 800, [CASE], None),  # 11,200 characters: not one change, and no catalogue search
    ],
)
def test_typed_requests_are_read_as_one_edit(text, lines, expected):
    assert read_edit(text, lines) == expected


def test_a_correction_without_a_name_is_about_the_product_changed_last():
    assert read_edit("actually sorry i only need one after all", [CASE, CHARGER], recent="CASE8") == ItemEdit(
        EditKind.SET_QUANTITY, 1, sku="CASE8"
    )
    assert read_edit("make it 3 chargers", [CASE, CHARGER], recent="CASE8") == ItemEdit(
        EditKind.SET_QUANTITY, 3, sku="NANO20"
    )


def test_a_product_is_picked_from_the_list_by_position_or_price():
    from bot.shop.catalog import ProductView
    from bot.shop.order_edits import choice_meant

    options = [
        ProductView(sku, name, "chargers", "Chargers", "Anker", Decimal(price), "", None, True)
        for sku, name, price in [("A", "first", "30"), ("B", "second", "10"), ("C", "third", "20")]
    ]
    assert choice_meant("the second one", options).sku == "B"
    assert choice_meant("1st one is fine", options).sku == "A"
    assert choice_meant("The last one you listed, please.", options).sku == "C"
    assert choice_meant("the cheapest one pls", options).sku == "B"
    assert choice_meant("the most expensive", options).sku == "A"
    assert choice_meant("the anker one", options) is None


def _changeable_order(session) -> tuple[str, str]:
    row = session.execute(
        select(Customer.external_id, Order.order_number)
        .join(Customer)
        .where(Order.status.in_(["placed", "processing"]))
        .order_by(Order.order_number)
        .limit(1)
    ).first()
    assert row is not None, "the small shop has no order that can still change"
    return row[0], row[1]


def _stored_lines(session, number: str) -> dict[str, int]:
    order = session.execute(select(Order).where(Order.order_number == number)).scalar_one()
    session.refresh(order)
    return {line.product.name: line.quantity for line in order.lines}


def _stored_total(session, number: str) -> Decimal:
    return Decimal(session.execute(select(Order.total).where(Order.order_number == number)).scalar_one())


def test_an_item_is_added_at_todays_price_and_the_total_follows(session, shop):
    customer, number = _changeable_order(session)
    before = _stored_total(session, number)
    result = edit_order(session, customer, number, "can you add the anker nano 20w charger", now=shop.now)
    assert result.decision is EditDecision.CHANGED and result.product_name == "Anker Nano 20W USB-C charger"
    assert result.previous_total == before
    assert _stored_lines(session, number)["Anker Nano 20W USB-C charger"] == 1
    line = session.execute(
        select(OrderLine).join(Order).where(Order.order_number == number).order_by(OrderLine.id.desc()).limit(1)
    ).scalar_one()
    assert Decimal(line.unit_price) == Decimal(line.product.price)
    assert _stored_total(session, number) == before + Decimal(line.product.price) == result.order.total


def test_quantities_change_and_removing_an_item_keeps_the_rest(session, shop):
    customer, number = _changeable_order(session)
    original = dict(_stored_lines(session, number))
    edit_order(session, customer, number, "add the anker nano 20w charger", now=shop.now)
    assert edit_order(session, customer, number, "make it 3 chargers", now=shop.now).changed
    assert _stored_lines(session, number)["Anker Nano 20W USB-C charger"] == 3
    unchanged = edit_order(session, customer, number, "3 chargers please", now=shop.now)
    assert unchanged.decision is EditDecision.UNCHANGED
    assert edit_order(session, customer, number, "remove the charger", now=shop.now).changed
    assert _stored_lines(session, number) == original
    assert _stored_total(session, number) == sum(
        (
            Decimal(ln.unit_price) * ln.quantity
            for ln in session.execute(select(OrderLine).join(Order).where(Order.order_number == number)).scalars()
        ),
        Decimal("0"),
    )


def test_the_last_item_is_not_removed_and_ten_is_the_most(session, shop):
    customer, number = _changeable_order(session)
    original = dict(_stored_lines(session, number))
    assert len(original) == 1
    assert edit_order(session, customer, number, "remove it", now=shop.now).decision is EditDecision.LAST_ITEM
    too_many = edit_order(session, customer, number, f"make it {MAX_ITEM_QUANTITY + 1}", now=shop.now)
    assert too_many.decision is EditDecision.TOO_MANY
    assert _stored_lines(session, number) == original


def test_a_kind_of_product_asks_which_and_an_unknown_one_says_so(session, shop):
    customer, number = _changeable_order(session)
    several = edit_order(session, customer, number, "add a charger", now=shop.now)
    assert several.decision is EditDecision.SEVERAL_PRODUCTS and len(several.options) > 1
    assert all("charger" in p.name.lower() for p in several.options)
    unknown = edit_order(session, customer, number, "add a flux capacitor", now=shop.now)
    assert unknown.decision is EditDecision.NO_SUCH_PRODUCT
    assert edit_order(session, customer, number, "hmm not sure", now=shop.now).decision is EditDecision.NOT_UNDERSTOOD


def test_a_dry_run_changes_nothing(session, shop):
    customer, number = _changeable_order(session)
    original = dict(_stored_lines(session, number))
    preview = edit_order(session, customer, number, "add the anker nano 20w charger", now=shop.now, dry_run=True)
    assert preview.decision is EditDecision.CHANGED
    assert _stored_lines(session, number) == original


@pytest.mark.parametrize(
    "status, decision",
    [
        ("shipped", EditDecision.SHIPPED),
        ("out_for_delivery", EditDecision.SHIPPED),
        ("delivered", EditDecision.DELIVERED),
        ("cancelled", EditDecision.CLOSED),
    ],
)
def test_an_order_that_left_the_warehouse_keeps_its_items(session, shop, status, decision):
    customer, number = session.execute(
        select(Customer.external_id, Order.order_number).join(Customer).where(Order.status == status).limit(1)
    ).first()
    before = _stored_lines(session, number)
    assert edit_order(session, customer, number, "add the anker nano 20w charger", now=shop.now).decision is decision
    assert _stored_lines(session, number) == before


def test_only_the_customers_own_order_changes(session, shop):
    customer, number = _changeable_order(session)
    other = session.execute(select(Customer.external_id).where(Customer.external_id != customer).limit(1)).scalar_one()
    result = edit_order(session, other, number, "add the anker nano 20w charger", now=shop.now)
    assert result.decision is EditDecision.NOT_FOUND and result.order is None
    assert get_customer_order(session, other, number) is None
