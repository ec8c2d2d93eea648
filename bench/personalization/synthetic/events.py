"""Synthetic behaviour: views by the generator's view model, then purchases, returns and ratings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.personalization.synthetic.customers import Customers, Tastes, sample_rows
from bench.personalization.synthetic.parameters import (
    BAND_FIT,
    CHURN_DECAY,
    DAY,
    DIRECT_PURCHASE,
    KINDS,
    OTHER_FAMILY_DEVICE,
    PURCHASE,
    RATING,
    RATING_SHARE,
    RETURN,
    RETURN_SHARE,
    STRAY_ACCESSORY,
    STYLE_BOOST,
    STYLE_BUY,
    VIEW,
)
from bench.personalization.synthetic.products import Products


@dataclass(frozen=True)
class SyntheticEvents:
    """Event k: customer `users[k]` did `kinds[k]` to product `items[k]` at `timestamps[k]` (sorted by time)."""

    users: np.ndarray  # int32 customer index
    items: np.ndarray  # int32 product index
    kinds: np.ndarray  # str, from BEHAVIOUR_KINDS
    values: np.ndarray  # float64: the rating for ratings, NaN otherwise
    timestamps: np.ndarray  # int64 Unix seconds

    def __len__(self) -> int:
        return len(self.users)


@dataclass(frozen=True)
class ViewModel:
    """The generator's own view distribution: P(item | customer) = P(category | customer) x P(item | category,
    taste, owned families). Ranking by it is the best any recommender can do at predicting a customer's next
    views: the benchmark's ceiling, not a method (it reads the ground truth)."""

    category_affinity: np.ndarray  # (n_customers, n_categories)
    combo: np.ndarray  # int32 per customer: their row of item_given_category
    item_given_category: np.ndarray  # (n_combos, n_items), sums to 1 within each category
    item_category: np.ndarray  # category index per item

    def probabilities(self, customer: int) -> np.ndarray:
        return self.category_affinity[customer, self.item_category] * self.item_given_category[self.combo[customer]]


def build_view_model(products: Products, tastes: Tastes, customers: Customers) -> ViewModel:
    """The view distribution per (taste, owned families) combination, shared by generation and the ceiling."""
    combos, combo_of = np.unique(np.stack([customers.taste, customers.owned_mask]), axis=1, return_inverse=True)
    weights = _view_weights(products, tastes, combos[0], combos[1])
    per_category = np.add.reduceat(weights, products.category_start[:-1], axis=1)
    return ViewModel(
        category_affinity=np.diff(customers.category_cdf, axis=1, prepend=0.0),
        combo=combo_of.astype(np.int32),
        item_given_category=weights / per_category[:, products.category],
        item_category=products.category,
    )


