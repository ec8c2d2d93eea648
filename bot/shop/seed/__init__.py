"""Deterministic demo shop: catalog, customers, order histories, owned devices and plans.

Why deterministic: demos, tests and bug reports must be reproducible, so the same `(seed, anchor)` always
produces the same rows. Every random draw comes from one `random.Random(seed)` in a fixed order; nothing
iterates over a set or depends on the database's ids, the clock or the global `random` module.

The shop's clock during generation is `anchor` at 12:00 UTC: orders of the last ~10 days are still on their
way (placed / processing / shipped / out for delivery, a few late), older ones are delivered, returned or
cancelled, with timestamps consistent with their status.

The catalogue, the name pools and the shopping habits are data (`data/`, read by `loader`); `products` builds
the catalogue, `timeline` plays an order's life, `generate` draws the customers, `writer` stores them.
"""

from bot.shop.seed.generate import HISTORY_DAYS
from bot.shop.seed.products import Catalog, ProductSpec, build_catalog
from bot.shop.seed.timeline import RECENT_DAYS, SEED_CLOCK, seed_now
from bot.shop.seed.writer import MAX_CUSTOMERS, SeedSummary, ShopAlreadySeeded, clear_shop, seed_shop

__all__ = [
    "HISTORY_DAYS",
    "MAX_CUSTOMERS",
    "RECENT_DAYS",
    "SEED_CLOCK",
    "Catalog",
    "ProductSpec",
    "SeedSummary",
    "ShopAlreadySeeded",
    "build_catalog",
    "clear_shop",
    "seed_now",
    "seed_shop",
]
