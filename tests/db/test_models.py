"""ORM relationships navigate the seeded shop the way services expect."""

from __future__ import annotations

from sqlalchemy import select

from bot.db.models import Customer, Product


def test_customer_relationships(session):
    customer = session.execute(
        select(Customer).where(Customer.orders.any(), Customer.devices.any(), Customer.plans.any()).limit(1)
    ).scalar_one()
    assert [o.placed_at for o in customer.orders] == sorted(o.placed_at for o in customer.orders)
    order = customer.orders[0]
    assert order.customer is customer and order.lines and order.lines[0].order is order
    assert order.lines[0].product.sku
    assert all(d.customer is customer and d.product.family for d in customer.devices)
    assert all(
        p.customer is customer and p.product.category in ("mobile_plans", "home_internet") for p in customer.plans
    )


def test_product_compatibility_both_ways(session):
    case = session.execute(select(Product).where(Product.name == "Spigen Tough Armor case for Galaxy S24")).scalar_one()
    phones = case.compatible_with
    assert phones and all(p.category == "phones" and p.attributes["model"] == "Galaxy S24" for p in phones)
    assert case in phones[0].accessories
