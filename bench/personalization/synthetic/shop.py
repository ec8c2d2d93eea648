"""The generated shop (`generate_shop`): observable events beside the ground truth, as training data and as
database rows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np

from bench.personalization.synthetic.customers import make_customers, make_tastes
from bench.personalization.synthetic.events import SyntheticEvents, ViewModel, build_view_model, make_events
from bench.personalization.synthetic.parameters import DEFAULT_NOW, STYLE_BOOST
from bench.personalization.synthetic.products import make_products
from bot.personalization.training_data import (
    EVENT_WEIGHTS,
    Interactions,
    ItemCatalog,
    TrainingData,
    rating_weight,
    returned_purchases,
)
from bot.shop.catalog import CATEGORY_NAMES


@dataclass(frozen=True)
class SyntheticShop:
    """A generated shop with its ground truth (taste, owned families, churn) beside the observable events."""

    catalog: ItemCatalog
    customer_ids: np.ndarray  # object array of str
    events: SyntheticEvents
    taste: np.ndarray  # int32 taste cluster per customer
    product_style: np.ndarray  # int32 style per product (= the taste it appeals to)
    owned_families: tuple[frozenset[str], ...]
    owned_devices: np.ndarray  # int32 (n_customers, 2): a phone / laptop product of each owned family, -1 none
    signup_at: np.ndarray  # int64 Unix seconds
    churned: np.ndarray  # bool
    churn_at: np.ndarray  # int64 Unix seconds, -1 for customers who stay
    now: int
    params: Mapping[str, Any] = field(default_factory=dict)
    view_model: ViewModel | None = field(default=None, repr=False)

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)

    @property
    def amounts(self) -> np.ndarray:
        """Per event, the price of its product (what a purchase or a return was worth)."""
        return self.catalog.prices[self.events.items]

    def interactions(self) -> Interactions:
        """Training signal: views, mentions, clicks, kept purchases and ratings, weighted like the live shop.

        Returns, impressions and dismissals are no signal, and a purchase that was returned does not count.
        """
        ev = self.events
        weights = np.zeros(len(ev), dtype=np.float32)
        for kind, weight in EVENT_WEIGHTS.items():
            weights[ev.kinds == kind] = weight
        is_rating = ev.kinds == "rating"
        ratings = ev.values[is_rating]
        levels, inverse = np.unique(ratings, return_inverse=True)
        weights[is_rating] = np.array([rating_weight(v) for v in levels], dtype=np.float32)[inverse]
        weights[returned_purchases(ev.users, ev.items, ev.kinds, ev.timestamps)] = 0.0
        keep = weights > 0
        return Interactions(
            user_ids=self.customer_ids,
            item_ids=self.catalog.item_ids,
            users=ev.users[keep].astype(np.int32),
            items=ev.items[keep].astype(np.int32),
            weights=weights[keep],
            timestamps=ev.timestamps[keep],
        )

    def describe(self) -> str:
        """One paragraph a benchmark prints so its figures say what data they come from."""
        p = self.params
        ev = self.events
        purchases = int((ev.kinds == "purchase").sum())
        return (
            f"synthetic shop (seed {p['seed']}): {p['n_customers']:,} customers in {p['n_tastes']} taste clusters "
            f"(own style x{STYLE_BOOST:g}, brand, category and price-band affinity), {p['n_products']:,} products "
            f"(Zipf 0.9 popularity; accessories fit owned phone/laptop families), {p['days']} days: "
            f"{len(ev):,} events, {len(ev) / self.n_customers:.1f} per customer, {purchases:,} purchases; "
            f"{self.churned.mean():.0%} of customers churn"
        )

    def training_data(self) -> TrainingData:
        return TrainingData(interactions=self.interactions(), catalog=self.catalog, now=self.now)

    # --- rows for the database (column names of bot/db/models/shop.py) -------------------------------------

    def product_rows(self, first_id: int = 1) -> Iterator[dict[str, Any]]:
        """`products` rows with explicit ids `first_id`.. (on PostgreSQL, move the id sequence past them)."""
        cat = self.catalog
        for i in range(cat.n_items):
            yield {
                "id": first_id + i,
                "sku": cat.item_ids[i],
                "name": cat.names[i],
                "category": cat.categories[i],
                "brand": cat.brands[i],
                "price": Decimal(f"{cat.prices[i]:.2f}"),
                "description": cat.text[i][len(cat.names[i]) + 1 :],
                "attributes": {"synthetic": True, "style": int(self.product_style[i]), "fits": sorted(cat.fits[i])},
                "family": cat.family[i],
                "active": bool(cat.active[i]),
            }

    def customer_rows(self, first_id: int = 1) -> Iterator[dict[str, Any]]:
        """`customers` rows with explicit ids `first_id`.. (on PostgreSQL, move the id sequence past them)."""
        created = _datetimes(self.signup_at)
        for u, external_id in enumerate(self.customer_ids):
            number = external_id.split("-")[-1]
            yield {
                "id": first_id + u,
                "external_id": external_id,
                "name": f"Synthetic Customer {number}",
                "email": f"syn-{number}@example.com",
                "phone": None,
                "created_at": created[u],
            }

    def device_rows(self, first_customer_id: int = 1, first_product_id: int = 1) -> Iterator[dict[str, Any]]:
        """`customer_devices` rows: one device product per owned family, acquired at signup."""
        created = _datetimes(self.signup_at)
        for u, slot in zip(*np.nonzero(self.owned_devices >= 0)):
            yield {
                "customer_id": first_customer_id + int(u),
                "product_id": first_product_id + int(self.owned_devices[u, slot]),
                "acquired_at": created[u],
                "serial_number": f"{self.customer_ids[u]}-D{slot + 1}",
                "order_id": None,
            }

    def event_rows(
        self, first_customer_id: int = 1, first_product_id: int = 1, chunk: int = 50_000
    ) -> Iterator[dict[str, Any]]:
        """`behaviour_events` rows (`source="synthetic"`, `external_id` = the event's number, so re-loads are
        idempotent); `value` is the rating, or the quantity 1 for purchases and returns."""
        ev = self.events
        quantity = np.where(np.isin(ev.kinds, ("purchase", "return")), 1.0, np.nan)
        values = np.where(np.isnan(ev.values), quantity, ev.values)
        for start in range(0, len(ev), chunk):
            stop = min(start + chunk, len(ev))
            occurred = _datetimes(ev.timestamps[start:stop])
            users = (ev.users[start:stop] + first_customer_id).tolist()
            items = ev.items[start:stop]
            products = (items + first_product_id).tolist()
            categories = self.catalog.categories[items].tolist()
            kinds = ev.kinds[start:stop].tolist()
            vals = [None if v != v else v for v in values[start:stop].tolist()]
            for k in range(stop - start):
                yield {
                    "customer_id": users[k],
                    "product_id": products[k],
                    "category": categories[k],
                    "kind": kinds[k],
                    "value": vals[k],
                    "occurred_at": occurred[k],
                    "channel": "web",
                    "strategy": None,
                    "request_id": None,
                    "solicited": None,
                    "source": "synthetic",
                    "external_id": f"SYN-E{start + k + 1:09d}",
                }


def generate_shop(
    n_customers: int = 20_000,
    n_products: int = 2_000,
    n_tastes: int = 8,
    days: int = 365,
    seed: int = 7,
    now: int | None = None,
) -> SyntheticShop:
    """Generate the shop described in the package docstring; the same arguments give the same shop."""
    categories = tuple(CATEGORY_NAMES)
    if n_products < len(categories):
        raise ValueError(f"n_products must be at least {len(categories)} (one per category)")
    if n_customers < 1 or n_tastes < 1 or days < 1:
        raise ValueError("n_customers, n_tastes and days must be positive")
    now = DEFAULT_NOW if now is None else int(now)
    rng = np.random.default_rng(seed)
    products = make_products(rng, categories, n_products, n_tastes)
    tastes = make_tastes(rng, products, n_tastes)
    customers = make_customers(rng, products, tastes, n_customers, days, now)
    view_model = build_view_model(products, tastes, customers)
    events = make_events(rng, products, customers, view_model)
    params = {
        "n_customers": n_customers,
        "n_products": n_products,
        "n_tastes": n_tastes,
        "days": days,
        "seed": seed,
        "now": now,
    }
    return SyntheticShop(
        catalog=products.catalog,
        customer_ids=np.array([f"SYN-{u + 1:06d}" for u in range(n_customers)], dtype=object),
        events=events,
        taste=customers.taste,
        product_style=products.style,
        owned_families=customers.owned_families(),
        owned_devices=customers.devices,
        signup_at=customers.signup,
        churned=customers.churned,
        churn_at=np.where(customers.churned, customers.end, -1).astype(np.int64),
        now=now,
        params=params,
        view_model=view_model,
    )


def _datetimes(timestamps: np.ndarray) -> list[datetime]:
    """Unix seconds -> naive UTC datetimes (the database's convention), in one numpy conversion."""
    return np.asarray(timestamps, dtype="datetime64[s]").astype(object).tolist()
