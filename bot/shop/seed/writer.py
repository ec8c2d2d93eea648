"""Writing the demo shop: `seed_shop` fills an empty database (or replaces its shop), `clear_shop` empties it."""

from __future__ import annotations

import random
import time as _time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session
from tqdm import tqdm

from bot.db.models import (
    Customer,
    CustomerDevice,
    CustomerPlan,
    Order,
    OrderLine,
    Product,
    ProductCompatibility,
    utcnow,
)
from bot.shop.seed.generate import ShopPools, assign_order_numbers, generate
from bot.shop.seed.products import build_catalog

MAX_CUSTOMERS = 99_999  # external ids are CUST-00001 .. CUST-99999
_CHUNK = 2_000  # rows per INSERT executemany


class ShopAlreadySeeded(RuntimeError):
    """The database already holds shop data; seeding again would duplicate or collide with it."""


@dataclass(frozen=True)
class SeedSummary:
    """What `seed_shop` wrote (printed by `tandem seed`)."""

    seed: int
    anchor: date
    products: int
    compatibility_links: int
    customers: int
    orders: int
    order_lines: int
    devices: int
    plans: int
    seconds: float = field(default=0.0, compare=False)

    def __str__(self) -> str:
        return (
            f"Seeded {self.products} products ({self.compatibility_links} compatibility links), "
            f"{self.customers} customers, {self.orders} orders ({self.order_lines} lines), "
            f"{self.devices} devices and {self.plans} plans "
            f"(seed {self.seed}, anchor {self.anchor.isoformat()}) in {self.seconds:.1f} s"
        )


_SHOP_TABLES = (
    "customer_devices",
    "customer_plans",
    "order_lines",
    "orders",
    "customers",
    "product_compatibility",
    "products",
)


def _chunks(rows: list[dict[str, Any]], size: int = _CHUNK) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def clear_shop(session: Session) -> None:
    """Delete all shop rows (children first). PostgreSQL also restarts the id sequences.

    Rows of other tables that reference customers or products (behaviour, segments, ...) go with them: on
    PostgreSQL through TRUNCATE ... CASCADE, on SQLite through their ON DELETE CASCADE foreign keys.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"TRUNCATE {', '.join(_SHOP_TABLES)} RESTART IDENTITY CASCADE"))
        return
    for model in (CustomerDevice, CustomerPlan, OrderLine, Order, Customer, ProductCompatibility, Product):
        session.execute(delete(model.__table__))


def _existing_counts(session: Session) -> tuple[int, int]:
    products = session.execute(select(func.count()).select_from(Product)).scalar_one()
    customers = session.execute(select(func.count()).select_from(Customer)).scalar_one()
    return products, customers


def seed_shop(
    session: Session,
    *,
    seed: int = 7,
    customers: int = 1000,
    anchor: date | None = None,
    progress: bool = False,
    replace: bool = False,
) -> SeedSummary:
    """Fill an empty shop database with a reproducible demo shop; returns counts of what was written.

    Same `(seed, customers, anchor)` => identical rows. `anchor` (default: today, UTC) is the shop's "today":
    order history covers the 18 months before it and in-flight orders have delivery dates around it.
    Raises `ShopAlreadySeeded` if products or customers exist, unless `replace=True`, which first deletes
    every shop row. Runs in the caller's transaction (commit it, e.g. with `session_scope`).
    """
    started = _time.perf_counter()
    if not 0 <= customers <= MAX_CUSTOMERS:
        raise ValueError(f"customers must be between 0 and {MAX_CUSTOMERS}, not {customers}")
    anchor = anchor or utcnow().date()

    n_products, n_customers = _existing_counts(session)
    if n_products or n_customers:
        if not replace:
            raise ShopAlreadySeeded(
                f"the database already has shop data ({n_products} products, {n_customers} customers); "
                "seed with replace=True (tandem seed --replace) to delete it and seed again"
            )
        clear_shop(session)
        session.flush()

    rng = random.Random(seed)
    catalog = build_catalog()
    shop = ShopPools(catalog)
    generated = generate(rng, shop, customers, anchor, progress)
    assign_order_numbers(rng, generated.orders)

    lines = sum(len(o["_lines"]) for o in generated.orders)
    devices = len(generated.devices) + sum(len(o["_devices"]) for o in generated.orders)
    total_rows = (
        len(catalog.products)
        + len(catalog.links)
        + len(generated.customers)
        + len(generated.orders)
        + lines
        + devices
        + len(generated.plans)
    )
    bar = tqdm(total=total_rows, unit="row", desc="writing", disable=not progress, leave=False)

    def write(model: Any, rows: list[dict[str, Any]]) -> None:
        for chunk in _chunks(rows):
            session.execute(insert(model.__table__), chunk)
            bar.update(len(chunk))

    write(Product, [p.row() for p in catalog.products])
    product_id = dict(session.execute(select(Product.sku, Product.id)).all())
    write(
        ProductCompatibility,
        [{"product_id": product_id[a], "compatible_product_id": product_id[d]} for a, d in catalog.links],
    )

    write(Customer, generated.customers)
    customer_id = dict(session.execute(select(Customer.external_id, Customer.id)).all())

    write(
        Order,
        [
            {k: v for k, v in o.items() if not k.startswith("_")} | {"customer_id": customer_id[o["_customer"]]}
            for o in generated.orders
        ],
    )
    order_id = dict(session.execute(select(Order.order_number, Order.id)).all())

    write(
        OrderLine,
        [
            {
                "order_id": order_id[o["order_number"]],
                "product_id": product_id[ln["_sku"]],
                "quantity": ln["quantity"],
                "unit_price": ln["unit_price"],
            }
            for o in generated.orders
            for ln in o["_lines"]
        ],
    )
    device_rows = [
        {
            "customer_id": customer_id[d["_customer"]],
            "product_id": product_id[d["_sku"]],
            "acquired_at": d["acquired_at"],
            "serial_number": d["serial_number"],
            "order_id": None,
        }
        for d in generated.devices
    ] + [
        {
            "customer_id": customer_id[d["_customer"]],
            "product_id": product_id[d["_sku"]],
            "acquired_at": d["acquired_at"],
            "serial_number": d["serial_number"],
            "order_id": order_id[o["order_number"]],
        }
        for o in generated.orders
        for d in o["_devices"]
    ]
    device_rows.sort(key=lambda r: (r["customer_id"], r["acquired_at"], r["serial_number"]))
    write(CustomerDevice, device_rows)
    write(
        CustomerPlan,
        [
            {
                "customer_id": customer_id[p["_customer"]],
                "product_id": product_id[p["_sku"]],
                "started_at": p["started_at"],
                "status": p["status"],
                "monthly_price": p["monthly_price"],
            }
            for p in generated.plans
        ],
    )
    bar.close()
    session.flush()

    return SeedSummary(
        seed=seed,
        anchor=anchor,
        products=len(catalog.products),
        compatibility_links=len(catalog.links),
        customers=len(generated.customers),
        orders=len(generated.orders),
        order_lines=lines,
        devices=devices,
        plans=len(generated.plans),
        seconds=_time.perf_counter() - started,
    )