def make_events(
    rng: np.random.Generator, products: Products, customers: Customers, view_model: ViewModel
) -> SyntheticEvents:
    """Views, then purchases, returns and ratings by the rules in the package docstring, sorted by time."""
    # Intents: a Poisson number per customer, uniform over their active span, thinned before churn.
    span = (customers.end - customers.start).astype(np.float64)
    n_intents = rng.poisson(customers.rate * span)
    users = np.repeat(np.arange(len(span), dtype=np.int32), n_intents)
    t = customers.start[users] + (rng.random(len(users)) * span[users]).astype(np.int64)
    fade = np.where(customers.churned[users], (customers.end[users] - t) / CHURN_DECAY, 1.0)
    keep = rng.random(len(users)) < np.clip(fade, 0.1, 1.0)
    users, t = users[keep], t[keep]

    # What: a category by personal affinity, then an item of it by the customer's (taste, owned families).
    category = sample_rows(customers.category_cdf, users, rng.random(len(users)))
    p = view_model.item_given_category
    n_items = p.shape[1]
    total = np.cumsum(p, axis=1)
    before = np.concatenate([np.zeros((len(p), 1)), total[:, products.category_start[1:-1] - 1]], axis=1)
    within = total - before[:, products.category]  # cumulative within each category, ends at 1
    combo = view_model.combo[users]
    n_categories = len(products.category_start) - 1
    offsets = within + (np.arange(len(p))[:, None] * n_categories + products.category[None, :])
    flat_pos = np.searchsorted(offsets.ravel(), combo * n_categories + category + rng.random(len(users)), side="right")
    first, last = products.category_start[category], products.category_start[category + 1] - 1
    items = np.clip(flat_pos - combo * n_items, first, last).astype(np.int32)

    # Purchases: some views convert, within the rules (own families' accessories, upgrades within family).
    owned = customers.owned_mask[users]
    fits = products.fits_mask[items]
    device_family = products.owned_family[items]
    allowed = ((fits == 0) | (fits & owned != 0)) & ((device_family == 0) | (device_family & owned != 0))
    in_style = products.style[items] == customers.taste[users]
    p_buy = products.buy_rate[items] * np.where(in_style, STYLE_BUY, 1.0) * allowed
    bought = np.flatnonzero(rng.random(len(users)) < p_buy)
    t_buy = t[bought] + 60 + rng.exponential(0.5 * DAY, size=len(bought)).astype(np.int64)
    bought_ok = t_buy < customers.end[users[bought]]
    bought, t_buy = bought[bought_ok], t_buy[bought_ok]
    direct = bought[rng.random(len(bought)) < DIRECT_PURCHASE]
    view_kept = np.ones(len(users), dtype=bool)
    view_kept[direct] = False

    # Returns and ratings follow purchases; nothing after the customer's end.
    end_b = customers.end[users[bought]]
    t_ret = t_buy + rng.integers(2 * DAY, 30 * DAY, size=len(bought))
    returned = (rng.random(len(bought)) < RETURN_SHARE) & (t_ret < end_b)
    t_rate = t_buy + rng.integers(1 * DAY, 21 * DAY, size=len(bought))
    rated = ~returned & (rng.random(len(bought)) < RATING_SHARE) & (t_rate < end_b)
    stars = np.clip(np.rint(rng.normal(3.3 + in_style[bought], 1.0)), 1, 5)

    parts = [
        (users[view_kept], items[view_kept], VIEW, np.nan, t[view_kept]),
        (users[bought], items[bought], PURCHASE, np.nan, t_buy),
        (users[bought[returned]], items[bought[returned]], RETURN, np.nan, t_ret[returned]),
        (users[bought[rated]], items[bought[rated]], RATING, stars[rated], t_rate[rated]),
    ]
    all_users = np.concatenate([p[0] for p in parts]).astype(np.int32)
    all_items = np.concatenate([p[1] for p in parts]).astype(np.int32)
    kinds = np.concatenate([np.full(len(p[0]), p[2], dtype=np.int8) for p in parts])
    values = np.concatenate([np.broadcast_to(np.asarray(p[3], dtype=np.float64), len(p[0])) for p in parts])
    stamps = np.concatenate([p[4] for p in parts]).astype(np.int64)
    order = np.lexsort((kinds, all_users, stamps))
    return SyntheticEvents(
        users=all_users[order],
        items=all_items[order],
        kinds=KINDS[kinds[order]],
        values=values[order],
        timestamps=stamps[order],
    )


def _view_weights(products: Products, tastes: Tastes, taste: np.ndarray, owned: np.ndarray) -> np.ndarray:
    """(n_combos, n_items) attractiveness of each item to a customer of each (taste, owned families) pair."""
    fits = products.fits_mask[None, :]
    device_family = products.owned_family[None, :]
    owned = owned[:, None]
    compat = np.where((fits != 0) & (fits & owned == 0), STRAY_ACCESSORY, 1.0)
    compat *= np.where((device_family != 0) & (device_family & owned == 0), OTHER_FAMILY_DEVICE, 1.0)
    return (
        products.popularity[None, :]
        * tastes.brand[taste][:, products.brand]
        * BAND_FIT[np.abs(tastes.band[taste][:, None] - products.band[None, :])]
        * np.where(products.style[None, :] == taste[:, None], STYLE_BOOST, 1.0)
        * compat
    )
