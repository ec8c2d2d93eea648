"""Customers and their histories: who they are, which devices they own, what they ordered and their plans.

Every draw comes from the one `random.Random` passed in, in a fixed order; nothing iterates over a set or
depends on the database's ids, the clock or the global `random` module, so the same seed gives the same shop.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tqdm import tqdm

from bot.shop.categories import DEVICE_CATEGORIES
from bot.shop.seed.loader import catalog_data, people, shopping
from bot.shop.seed.products import Catalog, ProductSpec
from bot.shop.seed.timeline import SCENARIOS, at_second, scenario_timeline, seed_now, timeline

HISTORY_DAYS = 548  # ~18 months of order history before the anchor


def _weighted(rng: random.Random, options: Sequence[tuple[Any, float]]) -> Any:
    total = sum(w for _, w in options)
    x = rng.random() * total
    for value, weight in options:
        x -= weight
        if x < 0:
            return value
    return options[-1][0]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _chars(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _tracking_number(rng: random.Random, carrier: str) -> str:
    upper = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    if carrier == "Royal Mail":
        return f"{_chars(rng, upper, 2)}{_digits(rng, 9)}GB"
    if carrier == "DPD":
        return _digits(rng, 14)
    if carrier == "Evri":
        return f"H{_digits(rng, 2)}{_chars(rng, upper, 1)}{_digits(rng, 12)}"
    if carrier == "DHL":
        return _digits(rng, 10)
    return f"1Z{_chars(rng, upper + '0123456789', 6)}{_digits(rng, 10)}"  # UPS


def _serial_number(rng: random.Random, brand: str) -> str:
    if brand == "Apple":
        return _chars(rng, "0123456789CDFGHJKLMNPQRTVWXY", 10)
    if brand == "Samsung":
        return "R" + _chars(rng, "0123456789ABCDEFGHJKLMNPRSTVWXYZ", 10)
    if brand == "Google":
        return _digits(rng, 14)
    prefix = catalog_data().serial_prefixes.get(brand, brand[:2].upper())
    return prefix + _chars(rng, "0123456789ABCDEFGHJKLMNPRSTUVWXYZ", 10)


def _ascii_slug(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _second_device(rng: random.Random, category: str, phone_family: str) -> str:
    """The family of a laptop, tablet or watch for the owner of a phone of this family."""
    choice = shopping().second_devices[category]
    return _weighted(rng, choice.by_phone.get(phone_family, choice.otherwise))


@dataclass
class Generated:
    """What `generate` drew, before the writer gives it database ids."""

    customers: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)  # with "_customer", "_lines", "_devices"
    devices: list[dict[str, Any]] = field(default_factory=list)  # pre-owned devices (no order)
    plans: list[dict[str, Any]] = field(default_factory=list)


class ShopPools:
    """Product pools used while generating histories."""

    def __init__(self, catalog: Catalog) -> None:
        self.products = catalog.products
        self.by_sku = catalog.by_sku()
        self.family: dict[str, list[ProductSpec]] = {}
        self.category: dict[str, list[ProductSpec]] = {}
        for p in self.products:
            self.category.setdefault(p.category, []).append(p)
            if p.family:
                self.family.setdefault(p.family, []).append(p)
        # device sku -> accessories/plans that fit it, in catalog order
        self.fits: dict[str, list[ProductSpec]] = {}
        for acc_sku, device_sku in catalog.links:
            acc = self.by_sku[acc_sku]
            if acc.category in ("phone_accessories", "chargers_cables", "laptop_accessories"):
                self.fits.setdefault(device_sku, []).append(acc)
        for items in self.fits.values():
            items.sort(key=lambda p: p.sku)

    def pick_device(self, rng: random.Random, family: str, only_active: bool) -> ProductSpec:
        pool = [p for p in self.family[family] if p.active or not only_active] or self.family[family]
        return rng.choice(pool)

    def accessories(self, device: ProductSpec, category: str, kind: str | None = None) -> list[ProductSpec]:
        return [
            a
            for a in self.fits.get(device.sku, [])
            if a.category == category and (kind is None or a.attributes.get("type") == kind)
        ]


def _line(rng: random.Random, product: ProductSpec, placed_at: datetime, now: datetime) -> dict[str, Any]:
    quantity = 1
    if product.category not in DEVICE_CATEGORIES and rng.random() < 0.1:
        quantity = 2
    unit_price = product.price
    if placed_at < now - timedelta(days=30) and product.price >= 10 and rng.random() < 0.12:
        unit_price = (product.price * Decimal("0.85")).quantize(Decimal("1")) - Decimal("0.01")  # a sale
    return {"_sku": product.sku, "quantity": quantity, "unit_price": unit_price}


def _order_items(
    rng: random.Random,
    shop: ShopPools,
    wanted: list[str],
    owned: list[ProductSpec],
    only_active: bool,
) -> list[ProductSpec]:
    """What one order contains: a device with add-ons, headphones, or accessories for owned devices."""
    items: list[ProductSpec] = []

    def add(product: ProductSpec | None) -> None:
        if product is not None and product not in items and (product.active or not only_active) and len(items) < 4:
            items.append(product)

    def maybe(options: list[ProductSpec], p: float) -> None:
        if options and rng.random() < p:
            add(rng.choice(options))

    r = rng.random()
    if wanted and (r < 0.6 or not owned):
        family = wanted.pop(0)
        device = shop.pick_device(rng, family, only_active)
        add(device)
        if device.category == "phones":
            maybe(shop.accessories(device, "phone_accessories", "case"), 0.6)
            maybe(shop.accessories(device, "phone_accessories", "screen_protector"), 0.45)
            maybe(shop.accessories(device, "chargers_cables", "charger"), 0.3)
        elif device.category == "laptops":
            maybe(shop.accessories(device, "laptop_accessories", "mouse"), 0.45)
            maybe(
                shop.accessories(device, "laptop_accessories", "sleeve")
                + shop.accessories(device, "laptop_accessories", "bag"),
                0.35,
            )
            maybe(shop.accessories(device, "laptop_accessories", "hub"), 0.3)
        else:
            maybe(shop.accessories(device, "chargers_cables"), 0.2)
    elif r < 0.78 or not owned:
        add(rng.choice(shop.category["headphones"]))
        maybe(shop.category["chargers_cables"], 0.15)
    else:
        for _ in range(rng.randint(1, 3)):
            device = rng.choice(owned)
            category = {"phones": "phone_accessories", "laptops": "laptop_accessories"}.get(
                device.category, "chargers_cables"
            )
            if rng.random() < 0.35:
                category = "chargers_cables"
            maybe(shop.accessories(device, category), 1.0)
        if not items:
            add(rng.choice(shop.category["chargers_cables"]))
    if not items:  # everything drawn was off sale
        add(rng.choice([p for p in shop.category["headphones"] if p.active]))
    return items


def generate(rng: random.Random, shop: ShopPools, customers: int, anchor: date, progress: bool) -> Generated:
    """`customers` customers with their devices, orders and plans, as of the shop's "now" on `anchor`."""
    names, habits = people(), shopping()
    now = seed_now(anchor)
    window_start = now - timedelta(days=HISTORY_DAYS)
    out = Generated()
    emails: set[str] = set()
    serials: set[str] = set()

    n_scenario = min(customers, max(len(SCENARIOS), round(customers * 0.03)))
    scenario_of: dict[int, str] = {}
    picked = sorted(rng.sample(range(customers), n_scenario))
    for k, index in enumerate(picked):
        scenario_of[index] = SCENARIOS[k % len(SCENARIOS)]

    def serial(brand: str) -> str:
        while True:
            value = _serial_number(rng, brand)
            if value not in serials:
                serials.add(value)
                return value

    bar = tqdm(total=customers, unit="customer", desc="generating", disable=not progress, leave=False)
    for index in range(customers):
        external_id = f"CUST-{index + 1:05d}"
        first, last = rng.choice(names.first_names), rng.choice(names.last_names)
        base = f"{_ascii_slug(first)}.{_ascii_slug(last)}"
        domain = rng.choice(names.email_domains)
        email = f"{base}@{domain}"
        while email in emails:
            email = f"{base}{rng.randint(1, 999)}@{domain}"
        emails.add(email)
        created_at = at_second(now - timedelta(days=rng.uniform(20, 1100), seconds=rng.uniform(0, 86400)))
        town, prefix = rng.choice(names.towns)
        street = f"{rng.randint(1, 180)} {rng.choice(names.streets)}"
        if rng.random() < 0.15:
            street = f"Flat {rng.randint(1, 40)}, {street}"
        postcode = (
            f"{prefix}{rng.randint(1, 20)} {rng.randint(1, 9)}"
            f"{rng.choice(names.postcode_letters)}{rng.choice(names.postcode_letters)}"
        )
        address = f"{first} {last}, {street}, {town} {postcode}, United Kingdom"
        phone = f"+44 7700 900{rng.randrange(1000):03d}" if rng.random() < 0.8 else None
        out.customers.append(
            {
                "external_id": external_id,
                "name": f"{first} {last}",
                "email": email,
                "phone": phone,
                "created_at": created_at,
            }
        )

        # Profile: which devices this customer has or wants, in the order they buy them.
        phone_family = _weighted(rng, habits.phone_families)
        wanted = [phone_family]
        if rng.random() < 0.35:
            wanted.append(_second_device(rng, "laptops", phone_family))
        if rng.random() < 0.25:
            wanted.append(_second_device(rng, "tablets", phone_family))
        if rng.random() < 0.3:
            wanted.append(_second_device(rng, "smartwatches", phone_family))
        owned: list[ProductSpec] = []
        if rng.random() < 0.55:  # bought their phone before the history starts (or elsewhere)
            family = wanted.pop(0)
            device = shop.pick_device(rng, family, only_active=False)
            acquired = at_second(window_start - timedelta(days=rng.uniform(0, 900)))
            owned.append(device)
            out.devices.append(
                {
                    "_customer": external_id,
                    "_sku": device.sku,
                    "acquired_at": acquired,
                    "serial_number": serial(device.brand),
                    "_order": None,
                }
            )

        earliest = max(window_start, created_at + timedelta(hours=1))
        span = (now - timedelta(minutes=10) - earliest).total_seconds()
        count = _weighted(rng, habits.orders_per_customer)
        timelines = [timeline(rng, earliest + timedelta(seconds=rng.uniform(0, span))) for _ in range(count)]
        if index in scenario_of:
            timelines.append(scenario_timeline(rng, scenario_of[index], now, earliest))
        timelines.sort(key=lambda t: t.placed_at)

        for tl in timelines:
            fields = tl.state(now)
            only_active = tl.placed_at >= now - timedelta(days=180)
            items = _order_items(rng, shop, wanted, owned, only_active)
            lines = [_line(rng, p, tl.placed_at, now) for p in items]
            order = {
                "_customer": external_id,
                "_lines": lines,
                "_devices": [],
                "total": sum((ln["unit_price"] * ln["quantity"] for ln in lines), Decimal("0.00")),
                "shipping_address": address,
                "carrier": None,
                "tracking_number": None,
                **fields,
            }
            if fields["shipped_at"] is not None:
                carrier = _weighted(rng, habits.carriers)
                order["carrier"] = carrier
                order["tracking_number"] = _tracking_number(rng, carrier)
            if fields["status"] == "delivered":
                for product in items:
                    if product.category in DEVICE_CATEGORIES:
                        owned.append(product)
                        order["_devices"].append(
                            {
                                "_customer": external_id,
                                "_sku": product.sku,
                                "acquired_at": fields["delivered_at"],
                                "serial_number": serial(product.brand),
                            }
                        )
            out.orders.append(order)

        # Subscriptions.
        for category, chance in (("mobile_plans", 0.62), ("home_internet", 0.38)):
            if rng.random() >= chance:
                continue
            pool = [p for p in shop.category[category] if p.attributes.get("for") != "smartwatch"]
            plan = rng.choice(pool)
            started = at_second(created_at + (now - timedelta(days=1) - created_at) * rng.uniform(0, 1))
            status = "active" if rng.random() < 0.88 else "cancelled"
            out.plans.append(_plan_row(rng, external_id, plan, started, status, now))
            if status == "cancelled" and rng.random() < 0.5:
                newer = rng.choice([p for p in pool if p.active])
                later = at_second(started + (now - started) * rng.uniform(0.2, 0.95))
                out.plans.append(_plan_row(rng, external_id, newer, later, "active", now))
        watches = [d for d in owned if d.category == "smartwatches" and d.attributes.get("cellular")]
        if watches and rng.random() < 0.5:
            watch_plan = next(p for p in shop.category["mobile_plans"] if p.attributes.get("for") == "smartwatch")
            started = at_second(max(created_at + timedelta(hours=1), now - timedelta(days=rng.uniform(1, 60))))
            out.plans.append(_plan_row(rng, external_id, watch_plan, started, "active", now))
        bar.update(1)
    bar.close()
    return out


def _plan_row(
    rng: random.Random, external_id: str, plan: ProductSpec, started: datetime, status: str, now: datetime
) -> dict[str, Any]:
    price = plan.price
    if started < now - timedelta(days=365) and price > 10 and rng.random() < 0.2:
        price -= Decimal("2.00")  # an older promotional price
    return {"_customer": external_id, "_sku": plan.sku, "started_at": started, "status": status, "monthly_price": price}


def assign_order_numbers(rng: random.Random, orders: list[dict[str, Any]]) -> None:
    """`TD` + 6 digits, increasing with time like a real order sequence (ties broken deterministically)."""
    orders.sort(key=lambda o: (o["placed_at"], o["_customer"]))
    if len(orders) > 899_999:
        raise ValueError("too many orders for 6-digit order numbers")
    number = 100_000 + rng.randint(0, 4_000)
    max_step = max(1, min(7, (999_999 - number) // max(1, len(orders))))
    for order in orders:
        order["order_number"] = f"TD{number:06d}"
        number += rng.randint(1, max_step)
