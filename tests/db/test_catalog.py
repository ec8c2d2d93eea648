"""Category vocabulary and product search."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.shop.catalog import (
    CATEGORY_NAMES,
    accessories_for,
    compatible_devices,
    find_products,
    get_product,
    normalize_category,
)


@pytest.mark.parametrize(
    "text, slug",
    [
        ("phones", "phones"),
        ("Phones", "phones"),
        ("phone", "phones"),
        ("mobile", "phones"),
        ("Mobile phones", "phones"),
        ("cell phone", "phones"),
        ("smartphone", "phones"),
        ("laptop", "laptops"),
        ("notebook", "laptops"),
        ("Laptops", "laptops"),
        ("tablet", "tablets"),
        ("iPad", "tablets"),
        ("smart watch", "smartwatches"),
        ("watches", "smartwatches"),
        ("earbuds", "headphones"),
        ("headphones", "headphones"),
        ("headset", "headphones"),
        ("case", "phone_accessories"),
        ("phone cases", "phone_accessories"),
        ("screen protectors", "phone_accessories"),
        ("Phone accessories (cases, screen protectors)", "phone_accessories"),
        ("charger", "chargers_cables"),
        ("cable", "chargers_cables"),
        ("Chargers & cables", "chargers_cables"),
        ("power bank", "chargers_cables"),
        ("USB-C cable", "chargers_cables"),
        ("mouse", "laptop_accessories"),
        ("laptop bag", "laptop_accessories"),
        ("docking station", "laptop_accessories"),
        ("sim only", "mobile_plans"),
        ("SIM-only deals", "mobile_plans"),
        ("mobile plan", "mobile_plans"),
        ("data plan", "mobile_plans"),
        ("mobile_plans", "mobile_plans"),
        ("broadband", "home_internet"),
        ("wifi plan", "home_internet"),
        ("Wi-Fi", "home_internet"),
        ("fibre", "home_internet"),
        ("home internet", "home_internet"),
        ("Home internet plans", "home_internet"),
    ],
)
def test_normalize_category(text, slug):
    assert normalize_category(text) == slug


@pytest.mark.parametrize("text", ["", None, "banana", "pizza oven", "the"])
def test_normalize_category_unknown(text):
    assert normalize_category(text) is None


def test_every_display_name_and_slug_normalizes_to_itself():
    for slug, name in CATEGORY_NAMES.items():
        assert normalize_category(slug) == slug
        assert normalize_category(name) == slug
        assert normalize_category(name.upper()) == slug


def test_all_query_words_rank_first(session):
    results = find_products(session, query="spigen case galaxy s24", limit=3)
    assert results[0].name == "Spigen Tough Armor case for Galaxy S24"
    results = find_products(session, query="iPhone 15 Pro 256GB", limit=5)
    assert results and all("iPhone 15 Pro" in p.name and "256GB" in p.name for p in results[:3])
    assert all(p.category == "phones" for p in results[:3])


def test_query_is_case_insensitive_and_uses_category_words(session):
    upper = find_products(session, query="ANKER CHARGER", limit=10)
    lower = find_products(session, query="anker charger", limit=10)
    assert upper == lower and upper and all(p.brand == "Anker" for p in upper[:3])
    phones = find_products(session, query="samsung phone", limit=5)
    assert phones and all(p.category == "phones" and p.brand == "Samsung" for p in phones)
    cases = find_products(session, query="iphone 15 cases", limit=5)
    assert cases and all(p.category == "phone_accessories" and "iPhone 15" in p.name for p in cases)


def test_filters(session):
    cheap = find_products(session, category="broadband", max_price="30", limit=10)
    assert cheap and all(p.category == "home_internet" and p.price <= Decimal("30") for p in cheap)
    assert [p.price for p in cheap] == sorted(p.price for p in cheap)
    sony = find_products(session, brand="sony", limit=20)
    assert sony and all(p.brand == "Sony" for p in sony)
    laptops = find_products(session, query="macbook", category="Laptops", max_price=1400, limit=10)
    assert laptops and all(p.family == "macbook" and p.price <= 1400 for p in laptops)
    assert len(find_products(session, category="phones", limit=3)) == 3
    assert find_products(session, query="zzzz qqqq") == []
    assert find_products(session, query="iphone", limit=0) == []
    assert find_products(session, query="fibre 500", category="home_internet")[0].name == "Tandem Fibre 500"


def test_inactive_products_are_not_offered(session):
    assert all(p.active for p in find_products(session, query="iphone 13", limit=50))
    assert not any(p.name.startswith("Apple iPhone 13 ") for p in find_products(session, query="iphone 13", limit=50))


def test_get_product_and_compatibility(session):
    case = find_products(session, query="spigen tough armor galaxy s24", limit=1)[0]
    assert get_product(session, case.sku) == case
    assert get_product(session, case.sku.lower()) == case
    assert get_product(session, "NOPE-0000") is None
    devices = compatible_devices(session, case.sku)
    assert devices and all(d.family == "galaxy" and "Galaxy S24" in d.name for d in devices)
    fitting = accessories_for(session, [devices[0].sku], category="case", limit=20)
    assert case in fitting and all(a.category == "phone_accessories" for a in fitting)
    assert accessories_for(session, []) == []


def test_popular_products_are_the_recent_best_sellers(session, shop):
    from collections import Counter
    from datetime import timedelta

    from sqlalchemy import select

    from bot.db.models import Order, OrderLine, Product
    from bot.shop.catalog import popular_products

    since = shop.now - timedelta(days=90)
    units = Counter()
    rows = session.execute(
        select(Product.sku, OrderLine.quantity)
        .join(OrderLine.product)
        .join(Order)
        .where(Product.category == "phones", Order.placed_at >= since, Order.status != "cancelled")
    )
    for sku, quantity in rows:
        units[sku] += quantity
    top = popular_products(session, category="phones", limit=3, now=shop.now)
    assert [p.category for p in top] == ["phones"] * 3
    assert units[top[0].sku] == max(units.values())
    assert [units[p.sku] for p in top] == sorted((units[p.sku] for p in top), reverse=True)


def test_popular_products_still_answer_for_a_narrow_filter(session, shop):
    from bot.shop.catalog import popular_products

    found = popular_products(session, category="laptops", brand="apple", limit=5, now=shop.now)
    assert found and all(p.brand == "Apple" and p.category == "laptops" for p in found)
