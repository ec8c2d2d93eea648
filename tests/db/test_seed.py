"""The demo shop generator: reproducible, realistic and internally consistent."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import (
    OPEN_ORDER_STATUSES,
    Customer,
    CustomerDevice,
    CustomerPlan,
    Order,
    OrderLine,
    Product,
    ProductCompatibility,
)
from bot.db.session import session_scope
from bot.shop.categories import CATEGORY_BRANDS, CATEGORY_NAMES, DEVICE_CATEGORIES, DEVICE_FAMILIES
from bot.shop.seed import RECENT_DAYS, ShopAlreadySeeded, build_catalog, loader, seed_shop
from bot.shop.seed.rules import check_rule, holds


def snapshot(session: Session) -> dict[str, list[tuple]]:
    """All shop rows by natural keys (no surrogate ids), in a stable order."""
    sku = dict(session.execute(select(Product.id, Product.sku)).all())
    ext = dict(session.execute(select(Customer.id, Customer.external_id)).all())
    number = dict(session.execute(select(Order.id, Order.order_number)).all())

    def rows(stmt, convert):
        return sorted(convert(r) for r in session.execute(stmt).scalars())

    return {
        "products": rows(
            select(Product),
            lambda p: (
                p.sku,
                p.name,
                p.category,
                p.brand,
                Decimal(p.price),
                p.description,
                tuple(sorted((k, repr(v)) for k, v in p.attributes.items())),
                p.family,
                p.active,
            ),
        ),
        "links": sorted(
            (sku[a], sku[d])
            for a, d in session.execute(
                select(ProductCompatibility.product_id, ProductCompatibility.compatible_product_id)
            )
        ),
        "customers": rows(select(Customer), lambda c: (c.external_id, c.name, c.email, c.phone, c.created_at)),
        "orders": rows(
            select(Order),
            lambda o: (
                o.order_number,
                ext[o.customer_id],
                o.status,
                o.placed_at,
                o.shipped_at,
                o.estimated_delivery,
                o.delivered_at,
                o.cancelled_at,
                o.carrier,
                o.tracking_number,
                Decimal(o.total),
                o.shipping_address,
            ),
        ),
        "lines": rows(
            select(OrderLine), lambda ln: (number[ln.order_id], sku[ln.product_id], ln.quantity, Decimal(ln.unit_price))
        ),
        "devices": rows(
            select(CustomerDevice),
            lambda d: (ext[d.customer_id], sku[d.product_id], d.acquired_at, d.serial_number, number.get(d.order_id)),
        ),
        "plans": rows(
            select(CustomerPlan),
            lambda p: (ext[p.customer_id], sku[p.product_id], p.started_at, p.status, Decimal(p.monthly_price)),
        ),
    }


def _seed(url: str, **kwargs) -> object:
    with session_scope(url) as s:
        return seed_shop(s, **kwargs)


def _snapshot(url: str) -> dict[str, list[tuple]]:
    with session_scope(url) as s:
        return snapshot(s)


def test_same_seed_same_rows_different_seed_differs_and_replace(db_factory, shop_db, shop):
    args = dict(seed=shop.seed, customers=shop.customers, anchor=shop.anchor)
    other = db_factory.create()
    summary = _seed(other, **args)
    reference = _snapshot(shop_db)
    assert _snapshot(other) == reference
    assert summary.customers == shop.customers and summary.orders == len(reference["orders"])

    replaced = _seed(other, **{**args, "seed": shop.seed + 1}, replace=True)
    changed = _snapshot(other)
    assert changed["products"] == reference["products"]  # the catalog is fixed data
    assert changed["customers"] != reference["customers"]
    assert changed["orders"] != reference["orders"]
    assert replaced.customers == shop.customers
    assert len(changed["customers"]) == shop.customers  # replace deleted the previous shop

    _seed(other, **args, replace=True)
    assert _snapshot(other) == reference


def test_refuses_to_seed_twice(shop_db, shop):
    with pytest.raises(ShopAlreadySeeded, match="replace=True"):
        with session_scope(shop_db) as s:
            seed_shop(s, seed=1, customers=5, anchor=shop.anchor)
    with session_scope(shop_db) as s:  # nothing was written
        assert len(s.execute(select(Customer.id)).all()) == shop.customers


def test_catalog_is_broad_and_consistent():
    catalog = build_catalog()
    products = catalog.products
    assert len(products) >= 200
    assert {p.category for p in products} == set(CATEGORY_NAMES)
    assert len({p.sku for p in products}) == len(products)
    assert len({p.name for p in products}) == len(products)
    for p in products:
        assert p.brand in CATEGORY_BRANDS[p.category], p.name
        assert p.price > 0 and p.description
        if p.category in DEVICE_CATEGORIES:
            assert DEVICE_FAMILIES[p.family] == p.category, p.name
        else:
            assert p.family is None, p.name
    names = {p.name for p in products}
    assert "Apple iPhone 15 Pro 256GB Black Titanium" in names
    assert "Spigen Tough Armor case for Galaxy S24" in names
    assert "Tandem Mobile Unlimited 5G" in names and "Tandem Fibre 500" in names
    # every family named in docs/architecture.md has devices
    assert {p.family for p in products if p.family} == set(DEVICE_FAMILIES)


@pytest.fixture
def rows(session):
    products = {p.id: p for p in session.execute(select(Product)).scalars()}
    customers = {c.id: c for c in session.execute(select(Customer)).scalars()}
    orders = {o.id: o for o in session.execute(select(Order)).scalars()}
    lines = defaultdict(list)
    for ln in session.execute(select(OrderLine)).scalars():
        lines[ln.order_id].append(ln)
    links = defaultdict(set)
    for a, d in session.execute(select(ProductCompatibility.product_id, ProductCompatibility.compatible_product_id)):
        links[a].add(d)
    devices = session.execute(select(CustomerDevice)).scalars().all()
    plans = session.execute(select(CustomerPlan)).scalars().all()
    return products, customers, orders, lines, links, devices, plans


def test_customers(rows, shop):
    _, customers, *_ = rows
    assert sorted(c.external_id for c in customers.values()) == [f"CUST-{i:05d}" for i in range(1, shop.customers + 1)]
    assert len({c.email for c in customers.values()}) == len(customers)
    for c in customers.values():
        assert re.fullmatch(r"[a-z]+\.[a-z]+\d*@[a-z.]+", c.email), c.email
        assert len(c.name.split()) >= 2 and c.created_at < shop.now


def test_orders_numbers_lines_and_totals(rows, shop):
    products, customers, orders, lines, *_ = rows
    numbers = [o.order_number for o in orders.values()]
    assert len(set(numbers)) == len(numbers)
    assert all(re.fullmatch(r"TD\d{6}", n) for n in numbers)
    for o in orders.values():
        assert 1 <= len(lines[o.id]) <= 4
        assert Decimal(o.total) == sum(Decimal(ln.unit_price) * ln.quantity for ln in lines[o.id])
        assert len({ln.product_id for ln in lines[o.id]}) == len(lines[o.id])
        assert o.placed_at >= customers[o.customer_id].created_at
        assert shop.now - timedelta(days=550) <= o.placed_at <= shop.now
    per_customer = defaultdict(int)
    for o in orders.values():
        per_customer[o.customer_id] += 1
    assert max(per_customer.values()) <= 9


def test_statuses_are_consistent_with_dates(rows, shop):
    _, _, orders, *_ = rows
    now, anchor = shop.now, shop.anchor
    statuses = defaultdict(int)
    late = 0
    for o in orders.values():
        statuses[o.status] += 1
        stamps = [t for t in (o.placed_at, o.shipped_at, o.delivered_at, o.cancelled_at) if t]
        assert max(stamps) <= now, o
        shipped = o.status in ("shipped", "out_for_delivery", "delivered", "returned")
        assert (o.shipped_at is not None) == shipped, o
        assert (o.carrier is not None and o.tracking_number is not None) == shipped, o
        assert (o.delivered_at is not None) == (o.status in ("delivered", "returned")), o
        assert (o.cancelled_at is not None) == (o.status == "cancelled"), o
        if o.shipped_at:
            assert o.placed_at < o.shipped_at
        if o.delivered_at:
            assert o.shipped_at < o.delivered_at
        if o.cancelled_at:
            assert o.placed_at < o.cancelled_at
        assert o.estimated_delivery >= o.placed_at.date()
        if o.status in OPEN_ORDER_STATUSES:
            # in flight: recent, with a delivery date around the anchor
            assert o.placed_at >= now - timedelta(days=RECENT_DAYS + 7), o
            assert abs((o.estimated_delivery - anchor).days) <= 10, o
            late += o.estimated_delivery < anchor
        else:
            old = o.placed_at < now - timedelta(days=30)
            if old:
                assert o.status in ("delivered", "returned", "cancelled")
    for status in ("placed", "processing", "shipped", "out_for_delivery", "delivered", "cancelled"):
        assert statuses[status] >= 1, status
    assert late >= 1
    assert statuses["delivered"] > sum(statuses.values()) / 2


def test_devices_belong_to_customers_who_bought_them(rows, shop):
    products, customers, orders, lines, _, devices, _ = rows
    assert devices
    assert len({d.serial_number for d in devices}) == len(devices)
    with_order = 0
    for d in devices:
        assert products[d.product_id].category in DEVICE_CATEGORIES
        assert d.acquired_at <= shop.now
        if d.order_id is not None:
            with_order += 1
            order = orders[d.order_id]
            assert order.customer_id == d.customer_id
            assert order.status == "delivered"
            assert d.product_id in {ln.product_id for ln in lines[order.id]}
            assert d.acquired_at == order.delivered_at
    assert with_order >= 1
    # every device bought in a delivered order is owned
    bought = {
        (o.customer_id, ln.product_id, o.id)
        for o in orders.values()
        if o.status == "delivered"
        for ln in lines[o.id]
        if products[ln.product_id].category in DEVICE_CATEGORIES
    }
    owned = {(d.customer_id, d.product_id, d.order_id) for d in devices if d.order_id is not None}
    assert bought == owned


def test_accessories_fit_devices_of_the_right_family(rows):
    products, _, _, _, links, _, _ = rows
    watch_phones = {
        "apple_watch": {"iphone"},
        "galaxy_watch": {"galaxy", "pixel", "oneplus", "moto"},
        "pixel_watch": {"galaxy", "pixel", "oneplus", "moto"},
        "garmin": {"iphone", "galaxy", "pixel", "oneplus", "moto"},
    }
    for pid, p in products.items():
        fits = [products[d] for d in links.get(pid, ())]
        if p.category == "phone_accessories":
            assert fits, p.name
            assert all(
                d.category == "phones"
                and d.family == p.attributes["fits_family"]
                and d.attributes["model"] == p.attributes["fits_model"]
                for d in fits
            ), p.name
            assert p.attributes["fits_model"] in p.name
        elif p.category in ("chargers_cables", "laptop_accessories"):
            assert fits, p.name
            assert {d.family for d in fits} <= set(p.attributes["fits_families"]), p.name
            if p.category == "laptop_accessories":
                assert {d.category for d in fits} == {"laptops"}
        elif p.category == "smartwatches":
            assert fits and {d.family for d in fits} == watch_phones[p.family], p.name
        elif p.category == "mobile_plans":
            assert fits
            assert {d.category for d in fits} == ({"smartwatches"} if "Watch" in p.name else {"phones"})
        else:
            assert not fits, p.name
    lightning = [p for p in products.values() if "Lightning" in p.name]
    for cable in lightning:
        assert {products[d].attributes["connector"] for d in links[cable.id]} == {"lightning"}


def test_plans(rows, shop):
    products, customers, _, _, _, _, plans = rows
    assert plans
    holders = {p.customer_id for p in plans}
    assert len(holders) >= shop.customers // 3
    for plan in plans:
        assert products[plan.product_id].category in ("mobile_plans", "home_internet")
        assert plan.status in ("active", "cancelled")
        assert customers[plan.customer_id].created_at <= plan.started_at <= shop.now
        assert Decimal(plan.monthly_price) > 0
    assert any(products[p.product_id].category == "home_internet" for p in plans)


def test_fit_conditions_of_the_data_files():
    """`only_if` conditions hold as documented in the data files; a malformed one fails when it is loaded."""
    device = {"category": "laptops", "family": "macbook", "model": "MacBook Air 13", "screen_in": 13.6}.get
    assert holds({"screen_in": {"at_most": 14.2}}, device)
    assert not holds({"model": {"contains_none": ["Flip", "Air"]}}, device)
    assert holds({"model": {"contains": "Air"}, "family": "macbook"}, device)
    assert holds({"any_of": [{"category": "phones"}, {"family": {"not": "xps"}}]}, device)
    assert holds({"connector": {"in": ["usb-c", None]}}, device)  # a field it lacks is None
    assert not holds({"category": "laptops", "model": {"not_in": ["MacBook Air 13"]}}, device)
    for bad in ({}, {"model": {"like": "Air"}}, {"any_of": []}, {"model": {"not": "a", "in": ["b"]}}):
        with pytest.raises(ValueError):
            check_rule(bad)


def test_a_typo_in_a_data_file_names_the_file(tmp_path, monkeypatch):
    for path in loader.DATA_DIR.iterdir():
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    phones = tmp_path / "phones.yml"
    phones.write_text(phones.read_text(encoding="utf-8").replace("pitch:", "pich:", 1), encoding="utf-8")
    monkeypatch.setattr(loader, "DATA_DIR", tmp_path)
    with pytest.raises(loader.SeedDataError, match="phones.yml"):
        loader.catalog_data.__wrapped__()
